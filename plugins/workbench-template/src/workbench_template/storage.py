"""`MemoryStorage`: objects in a dict — the smallest storage back-end that keeps the contract.

Keys are checked with `check_key`, writes replace whole values under a lock (atomic by construction),
and since DuckDB cannot see this process's memory, `SUPPORTS_DUCKDB = False`.
"""

from __future__ import annotations

import threading
from typing import Any, BinaryIO, ClassVar

from workbench.backends.options import Option, OptionSchema
from workbench.backends.storage import check_key


class MemoryStorage:
    name: ClassVar[str] = "template"
    SUPPORTS_DUCKDB: ClassVar[bool] = False
    # An example to copy, not a back-end to run on: `plugins list --check` and the Plugins tab say "example".
    # Delete this line in your own plugin.
    EXAMPLE: ClassVar[bool] = True
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("label", str, default="memory", help="A name shown in listings."),
    )

    def __init__(self, label: str = "memory") -> None:
        self.label = label
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def read(self, key: str) -> bytes:
        key = check_key(key)
        with self._lock:
            if key not in self._objects:
                raise FileNotFoundError(f"No object {key!r} in memory storage {self.label!r}.")
            return self._objects[key]

    def write(self, key: str, data: bytes | BinaryIO) -> None:
        key = check_key(key)
        value = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else data.read()
        with self._lock:  # the value is complete before it becomes visible
            self._objects[key] = value

    def exists(self, key: str) -> bool:
        with self._lock:
            return check_key(key) in self._objects

    def list(self, prefix: str = "") -> list[str]:
        folder = check_key(prefix, prefix=True)
        with self._lock:
            return sorted(k for k in self._objects if not folder or k.startswith(folder + "/"))

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(check_key(key), None)

    def url(self, key: str) -> str:
        return f"memory://{self.label}/{check_key(key)}"

    def configure_duckdb(self, con: Any) -> None:
        """Nothing to configure: DuckDB cannot read this back-end (SUPPORTS_DUCKDB is False)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "objects": len(self._objects)}

    def close(self) -> None:
        with self._lock:
            self._objects.clear()

    def __repr__(self) -> str:
        return f"MemoryStorage(label={self.label!r})"
