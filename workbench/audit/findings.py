"""What `workbench audit verify` reports: one value per thing that disagrees with the chain.

Every layer that owns derived state (runs, registry, lake, artifacts, the search index) checks its own
state against the chained events and returns `Finding`s; `integrity/workspace.py` gathers them. The
audit package is the bottom layer, so this value lives here and imports nothing from above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One disagreement: `kind` groups findings (e.g. ``runs``, ``lake.snapshot``, ``artifact``),
    `table` and `key` name the row or object, `message` is one sentence a person can act on."""

    kind: str
    table: str
    key: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "key": self.key, "message": self.message}
