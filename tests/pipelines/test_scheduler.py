"""The scheduler on an injected clock: a day of cron slots in seconds, catch-up after downtime (never a
burst), no double runs with two schedulers on the real lock, a failing step stops its pipeline, a restart
resumes where the log says it stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from pipeline_fixtures import SteppingClock, at, events, write_pipeline

from workbench.errors import ExitCode
from workbench.scheduler.clock import ManualClock
from workbench.scheduler.service import SchedulerBusy, serve

HOURLY = '[trigger]\ncron = "0 * * * *"\n\n[[steps]]\nkind = "noop"\n'
NIGHTLY = '[trigger]\ncron = "0 2 * * *"\ncatch_up_hours = 1\n\n[[steps]]\nkind = "noop"\n'


def _slots(ws, name: str) -> list[str]:
    return [e["trigger"]["slot"] for e in events(ws, "pipeline.started", name) if "slot" in e["trigger"]]


def test_a_day_of_schedules_then_downtime_catches_up_once(sample_workspace) -> None:
    ws = sample_workspace
    write_pipeline(ws, "hourly", HOURLY)
    write_pipeline(ws, "nightly", NIGHTLY)
    clock = ManualClock(at("2026-03-01T00:00:30+00:00"))
    serve(ws, clock, poll_s=300, until=at("2026-03-02T00:00:30+00:00"))

    hourly = _slots(ws, "hourly")
    assert len(hourly) == 24 == len(set(hourly))  # 01:00 … next 00:00, each once
    assert hourly[0] == "2026-03-01T01:00:00+00:00" and hourly[-1] == "2026-03-02T00:00:00+00:00"
    assert _slots(ws, "nightly") == ["2026-03-01T02:00:00+00:00"]
    assert all(e["outcome"] == "succeeded" for e in events(ws, "pipeline.finished"))

    # Down from 00:00:30 to 05:10 (hourly missed 01:00…05:00; nightly's 02:00 is > 1 h old by then).
    clock.advance(5 * 3600 + 570)
    serve(ws, clock, poll_s=300, until=at("2026-03-02T06:00:30+00:00"))
    hourly = events(ws, "pipeline.started", "hourly")
    caught_up = hourly[24]
    assert caught_up["trigger"]["slot"] == "2026-03-02T05:00:00+00:00"  # once, for the newest missed slot
    assert caught_up["trigger"]["missed"] == 4  # 01:00…04:00 folded into it
    assert [e["trigger"]["slot"] for e in hourly[25:]] == ["2026-03-02T06:00:00+00:00"]  # then on time again
    skipped = events(ws, "pipeline.skipped", "nightly")
    assert [(s["trigger"]["slot"], s["trigger"]["missed"]) for s in skipped] == [("2026-03-02T02:00:00+00:00", 1)]
    assert len(_slots(ws, "nightly")) == 1  # skipped, not run


def test_a_failing_step_stops_its_pipeline(sample_workspace) -> None:
    ws = sample_workspace
    write_pipeline(ws, "broken", '[trigger]\ncron = "*/30 * * * *"\n\n[[steps]]\nkind = "noop"\n\n'
                                 '[[steps]]\nkind = "score"\nmodel = "nosuch@champion"\ntable = "penguins"\n'
                                 'into = "scored"\n\n[[steps]]\nkind = "noop"\n')
    write_pipeline(ws, "downstream", '[trigger]\nafter = "broken"\n\n[[steps]]\nkind = "noop"\n')
    serve(ws, ManualClock(at("2026-03-01T00:00:30+00:00")), poll_s=1800, until=at("2026-03-01T01:00:30+00:00"))

    finished = events(ws, "pipeline.finished", "broken")
    assert [f["outcome"] for f in finished] == ["failed", "failed"]
    assert all(f["failed_step"] == 2 for f in finished)
    failed = events(ws, "pipeline.step_failed", "broken")
    assert "nosuch" in failed[0]["error"]
    assert [s["index"] for s in events(ws, "pipeline.step_finished", "broken")] == [1, 1]  # step 3 never ran
    assert events(ws, "pipeline.started", "downstream") == []  # only a success triggers it


def test_after_trigger_runs_in_the_same_tick(sample_workspace) -> None:
    ws = sample_workspace
    write_pipeline(ws, "first", '[trigger]\ncron = "0 3 * * *"\n\n[[steps]]\nkind = "noop"\n')
    write_pipeline(ws, "second", '[trigger]\nafter = "first"\n\n[[steps]]\nkind = "noop"\n')
    serve(ws, ManualClock(at("2026-03-01T02:59:00+00:00")), poll_s=300, until=at("2026-03-01T03:01:00+00:00"))
    (second,) = events(ws, "pipeline.started", "second")
    (first_done,) = events(ws, "pipeline.finished", "first")
    assert second["trigger"]["upstream_run"] == first_done["run"]


def test_two_schedulers_never_both_run(sample_workspace, cli) -> None:
    ws = sample_workspace
    write_pipeline(ws, "hourly", HOURLY)
    stop = threading.Event()
    started = threading.Event()
    clock = SteppingClock(at("2026-03-01T00:00:30+00:00"))
    errors: list[BaseException] = []

    def first() -> None:
        try:
            serve(ws, clock, poll_s=300, report=lambda line: None,
                  should_stop=lambda: started.set() or stop.is_set())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(30)
        with pytest.raises(SchedulerBusy, match="already running"):  # a second one in this process (a thread)
            serve(ws, ManualClock(at("2026-03-01T00:00:30+00:00")), once=True)
        second = cli("-w", str(ws.root), "scheduler", "--once")  # and a real second process
        assert second.returncode == ExitCode.BAD_INPUT, second.stderr
        assert "already running" in second.stderr and "Traceback" not in second.stderr
    finally:
        stop.set()
        thread.join(60)
    assert not errors
    slots = _slots(ws, "hourly")
    assert slots and len(slots) == len(set(slots))  # no slot ran twice
    assert len(events(ws, "scheduler.started")) == 1  # the refused ones recorded nothing


def test_restart_settles_an_interrupted_run_and_resumes(sample_workspace) -> None:
    from workbench.audit import AuditLog
    from workbench.identity import current_host

    ws = sample_workspace
    write_pipeline(ws, "hourly", HOURLY)
    clock = ManualClock(at("2026-03-01T00:00:30+00:00"))
    serve(ws, clock, poll_s=300, until=at("2026-03-01T02:00:30+00:00"))
    # A run whose process died mid-way (its pid is a finished child's).
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("pipeline.started", actor=ws.actor, subject="hourly", outcome="running",
                   params={"run": "pl-dead", "trigger": {"kind": "manual"}, "pid": int(child.stdout),
                           "host": current_host()})
    assert int(child.stdout) != os.getpid()
    serve(ws, clock, poll_s=300, until=at("2026-03-01T03:00:30+00:00"))
    dead = [e for e in events(ws, "pipeline.finished", "hourly") if e["run"] == "pl-dead"]
    assert [d["outcome"] for d in dead] == ["interrupted"]
    assert _slots(ws, "hourly") == [f"2026-03-01T0{h}:00:00+00:00" for h in (1, 2, 3)]  # resumed, no repeat
    assert len(events(ws, "scheduler.stopped")) == 2


def test_certified_versions_trigger_once_each_batch_even_across_downtime(sample_workspace) -> None:
    from workbench.audit import AuditLog

    ws = sample_workspace
    write_pipeline(ws, "on_cert", '[trigger]\ncertified = "penguins"\n\n[[steps]]\nkind = "noop"\n')
    clock = ManualClock(at("2026-03-01T00:00:30+00:00"))

    def certify(table: str, version: int) -> None:  # as the checks part records it
        with AuditLog(ws.audit_path, ws.root) as log:
            log.record("lake.certified", actor=ws.actor, subject=table,
                       params={"table": table, "version": version, "expectations_sha": "0" * 64})

    serve(ws, clock, once=True)
    assert events(ws, "pipeline.started", "on_cert") == []
    certify("penguins", 2)  # while no scheduler runs
    certify("flights", 5)  # another table: no trigger
    serve(ws, clock, once=True)
    serve(ws, clock, once=True)  # handled already: not again
    certify("penguins", 3)
    certify("penguins", 4)  # two since the last run: one run, for the newest
    serve(ws, clock, once=True)
    assert [e["trigger"]["version"] for e in events(ws, "pipeline.started", "on_cert")] == [2, 4]


def test_the_real_service_stops_cleanly_on_sigterm(sample_workspace) -> None:
    """`workbench scheduler` as a process: it records its start, and SIGTERM ends it with its stop recorded
    and the lock free again (a second one can start)."""
    import signal
    import time

    ws = sample_workspace
    write_pipeline(ws, "hourly", HOURLY)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(ws.root), "scheduler", "--poll", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # polls the log, not the clock: at most 60 s on a loaded machine
            if events(ws, "scheduler.started"):
                break
            time.sleep(0.1)
        assert events(ws, "scheduler.started")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED and "Traceback" not in err
    assert len(events(ws, "scheduler.stopped")) == 1
    serve(ws, ManualClock(at("2026-03-01T00:00:30+00:00")), once=True)  # the lock was freed


def test_a_pipeline_that_certifies_its_own_table_does_not_trigger_itself(sample_workspace, monkeypatch) -> None:
    import types

    from workbench.audit import AuditLog

    ws = sample_workspace

    def check_table(ws_, table, version=None):  # noqa: ANN001, ANN202 - the checks part's agreed signature
        with AuditLog(ws_.audit_path, ws_.root) as log:  # passing checks certify the table, as agreed
            log.record("lake.certified", actor=ws_.actor, subject=table, params={"table": table, "version": 9})
        return types.SimpleNamespace(table=table, version=9, passed=True, certified=True, failures=[])

    monkeypatch.setitem(sys.modules, "workbench.checks.run", types.SimpleNamespace(check_table=check_table))
    write_pipeline(ws, "recheck", '[trigger]\ncertified = "penguins"\n\n[[steps]]\nkind = "check"\n'
                                  'table = "penguins"\n')
    clock = ManualClock(at("2026-03-01T00:00:30+00:00"))
    serve(ws, clock, once=True)
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("lake.certified", actor=ws.actor, subject="penguins", params={"table": "penguins", "version": 8})
    serve(ws, clock, once=True)
    serve(ws, clock, once=True)
    assert [e["trigger"]["version"] for e in events(ws, "pipeline.started", "recheck")] == [8]  # once, not a loop
