"""Every number a user gives (run spec, workbench.toml, command-line flags) that is not a finite number of the
right kind in its stated range is bad input: exit 2, one sentence naming the key and the range, and nothing
recorded (no event, no run, no lake or artifact file touched)."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from workbench.workspace import Workspace

BAD = [math.nan, math.inf, -math.inf, 1e300, True, "10", -1, 2**63, 10**400]

# Keys of a run spec that hold numbers, and the spec they are put in ([data] version lives in [data]).
SPEC_KEYS = ["holdout", "cv_folds", "time_budget_s", "seed", "max_trials", "data.version"]
BASE = {"name": "bad_numbers", "target": "species", "task": "multiclass", "holdout": 0.25, "cv_folds": 3,
        "time_budget_s": 30, "seed": 7, "max_trials": 2}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _id(value: Any) -> str:
    text = _toml(value)
    return text if len(text) <= 20 else f"{text[:6]}…({len(text)} digits)"


def _spec_text(key: str, value: Any) -> str:
    top = dict(BASE)
    data = {"table": "penguins", "version": 1}
    options: dict[str, Any] = {}
    section, _, name = key.rpartition(".")
    {"": top, "data": data, "backend_options": options}[section][name] = value
    lines = [f"{k} = {_toml(v)}" for k, v in top.items()]
    lines += ["", "[data]", *(f"{k} = {_toml(v)}" for k, v in data.items())]
    if options:
        lines += ["", "[backend_options]", *(f"{k} = {_toml(v)}" for k, v in options.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workspace(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One sample workspace for the whole module: every case must leave it exactly as it was."""
    root = tmp_path_factory.mktemp("bad-numbers") / "ws"
    shutil.copytree(_sample_template, root)
    return Workspace.load(root)


