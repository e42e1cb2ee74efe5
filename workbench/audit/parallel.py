"""Re-walk a long chain in two halves at once: this process walks the first, a spawned one the second.

A check is local to a row and its predecessor (`audit/chain.py`), so the halves are independent once the
second knows the hash stored on the row before it; the join holds only if the first half ends on exactly
that row with exactly that hash. Fetching rows and encoding them is Python-bound (about 5 s per million
events on one core), so two cores halve it. This is only a fast path for an intact log: on any problem,
or anything unexpected at the join, the caller walks the whole chain in order, which alone can say
exactly which event was edited, deleted, inserted or reordered.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from workbench.audit.chain import CHAIN_FIELDS, SELECT_ENCODED, WalkResult, walk, walk_encoded

# Below this many events a second process costs more (its start-up, ~0.1 s) than it saves.
PARALLEL_FROM = 200_000
_SELECT_RANGE = f"SELECT {', '.join(CHAIN_FIELDS)}, hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"


def walk_range(path: str, lo: int, hi: int, prev: str | None, v2_from: int) -> tuple[WalkResult, str | None]:
    """Walk events `lo`..`hi`; `prev` None means "the hash stored on event lo - 1". Returns the walk and
    the `prev` it started from."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        if prev is None:
            row = conn.execute("SELECT hash FROM events WHERE seq = ?", [lo - 1]).fetchone()
            if row is None:
                return WalkResult(0, lo - 1, "", None), None
            prev = row[0]
        if lo >= v2_from:
            try:
                fast = walk_encoded(conn.execute(SELECT_ENCODED, [lo, hi]), start_seq=lo, start_prev=prev)
            except sqlite3.OperationalError:  # an SQLite without json_array: the exact walk below
                fast = None
            if fast is not None:
                return fast, prev
        rows = conn.execute(_SELECT_RANGE, [lo, hi])
        return walk(rows, start_seq=lo, start_prev=prev, v2_from=v2_from), prev
    finally:
        conn.close()


def walk_in_two(path: Path, start_seq: int, start_prev: str, head_seq: int, v2_from: int) -> WalkResult | None:
    """The walk of `start_seq`..`head_seq` if the chain is intact there, else None (walk it in order)."""
    if head_seq - start_seq + 1 < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return None
    mid = (start_seq + head_seq + 1) // 2
    # A plain child interpreter, not multiprocessing: that would re-import the caller's __main__ (the TUI,
    # a console script, stdin) and forking the TUI's threaded process is unsafe.
    child = subprocess.Popen([sys.executable, "-m", "workbench.audit.parallel", str(path), str(mid), str(head_seq),
                              str(v2_from)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first, _ = walk_range(str(path), start_seq, mid - 1, start_prev, v2_from)
        out, _ = child.communicate(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0 or first.problem is not None:
        return None
    try:
        answer = json.loads(out)
    except ValueError:
        return None
    if answer["problem"] or first.head_seq != mid - 1 or answer["head_seq"] != head_seq or answer["prev"] != first.head_hash:
        return None
    return WalkResult(first.count + answer["count"], head_seq, answer["head_hash"], None)


if __name__ == "__main__":  # the second half's process: walk_range, answered as one JSON line
    _path, _lo, _hi, _v2_from = sys.argv[1], *map(int, sys.argv[2:5])
    _result, _prev = walk_range(_path, _lo, _hi, None, _v2_from)
    print(json.dumps({"count": _result.count, "head_seq": _result.head_seq, "head_hash": _result.head_hash,
                      "problem": _result.problem is not None, "prev": _prev}))
