"""Verify the whole workspace in a child process, for callers that must stay responsive (the TUI).

Seconds of Python work at a million events: in a thread of the TUI's process it would hold the GIL
against the event loop. A low-priority child on one core does it and answers with one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def verify_workspace_in_child(workspace_root: Path, timeout: float = 3600) -> dict[str, Any]:
    """{"ok", "chain_ok", "summary", "findings"} for the workspace at `workspace_root`, from a child process."""
    child = subprocess.run([sys.executable, "-m", "workbench.integrity.background", str(workspace_root)],
                           capture_output=True, text=True, timeout=timeout)
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the verifier process failed: {last}")
    return json.loads(child.stdout)


def _main(root: Path) -> dict[str, Any]:
    from workbench.audit import parallel
    from workbench.integrity.workspace import verify_workspace
    from workbench.workspace import Workspace

    parallel.PARALLEL_FROM = sys.maxsize  # one core: the other stays with the UI
    result = verify_workspace(Workspace.load(root))
    chain = result.chain
    firsts = result.first_per_kind()
    if result.ok and chain is not None:
        summary = chain.summary + "; runs, registry, lake and artifacts agree with it"
    elif chain is not None and not chain.ok:
        summary = chain.summary
    else:
        more = len(result.findings) - 1
        summary = firsts[0].message + (f" (+{more} more: `workbench audit verify`)" if more > 0 else "")
    return {"ok": result.ok, "chain_ok": chain is not None and chain.ok, "summary": summary,
            "findings": [f.as_dict() for f in result.findings[:50]]}


if __name__ == "__main__":
    os.nice(10)  # lowered here, not through preexec_fn, which is unsafe from the TUI's threads
    print(json.dumps(_main(Path(sys.argv[1]))))