def _snapshot(ws: Workspace) -> dict[str, Any]:
    """What a refused command must not change: the log's events and runs, and every other file of the workspace."""
    con = sqlite3.connect(ws.audit_path)
    try:
        log = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("events", "runs")}
    finally:
        con.close()
    audit = {ws.audit_path.name, ws.audit_path.name + "-wal", ws.audit_path.name + "-shm"}
    files = sorted((str(p.relative_to(ws.root)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in ws.root.rglob("*") if p.is_file() and p.name not in audit)
    return {"log": log, "files": files}


def _workbench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI's entry point in this process (much faster than a subprocess per case): exit code and stderr."""
    from workbench.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    return exit_.value.code, capsys.readouterr().err


def _assert_refused(code: int, err: str, key: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("Error: ") and f"{key} must be" in lines[0] and "(got " in lines[0], err
    assert " from " in lines[0] or " than " in lines[0], err  # the accepted range is stated


@pytest.mark.parametrize("value", BAD, ids=_id)
@pytest.mark.parametrize("key", SPEC_KEYS)
def test_bad_spec_number_is_refused_before_anything_is_recorded(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(_spec_text(key, value))
    before = _snapshot(workspace)
    code, err = _workbench(capsys, "-w", str(workspace.root), "batch", "-q", str(spec))
    _assert_refused(code, err, key.replace("data.", "[data] "))
    assert _snapshot(workspace) == before


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e300, 2**63, 10**400], ids=_id)
def test_non_finite_backend_option_is_refused(workspace: Workspace, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str], value: Any) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(_spec_text("backend_options.workers", value))
    before = _snapshot(workspace)
    code, err = _workbench(capsys, "-w", str(workspace.root), "batch", "-q", str(spec))
    _assert_refused(code, err, "backend_options.workers")
    assert _snapshot(workspace) == before


def test_good_edge_values_parse() -> None:
    from workbench.pipeline.spec import parse_spec

    spec = parse_spec({"data": {"table": "penguins", "version": 2**63 - 1}, "target": "species", "seed": 2**32 - 1,
                       "time_budget_s": 7 * 24 * 3600, "holdout": 0.5, "cv_folds": 20, "max_trials": 1})
    assert spec.seed == 2**32 - 1 and spec.time_budget_s == 604800.0 and spec.data.version == 2**63 - 1
    assert parse_spec({"data": {"table": "t"}, "target": "y", "seed": 0}).seed == 0


@pytest.mark.parametrize("body, key", [
    ("time_budget_s = nan", "time_budget_s"),
    ("seed = -1", "seed"),
    (f"seed = {2**63}", "seed"),
    ("time_budget_s = true", "time_budget_s"),
])
def test_the_real_entry_point_refuses_in_one_line(sample_workspace: Workspace, tmp_path: Path, cli,
                                                  body: str, key: str) -> None:
    spec = tmp_path / "spec.toml"
    name = body.split(" = ")[0]
    spec.write_text(_spec_text(name, BASE[name]).replace(f"{name} = {_toml(BASE[name])}", body))
    before = _snapshot(sample_workspace)
    result = cli("-w", str(sample_workspace.root), "batch", str(spec))
    _assert_refused(result.returncode, result.stderr, key)
    assert _snapshot(sample_workspace) == before


# workbench.toml: (section, key, bad value, a command that reads it). [runs] is read by every command;
# the policy sections by `governance report` (and the registry commands).
SETTINGS = [
    ("runs", "default_holdout", "nan"), ("runs", "default_holdout", "true"), ("runs", "default_holdout", "1e300"),
    ("runs", "max_concurrent", "-1"), ("runs", "max_concurrent", str(2**63)), ("runs", "max_concurrent", "true"),
    ("runs", "max_concurrent", "inf"),
    ("governance", "required_approvals", "true"), ("governance", "required_approvals", str(2**63)),
    ("governance", "max_champion_age_days", "nan"), ("governance", "max_days_since_evaluation", "inf"),
    ("governance", "stale_data_grace_days", "true"), ("governance", "max_champion_age_days", '"10"'),
    ("registry", "psi_threshold", "inf"), ("registry", "missing_rate_threshold", "nan"),
    ("registry", "missing_rate_threshold", "-1"),
]


@pytest.mark.parametrize("section, key, value", SETTINGS, ids=[f"{s}.{k}={v}" for s, k, v in SETTINGS])
def test_bad_workbench_toml_number_is_refused(workspace: Workspace, capsys: pytest.CaptureFixture[str],
                                              section: str, key: str, value: str) -> None:
    from conftest import SPECS

    original = workspace.settings_path.read_text()
    if section == "runs":
        text, n = original, original.count(f"\n{key} = ")
        assert n == 1
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in text.splitlines())
    else:
        text = original + f"\n[{section}]\n{key} = {value}\n"
    workspace.settings_path.write_text(text)
    try:
        before = _snapshot(workspace)
        command = ["batch", "-q", str(SPECS / "penguin_species.toml")] if section == "runs" else ["governance", "report"]
        code, err = _workbench(capsys, "-w", str(workspace.root), *command)
        _assert_refused(code, err, f"[{section}] {key}")
        assert _snapshot(workspace) == before
    finally:
        workspace.settings_path.write_text(original)


FLAGS = [
    (["runs", "watch", "r", "--timeout", "nan"], "--timeout"),
    (["runs", "watch", "r", "--timeout", "inf"], "--timeout"),
    (["runs", "watch", "r", "--timeout", "-1"], "--timeout"),
    (["runs", "cancel", "r", "--grace", "1e300"], "--grace"),
    (["runs", "reproduce", "r", "--tolerance", "nan"], "--tolerance"),
    (["runs", "list", "--limit", str(2**63)], "--limit"),
    (["runs", "list", "--limit", "true"], "--limit"),
    (["models", "approve", str(2**63)], "ID"),
    (["models", "withdraw", "0"], "ID"),
    (["lake", "show", "penguins", "--offset", str(2**63)], "--offset"),
    (["lake", "show", "penguins", "--limit", "10.5"], "--limit"),
    (["audit", "tail", "-n", "0"], "-n"),
]


@pytest.mark.parametrize("args, flag", FLAGS, ids=[" ".join(a) for a, _ in FLAGS])
def test_bad_number_flag_is_refused(workspace: Workspace, capsys: pytest.CaptureFixture[str],
                                    args: list[str], flag: str) -> None:
    before = _snapshot(workspace)
    code, err = _workbench(capsys, "-w", str(workspace.root), *args)
    _assert_refused(code, err, flag)
    assert _snapshot(workspace) == before
