"""Sources are declared one per file, `sources/NAME.toml` in the workspace:

```toml
table = "readings"            # the lake table it feeds
path = "incoming/*.csv"       # files: a glob or a folder (relative to the workspace), CSV / Parquet / JSON Lines
# query = "SELECT * FROM crm.customers"   # or a read-only query over the lake and its attached databases
# prefix = "drops/readings/"              # or a key prefix in the workspace's storage back-end
format = "csv"                # optional: csv, parquet or jsonl (default: from the file names)
```

Why a file per source rather than `[sources.NAME]` in `workbench.toml`: that file's policy only takes effect
when an admin adopts it, while a contributor adds sources; one file each also makes adding one atomic.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import BadInputError
from workbench.lake.names import check_table_name
from workbench.workspace import Workspace

SOURCES_DIR = "sources"
FORMATS = ("csv", "parquet", "jsonl")
_KEYS = {"table", "path", "query", "prefix", "format", "description"}
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")


class SourceError(BadInputError):
    title = "Source problem"


@dataclass(frozen=True)
class SourceDecl:
    name: str
    table: str
    kind: str  # files, query or storage
    location: str  # the glob/folder, the query, or the prefix
    format: str | None = None
    description: str = ""

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """As shown and audited: a query's secret-looking values masked (`lake/redaction.py`)."""
        from workbench.lake.redaction import redact_sql

        location = redact_sql(self.location) if redact else self.location
        return {"name": self.name, "table": self.table, "kind": self.kind, "location": location,
                "format": self.format, "description": self.description}


def source_path(ws: Workspace, name: str) -> Path:
    return ws.root / SOURCES_DIR / f"{check_source_name(name)}.toml"


def check_source_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise SourceError(f"{name!r} is not a valid source name: lower-case letters, digits, '_' and '-', "
                          "starting with a letter.")
    return name


def parse_source(name: str, raw: dict[str, Any], where: str) -> SourceDecl:
    extra = sorted(set(raw) - _KEYS)
    if extra:
        raise SourceError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(_KEYS))}).")
    if not isinstance(raw.get("table"), str):
        raise SourceError(f"{where}: name the lake table it feeds, e.g. table = \"readings\".")
    given = [k for k in ("path", "query", "prefix") if k in raw]
    if len(given) != 1:
        raise SourceError(f"{where}: give exactly one of path (files), query (attached database) or prefix "
                          "(object storage).")
    location = raw[given[0]]
    if not isinstance(location, str) or not location.strip():
        raise SourceError(f"{where}: {given[0]} must be a non-empty string.")
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise SourceError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    if fmt is not None and given[0] == "query":
        raise SourceError(f"{where}: a query source has no file format.")
    kind = {"path": "files", "query": "query", "prefix": "storage"}[given[0]]
    try:
        table = check_table_name(raw["table"])
    except BadInputError as exc:
        raise SourceError(f"{where}: {exc.message}") from None
    return SourceDecl(name=name, table=table, kind=kind, location=location, format=fmt,
                      description=str(raw.get("description", "")))


def load_source(ws: Workspace, name: str) -> SourceDecl:
    path = source_path(ws, name)
    if not path.is_file():
        known = ", ".join(s.name for s in list_sources(ws)) or "none"
        raise SourceError(f"No source named {name!r} (sources: {known}); add one with `workbench sources add`.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path} is not valid TOML ({exc}).") from None
    return parse_source(name, raw, str(path))


def list_sources(ws: Workspace) -> list[SourceDecl]:
    folder = ws.root / SOURCES_DIR
    if not folder.is_dir():
        return []
    return [load_source(ws, p.stem) for p in sorted(folder.glob("*.toml")) if _NAME.fullmatch(p.stem)]


def sources_of_table(ws: Workspace, table: str) -> list[SourceDecl]:
    return [s for s in list_sources(ws) if s.table == table]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def add_source(ws: Workspace, name: str, table: str, *, path: str | None = None, query: str | None = None,
               prefix: str | None = None, fmt: str | None = None, description: str = "") -> SourceDecl:
    """Write `sources/NAME.toml` atomically after its `source.added` event (contributor); nothing if invalid."""
    from workbench.access.actions import require_role
    from workbench.audit import AuditLog

    target = source_path(ws, name)
    raw: dict[str, Any] = {"table": table}
    for key, value in (("path", path), ("query", query), ("prefix", prefix), ("format", fmt)):
        if value is not None:
            raw[key] = value
    if description:
        raw["description"] = description
    decl = parse_source(name, raw, f"source {name}")
    require_role(ws, "contributor", "Adding a source")
    if target.exists():
        raise SourceError(f"A source named {name!r} already exists ({target}); edit or remove that file.")
    if decl.kind == "query":
        from workbench.lake.redaction import redact_sql

        if redact_sql(decl.location) != decl.location:
            raise SourceError("The query contains what looks like a secret; attach the database with "
                              "`workbench lake attach` and keep credentials in the environment, not in a source.")
    text = "".join(f"{k} = {_toml_string(v)}\n" for k, v in raw.items())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        with AuditLog(ws.audit_path, ws.root) as log:
            log.record("source.added", actor=ws.actor, subject=decl.table, params=decl.as_dict())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return decl
