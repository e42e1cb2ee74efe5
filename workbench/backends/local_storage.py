"""The built-in `local` storage back-end: a folder on this machine (the workspace by default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from workbench.backends.options import Option, OptionSchema
from workbench.backends.storage import TEMP_PREFIX, check_key
from workbench.workspace.sharing import match_umask


class LocalStorage:
    """Objects are files under `root`; a write goes to a temporary file that is renamed into place."""

    name: ClassVar[str] = "local"
    SUPPORTS_DUCKDB: ClassVar[bool] = True
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("root", str, help="Folder that holds the objects (default: the workspace folder)."),
    )

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    @classmethod
    def from_workspace(cls, workspace: Any, root: str | None = None) -> "LocalStorage":
        return cls(workspace.root / root if root else workspace.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise FileNotFoundError(f"No object {key!r} in local storage at {self.root}.") from None

    def write(self, key: str, data: bytes | BinaryIO) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            match_umask(fd)  # mkstemp makes 0600: a shared workspace's group must read what one member stored
            with os.fdopen(fd, "wb") as fh:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    fh.write(data)
                else:
                    shutil.copyfileobj(data, fh, 1 << 20)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic on POSIX and Windows within one file system
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self.root / check_key(prefix, prefix=True) if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                if not f.startswith(TEMP_PREFIX):
                    out.append((Path(dirpath) / f).relative_to(self.root).as_posix())
        return sorted(out)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return str(self._path(key))

    def configure_duckdb(self, con: Any) -> None:
        """Nothing to do: DuckDB reads local paths natively."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "root": str(self.root)}

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r})"
