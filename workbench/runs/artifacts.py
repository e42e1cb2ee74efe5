"""Artifacts are written atomically (temp file + rename) and identified by their SHA-256."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import WorkbenchError
from workbench.hashing import sha256_file
from workbench.workspace.sharing import match_umask


class ArtifactIntegrityError(WorkbenchError):
    """A run's file is missing or no longer matches its recorded hash: it is never loaded."""

    title = "Artifact integrity"


def _write_atomically(path: Path, write: Any) -> str:
    """Call `write(tmp_path)` on a temporary file beside `path`, then rename it into place; returns its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        match_umask(fd)  # mkstemp's 0600 would keep the file from the rest of a shared workspace's group
    finally:
        os.close(fd)
    try:
        write(tmp)
        digest = sha256_file(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def save_frame(frame: Any, path: Path) -> str:
    """Write a polars DataFrame as Parquet (zstd) atomically; returns the file's SHA-256."""
    return _write_atomically(path, lambda tmp: frame.write_parquet(tmp, compression="zstd"))


def save_model(estimator: Any, path: Path) -> str:
    """Pickle `estimator` with joblib to `path` atomically; returns the file's SHA-256."""
    import joblib

    return _write_atomically(path, lambda tmp: joblib.dump(estimator, tmp, compress=3))


def save_json(value: Any, path: Path, secrets: Iterable[str] | None = None) -> str:
    """Write `value` as JSON atomically, with secrets masked as in the audit log; returns the file's SHA-256.

    Run files are uploaded with the run (S3) and read by anyone with the workspace, so every string in them
    (spec, SQL, error text, names) goes through `audit.redact.redact_text`; `secrets` defaults to the values
    of the environment's secret-looking variables.
    """
    import json

    from workbench.audit.redact import secret_env_values

    found = secret_env_values() if secrets is None else tuple(secrets)
    clean = _clean(value, found)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(clean, fh, indent=1, default=lambda v: _clean(str(v), found), allow_nan=False)

    return _write_atomically(path, write)


def _clean(value: Any, secrets: tuple[str, ...]) -> Any:
    """Strings redacted (keys too); NaN and infinities become null: strict JSON that every reader accepts."""
    import math

    from workbench.audit.redact import redact_text

    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_clean(k, secrets): _clean(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, secrets) for v in value]
    return value


def load_model(path: Path, expected_sha256: str) -> Any:
    """Load a saved model only if its bytes still hash to `expected_sha256` (unpickling runs code)."""
    import joblib

    path = Path(path)
    if not path.exists():
        raise ArtifactIntegrityError(f"Model artifact {path} is missing.")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise ArtifactIntegrityError(f"Model artifact {path} has SHA-256 {actual[:12]}…, not the recorded "
                                     f"{expected_sha256[:12]}…; it was changed after the run and will not be loaded.")
    return joblib.load(path)
