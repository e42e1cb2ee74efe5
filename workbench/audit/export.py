"""The auditor's e-discovery bundle: events (JSON Lines, Parquet or CSV), the verify result, a checkpoint
and a manifest of SHA-256 digests, written to a temporary folder and renamed into place."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import workbench
from workbench.audit.checkpoint import current_checkpoint
from workbench.audit.log import AuditLog, _dicts, utc_now
from workbench.errors import BadInputError
from workbench.hashing import sha256_file

FORMATS = ("jsonl", "parquet", "csv")
_BATCH = 50_000


def _rows(log: AuditLog, since: str | None, until: str | None) -> Iterator[dict[str, Any]]:
    from workbench.audit.search import time_range

    where, args = time_range(since, until)
    sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
    yield from _dicts(log.conn.execute(sql, args))


def export_bundle(log: AuditLog, out: Path, fmt: str, *, actor: str, since: str | None = None,
                  until: str | None = None) -> dict[str, Any]:
    """Write the bundle to folder `out` (which must not exist); returns the manifest."""
    if fmt not in FORMATS:
        raise BadInputError(f"Unknown export format {fmt!r} (use {', '.join(FORMATS)}).")
    out = Path(out)
    if out.exists():
        raise BadInputError(f"{out} already exists; choose a new folder for the export bundle.")
    if not out.parent.is_dir():
        raise BadInputError(f"The folder {out.parent} does not exist.")
    checkpoint = current_checkpoint(log)  # taken first: the events below are at least this log
    verified = log.verify_chain()
    tmp = out.parent / f".{out.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        events_file = tmp / f"events.{fmt}"
        count = {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet}[fmt](
            _rows(log, since, until), events_file)
        (tmp / "verify.json").write_text(json.dumps(verified.as_dict(), indent=2) + "\n", encoding="utf-8")
        (tmp / "checkpoint.txt").write_text(checkpoint.text(), encoding="utf-8")
        manifest = {
            "exported_at": utc_now(), "exported_by": actor, "workbench_version": workbench.__version__,
            "log_id": log.log_id, "format": fmt, "since": since, "until": until, "events": count,
            "chain_ok": verified.ok, "head_seq": checkpoint.size, "head_hash": checkpoint.head_hash,
            "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.record("audit.exported", actor=actor, subject=str(out), params={
        "format": fmt, "since": since, "until": until, "events": count, "head_seq": checkpoint.size})
    return manifest


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "params": json.loads(row["params"] or "{}")}


def _write_jsonl(rows: Iterator[dict[str, Any]], path: Path) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(_json_row(row), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def _write_csv(rows: Iterator[dict[str, Any]], path: Path) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            n += 1
        if writer is None:
            fh.write("seq,id,ts,actor,kind\n")
    return n


def _write_parquet(rows: Iterator[dict[str, Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("seq", pa.int64()), ("id", pa.string()), ("ts", pa.string()), ("actor", pa.string()),
                        ("host", pa.string()), ("workbench_version", pa.string()), ("git_commit", pa.string()),
                        ("git_dirty", pa.int64()), ("kind", pa.string()), ("subject", pa.string()),
                        ("run_id", pa.string()), ("data_version", pa.int64()), ("fingerprint", pa.string()),
                        ("params", pa.string()), ("outcome", pa.string()), ("prev_hash", pa.string()), ("hash", pa.string())])
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
