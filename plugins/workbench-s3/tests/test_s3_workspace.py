"""A workspace whose storage back-end is S3: lake data files and run artifacts live in a bucket of moto's
server on 127.0.0.1, driven through the real `workbench` command as a user would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from s3_fixtures import BUCKET, S3Server, s3  # noqa: F401  (s3 is a fixture)

from workbench.errors import ExitCode
from workbench.runs.records import RunRecords
from workbench.workspace import Workspace

PENGUINS = Path(__file__).resolve().parents[3] / "sample_data" / "penguins.parquet"
# holdout_model.joblib: the twin fitted on the training rows only, which scored the frozen holdout (refit_all).
RUN_FILES = ["diagnostics.json", "holdout.parquet", "holdout_model.joblib", "leaderboard.json", "model.joblib",
             "model.json"]


@pytest.fixture(autouse=True)
def _fresh_storage_cache():
    """In-process helpers open the storage once per process; each test starts and ends without one."""
    from workbench.backends.session import close_workspace_storage

    close_workspace_storage()
    yield
    close_workspace_storage()


@pytest.fixture
def env(s3: S3Server, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **s3.env(), "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester",
            "WORKBENCH_HOME": ""}


def _init(root: Path, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "workbench", "init", str(root)], check=True, capture_output=True, env=env)


def _use_s3(root: Path, s3: S3Server, *, bucket: str = BUCKET) -> str:
    """Point the workspace at its own prefix of the bucket; returns the prefix."""
    prefix = f"teams/{uuid.uuid4().hex[:8]}"
    with open(root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n[storage]\nbackend = "s3"\n\n[storage.s3]\nbucket = "{bucket}"\nprefix = "{prefix}"\n'
                 f'endpoint_url = "{s3.endpoint}"\nconnect_timeout = 2.0\n')
    return prefix


@pytest.fixture
def s3_ws(s3: S3Server, env: dict[str, str], tmp_path: Path) -> tuple[Path, str]:
    """A new workspace whose [storage] is the bucket (endpoint and bucket in workbench.toml, credentials
    from the AWS variables); returns its folder and its prefix in the bucket."""
    root = tmp_path / "ws"
    _init(root, env)
    return root, _use_s3(root, s3)


def _cli(ws: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "-w", str(ws), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _client(s3: S3Server):
    import boto3

    return boto3.Session(aws_access_key_id=s3.key_id, aws_secret_access_key=s3.secret,
                         region_name="us-east-1").client("s3", endpoint_url=s3.endpoint)


def _keys(s3: S3Server, prefix: str) -> list[str]:
    pages = _client(s3).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(o["Key"][len(prefix) + 1:] for page in pages for o in page.get("Contents", []))


def _csv(path: Path, rows: int, offset: int = 0) -> Path:
    # Thousands of rows: DuckLake writes Parquet files for them instead of inlining them in the catalog.
    path.write_text("id,amount\n" + "".join(f"{i},{(i + offset) % 97}\n" for i in range(rows)), encoding="utf-8")
    return path


def _local_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _audit_bytes(ws: Path) -> bytes:
    """The audit log's bytes, write-ahead log included (events may not be checkpointed yet)."""
    return b"".join(p.read_bytes() for p in ws.glob("audit.sqlite*"))


def _events(ws: Path, kind: str) -> list:
    from workbench.audit import AuditLog

    with AuditLog(ws / "audit.sqlite", ws) as log:
        return log.events(kind=kind, limit=10_000)


