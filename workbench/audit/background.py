"""Verify the chain in a child process, for callers that must stay responsive (the TUI).

Walking a million events is seconds of Python work; in a thread of the TUI's process it would hold the
GIL against the event loop. A child interpreter walks it instead, at low priority and on one core (the
two-process walk of `audit/parallel.py` would leave none for the UI), and answers with one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def verify_in_child(audit_path: Path, workspace_root: Path, timeout: float = 3600) -> dict[str, Any]:
    """`VerifyResult.as_dict()` of the log at `audit_path`, computed by a low-priority child process."""
    child = subprocess.run([sys.executable, "-m", "workbench.audit.background", str(audit_path), str(workspace_root)],
                           capture_output=True, text=True, timeout=timeout)
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the verifier process failed: {last}")
    return json.loads(child.stdout)


if __name__ == "__main__":
    from workbench.audit import AuditLog, parallel

    os.nice(10)  # lowered here, not through preexec_fn, which is unsafe from the TUI's threads
    parallel.PARALLEL_FROM = sys.maxsize  # one core: the other stays with the UI

    with AuditLog(Path(sys.argv[1]), Path(sys.argv[2])) as log:
        print(json.dumps(log.verify_chain().as_dict()))
