"""A secret from the environment (or a `password=...` pair) given in a run spec reaches no file of the workspace:
not the audit log, not the run's model.json / leaderboard.json / diagnostics.json, not the detached worker's
log, not the lake. Every file is read whole (SQLite and WAL files byte for byte; compressed Parquet and joblib
files decoded first)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from workbench.workspace import Workspace

SECRET = "Zq9SecretVal42"  # the value of WB_TEST_API_TOKEN: a name audit.redact treats as secret
PASSWORD = "Hx7PlainPass"  # a key=value secret in the spec's text, masked by pattern

SPEC = f"""\
name = "secret_run"
description = "filters on {SECRET}; db password={PASSWORD}"
target = "species"
task = "multiclass"
cv_folds = 3
time_budget_s = 60
seed = 7
max_trials = 2
candidates = ["linear"]

[data]
query = "SELECT * FROM penguins WHERE species <> '{SECRET}' AND island <> 'password={PASSWORD}'"
"""


def _readable(path: Path) -> bytes:
    """The bytes of `path`, plus its decoded content where the bytes are compressed."""
    raw = path.read_bytes()
    if path.suffix == ".joblib":
        import joblib

        return raw + pickle.dumps(joblib.load(path))
    if path.suffix == ".parquet":  # decompressed: the table as an Arrow IPC stream, plus the file's metadata
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return raw + sink.getvalue().to_pybytes() + repr(pq.read_metadata(path).metadata).encode()
    return raw


def _holding(root: Path, *secrets: str) -> list[str]:
    """Workspace files (relative paths) whose content holds any of `secrets`."""
    needles = [s.encode() for s in secrets] + [s.encode("utf-16-le") for s in secrets]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and any(n in _readable(p) for n in needles))


@pytest.fixture(scope="module")
def secret_run(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[str]]:
    """One foreground and one detached run of the secret spec (once for the module: real runs take a while);
    returns the workspace and the run ids."""
    folder = tmp_path_factory.mktemp("secret-run")
    shutil.copytree(_sample_template, folder / "ws")
    ws = Workspace.load(folder / "ws")
    spec = folder / "secret.toml"
    spec.write_text(SPEC)
    # Module scope runs before the autouse per-test environment fixture: give the run its identity here.
    env = {"WB_TEST_API_TOKEN": SECRET, "WORKBENCH_USER": "tester", "XDG_DATA_HOME": str(folder / "xdg-data")}
    w = str(ws.root)
    foreground = run_cli("-w", w, "batch", "--json", "-q", str(spec), env=env)
    assert foreground.returncode == 0, foreground.stderr
    detached = run_cli("-w", w, "batch", "--detach", "--json", str(spec), env=env)
    assert detached.returncode == 0, detached.stderr
    run_ids = [json.loads(foreground.stdout)["run_id"], json.loads(detached.stdout)["run_id"]]
    watched = run_cli("-w", w, "runs", "watch", run_ids[1], "--timeout", "600", env=env)
    assert watched.returncode == 0, watched.stderr
    return ws, run_ids


def test_no_file_of_the_workspace_holds_the_secret(secret_run: tuple[Workspace, list[str]]) -> None:
    ws, run_ids = secret_run
    for run_id in run_ids:  # the runs really wrote their files, redacted
        run_dir = ws.artifacts_dir / run_id
        manifest = json.loads((run_dir / "model.json").read_text())
        assert "***" in manifest["spec"]["data"]["query"] and "***" in manifest["spec"]["description"]
        assert manifest["spec"]["target"] == "species" and manifest["sha256"]
        assert (run_dir / "leaderboard.json").exists() and (run_dir / "diagnostics.json").exists()
    worker_logs = list((ws.state_dir / "runs").glob("*.log"))
    assert worker_logs and "***" in worker_logs[0].read_text()  # the log names the (masked) query
    assert _holding(ws.root, SECRET, PASSWORD) == []


def test_a_run_with_a_redacted_spec_is_not_reproduced(secret_run: tuple[Workspace, list[str]], cli) -> None:
    ws, run_ids = secret_run
    result = cli("-w", str(ws.root), "runs", "reproduce", run_ids[0], env={"WB_TEST_API_TOKEN": SECRET})
    assert result.returncode == 2 and "had secrets redacted" in result.stderr, result.stderr
