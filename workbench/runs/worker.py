"""`python -m workbench.runs.worker WORKSPACE RUN_ID`: execute one queued run, detached from any terminal.

Exit status: 0 succeeded, 1 failed, 130 cancelled or interrupted. Whatever happens, the run ends in a
final state in the log (the engine's `settle_run`), or, if this process is killed, `reap_orphans` marks
it interrupted later.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    from workbench.errors import ExitCode, WorkbenchError
    from workbench.runs.cancel import RunCancelled
    from workbench.runs.engine import execute_run
    from workbench.workspace import Workspace
    from workbench.workspace.sharing import apply_shared_umask

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m workbench.runs.worker WORKSPACE RUN_ID", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    workspace, run_id = Workspace.load(Path(args[0])), args[1]
    apply_shared_umask(workspace)  # whoever started it, a shared workspace's files stay the group's
    try:
        result = execute_run(workspace, run_id, progress=_log_line)
    except (RunCancelled, KeyboardInterrupt):
        print(f"run {run_id}: stopped", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except WorkbenchError as exc:
        print(f"run {run_id}: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    print(f"run {run_id}: succeeded, best {result.best_model} {result.metric}={result.best_score:.4f}", file=sys.stderr)
    return _finish_reproduction(workspace, run_id, result)


def _finish_reproduction(workspace: Any, run_id: str, result: Any) -> int:
    """A run started by `start_reproduction` is compared with the run it reproduces (exit 1 if they differ)."""
    from workbench.errors import WorkbenchError
    from workbench.runs.reproduce import finish_reproduction

    try:
        report = finish_reproduction(workspace, run_id, result)
    except WorkbenchError as exc:
        print(f"run {run_id}: could not compare with the original: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    if report is None:
        return 0
    print(f"run {run_id}: reproduces {report.original}: {report.verdict}", file=sys.stderr)
    return 0 if report.matches else 1


def _log_line(stage: str, info: dict) -> None:
    import time

    detail = ", ".join(f"{k}={v}" for k, v in info.items())
    print(f"{time.strftime('%H:%M:%S')} [{stage}] {detail}", file=sys.stderr, flush=True)


class _RedactedStream:
    """A text stream that masks secrets (as the audit log does) in everything written to it."""

    def __init__(self, stream: Any, secrets: tuple[str, ...]) -> None:
        self._stream, self._secrets = stream, secrets

    def write(self, text: str) -> int:
        from workbench.audit.redact import redact_text

        self._stream.write(redact_text(text, self._secrets))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _redact_output() -> None:
    """The worker's stdout and stderr are the run's log file (`.workbench/runs/RUN.log`): progress lines
    name the query, errors quote SQL and tracebacks show values, so secrets are masked before they land there."""
    from workbench.audit.redact import secret_env_values

    secrets = secret_env_values()
    sys.stdout = _RedactedStream(sys.stdout, secrets)  # type: ignore[assignment]
    sys.stderr = _RedactedStream(sys.stderr, secrets)  # type: ignore[assignment]


if __name__ == "__main__":
    _redact_output()
    sys.exit(main())
