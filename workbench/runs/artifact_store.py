"""Run artifacts on the workspace's storage back-end: the back-end is the system of record, the
workspace's `artifacts/<run_id>/` folder a cache of it.

A run writes its files into the cache atomically (`runs/artifacts.py`), then `publish_run` uploads each
to the key `artifacts/<run_id>/<file>` before the run is marked succeeded, so a succeeded run never
references an object that is not there. Readers ask `verified_artifact` for a local path: the cached
copy when its SHA-256 is the recorded one, else the object fetched from the back-end into a temporary
file, hashed, and renamed into the cache only if it matches; a changed object is refused, never cached,
never unpickled. With `local` storage the workspace folder is the store and nothing is copied anywhere.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from workbench.errors import BackendUnavailableError, BadInputError, WorkbenchError
from workbench.runs.artifacts import ArtifactIntegrityError, sha256_file
from workbench.workspace import Workspace
from workbench.workspace.sharing import match_umask


def artifact_storage(workspace: Workspace) -> Any | None:
    """The storage back-end that holds run artifacts (opened once per process), or `None` for local storage."""
    if workspace.storage_is_local:
        return None
    from workbench.backends.session import workspace_storage

    return workspace_storage(workspace)


def publish_run(workspace: Workspace, run_dir: Path) -> None:
    """Upload every file of a finished run's folder to the storage back-end (nothing to do for local storage).

    Raises `BackendUnavailableError` if an upload fails; the caller fails the run and `discard_run`s it."""
    storage = artifact_storage(workspace)
    if storage is None:
        return
    from workbench.backends.storage import TEMP_PREFIX

    for path in sorted(run_dir.iterdir()):
        if not path.is_file() or path.name.startswith(TEMP_PREFIX):
            continue
        key = path.relative_to(workspace.root).as_posix()
        try:
            with open(path, "rb") as fh:
                storage.write(key, fh)
        except WorkbenchError:
            raise
        except Exception as exc:
            raise BackendUnavailableError(f"Cannot upload {key} to {storage.url(key)}: {_first_line(exc)}") from exc


def discard_run(workspace: Workspace, run_id: str) -> None:
    """Best effort: delete what a run that did not succeed uploaded. Nothing references those objects, so one
    left behind (the back-end went away) is clutter, never a wrong result."""
    try:
        storage = artifact_storage(workspace)
        if storage is not None:
            for key in storage.list(f"artifacts/{run_id}"):
                storage.delete(key)
    except Exception:
        pass


def verified_artifact(workspace: Workspace, relative: str, expected_sha256: str, what: str) -> Path:
    """The local path of a run's file (`artifacts/<run>/<file>`) whose bytes hash to `expected_sha256`.

    The cached copy if it matches, else (non-local storage) the back-end's object fetched into the cache.
    Raises `ArtifactIntegrityError` if the file is missing or was changed: never unpickle before this."""
    path = (workspace.root / relative).resolve()
    if not path.is_relative_to(workspace.root):
        raise BadInputError(f"The {what} path {relative!r} points outside the workspace.")
    actual = sha256_file(path) if path.is_file() else None
    if actual == expected_sha256:
        return path
    storage = artifact_storage(workspace)
    if storage is None:
        if actual is None:
            raise ArtifactIntegrityError(f"The {what} {relative} is missing; it cannot be used.")
        raise ArtifactIntegrityError(_changed(what, relative, actual, expected_sha256))
    # The cache is missing or differs: the back-end's copy decides.
    data = _stored_copy(storage, path.relative_to(workspace.root).as_posix(), relative, expected_sha256, what,
                        missing="is missing, here and at {url}; it cannot be used.")
    _write_atomically(path, data)
    return path


def _stored_copy(storage: Any, key: str, relative: str, expected_sha256: str, what: str, *, missing: str) -> bytes:
    """The back-end's object at `key`, if it hashes to `expected_sha256`; ArtifactIntegrityError otherwise."""
    try:
        data = storage.read(key)
    except FileNotFoundError:
        raise ArtifactIntegrityError(f"The {what} {relative} " + missing.format(url=storage.url(key))) from None
    except WorkbenchError:
        raise
    except Exception as exc:
        raise BackendUnavailableError(f"Cannot fetch the {what} {relative} from {storage.url(key)}: "
                                      f"{_first_line(exc)}") from exc
    stored = hashlib.sha256(data).hexdigest()
    if stored != expected_sha256:
        raise ArtifactIntegrityError(_changed(what, storage.url(key), stored, expected_sha256))
    return data


def check_recorded_artifact(workspace: Workspace, relative: str, expected_sha256: str, what: str) -> None:
    """For `audit verify`: the system of record's copy hashes to `expected_sha256` — the local file, or with
    non-local storage the back-end's object (a good local cache does not hide a changed object)."""
    storage = artifact_storage(workspace)
    if storage is None:
        verified_artifact(workspace, relative, expected_sha256, what)
        return
    _stored_copy(storage, Path(relative).as_posix(), relative, expected_sha256, what, missing="is missing at {url}.")


def _changed(what: str, where: str, actual: str, expected: str) -> str:
    return (f"The {what} {where} has SHA-256 {actual[:12]}… but {expected[:12]}… was recorded; "
            "it was changed after training and will not be loaded.")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        match_umask(fd)  # mkstemp makes 0600: the rest of a shared workspace's group could not read the cache
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
