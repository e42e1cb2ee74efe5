"""What the scheduler adds to each run it triggers: a cron pipeline with one no-op step, driven tick by tick on
a manual clock (each tick finds it due and runs it), against calling the step function directly and against
`run_pipeline` without the scheduler (role check + four audit events + the pipeline lock).

    python benchmarks/scheduler_overhead.py [--runs 50]

Target (issue 15): ≤ 100 ms of scheduler overhead per triggered run. Medians; the load average is printed
because these machines are shared. Nothing here touches the wall clock of the scheduler itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from workbench.pipelines.run import run_pipeline
    from workbench.pipelines.spec import load_pipeline
    from workbench.pipelines.steps import StepContext, run_noop
    from workbench.scheduler.clock import ManualClock
    from workbench.scheduler.service import Scheduler
    from workbench.workspace.create import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("WORKBENCH_USER", None)
        ws = init_workspace(Path(tmp) / "ws", name="bench")
        (ws.root / "pipelines").mkdir()
        (ws.root / "pipelines" / "tick.toml").write_text('[trigger]\ncron = "* * * * *"\n\n[[steps]]\nkind = "noop"\n')
        pipeline = load_pipeline(ws, "tick")
        step = pipeline.steps[0]
        now = datetime(2026, 3, 1, tzinfo=timezone.utc)

        direct = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            run_noop(ws, step, StepContext(pipeline, now))
            direct.append(time.perf_counter() - t0)

        from workbench.audit import AuditLog

        unscheduled, own_log = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            run_pipeline(ws, pipeline, {"kind": "manual"}, now=now)  # as `pipelines run`: opens its own log
            unscheduled.append(time.perf_counter() - t0)
        with AuditLog(ws.audit_path, ws.root) as log:
            for _ in range(args.runs):
                t0 = time.perf_counter()
                run_pipeline(ws, pipeline, {"kind": "manual"}, now=now, log=log)  # on an open log, as the scheduler
                own_log.append(time.perf_counter() - t0)

        clock = ManualClock(now + timedelta(seconds=30))
        scheduler = Scheduler(ws, clock, poll_s=60)  # as `serve` runs it, without the lock and its events
        scheduler.start()
        scheduled = []
        for _ in range(args.runs):
            clock.advance(60)  # the next minute's slot is due
            t0 = time.perf_counter()
            ran = scheduler.tick()
            scheduled.append(time.perf_counter() - t0)
            assert len(ran) == 1 and ran[0].ok, ran

    d, u, s = _median_ms(direct), _median_ms(unscheduled), _median_ms(scheduled)
    o = _median_ms(own_log)
    print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} runs each; medians")
    print(f"  no-op step called directly:                {d:8.3f} ms")
    print(f"  run_pipeline opening its own audit log:    {u:8.3f} ms (as `workbench pipelines run`)")
    print(f"  run_pipeline on an open log (role, lock, 4 events): {o:8.3f} ms")
    print(f"  scheduler tick that finds it due and runs: {s:8.3f} ms")
    print(f"  scheduler overhead per triggered run:      {s - d:8.3f} ms (target ≤ 100 ms; "
          f"of which finding it due {s - o:.3f} ms)")


if __name__ == "__main__":
    main()
