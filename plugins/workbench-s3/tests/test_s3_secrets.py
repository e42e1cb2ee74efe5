"""With S3 storage, a secret from the environment or in a spec reaches neither the bucket nor the workspace:
a real run (lake data, run artifacts, manifests) on moto's server on 127.0.0.1, then every object of the
workspace's prefix and every local file is searched for the secret and for the S3 credentials themselves."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from s3_fixtures import BUCKET, S3Server, s3  # noqa: F401  (s3 is a fixture)

pytestmark = pytest.mark.slow

SECRET = "Kp3BucketSecret77"  # the value of WB_TEST_API_TOKEN, a name audit.redact treats as secret
PENGUINS = Path(__file__).resolve().parents[3] / "sample_data" / "penguins.parquet"
SPEC = f"""\
name = "secret_s3_run"
description = "uses {SECRET}"
target = "species"
task = "multiclass"
cv_folds = 3
time_budget_s = 60
seed = 7
max_trials = 2
candidates = ["linear"]

[data]
query = "SELECT * FROM penguins WHERE species <> '{SECRET}'"
"""


@pytest.fixture(autouse=True)
def _fresh_storage_cache():
    from workbench.backends.session import close_workspace_storage

    close_workspace_storage()
    yield
    close_workspace_storage()


def _decoded(data: bytes) -> bytes:
    """Bytes plus, for Parquet objects, the decoded table (compressed pages would hide a string)."""
    if data[:4] == b"PAR1":
        import io

        import pyarrow.parquet as pq

        return data + str(pq.read_table(io.BytesIO(data)).to_pylist()).encode()
    if data[:2] == b"\x1f\x8b":
        return data + gzip.decompress(data)
    return data


def test_no_object_in_the_bucket_and_no_local_file_holds_a_secret_and_verify_reads_the_bucket(s3: S3Server, tmp_path: Path) -> None:
    import boto3

    env = {**os.environ, **s3.env(), "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester",
           "WORKBENCH_HOME": "", "WB_TEST_API_TOKEN": SECRET}
    root = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "workbench", "init", str(root)], check=True, capture_output=True, env=env)
    prefix = f"teams/{uuid.uuid4().hex[:8]}"
    with open(root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n[storage]\nbackend = "s3"\n\n[storage.s3]\nbucket = "{BUCKET}"\nprefix = "{prefix}"\n'
                 f'endpoint_url = "{s3.endpoint}"\nconnect_timeout = 2.0\n')

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workbench", "-w", str(root), *args], capture_output=True,
                              text=True, env=env, timeout=600)

    assert cli("lake", "ingest", str(PENGUINS)).returncode == 0
    spec = tmp_path / "secret.toml"
    spec.write_text(SPEC)
    ran = cli("batch", "-q", "--json", str(spec))
    assert ran.returncode == 0, ran.stderr
    assert cli("lake", "sql", "--write", f"CREATE TABLE filtered AS SELECT * FROM penguins WHERE species <> '{SECRET}'"
               ).returncode == 0

    client = boto3.Session(aws_access_key_id=s3.key_id, aws_secret_access_key=s3.secret,
                           region_name="us-east-1").client("s3", endpoint_url=s3.endpoint)
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            for o in page.get("Contents", [])]
    assert any(k.endswith("model.json") for k in keys) and any(k.endswith(".parquet") for k in keys)
    needles = [SECRET.encode(), s3.secret.encode()]
    in_bucket = [k for k in keys if any(n in _decoded(client.get_object(Bucket=BUCKET, Key=k)["Body"].read())
                                        for n in needles)]
    assert in_bucket == []
    local = [str(p.relative_to(root)) for p in root.rglob("*")
             if p.is_file() and any(n in _decoded(p.read_bytes()) for n in needles)]
    assert local == []
    manifest = next(k for k in keys if k.endswith("model.json"))
    body = json.loads(client.get_object(Bucket=BUCKET, Key=manifest)["Body"].read())
    assert "***" in body["spec"]["data"]["query"]

    # The bucket is the system of record: a changed object is a finding even while the local cache is good.
    assert cli("audit", "verify").returncode == 0
    model_key = next(k for k in keys if k.endswith("/model.joblib"))
    client.put_object(Bucket=BUCKET, Key=model_key, Body=b"not the model")
    verified = cli("audit", "verify", "--json")
    assert verified.returncode == 1
    found = json.loads(verified.stdout)["findings"]
    assert [f["kind"] for f in found] == ["artifact"] and model_key.split("/", 2)[-1] in found[0]["key"]