def test_lake_data_files_live_in_the_bucket(s3: S3Server, s3_ws: tuple[Path, str], env: dict[str, str],
                                            tmp_path: Path) -> None:
    ws, prefix = s3_ws
    first = _cli(ws, "lake", "ingest", str(_csv(tmp_path / "sales.csv", 3000)), env=env)
    assert first.returncode == 0, first.stderr
    parquet = [k for k in _keys(s3, prefix) if k.endswith(".parquet")]
    assert parquet and all(k.startswith("lake/data/") for k in parquet)
    assert _local_files(Workspace.load(ws).lake_data) == []  # nothing of the lake's data on this machine

    shown = _cli(ws, "lake", "show", "sales", "--json", "--limit", "3", "--sort", "id", env=env)
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["total_rows"] == 3000 and body["rows"][2] == {"id": 2, "amount": 2}

    second = _cli(ws, "lake", "ingest", str(_csv(tmp_path / "sales.csv", 4000, offset=5)), "--replace", env=env)
    assert second.returncode == 0, second.stderr
    assert len([k for k in _keys(s3, prefix) if k.endswith(".parquet")]) > len(parquet)
    versions = json.loads(_cli(ws, "lake", "versions", "sales", "--json", env=env).stdout)
    assert [v["row_count"] for v in versions] == [3000, 4000]
    old = json.loads(_cli(ws, "lake", "show", "sales", "--version", "1", "--json", "--sort", "id", "--limit", "1",
                          "--offset", "7", env=env).stdout)
    new = json.loads(_cli(ws, "lake", "show", "sales", "--json", "--sort", "id", "--limit", "1", "--offset", "7",
                          env=env).stdout)
    assert (old["total_rows"], old["rows"]) == (3000, [{"id": 7, "amount": 7}])
    assert (new["total_rows"], new["rows"]) == (4000, [{"id": 7, "amount": 12}])
    summed = _cli(ws, "lake", "sql", "SELECT sum(amount) AS s FROM sales", "--json", env=env)
    assert summed.returncode == 0, summed.stderr
    assert json.loads(summed.stdout)["rows"] == [{"s": sum((i + 5) % 97 for i in range(4000))}]
    before = [k for k in _keys(s3, prefix) if k.endswith(".parquet")]
    pruned = _cli(ws, "lake", "prune", "sales", "--keep", "1", "--json", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["pruned_versions"] == [1]
    assert len([k for k in _keys(s3, prefix) if k.endswith(".parquet")]) < len(before)  # deleted in the bucket
    assert json.loads(_cli(ws, "lake", "show", "sales", "--json", env=env).stdout)["total_rows"] == 4000

    assert s3.secret.encode() not in _audit_bytes(ws)
    for out in (first, shown, second, summed, pruned):
        assert s3.secret not in out.stdout + out.stderr


def test_switching_the_backend_under_a_lake_with_data_is_refused(s3: S3Server, s3_ws: tuple[Path, str],
                                                                 env: dict[str, str], tmp_path: Path) -> None:
    # An S3 lake with data files, then workbench.toml loses its [storage] table: refused, not an empty lake.
    ws, _prefix = s3_ws
    assert _cli(ws, "lake", "ingest", str(_csv(tmp_path / "t.csv", 3000)), env=env).returncode == 0
    toml = (ws / "workbench.toml").read_text()
    (ws / "workbench.toml").write_text(toml[: toml.index("\n[storage]")] + "\n")
    refused = _cli(ws, "lake", "tables", env=env)
    assert refused.returncode == ExitCode.BAD_INPUT and refused.stderr.count("\n") == 1
    assert "[storage] backend = 'local'" in refused.stderr and f"s3://{BUCKET}/" in refused.stderr

    # A local lake with data files, then [storage] backend = "s3": refused, and the catalog is untouched.
    local = tmp_path / "local"
    _init(local, env)
    assert _cli(local, "lake", "ingest", str(_csv(tmp_path / "u.csv", 3000)), env=env).returncode == 0
    catalog = (local / "lake" / "catalog.sqlite").read_bytes()
    _use_s3(local, s3)
    moved = _cli(local, "lake", "show", "u", env=env)
    assert moved.returncode == ExitCode.BAD_INPUT and "Traceback" not in moved.stderr
    assert moved.stderr.startswith("Error: The lake's data files are in the workspace folder")
    assert "[storage] backend = 's3'" in moved.stderr and "set it back to 'local'" in moved.stderr
    assert (local / "lake" / "catalog.sqlite").read_bytes() == catalog


@pytest.mark.parametrize("problem", ["wrong secret", "missing bucket", "endpoint down"])
def test_an_unusable_bucket_is_exit_3_one_sentence_and_nothing_written(
        problem: str, s3: S3Server, env: dict[str, str], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _init(ws, env)
    if problem == "wrong secret":
        _use_s3(ws, s3)
        env = {**env, "AWS_SECRET_ACCESS_KEY": "wrong-secret-4711"}
        expected = "Error: The S3 credentials were refused"
    elif problem == "missing bucket":
        _use_s3(ws, s3, bucket="no-such-bucket")
        expected = "Error: The bucket 'no-such-bucket' does not exist"
    else:
        import socket

        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        _use_s3(ws, S3Server(f"http://127.0.0.1:{port}", s3.key_id, s3.secret))
        expected = f"Error: Cannot reach s3://{BUCKET}/"
    catalog = (ws / "lake" / "catalog.sqlite").read_bytes()
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "s"\ntarget = "amount"\n[data]\ntable = "sales"\n')
    for args in (("lake", "ingest", str(_csv(tmp_path / "sales.csv", 3000))), ("lake", "tables"),
                 ("batch", str(spec), "-q")):
        out = _cli(ws, *args, env=env)
        assert out.returncode == ExitCode.BACKEND_UNAVAILABLE, (args, out.stderr)
        assert out.stderr.startswith(expected) and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert env["AWS_SECRET_ACCESS_KEY"] not in out.stdout + out.stderr
    assert (ws / "lake" / "catalog.sqlite").read_bytes() == catalog
    assert _local_files(ws / "lake" / "data") == [] and _local_files(ws / "artifacts") == []
    failed = _events(ws, "plugin.failed")
    assert len(failed) == 3 and all(e.subject == "s3" for e in failed)
    assert not _events(ws, "lake.ingest") and not _events(ws, "run.queued")
    assert env["AWS_SECRET_ACCESS_KEY"].encode() not in _audit_bytes(ws)


def _spec(tmp_path: Path) -> Path:
    spec = tmp_path / "species.toml"
    spec.write_text('name = "species"\ntarget = "species"\ntask = "multiclass"\nmetric = "log_loss"\nholdout = 0.25\n'
                    'seed = 7\ntime_budget_s = 10\nmax_trials = 3\ncandidates = ["linear"]\n\n[data]\n'
                    'table = "penguins"\n', encoding="utf-8")
    return spec


@pytest.mark.slow
def test_run_artifacts_live_in_the_bucket_and_come_back_from_it(s3: S3Server, s3_ws: tuple[Path, str],
                                                                env: dict[str, str], tmp_path: Path) -> None:
    ws, prefix = s3_ws
    outputs = [_cli(ws, "lake", "ingest", str(PENGUINS), env=env)]
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    outputs.append(_cli(ws, "batch", str(_spec(tmp_path)), "--json", "-q", env=env))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    run = json.loads(outputs[-1].stdout)
    run_id = run["run_id"]
    assert _keys(s3, f"{prefix}/artifacts/{run_id}") == RUN_FILES
    model_key = f"{prefix}/{run['artifact_path']}"
    stored = _client(s3).get_object(Bucket=BUCKET, Key=model_key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == run["artifact_sha256"]
    [started] = [e for e in _events(ws, "run.started") if e.run_id == run_id]
    assert started.params["storage"]["bucket"] == BUCKET and started.params["storage"]["prefix"] == prefix

    # The local folder is only a cache: without it, registering and predicting fetch from the bucket.
    shutil.rmtree(ws / "artifacts")
    outputs.append(_cli(ws, "models", "register", run_id, "--name", "species", env=env))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    shutil.rmtree(ws / "artifacts")
    outputs.append(_cli(ws, "models", "predict", "species:1", "--table", "penguins", "--into", "scored", "--json",
                        env=env))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert json.loads(outputs[-1].stdout)["rows"] == 344
    assert (ws / run["artifact_path"]).read_bytes() == stored  # fetched into the cache, verified

    # A damaged cached copy is replaced by the bucket's verified one.
    (ws / run["artifact_path"]).write_bytes(b"not a model")
    outputs.append(_cli(ws, "models", "predict", "species:1", "--table", "penguins", "--into", "scored", "--replace",
                        env=env))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert (ws / run["artifact_path"]).read_bytes() == stored

    # An object changed in the bucket is refused (and never cached) once the cache does not vouch for it.
    shutil.rmtree(ws / "artifacts")
    _client(s3).put_object(Bucket=BUCKET, Key=model_key, Body=stored[:-1] + bytes([stored[-1] ^ 0xFF]))
    tampered = _cli(ws, "models", "predict", "species:1", "--table", "penguins", "--into", "other", env=env)
    assert tampered.returncode == ExitCode.RUN_FAILED and tampered.stderr.count("\n") == 1
    assert "changed after training and will not be loaded" in tampered.stderr and model_key in tampered.stderr
    assert not (ws / run["artifact_path"]).exists()
    assert "other" not in _cli(ws, "lake", "tables", env=env).stdout

    assert s3.secret.encode() not in _audit_bytes(ws)
    for out in outputs + [tampered]:
        assert s3.secret not in out.stdout + out.stderr


def test_a_failed_upload_fails_the_run_and_leaves_nothing_referenced(
        s3: S3Server, s3_ws: tuple[Path, str], env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench_s3.storage import S3Storage

    from workbench.audit import AuditLog
    from workbench.errors import BackendUnavailableError
    from workbench.pipeline.spec import load_spec
    from workbench.runs.engine import run_foreground

    ws_root, prefix = s3_ws
    assert _cli(ws_root, "lake", "ingest", str(PENGUINS), env=env).returncode == 0
    for var in ("XDG_DATA_HOME", "WORKBENCH_USER"):
        monkeypatch.setenv(var, env[var])
    real_write = S3Storage.write

    def write_then_fail(self: S3Storage, key: str, data) -> None:
        if key.endswith("/model.joblib"):
            raise ConnectionResetError("connection reset by peer")
        real_write(self, key, data)

    monkeypatch.setattr(S3Storage, "write", write_then_fail)
    ws = Workspace.load(ws_root)
    with pytest.raises(BackendUnavailableError, match="Cannot upload artifacts/.*/model.joblib"):
        run_foreground(ws, load_spec(_spec(tmp_path), 0.2, "local"))
    with AuditLog(ws.audit_path, ws.root) as log:
        [run] = RunRecords(log).list_runs()
    assert run["state"] == "failed" and run["artifact_path"] is None and "Cannot upload" in run["error"]
    assert _keys(s3, f"{prefix}/artifacts") == []  # the files uploaded before the failure were removed
    assert not (ws.artifacts_dir / run["run_id"]).exists()


def test_a_run_found_dead_has_its_uploaded_objects_removed(
        s3: S3Server, s3_ws: tuple[Path, str], env: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-upload leaves objects under artifacts/<run>/; settling the run deletes them."""
    from workbench.audit import AuditLog
    from workbench.identity import current_host
    from workbench.pipeline.spec import load_spec
    from workbench.runs.engine import queue_run

    ws_root, prefix = s3_ws
    assert _cli(ws_root, "lake", "ingest", str(PENGUINS), env=env).returncode == 0
    for var in ("XDG_DATA_HOME", "WORKBENCH_USER"):
        monkeypatch.setenv(var, env[var])
    ws = Workspace.load(ws_root)
    run_id = queue_run(ws, load_spec(_spec(tmp_path), 0.2, "local")).run_id
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a real process that has exited: the run's "worker"
    with AuditLog(ws.audit_path, ws.root) as log:
        assert RunRecords(log).transition_run(run_id, "running", from_states=("queued",), pid=gone.pid, host=current_host())
    for name in ("model.joblib", "leaderboard.json"):
        _client(s3).put_object(Bucket=BUCKET, Key=f"{prefix}/artifacts/{run_id}/{name}", Body=b"half an upload")
    other = f"{prefix}/artifacts/someone-else/model.joblib"
    _client(s3).put_object(Bucket=BUCKET, Key=other, Body=b"keep me")

    listed = _cli(ws_root, "runs", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert {r["run_id"]: r["state"] for r in json.loads(listed.stdout)}[run_id] == "interrupted"
    assert _keys(s3, f"{prefix}/artifacts") == ["someone-else/model.joblib"]
