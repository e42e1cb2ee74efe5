"""Human tables and machine JSON for CLI output."""

from __future__ import annotations

import json
from typing import Any, Sequence

import click


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def echo_alert(table: str, status: str | None) -> None:
    """What became of a failed check's alert (`check:TABLE`), when alerts are configured."""
    if status and status != "unconfigured":
        click.echo(f"  alert {status} (check:{table})")


def _cell(value: Any, raw: bool = False) -> str:
    if value is None:
        return "NULL" if raw else ""
    if raw:
        text = str(value).replace("\n", " ")
        return text if len(text) <= 40 else text[:39] + "…"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: bool = False) -> None:
    """Print an aligned table; `raw` shows values as stored (no rounding or thousands separators)."""
    cells = [[_cell(v, raw) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows for i in range(len(headers))]

    def fmt(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    click.echo(fmt(list(headers)))
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo(fmt(r))
