"""Bad pipeline files and commands: one sentence, exit 2, nothing recorded (no pipeline or scheduler event)."""

from __future__ import annotations

import re

import pytest
from pipeline_fixtures import events, write_pipeline

from workbench.errors import ExitCode

NOOP = '\n[[steps]]\nkind = "noop"\n'


@pytest.mark.parametrize(("files", "words"), [
    ({"bad": '[trigger]\ncron = "61 * * * *"\n' + NOOP}, "is malformed"),
    ({"bad": '[trigger]\ncron = "every day"\n' + NOOP}, "five fields"),
    ({"bad": '[[steps]]\nkind = "train"\nspec = "specs/nope.toml"\nmodel = "m"\n'}, "Spec file not found"),
    ({"bad": '[[steps]]\nkind = "check"\ntable = "no_such_table"\n'}, "'no_such_table', which does not exist"),
    ({"bad": '[[steps]]\nkind = "train"\nspec = "ghost_spec.toml"\nmodel = "m"\n'}, "'ghost_table', which does not exist"),
    ({"bad": '[trigger]\ncertified = "ghost"\n' + NOOP}, "'ghost', which does not exist"),
    ({"a": '[trigger]\nafter = "b"\n' + NOOP, "b": '[trigger]\nafter = "c"\n' + NOOP,
      "c": '[trigger]\nafter = "a"\n' + NOOP}, "cycle (a → b → c → a)"),
    ({"bad": '[trigger]\nafter = "ghost"\n' + NOOP}, "names no pipeline 'ghost'"),
    ({"bad": '[[steps]]\nkind = "deploy"\n'}, "unknown kind 'deploy'"),
    ({"bad": '[[steps]]\nkind = "noop"\nfast = true\n'}, "unknown key 'fast'"),
    ({"bad": '[trigger]\ncron = "0 * * * *"\ncertified = "penguins"\n' + NOOP}, "exactly one of"),
])
def test_bad_pipeline_files_are_refused_whole(sample_workspace, cli, files, words) -> None:
    ws = sample_workspace
    (ws.root / "ghost_spec.toml").write_text('target = "y"\n[data]\ntable = "ghost_table"\n')
    for name, text in files.items():
        write_pipeline(ws, name, text)
    write_pipeline(ws, "good", NOOP)
    for args in (["pipelines", "list"], ["scheduler", "--once"]):
        result = cli("-w", str(ws.root), *args)
        assert result.returncode == ExitCode.BAD_INPUT, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    from workbench.pipelines.spec import PipelineError, load_pipeline

    with pytest.raises(PipelineError, match=re.escape(words)):  # `pipelines run good` too: all files are checked
        load_pipeline(ws, "good")
    assert events(ws, "pipeline.started") == [] and events(ws, "scheduler.started") == []


def test_unknown_pipeline_and_bad_name(sample_workspace, cli) -> None:
    write_pipeline(sample_workspace, "good", NOOP)
    missing = cli("-w", str(sample_workspace.root), "pipelines", "run", "nope")
    assert missing.returncode == ExitCode.BAD_INPUT and "No pipeline 'nope'" in missing.stderr
    bad = cli("-w", str(sample_workspace.root), "pipelines", "history", "../x")
    assert bad.returncode == ExitCode.BAD_INPUT and "is not a pipeline name" in bad.stderr


def test_bad_alerts_section_is_one_sentence(sample_workspace, cli) -> None:
    ws = sample_workspace
    ws.settings_path.write_text(ws.settings_path.read_text() + '\n[alerts.webhook]\nurl = "ftp://x"\n')
    write_pipeline(ws, "fails", '[[steps]]\nkind = "score"\nmodel = "m"\ntable = "penguins"\ninto = "o"\n')
    result = cli("-w", str(ws.root), "pipelines", "run", "fails")
    assert result.returncode == ExitCode.RUN_FAILED  # the step failed; the alert could not be configured
    assert "Traceback" not in result.stderr
    (finished,) = events(ws, "pipeline.finished", "fails")
    assert finished["outcome"] == "failed"


def test_cli_run_list_and_history(sample_workspace, cli) -> None:
    import json

    ws = sample_workspace
    write_pipeline(ws, "good", '[trigger]\ncron = "0 2 * * *"\n' + NOOP)
    ran = cli("-w", str(ws.root), "pipelines", "run", "good")
    assert ran.returncode == 0 and "succeeded" in ran.stdout
    listed = json.loads(cli("-w", str(ws.root), "pipelines", "list", "--json").stdout)
    assert listed[0]["name"] == "good" and listed[0]["last_outcome"] == "succeeded"
    assert listed[0]["next_run"].endswith("02:00:00+00:00")
    history = json.loads(cli("-w", str(ws.root), "pipelines", "history", "good", "--json").stdout)
    assert history[0]["outcome"] == "succeeded" and history[0]["steps"][0]["kind"] == "noop"


def test_a_viewer_cannot_run_a_pipeline_or_the_scheduler(sample_workspace, monkeypatch) -> None:
    from datetime import datetime, timezone

    from pipeline_fixtures import as_user, set_policy

    from workbench.errors import PermissionDenied
    from workbench.pipelines.run import run_pipeline
    from workbench.pipelines.spec import load_pipeline
    from workbench.scheduler.clock import ManualClock
    from workbench.scheduler.service import serve

    login = sample_workspace.identity.login
    ws = set_policy(sample_workspace, f'[governance.roles]\n"{login}" = "admin"\n"*" = "viewer"\n')
    write_pipeline(ws, "good", NOOP)
    eve = as_user(monkeypatch, ws, "eve")
    with pytest.raises(PermissionDenied, match="Running a pipeline needs the contributor role"):
        run_pipeline(eve, load_pipeline(eve, "good"))
    with pytest.raises(PermissionDenied, match="Running the scheduler needs the contributor role"):
        serve(eve, ManualClock(datetime(2026, 3, 1, tzinfo=timezone.utc)), once=True)
    assert events(ws, "pipeline.started") == [] and events(ws, "scheduler.started") == []
