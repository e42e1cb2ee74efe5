"""`python -m workbench.runs.worker WORKSPACE RUN_ID`: execute one queued run, detached from any terminal.

Exit status: 0 succeeded, 1 failed, 130 cancelled or interrupted. Whatever happens, the run ends in a
final state in the log (the engine's `settle_run`), or, if this process is killed, `reap_orphans` marks
it interrupted later.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from workbench.errors import ExitCode, WorkbenchError
    from workbench.runs.cancel import RunCancelled
    from workbench.runs.engine import execute_run
    from workbench.workspace import Workspace

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m workbench.runs.worker WORKSPACE RUN_ID", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    workspace, run_id = Workspace.load(Path(args[0])), args[1]
    try:
        result = execute_run(workspace, run_id, progress=_log_line)
    except (RunCancelled, KeyboardInterrupt):
        print(f"run {run_id}: stopped", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except WorkbenchError as exc:
        print(f"run {run_id}: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    print(f"run {run_id}: succeeded, best {result.best_model} {result.metric}={result.best_score:.4f}", file=sys.stderr)
    return 0


def _log_line(stage: str, info: dict) -> None:
    import time

    detail = ", ".join(f"{k}={v}" for k, v in info.items())
    print(f"{time.strftime('%H:%M:%S')} [{stage}] {detail}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
