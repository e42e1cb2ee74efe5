"""Identifiers from users: validated table names and properly quoted SQL identifiers."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from workbench.errors import LakeError

# Unicode letters, digits and underscores, not starting with a digit: names people can type in SQL.
_TABLE_NAME = re.compile(r"[^\W\d]\w{0,62}", re.UNICODE)
RESERVED_PREFIX = "_workbench"


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB so that any name, keyword or injection attempt stays a name."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def check_table_name(name: str) -> str:
    # fullmatch (a `$` lets a trailing newline through), and only names already in NFKC form, so no two
    # tables read the same on screen (`penguins` and its fullwidth twin).
    if not _TABLE_NAME.fullmatch(name or "") or unicodedata.normalize("NFKC", name) != name:
        raise LakeError(
            f"{name!r} is not a valid table name: use letters, digits and underscores, "
            "starting with a letter or underscore (at most 63 characters)."
        )
    if name.lower().startswith(RESERVED_PREFIX):
        raise LakeError(f"Table names starting with {RESERVED_PREFIX!r} are reserved for Workbench.")
    return name


def table_name_from_path(path: Path) -> str:
    """Derive a table name from a file name: `NYC Flights-2013.csv` -> `nyc_flights_2013`."""
    stem = path.name.split(".")[0]
    name = re.sub(r"\W+", "_", stem, flags=re.UNICODE).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"t_{name}"
    return name[:63]
