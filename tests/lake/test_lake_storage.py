"""Lake data files and run artifacts on a non-local storage back-end, without a network: the stand-in is
the built-in local storage under another folder and another name (the S3 tests run the real thing)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import ClassVar

import pytest

from workbench.backends.local_storage import LocalStorage
from workbench.errors import BackendUnavailableError, WorkspaceError
from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
from workbench.lake.preview import preview_table
from workbench.runs.artifact_store import discard_run, publish_run, verified_artifact
from workbench.runs.artifacts import ArtifactIntegrityError
from workbench.workspace import Workspace


class ElsewhereStorage(LocalStorage):
    name: ClassVar[str] = "elsewhere"


def _configure(ws: Workspace, monkeypatch: pytest.MonkeyPatch, storage: LocalStorage) -> Workspace:
    import workbench.backends.session as session

    with open(ws.settings_path, "a", encoding="utf-8") as fh:
        fh.write(f'\n[storage]\nbackend = "{storage.name}"\n')
    monkeypatch.setattr(session, "workspace_storage", lambda workspace: storage)
    return Workspace.load(ws.root)


def _csv(path: Path, rows: int) -> Path:
    path.write_text("k,v\n" + "".join(f"{i},{i % 7}\n" for i in range(rows)), encoding="utf-8")
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_lake_data_files_go_to_the_storage_and_a_switch_under_them_is_refused(
        empty_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = ElsewhereStorage(tmp_path / "objects")
    ws = _configure(empty_workspace, monkeypatch, storage)
    with open_lake(ws) as lake:
        ingest_files(lake, [_csv(tmp_path / "t.csv", 3000)])
        ingest_files(lake, [_csv(tmp_path / "t.csv", 4000)], replace=True)
        assert preview_table(lake, "t", version=1).total_rows == 3000
        assert preview_table(lake, "t").total_rows == 4000
    assert storage.list("lake/data") and all(k.endswith(".parquet") for k in storage.list("lake/data"))
    assert _files(ws.lake_data) == []

    ws.settings_path.write_text(ws.settings_path.read_text().replace('backend = "elsewhere"', 'backend = "local"'))
    catalog = ws.lake_catalog.read_bytes()
    with pytest.raises(WorkspaceError, match=r"data files are in elsewhere storage \(.*objects/lake/data\), but "
                                             r"workbench.toml sets \[storage\] backend = 'local'; set it back to 'elsewhere'"):
        open_lake(Workspace.load(ws.root))
    assert ws.lake_catalog.read_bytes() == catalog


def test_a_lake_without_data_files_may_change_storage(empty_workspace: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _configure(empty_workspace, monkeypatch, ElsewhereStorage(tmp_path / "objects"))
    open_lake(ws).close()  # the catalog now says "elsewhere", but holds no file
    ws.settings_path.write_text(ws.settings_path.read_text().replace('backend = "elsewhere"', 'backend = "local"'))
    local = Workspace.load(ws.root)
    with open_lake(local) as lake:
        ingest_files(lake, [_csv(tmp_path / "t.csv", 3000)])
    assert _files(local.lake_data)


def test_a_storage_duckdb_cannot_read_cannot_hold_the_lake(empty_workspace: Workspace, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    class BlobOnly(ElsewhereStorage):
        SUPPORTS_DUCKDB: ClassVar[bool] = False

    ws = _configure(empty_workspace, monkeypatch, BlobOnly(tmp_path / "objects"))
    with pytest.raises(BackendUnavailableError, match="SUPPORTS_DUCKDB is False"):
        open_lake(ws)


def test_artifacts_are_published_fetched_into_the_cache_and_checked(
        empty_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = ElsewhereStorage(tmp_path / "objects")
    ws = _configure(empty_workspace, monkeypatch, storage)
    run_dir = ws.artifacts_dir / "run-1"
    run_dir.mkdir(parents=True)
    (run_dir / "model.joblib").write_bytes(b"model bytes")
    (run_dir / ".tmp-half-written").write_bytes(b"x")
    digest = hashlib.sha256(b"model bytes").hexdigest()
    publish_run(ws, run_dir)
    assert storage.list("artifacts") == ["artifacts/run-1/model.joblib"]

    shutil.rmtree(ws.artifacts_dir)
    path = verified_artifact(ws, "artifacts/run-1/model.joblib", digest, "model artifact")
    assert path.read_bytes() == b"model bytes"  # fetched back into the cache
    path.write_bytes(b"damaged")
    assert verified_artifact(ws, "artifacts/run-1/model.joblib", digest, "model artifact").read_bytes() == b"model bytes"

    storage.write("artifacts/run-1/model.joblib", b"tampered")
    assert verified_artifact(ws, "artifacts/run-1/model.joblib", digest, "model artifact") == path  # cache vouches
    path.unlink()
    with pytest.raises(ArtifactIntegrityError, match="objects/artifacts/run-1/model.joblib has SHA-256 .* will not be loaded"):
        verified_artifact(ws, "artifacts/run-1/model.joblib", digest, "model artifact")
    assert not path.exists()  # a refused object is never cached

    discard_run(ws, "run-1")
    assert storage.list("artifacts") == []
    with pytest.raises(ArtifactIntegrityError, match="is missing, here and at"):
        verified_artifact(ws, "artifacts/run-1/model.joblib", digest, "model artifact")


def test_local_storage_keeps_the_workspace_folder_as_the_only_store(empty_workspace: Workspace) -> None:
    ws = empty_workspace
    path = ws.artifacts_dir / "run-1" / "model.joblib"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"model bytes")
    publish_run(ws, path.parent)  # nothing to do
    with pytest.raises(ArtifactIntegrityError, match=r"^The model artifact artifacts/run-1/model.joblib has SHA-256"):
        verified_artifact(ws, "artifacts/run-1/model.joblib", "0" * 64, "model artifact")
    path.unlink()
    with pytest.raises(ArtifactIntegrityError, match="is missing; it cannot be used"):
        verified_artifact(ws, "artifacts/run-1/model.joblib", "0" * 64, "model artifact")
