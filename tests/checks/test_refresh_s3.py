"""A `prefix` source on a workspace whose storage back-end is S3 (moto's real server on 127.0.0.1), driven
through the `workbench` command: new objects become new versions; the credentials appear nowhere."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "workbench-s3" / "tests"))

from s3_fixtures import BUCKET, S3Server, s3  # noqa: F401  (s3 is a fixture)
from test_s3_workspace import _cli, _client, _fresh_storage_cache, _init, _use_s3, env  # noqa: F401

pytestmark = pytest.mark.slow  # a moto server and several CLI processes


def test_prefix_source_reads_new_objects_from_the_bucket(s3: S3Server, env, tmp_path: Path) -> None:  # noqa: F811
    root = tmp_path / "ws"
    _init(root, env)
    prefix = _use_s3(root, s3)
    client = _client(s3)
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/drops/meters/a.csv", Body=b"meter,kwh\nm1,3.5\nm2,4.0\n")
    out = _cli(root, "sources", "add", "meters", "--table", "meters", "--prefix", "drops/meters", env=env)
    assert out.returncode == 0, out.stderr
    first = _cli(root, "sources", "refresh", "meters", env=env)
    assert first.returncode == 0 and "meters: version 1 from source meters" in first.stdout, first.stderr
    again = _cli(root, "sources", "refresh", "meters", env=env)
    assert "unchanged (version 1)" in again.stdout, again.stderr
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/drops/meters/b.csv", Body=b"meter,kwh\nm3,1.0\n")
    second = _cli(root, "sources", "refresh", "meters", env=env)
    assert "meters: version 2" in second.stdout, second.stderr
    shown = _cli(root, "lake", "sql", "SELECT count(*) AS n, sum(kwh) AS total FROM meters", "--json", env=env)
    assert '"n": 3' in shown.stdout and '"total": 8.5' in shown.stdout, shown.stdout + shown.stderr
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") or s3.secret
    listed = _cli(root, "sources", "list", env=env)
    for text in (first.stdout, second.stdout, listed.stdout, (root / "sources" / "meters.toml").read_text()):
        assert secret not in text
