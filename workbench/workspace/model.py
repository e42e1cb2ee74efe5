"""The `Workspace` value: where each part of a workspace lives on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.identity import Identity, current_identity
from workbench.workspace.settings import SETTINGS_FILE, Settings


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings

    @classmethod
    def load(cls, root: Path) -> "Workspace":
        root = root.resolve()
        return cls(root=root, settings=Settings.load(root / SETTINGS_FILE))

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def lake_catalog(self) -> Path:
        return self.root / self.settings.lake_catalog

    @property
    def lake_data(self) -> Path:
        return self.root / self.settings.lake_data_path

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.sqlite"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def storage_is_local(self) -> bool:
        """True when lake data files and artifacts live in this folder: no `[storage] backend`, or `local`.

        Cheap on purpose: a local workspace never imports the back-end machinery to find this out."""
        table = self.settings.extra.get("storage")
        return table is None or (isinstance(table, dict) and table.get("backend", "local") == "local")

    @property
    def state_dir(self) -> Path:
        """Workspace-owned machine state (DuckDB extension directory, locks); safe to delete."""
        return self.root / ".workbench"

    @property
    def identity(self) -> Identity:
        """The OS account acting (and its display label). `workbench.toml`'s `[governance] identity` picks
        what `actor` records; governed actions re-check it against the adopted policy (`access/actions.py`)."""
        gov = self.settings.extra.get("governance")
        mode = gov.get("identity", "os") if isinstance(gov, dict) else "os"
        return current_identity(str(mode))

    @property
    def actor(self) -> str:
        return self.identity.actor
