"""The model a scoring service answers with: a reference such as `species@champion`, followed as it moves.

Why `PRAGMA data_version`: every alias move commits to `registry.sqlite`, and SQLite bumps that counter on
this connection whenever another connection has committed. Reading it costs microseconds, so each request
checks it, and only when the registry changed is the alias resolved again (through `resolve_ref`, which
checks the alias row against the audit chain) and, if it now names another version, that version loaded
(through `load_model`, which checks the artifact's SHA-256 before unpickling). A version whose artifact
fails the check is refused, and the service answers 503 until the alias names a loadable version: it never
keeps answering with a version that is no longer the one the alias names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from workbench.api.models import LoadedModel
from workbench.errors import WorkbenchError
from workbench.workspace import Workspace


class ServiceUnavailableError(WorkbenchError):
    """The reference cannot be served right now (its artifact failed its hash check, or the alias is gone)."""

    title = "Model unavailable"


@dataclass
class AliasFollower:
    """Holds the loaded version for `ref` and swaps it, at the next request, when the registry says it moved."""

    workspace: Workspace
    ref: Any  # ModelRef
    model: LoadedModel = field(init=False)
    refused: str | None = field(init=False, default=None)  # why the version the alias names is not served
    _store: Any = field(init=False, repr=False)
    _seen: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        from workbench.registry.store import RegistryStore

        self._store = RegistryStore.open(self.workspace)
        self._seen = self._data_version()
        self.model = LoadedModel(*self._load(self._resolve()))  # raises: a tampered artifact never starts

    @property
    def follows(self) -> bool:
        """False when the reference pins a version (`NAME:VERSION`): nothing to follow."""
        return self.ref.version is None

    def _data_version(self) -> int:
        return int(self._store.conn.execute("PRAGMA data_version").fetchone()["data_version"])

    def _resolve(self) -> dict[str, Any]:
        from workbench.registry.refs import resolve_ref

        return resolve_ref(self._store, self.ref, default_alias="champion")

    def _load(self, version: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        from workbench.registry.artifacts import load_model

        return version, load_model(self.workspace, version)

    def current(self) -> LoadedModel:
        """The version to answer this request with; ServiceUnavailableError when the alias names one we refuse."""
        if not self.follows:
            return self.model
        seen = self._data_version()
        if seen == self._seen and self.refused is None:
            return self.model
        self._seen = seen
        try:
            version = self._resolve()
        except WorkbenchError as exc:
            self._refuse(f"{self.ref} cannot be resolved: {exc.message}", None)
        if version["version"] == self.model.number and self.refused is None:
            return self.model
        try:
            loaded = LoadedModel(*self._load(version))
        except WorkbenchError as exc:
            self._refuse(f"{self.ref} now names {version['model']}:{version['version']}, which is not served: "
                         f"{exc.message}", version)
        previous, self.model, self.refused = self.model, loaded, None
        self._record("serve.switched", {"from_version": previous.number, "to_version": loaded.number,
                                        "artifact_sha256": loaded.version["artifact_sha256"]})
        return loaded

    def _refuse(self, message: str, version: dict[str, Any] | None) -> NoReturn:
        if self.refused != message:  # one event per refusal, not one per request
            self._record("serve.refused", {"reason": message, "version": version["version"] if version else None},
                         outcome="refused")
        self.refused = message
        raise ServiceUnavailableError(message)

    def _record(self, kind: str, params: dict[str, Any], outcome: str = "ok") -> None:
        from workbench.registry.trail import record_event

        record_event(self.workspace, kind, str(self.ref), {"model": self.model.name, **params},
                     run_id=self.model.version["run_id"], outcome=outcome)

    def record(self, kind: str, params: dict[str, Any]) -> None:
        """Record a lifecycle event of the service (started, stopped) for the version it serves."""
        self._record(kind, {"version": self.model.number, "artifact_sha256": self.model.version["artifact_sha256"],
                            **params})

    def close(self) -> None:
        self._store.close()
