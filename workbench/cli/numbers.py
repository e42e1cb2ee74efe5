"""The click type of numeric flags and arguments: the checks of `workbench.numbers`, so a bad number on the
command line is one sentence naming the flag and its range (exit 2), as it is in a spec or workbench.toml."""

from __future__ import annotations

from typing import Any

import click

from workbench.numbers import MAX_INTEGER, MAX_SECONDS, parsed, real_number, whole_number


class Number(click.ParamType):
    """A finite number (or, with `whole`, an integer) from `low` to `high`; never NaN, inf or a boolean."""

    def __init__(self, low: float, high: float, *, whole: bool = False, what: str | None = None) -> None:
        self.low, self.high, self.whole = low, high, whole
        self.what = what or ("a whole number" if whole else "a number")
        self.name = "integer" if whole else "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float | int:
        # A WorkbenchError, not click's usage error: one line on stderr, exit 2 (cli.main maps it).
        key = _flag(param)
        if self.whole:
            return whole_number(parsed(value, int), key, int(self.low), int(self.high), what=self.what)
        return real_number(parsed(value, float), key, self.low, self.high, what=self.what)


def whole(low: int, high: int = MAX_INTEGER) -> Number:
    return Number(low, high, whole=True)


def seconds(high: float = MAX_SECONDS) -> Number:
    return Number(0, high, what="a number of seconds")


def _flag(param: click.Parameter | None) -> str:
    if param is None:
        return "value"
    if isinstance(param, click.Argument):
        return param.human_readable_name
    return max(param.opts, key=len)
