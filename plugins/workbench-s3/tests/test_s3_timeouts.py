"""An S3 endpoint that accepts connections and never answers: every command gives up within the
configured timeout with one sentence (exit 3) and the failure is in the audit log.

The silent server is a real TCP socket on 127.0.0.1 whose connections are accepted and never read
from or answered, as a hung load balancer or a stopped-but-listening MinIO behaves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from s3_fixtures import _ISOLATION, _UNSET, BUCKET, S3Server, s3  # noqa: F401  (s3 is a fixture)

from workbench.audit import AuditLog
from workbench.errors import BackendUnavailableError, ExitCode
from workbench.workspace import Workspace

GENEROUS_S = 60  # "it finished at all": a hang would be minutes; no tighter wall-clock assertion


@pytest.fixture
def silent_endpoint():
    """http://127.0.0.1:PORT of a server that accepts every connection and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)  # kept open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _UNSET}
    return {**base, **_ISOLATION, "AWS_ACCESS_KEY_ID": "silent-test-key", "AWS_SECRET_ACCESS_KEY": "silent-test-secret",
            "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester", "WORKBENCH_HOME": ""}


def _silent_workspace(root: Path, endpoint: str, env: dict[str, str], timeout_s: float) -> Path:
    subprocess.run([sys.executable, "-m", "workbench", "init", str(root)], check=True, capture_output=True, env=env)
    with open(root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write(f'\n[storage]\nbackend = "s3"\n\n[storage.s3]\nbucket = "{BUCKET}"\nendpoint_url = "{endpoint}"\n'
                 f'\n[backends]\ntimeout_s = {timeout_s}\n')
    return root


def _cli(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "-w", str(root), *args], capture_output=True, text=True,
                          env=env, timeout=GENEROUS_S)


def test_lake_commands_on_a_silent_endpoint_give_up_in_one_sentence(silent_endpoint: str, env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    root = _silent_workspace(tmp_path / "ws", silent_endpoint, env, 2)
    out = _cli(root, "lake", "tables", env=env)
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "The storage back-end 's3' did not answer within 2 s" in lines[0]

    checked = _cli(root, "plugins", "check", "storage", "s3", env=env)
    assert checked.returncode == ExitCode.BACKEND_UNAVAILABLE and "did not answer within 2 s" in checked.stderr

    ws = Workspace.load(root)
    with AuditLog(ws.audit_path, ws.root) as log:
        failed = [e for e in log.events(kind="plugin.failed")]
    assert len(failed) == 2 and all("did not answer within 2 s" in e.params["error"] for e in failed)


def test_the_plugin_bounds_its_own_requests(silent_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Workbench's deadline around it, S3Storage itself gives up (botocore read timeout, one retry,
    no s3fs retry loop on top)."""
    from workbench_s3.storage import S3Storage

    for var, value in _ISOLATION.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "silent-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "silent-test-secret")
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            S3Storage(bucket=BUCKET, endpoint_url=silent_endpoint, timeout_s=1)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    thread.join(GENEROUS_S)
    assert not thread.is_alive(), "S3Storage hung on a silent endpoint"
    [err] = outcome
    assert isinstance(err, BackendUnavailableError) and "Cannot reach s3://lake/" in err.message


def test_duckdb_reads_are_bounded_too(s3: S3Server) -> None:
    import duckdb

    from workbench_s3.storage import S3Storage

    storage = S3Storage(bucket=BUCKET, endpoint_url=s3.endpoint, timeout_s=4)
    con = duckdb.connect()
    try:
        storage.configure_duckdb(con)
        assert con.execute("SELECT current_setting('http_timeout'), current_setting('http_retries')").fetchone() == (4, 1)
    finally:
        con.close()
