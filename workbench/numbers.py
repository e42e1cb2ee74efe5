"""Numbers people give (run specs, `workbench.toml`, command-line flags), checked in one place.

A number is refused before anything is recorded unless it is a real number of the right kind inside a
stated range: booleans (TOML `true`), strings ("10"), NaN, infinities and values beyond the range are
bad input, and the message names the key, the accepted range and what was given.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from workbench.errors import BadInputError

SEED_MAX = 2**32 - 1  # numpy's RandomState accepts seeds 0 … 2**32 - 1
MAX_SECONDS = 7 * 24 * 3600  # a week: longer budgets and waits are typos, not plans
MAX_DAYS = 36_500  # a century
MAX_INTEGER = 2**63 - 1  # the largest SQLite INTEGER (ids, versions, counts stored in the log)


def whole_number(value: Any, key: str, low: int, high: int, *, what: str = "a whole number",
                 error: type[BadInputError] = BadInputError, where: str = "") -> int:
    """`value` if it is an integer (not a bool) from `low` to `high`; otherwise `error` naming `key`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise error(_message(key, f"{what} from {_num(low)} to {_num(high)}", value, where))
    return value


def real_number(value: Any, key: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False,
                what: str = "a number", error: type[BadInputError] = BadInputError, where: str = "") -> float:
    """`value` as a float if it is a finite number (not a bool) within `low`…`high` (each end open or closed)."""
    # The range first: a huge int compares exactly but would overflow math.isfinite; NaN fails every comparison.
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
          and math.isfinite(value))
    if not ok:
        if low_open or high_open:
            bounds = (f"{'greater than' if low_open else 'at least'} {_num(low)} "
                      f"and {'less than' if high_open else 'at most'} {_num(high)}")
        else:
            bounds = f"from {_num(low)} to {_num(high)}"
        raise error(_message(key, f"{what} {bounds}", value, where))
    return float(value)


def finite_number(value: Any, key: str, *, error: type[BadInputError] = BadInputError, where: str = "") -> float | int:
    """`value` unchanged if it is a finite number that fits a 64-bit integer's range (bools are not numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return whole_number(value, key, -MAX_INTEGER, MAX_INTEGER, error=error, where=where)
    return real_number(value, key, -MAX_INTEGER, MAX_INTEGER, what="a finite number", error=error, where=where)


def parsed(text: Any, convert: Callable[[str], Any]) -> Any:
    """What a user typed on the command line as `convert` (int or float) reads it, or unchanged (so the
    check refuses it, naming what was typed)."""
    if isinstance(text, str):
        try:
            return convert(text.strip())
        except ValueError:
            return text
    return text


def _message(key: str, accepted: str, value: Any, where: str) -> str:
    return f"{where + ': ' if where else ''}{key} must be {accepted} (got {_shown(value)})."


def _num(n: float) -> str:
    return str(n) if isinstance(n, int) else f"{n:g}"


def _shown(value: Any) -> str:
    """`value` as the user wrote it (TOML spelling for booleans and non-finite floats)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 256 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)
    return {dict: "a table", list: "a list"}.get(type(value), type(value).__name__)
