"""The expectations a table's versions must meet, declared in `expectations/TABLE.toml`.

```toml
min_rows = 100                      # row-count bounds
max_rows = 1_000_000
[schema]                            # columns that must exist, with their DuckDB types ("" = any type)
species = "VARCHAR"
[columns.bill_length_mm]            # per column: not_null, unique, min, max, allowed, max_missing (a share)
min = 20
max = 80
max_missing = 0.05
[freshness]                         # the newest value of `column` is at most `max_age` old ("36h", "2d", "90m")
column = "observed_at"
max_age = "2d"
[drift]                             # PSI per feature against the data `model`@`alias` was trained on
model = "species"
max_psi = 0.25
```
Unknown keys are errors, so a typo never silently checks nothing. The SHA-256 of the file's bytes is what a
certification names.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import BadInputError
from workbench.lake.certification import expectations_path
from workbench.workspace import Workspace

_TOP = {"min_rows", "max_rows", "schema", "columns", "freshness", "drift"}
_COLUMN = {"not_null", "unique", "min", "max", "allowed", "max_missing"}
_FRESHNESS = {"column", "max_age"}
_DRIFT = {"model", "alias", "max_psi"}
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ExpectationsError(BadInputError):
    title = "Expectations problem"


@dataclass(frozen=True)
class ColumnRules:
    column: str
    not_null: bool = False
    unique: bool = False
    min: float | str | None = None
    max: float | str | None = None
    allowed: tuple[Any, ...] | None = None
    max_missing: float | None = None


@dataclass(frozen=True)
class Expectations:
    table: str
    sha256: str
    path: Path
    min_rows: int | None = None
    max_rows: int | None = None
    schema: dict[str, str] = field(default_factory=dict)
    columns: tuple[ColumnRules, ...] = ()
    freshness_column: str | None = None
    freshness_max_age_s: float | None = None
    drift_model: str | None = None
    drift_alias: str = "champion"
    drift_max_psi: float = 0.25

    def named_columns(self) -> set[str]:
        named = set(self.schema) | {c.column for c in self.columns}
        return named | ({self.freshness_column} if self.freshness_column else set())


def parse_age(text: Any, where: str) -> float:
    """'36h', '2d', '90m', '1d12h' → seconds."""
    if not isinstance(text, str) or not re.fullmatch(r"(\s*\d+(?:\.\d+)?\s*[smhd])+\s*", text):
        raise ExpectationsError(f"{where}: max_age must be a duration such as \"36h\", \"2d\" or \"90m\", not {text!r}.")
    return sum(float(n) * _UNIT[u] for n, u in _AGE.findall(text))


def _unknown(raw: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        raise ExpectationsError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(known))}).")


def _number(value: Any, where: str, *, share: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ExpectationsError(f"{where} must be a number, not {value!r}.")
    if share and not 0 <= value <= 1:
        raise ExpectationsError(f"{where} is a share of rows: between 0 and 1, not {value!r}.")
    return value


def _bound(value: Any, where: str) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value  # a date or timestamp bound, compared by DuckDB in the column's type
    return _number(value, where)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ExpectationsError(f"{where} must be true or false, not {value!r}.")
    return value


def _column(name: str, raw: Any, where: str) -> ColumnRules:
    if not isinstance(raw, dict):
        raise ExpectationsError(f"{where}: [columns.{name}] must be a table of rules.")
    _unknown(raw, _COLUMN, f"{where} [columns.{name}]")
    allowed = raw.get("allowed")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed or any(isinstance(v, (dict, list)) for v in allowed):
            raise ExpectationsError(f"{where} [columns.{name}] allowed must be a non-empty list of values.")
        allowed = tuple(allowed)
    rules = ColumnRules(
        column=name,
        not_null=_flag(raw.get("not_null", False), f"{where} [columns.{name}] not_null"),
        unique=_flag(raw.get("unique", False), f"{where} [columns.{name}] unique"),
        min=_bound(raw.get("min"), f"{where} [columns.{name}] min"),
        max=_bound(raw.get("max"), f"{where} [columns.{name}] max"),
        allowed=allowed,
        max_missing=None if raw.get("max_missing") is None
        else _number(raw["max_missing"], f"{where} [columns.{name}] max_missing", share=True),
    )
    return rules


def parse_expectations(table: str, text: bytes, path: Path) -> Expectations:
    """Expectations from the TOML bytes of `path`; one sentence naming the file and key if they are wrong."""
    where = str(path)
    try:
        raw = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExpectationsError(f"{where} is not valid TOML ({exc}).") from None
    _unknown(raw, _TOP, where)
    rows = {}
    for key in ("min_rows", "max_rows"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ExpectationsError(f"{where}: {key} must be a whole number of rows, not {value!r}.")
            rows[key] = value
    if "min_rows" in rows and "max_rows" in rows and rows["min_rows"] > rows["max_rows"]:
        raise ExpectationsError(f"{where}: min_rows ({rows['min_rows']}) is more than max_rows ({rows['max_rows']}).")
    schema = raw.get("schema", {})
    if not isinstance(schema, dict) or any(not isinstance(v, str) for v in schema.values()):
        raise ExpectationsError(f"{where}: [schema] maps column names to DuckDB type names, e.g. species = \"VARCHAR\".")
    columns = raw.get("columns", {})
    if not isinstance(columns, dict):
        raise ExpectationsError(f"{where}: [columns] must hold one table per column, e.g. [columns.species].")
    freshness = raw.get("freshness", {})
    if freshness:
        _unknown(freshness, _FRESHNESS, f"{where} [freshness]")
        if not isinstance(freshness.get("column"), str) or "max_age" not in freshness:
            raise ExpectationsError(f"{where}: [freshness] needs column and max_age.")
    drift = raw.get("drift", {})
    if drift:
        _unknown(drift, _DRIFT, f"{where} [drift]")
        if not isinstance(drift.get("model"), str):
            raise ExpectationsError(f"{where}: [drift] needs the model whose training data is the reference.")
    return Expectations(
        table=table, sha256=hashlib.sha256(text).hexdigest(), path=path,
        min_rows=rows.get("min_rows"), max_rows=rows.get("max_rows"),
        schema={str(k): v for k, v in schema.items()},
        columns=tuple(_column(str(name), rules, where) for name, rules in columns.items()),
        freshness_column=freshness.get("column") if freshness else None,
        freshness_max_age_s=parse_age(freshness["max_age"], f"{where} [freshness]") if freshness else None,
        drift_model=drift.get("model") if drift else None,
        drift_alias=str(drift.get("alias", "champion")) if drift else "champion",
        drift_max_psi=_number(drift.get("max_psi", 0.25), f"{where} [drift] max_psi") if drift else 0.25,
    )


def load_expectations(ws: Workspace, table: str) -> Expectations | None:
    """The table's expectations, or None if it has none."""
    path = expectations_path(ws, table)
    if not path.is_file():
        return None
    return parse_expectations(table, path.read_bytes(), path)
