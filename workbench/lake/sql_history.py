"""The SQL console's query history: one JSON line per statement in the workspace's state folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from workbench.workspace import Workspace

MAX_ENTRIES = 1_000


@dataclass(frozen=True)
class HistoryEntry:
    ts: str
    sql: str
    ok: bool


def history_path(ws: Workspace) -> Path:
    return ws.state_dir / "sql_history.jsonl"


def add_history(ws: Workspace, sql: str, ok: bool) -> None:
    """Append a statement (secrets masked, as in the audit log); one small append per line, so concurrent
    consoles do not corrupt the file."""
    from workbench.lake.redaction import redact_sql

    path = history_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "sql": redact_sql(sql.strip()), "ok": ok})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    if path.stat().st_size > MAX_ENTRIES * 2_000:
        _trim(path)


def _trim(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()[-MAX_ENTRIES:]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_history(ws: Workspace, search: str = "", limit: int = 200) -> list[HistoryEntry]:
    """Newest first, distinct statements only, filtered by a case-insensitive substring."""
    path = history_path(ws)
    if not path.exists():
        return []
    seen: set[str] = set()
    out: list[HistoryEntry] = []
    needle = search.lower()
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        try:
            raw = json.loads(line)
        except ValueError:
            continue  # a torn line from a crash: skip it
        sql = str(raw.get("sql", ""))
        if sql in seen or (needle and needle not in sql.lower()):
            continue
        seen.add(sql)
        out.append(HistoryEntry(ts=str(raw.get("ts", "")), sql=sql, ok=bool(raw.get("ok", True))))
        if len(out) >= limit:
            break
    return out
