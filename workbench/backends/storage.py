"""The storage back-end contract: where lake data files and artifacts live.

Keys are relative POSIX paths (`lake/data/main/flights/x.parquet`, `artifacts/<run>/model.joblib`),
the same on every back-end. Writes are atomic: a reader sees the old object or the new one, never a
partial one, and a failed write leaves no trace. `url(key)` is a location DuckDB reads directly once
`configure_duckdb(con)` has prepared the connection (extension, credentials).

Credentials come from the environment or the platform's usual configuration (for S3: the AWS
variables, profiles, instance roles) and never appear in `repr()`, `describe()`, logs or errors.
The built-in `local` storage (entry-point group `workbench.storage`) and plugins implement it.
"""

from __future__ import annotations

from typing import Any, BinaryIO, ClassVar, Protocol, runtime_checkable

from workbench.errors import BadInputError

TEMP_PREFIX = ".tmp-"  # in-progress writes; never listed, never a valid key segment


class StorageKeyError(BadInputError):
    title = "Bad storage key"


@runtime_checkable
class StorageBackend(Protocol):
    """What a storage back-end must do. `SUPPORTS_DUCKDB` says `url()` is readable by DuckDB."""

    name: ClassVar[str]
    SUPPORTS_DUCKDB: ClassVar[bool]

    def read(self, key: str) -> bytes:
        """The object's bytes; `FileNotFoundError` if there is none."""
        ...

    def write(self, key: str, data: bytes | BinaryIO) -> None:
        """Store `data` (bytes or a binary file object) under `key`, atomically, replacing any object."""
        ...

    def exists(self, key: str) -> bool:
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Every key under the folder `prefix` ("" for all), sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a key that does not exist is not an error."""
        ...

    def url(self, key: str) -> str:
        """Where DuckDB finds `key` (a path, or e.g. `s3://bucket/prefix/key`)."""
        ...

    def configure_duckdb(self, con: Any) -> None:
        """Prepare a DuckDB connection to read `url()`s: load extensions, register credentials."""
        ...

    def describe(self) -> dict[str, Any]:
        """What to show or record about this back-end; never a credential."""
        ...

    def close(self) -> None:
        ...


def check_key(key: str, *, prefix: bool = False) -> str:
    """`key` normalised, or a `StorageKeyError`: relative, '/'-separated, no '.', '..' or empty parts.

    With `prefix=True` the empty string (everything) and a trailing '/' are allowed."""
    if not isinstance(key, str):
        raise StorageKeyError(f"A storage key must be a string, not {type(key).__name__}.")
    text = key[:-1] if prefix and key.endswith("/") else key
    if text == "" and prefix:
        return ""
    if text == "":
        raise StorageKeyError("A storage key cannot be empty.")
    if text.startswith("/") or "\\" in text or ":" in text.split("/")[0]:
        raise StorageKeyError(f"Storage key {key!r} must be a relative path with '/' separators.")
    parts = text.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise StorageKeyError(f"Storage key {key!r} has an empty, '.' or '..' part.")
        if part.startswith(TEMP_PREFIX):
            raise StorageKeyError(f"Storage key {key!r} uses the reserved prefix {TEMP_PREFIX!r}.")
        if any(ord(c) < 32 for c in part):
            raise StorageKeyError(f"Storage key {key!r} contains a control character.")
    return text
