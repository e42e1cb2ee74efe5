"""Charts drawn as text rows rather than through plotext, where plotext draws the wrong thing: horizontal bars
(plotext puts one-row bars against the wrong label) and a confusion matrix with its counts and class names.

Both keep what they draw (`bars`, `labels`/`matrix`) so a test can compare it with the data, and each rendered
row carries its own label and value, so what a person reads is what the data says.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

_EIGHTHS = " ▏▎▍▌▋▊▉"


def number_label(value: float, precision: int = 4) -> str:
    """A number as a person writes it: no float noise (125.00000000000001 -> 125), integers without `.0`,
    thousands separated."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e15 or abs(value) < 10 ** -(precision + 1):
        return f"{value:.{precision - 1}e}"
    return f"{value:,.{precision}g}" if abs(value) >= 1 else f"{value:.{precision}g}"


def epoch_label(seconds: float, span_s: float) -> str:
    """A UTC instant from epoch seconds, at the precision the axis needs (days when it spans days)."""
    when = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return when.strftime("%Y-%m-%d" if span_s >= 3 * 86400 else "%m-%d %H:%M")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi] (1, 2, 5 × 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


class BarList(Static):
    """Horizontal bars, one row per bar: `label │████▌ value`, scaled to the largest value. A zero or negative
    value has an empty bar; its number says what it is."""

    DEFAULT_CSS = """
    BarList { height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.title = ""
        self.bars: list[tuple[str, float]] = []

    def show_bars(self, title: str, bars: Sequence[tuple[str, float]]) -> None:
        self.title = title
        self.bars = [(str(label), float(value)) for label, value in bars]
        self.refresh(layout=True)

    def render(self) -> Text:
        out = Text()
        if self.title:
            out.append(self.title + "\n", style="bold")
        if not self.bars:
            return out
        label_w = min(24, max(len(label) for label, _ in self.bars))
        values = [number_label(v) for _, v in self.bars]
        value_w = max(len(v) for v in values)
        width = max(10, (self.size.width or 80) - label_w - value_w - 6)
        top = max((v for _, v in self.bars if math.isfinite(v)), default=0.0)
        for (label, value), shown in zip(self.bars, values):
            name = label if len(label) <= label_w else label[: label_w - 1] + "…"
            eighths = int(round(8 * width * value / top)) if top > 0 and value > 0 and math.isfinite(value) else 0
            bar = "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")
            out.append(f"{name:>{label_w}} │", style="dim")
            out.append(f"{bar:<{width}}", style="bold")
            out.append(f" {shown:>{value_w}}\n")
        return out


class MatrixTable(Static):
    """A confusion matrix with class names on both axes and the count in every cell (rows actual,
    columns predicted), the diagonal highlighted and each row's recall at the end."""

    DEFAULT_CSS = """
    MatrixTable { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.labels: list[str] = []
        self.matrix: list[list[int]] = []

    def show_matrix(self, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        self.labels = [str(label) for label in labels]
        self.matrix = [[int(n) for n in row] for row in matrix]
        table = Table(title="rows: actual · columns: predicted", title_justify="left", show_lines=False)
        table.add_column("actual \\ predicted", style="bold")
        for label in self.labels:
            table.add_column(label, justify="right")
        table.add_column("recall", justify="right", style="dim")
        for i, (label, row) in enumerate(zip(self.labels, self.matrix)):
            total = sum(row)
            cells = [Text(f"{n:,}", style="bold reverse" if i == j else ("red" if n else "dim"))
                     for j, n in enumerate(row)]
            table.add_row(label, *cells, f"{row[i] / total:.1%}" if total else "")
        self.update(table)
