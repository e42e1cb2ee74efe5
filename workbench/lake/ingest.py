"""Load CSV and Parquet files into the lake as new, immutable table versions — all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, table_exists
from workbench.lake.engine import Lake
from workbench.lake.names import check_table_name, quote_ident, quote_literal, table_name_from_path
from workbench.lake.versioning import Progress, check_column_names, stage_version

_READERS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class IngestRequest:
    table: str
    paths: tuple[Path, ...]


def _reader_sql(paths: Sequence[Path], text_columns: Sequence[str] = ()) -> str:
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
    types = ""
    if text_columns:
        types = ", types = {" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in text_columns) + "}"
    return f"read_csv({files}, header = true, union_by_name = true, strict_mode = true, null_padding = false{types})"


def worded_booleans(cur: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> list[str]:
    """CSV columns DuckDB's sniffer would type BOOLEAN although they hold words such as yes/no or t/f.

    Those stay text: a "yes"/"no" label read as true/false loses its values (a model's outputs would be
    `probability_True`); only columns that literally say true/false become booleans."""
    if _READERS.get(paths[0].suffix.lower()) != "csv":
        return []
    files = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
    return worded_boolean_columns(cur, _reader_sql(paths),
                                  f"read_csv({files}, header = true, union_by_name = true, all_varchar = true)")


def worded_boolean_columns(cur: duckdb.DuckDBPyConnection, reader: str, text_reader: str,
                           sample_rows: int | None = None) -> list[str]:
    """Columns `reader` types BOOLEAN whose text (the same file through `text_reader`, every column VARCHAR)
    is not literally true/false; `sample_rows` checks only the first rows (the sniffer's own sample)."""
    schema = cur.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    flagged = [row[0] for row in schema if row[1] == "BOOLEAN"]
    if not flagged:
        return []
    counts = ", ".join(f"count(*) FILTER (WHERE lower(trim({quote_ident(c)})) NOT IN ('true', 'false'))"
                       for c in flagged)
    limit = f" LIMIT {int(sample_rows)}" if sample_rows else ""
    worded = cur.execute(f"SELECT {counts} FROM (SELECT * FROM {text_reader}{limit})").fetchone()
    return [c for c, n in zip(flagged, worded) if n]


def plan_ingest(paths: Sequence[Path], table: str | None) -> list[IngestRequest]:
    """Check the inputs before touching the lake: files exist, are readable, names are valid.

    A directory stands for the CSV/Parquet files directly inside it, read together as one table."""
    if not paths:
        raise LakeError("Name at least one file to ingest.")
    groups: list[tuple[Path, tuple[Path, ...]]] = []
    for path in paths:
        p = Path(path).expanduser()
        if not p.exists():
            raise LakeError(f"No such file: {p}.")
        if p.is_dir():
            files = tuple(sorted(f.resolve() for f in p.iterdir() if f.is_file() and f.suffix.lower() in _READERS))
            if not files:
                raise LakeError(f"{p} has no .csv or .parquet files to ingest.")
            groups.append((p.resolve(), files))
            continue
        if p.stat().st_size == 0:
            raise LakeError(f"{p} is empty.")
        groups.append((p.resolve(), (p.resolve(),)))
    for _, files in groups:
        for f in files:
            if f.stat().st_size == 0:
                raise LakeError(f"{f} is empty.")
    if table is not None:
        return [IngestRequest(check_table_name(table), tuple(f for _, files in groups for f in files))]
    requests: dict[str, IngestRequest] = {}
    for origin, files in groups:
        name = check_table_name(table_name_from_path(origin))
        if name in requests:
            raise LakeError(f"Two files would both become table {name!r}; use --table to ingest them together.")
        requests[name] = IngestRequest(name, files)
    return list(requests.values())


def _check_same_columns(cur: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> None:
    """Files read into one table must agree on their columns; union-by-name would hide the mismatch as NULLs."""
    if len(paths) < 2:
        return
    first_cols: list[str] | None = None
    for path in paths:
        try:
            cols = [r[0] for r in cur.execute(f"DESCRIBE SELECT * FROM {_reader_sql([path])}").fetchall()]
        except duckdb.Error as exc:
            problem = _diagnose_csvs([path])
            raise LakeError(f"Cannot read {problem or str(path) + ': ' + _clean_error(exc)}") from exc
        if first_cols is None:
            first_cols = cols
        elif [c.lower() for c in cols] != [c.lower() for c in first_cols] and sorted(c.lower() for c in cols) != sorted(
            c.lower() for c in first_cols
        ):
            raise LakeError(
                f"{paths[0].name} and {path.name} have different columns ({', '.join(first_cols)} vs {', '.join(cols)}); "
                "ingest them as separate tables."
            )


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
    actor: str | None = None,
    progress: Progress | None = None,
) -> list[TableVersion]:
    """Ingest files in one audited lake transaction: every table gets its new version, or none does.

    `progress` receives DuckDB's estimate (0–100) of the read currently running, for progress bars.
    """
    from workbench.lake.operations import ingest

    return ingest(lake, paths, table=table, replace=replace, actor=actor, progress=progress)


def check_ingest(lake: Lake, paths: Sequence[Path], table: str | None, replace: bool) -> list[IngestRequest]:
    """Everything that can be checked before a transaction opens: files, names, headers, columns."""
    requests = plan_ingest(paths, table)
    cur = lake.cursor()
    for req in requests:
        if table_exists(lake, req.table) and not replace:
            raise LakeError(f"Table {req.table!r} already exists; pass --replace to write a new version of it.")
        _check_csv_headers(req.paths)
        _check_same_columns(cur, req.paths)
    return requests


def stage_ingest(lake: Lake, cur: duckdb.DuckDBPyConnection, requests: Sequence[IngestRequest],
                 progress: Progress | None = None) -> list[dict[str, Any]]:
    """Inside `cur`'s open transaction: create every requested table version; their metadata entries."""
    entries = []
    for req in requests:
        source = ", ".join(str(p) for p in req.paths)
        try:
            reader = _reader_sql(req.paths, worded_booleans(cur, req.paths))
            entry = stage_version(lake, cur, req.table, f"SELECT * FROM {reader}", source, progress)
        except duckdb.Error as exc:
            problem = _diagnose_csvs(req.paths)
            raise LakeError(f"Cannot read {problem or source + ': ' + _clean_error(exc)}") from exc
        if len(entry["schema"]) == 1:
            # The sniffer falls back to one column when rows disagree; say which line is wrong.
            problem = _diagnose_csvs(req.paths)
            if problem:
                raise LakeError(f"Cannot read {problem}")
        if entry["row_count"] == 0:
            problem = _diagnose_csvs(req.paths)  # a lone ragged row can read as "no rows"
            raise LakeError(f"Cannot read {problem}" if problem else f"{source} has a header but no rows; nothing was ingested.")
        entries.append(entry)
    return entries


def _check_csv_headers(paths: Sequence[Path]) -> None:
    """DuckDB silently renames duplicate (`a_1`) and empty (`column1`) header names: refuse them instead."""
    import csv

    for path in paths:
        if _READERS.get(path.suffix.lower()) != "csv":
            continue
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                first = fh.readline()
        except UnicodeDecodeError as exc:
            raise LakeError(f"Cannot read {path}: not UTF-8 text (byte {exc.start}); convert it to UTF-8 first.") from exc
        delimiter = "\t" if path.suffix.lower() == ".tsv" else max([",", ";", "\t", "|"], key=first.count)
        header = next(csv.reader([first], delimiter=delimiter), [])
        if len(header) > 1:
            check_column_names(header, str(path))


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
