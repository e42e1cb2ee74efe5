"""Load CSV and Parquet files into the lake as new, immutable table versions — all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, table_exists, table_versions
from workbench.lake.engine import LAKE_ALIAS, Lake
from workbench.lake.fingerprint import FINGERPRINT_ALGORITHM, fingerprint_relation
from workbench.lake.names import check_table_name, quote_ident, quote_literal, table_name_from_path

_READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class IngestRequest:
    table: str
    paths: tuple[Path, ...]


def _reader_sql(paths: Sequence[Path]) -> str:
    kinds = {_READERS.get("".join(p.suffixes[-1:]).lower()) for p in paths}
    if None in kinds:
        bad = next(p for p in paths if _READERS.get(p.suffix.lower()) is None)
        raise LakeError(f"Cannot ingest {bad}: only .csv/.tsv and .parquet files are supported.")
    if len(kinds) > 1:
        raise LakeError("Files ingested into one table must all be CSV or all be Parquet.")
    files = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
    if kinds == {"parquet"}:
        return f"read_parquet({files}, union_by_name = true)"
    # Strict CSV: a ragged or malformed file is an error (with its line number), never silently skipped.
    return f"read_csv({files}, header = true, union_by_name = true, strict_mode = true, null_padding = false)"


def plan_ingest(paths: Sequence[Path], table: str | None) -> list[IngestRequest]:
    """Check the inputs before touching the lake: files exist, are readable, names are valid."""
    if not paths:
        raise LakeError("Name at least one file to ingest.")
    resolved = []
    for path in paths:
        p = Path(path).expanduser()
        if not p.exists():
            raise LakeError(f"No such file: {p}.")
        if p.is_dir():
            raise LakeError(f"{p} is a directory; name the files inside it.")
        if p.stat().st_size == 0:
            raise LakeError(f"{p} is empty.")
        resolved.append(p.resolve())
    if table is not None:
        return [IngestRequest(check_table_name(table), tuple(resolved))]
    requests: dict[str, IngestRequest] = {}
    for p in resolved:
        name = check_table_name(table_name_from_path(p))
        if name in requests:
            raise LakeError(f"Two files would both become table {name!r}; use --table to ingest them together.")
        requests[name] = IngestRequest(name, (p,))
    return list(requests.values())


def _clean_error(exc: duckdb.Error) -> str:
    text = str(exc).strip()
    for prefix in ("Invalid Input Error: ", "Conversion Error: ", "IO Error: ", "Binder Error: "):
        text = text.removeprefix(prefix)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # DuckDB's CSV errors are long; keep the sentence and the line that names the position.
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.lower().startswith(("line", "original line"))][:2]
    return " ".join(keep)


def ingest_files(
    lake: Lake,
    paths: Sequence[Path],
    table: str | None = None,
    replace: bool = False,
    actor: str = "unknown",
) -> list[TableVersion]:
    """Ingest files in one lake transaction: every table gets its new version, or none does."""
    requests = plan_ingest(paths, table)
    cur = lake.cursor()
    for req in requests:
        if table_exists(lake, req.table) and not replace:
            raise LakeError(f"Table {req.table!r} already exists; pass --replace to write a new version of it.")
    entries = []
    cur.execute("BEGIN TRANSACTION")
    try:
        for req in requests:
            source = ", ".join(str(p) for p in req.paths)
            try:
                cur.execute(f"CREATE OR REPLACE TABLE {quote_ident(req.table)} AS SELECT * FROM {_reader_sql(req.paths)}")
            except duckdb.Error as exc:
                problem = _diagnose_csvs(req.paths)
                raise LakeError(f"Cannot read {problem or source + ': ' + _clean_error(exc)}") from exc
            columns = cur.execute(f"DESCRIBE {quote_ident(req.table)}").fetchall()
            if not columns:
                raise LakeError(f"{source} has no columns.")
            if len(columns) == 1:
                # The sniffer falls back to one column when rows disagree; say which line is wrong.
                problem = _diagnose_csvs(req.paths)
                if problem:
                    raise LakeError(f"Cannot read {problem}")
            _check_column_names([c[0] for c in columns], source)
            fingerprint, rows = fingerprint_relation(cur, quote_ident(req.table))
            if rows == 0:
                raise LakeError(f"{source} has a header but no rows; nothing was ingested.")
            previous = table_versions(lake, req.table)
            entries.append(
                {
                    "table": req.table,
                    "version": (previous[-1].version + 1) if previous else 1,
                    "operation": "replace" if previous else "create",
                    "source": source,
                    "row_count": rows,
                    "schema": [[c[0], c[1]] for c in columns],
                    "fingerprint": fingerprint,
                    "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
                }
            )
        message = "ingest " + ", ".join(e["table"] for e in entries)
        cur.execute(
            f"CALL {LAKE_ALIAS}.set_commit_message(?, ?, extra_info => ?)",
            [actor, message, json.dumps({"workbench": 1, "tables": entries})],
        )
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    out = []
    for e in entries:
        versions = table_versions(lake, e["table"])
        out.append(versions[-1])
    return out


def _check_column_names(names: list[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            raise LakeError(f"{source} has an empty column name.")
        if name.lower() in seen:
            raise LakeError(f"{source} has the column {name!r} twice.")
        seen.add(name.lower())


def _diagnose_csvs(paths: Sequence[Path]) -> str | None:
    for path in paths:
        if _READERS.get(path.suffix.lower()) == "csv":
            problem = diagnose_csv(path)
            if problem:
                return f"{path}: {problem}"
    return None


def diagnose_csv(path: Path, max_lines: int = 1_000_000) -> str | None:
    """Find the first row whose field count differs from the header's (only run after a failed read)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header_line = fh.readline()
            delimiter = max([",", ";", "\t", "|"], key=header_line.count)
            if header_line.count(delimiter) == 0:
                return None
            fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader)
            for line_no, row in enumerate(reader, start=2):
                if row and len(row) != len(header):
                    return f"line {line_no} has {len(row)} fields but the header has {len(header)}."
                if line_no > max_lines:
                    break
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start}); convert it to UTF-8 first."
    except csv.Error as exc:
        return f"malformed CSV: {exc}."
    return None
