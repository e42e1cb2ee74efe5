"""The S3 plugin against a real S3-compatible server: moto's, on 127.0.0.1, with authentication on.

Every client here is given the endpoint explicitly and fake credentials that only this moto server
knows; the AWS config files and instance metadata are switched off, so nothing can reach a real cloud.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from s3_fixtures import BUCKET, S3Server, s3  # noqa: F401  (s3 is a fixture)

from workbench.errors import BackendUnavailableError, ExitCode
from workbench.testing import StorageBackendContract
from workbench_s3.storage import S3Storage


@pytest.fixture
def storage(s3: S3Server) -> S3Storage:
    return S3Storage(bucket=BUCKET, prefix="teams/churn", endpoint_url=s3.endpoint, region="us-east-1")


@pytest.fixture
def secrets(s3: S3Server) -> tuple[str, ...]:
    return (s3.secret,)


class TestS3Contract(StorageBackendContract):
    """Every promise of the storage contract, against the S3 API."""


def _duckdb(tmp_path: Path):
    import duckdb

    ext = tmp_path / "ext"
    ext.mkdir(exist_ok=True)
    return duckdb.connect(config={"extension_directory": str(ext), "autoinstall_known_extensions": False,
                                  "autoload_known_extensions": False})


def test_duckdb_reads_a_parquet_file_the_plugin_wrote(storage: S3Storage, tmp_path: Path):
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame({"carrier": ["AA", "UA", "AA"], "delay": [3, 15, -2]}).write_parquet(buffer)
    storage.write("lake/data/flights/part-0.parquet", buffer.getvalue())
    assert storage.url("lake/data/flights/part-0.parquet") == f"s3://{BUCKET}/teams/churn/lake/data/flights/part-0.parquet"
    with _duckdb(tmp_path) as con:
        storage.configure_duckdb(con)
        rows = con.execute("SELECT carrier, sum(delay) FROM read_parquet(?) GROUP BY ALL ORDER BY 1",
                           [storage.url("lake/data/flights/part-0.parquet")]).fetchall()
    assert rows == [("AA", 1), ("UA", 15)]


def test_ducklake_keeps_its_data_files_in_the_bucket(storage: S3Storage, tmp_path: Path):
    from workbench.lake.engine import load_extensions

    with _duckdb(tmp_path) as con:
        load_extensions(con)
        storage.configure_duckdb(con)
        data_url = storage.url("lake/ducklake") + "/"
        con.execute(f"ATTACH 'ducklake:sqlite:{tmp_path / 'catalog.sqlite'}' AS lake (DATA_PATH '{data_url}')")
        con.execute("CREATE TABLE lake.penguins AS SELECT range AS id, range % 3 AS species FROM range(500)")
        assert con.execute("SELECT count(*), sum(id) FROM lake.penguins").fetchone() == (500, 124750)
    files = storage.list("lake/ducklake")
    assert files and all(f.endswith(".parquet") for f in files)


def test_large_uploads_are_multipart_and_a_failed_one_is_aborted(storage: S3Storage, s3: S3Server):
    import boto3

    big = os.urandom(1 << 20) * 18  # 18 MiB: three parts
    storage.write("artifacts/run-1/model.joblib", io.BytesIO(big))
    assert storage.read("artifacts/run-1/model.joblib") == big

    class Breaks(io.RawIOBase):
        sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if self.sent > 12 << 20:
                raise OSError("network dropped")
            buffer[: len(buffer)] = b"z" * len(buffer)
            self.sent += len(buffer)
            return len(buffer)

    with pytest.raises(OSError, match="network dropped"):
        storage.write("artifacts/run-1/model.joblib", Breaks())
    assert storage.read("artifacts/run-1/model.joblib") == big
    client = boto3.Session(region_name="us-east-1").client("s3", endpoint_url=s3.endpoint)
    assert not client.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_wrong_credentials_are_one_clear_sentence(s3: S3Server, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
    with pytest.raises(BackendUnavailableError) as err:
        S3Storage(bucket=BUCKET, endpoint_url=s3.endpoint)
    assert err.value.exit_code == ExitCode.BACKEND_UNAVAILABLE
    assert "credentials were refused" in err.value.message and "not-the-right-secret" not in err.value.message
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    with pytest.raises(BackendUnavailableError, match="credentials were refused"):
        S3Storage(bucket=BUCKET, endpoint_url=s3.endpoint)


def test_a_missing_bucket_is_one_clear_sentence(s3: S3Server):
    with pytest.raises(BackendUnavailableError) as err:
        S3Storage(bucket="no-such-bucket", endpoint_url=s3.endpoint)
    assert err.value.message == (f"The bucket 'no-such-bucket' does not exist at {s3.endpoint}; "
                                 "create it or fix [storage.s3] bucket.")


def _cli(ws: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "-w", str(ws), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_checks_s3_configured_in_workbench_toml_without_leaking(s3: S3Server, tmp_path: Path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester"}
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "workbench", "init", str(ws)], check=True, capture_output=True, env=env)
    with open(ws / "workbench.toml", "a") as fh:
        fh.write(f'\n[storage]\nbackend = "s3"\n\n[storage.s3]\nbucket = "{BUCKET}"\nprefix = "teams/cli"\n'
                 f'endpoint_url = "{s3.endpoint}"\n')
    ok = _cli(ws, "plugins", "check", "storage", "s3", "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["backend"]["bucket"] == BUCKET

    wrong = _cli(ws, "plugins", "check", "storage", "s3", env={**env, "AWS_SECRET_ACCESS_KEY": "wrong-secret-123"})
    assert wrong.returncode == ExitCode.BACKEND_UNAVAILABLE
    assert wrong.stderr.startswith("Error: The S3 credentials were refused") and wrong.stderr.count("\n") == 1

    missing = _cli(ws, "plugins", "check", "storage", "s3", "--bucket", "gone", env=env)
    assert missing.returncode == ExitCode.BACKEND_UNAVAILABLE and "'gone' does not exist" in missing.stderr

    audit = _audit_dump(ws)
    assert "plugin.loaded" in audit and "plugin.failed" in audit
    for secret in (s3.secret, "wrong-secret-123"):
        assert secret not in audit and secret not in ok.stdout + ok.stderr + wrong.stderr


def _audit_dump(ws: Path) -> str:
    from workbench.audit import AuditLog

    with AuditLog(ws / "audit.sqlite", ws) as log:
        return json.dumps(list(log.iter_events()))
