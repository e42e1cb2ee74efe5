"""The model a scoring service answers with: a reference such as `species@champion`, followed as it moves.

Why `PRAGMA data_version`: every alias move commits to `registry.sqlite`, and SQLite bumps that counter on
this connection whenever another connection has committed. Reading it costs microseconds, so each request
checks it, and only when the registry changed is the alias resolved again (through `resolve_ref`, which
checks the alias row against the audit chain) and, if it now names another version, that version loaded
(through `load_model`, which checks the artifact's SHA-256 before unpickling). A version whose artifact
fails the check is refused, and the service answers 503 until the alias names a loadable version: it never
keeps answering with a version that is no longer the one the alias names.

Each loaded version is also compiled to ONNX (`engine="auto"`, the default) and answered with onnxruntime
when its graph scored the version's frozen holdout as the pipeline does; otherwise with the pipeline, and
the events say why. `engine="onnx"` refuses a version without a checked graph; `"scikit-learn"` never tries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

ENGINES = ("auto", "onnx", "scikit-learn")

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
    engine: str = "auto"  # see ENGINES
    model: LoadedModel = field(init=False)
    compiled: dict[str, Any] = field(init=False, default_factory=dict)  # the answering version's ONNX outcome
    refused: str | None = field(init=False, default=None)  # why the version the alias names is not served
    _store: Any = field(init=False, repr=False)
    _seen: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        from workbench.registry.store import RegistryStore

        self._store = RegistryStore.open(self.workspace)
        self._seen = self._data_version()
        self.model, self.compiled = self._load(self._resolve())  # raises: a tampered artifact never starts

    @property
    def follows(self) -> bool:
        """False when the reference pins a version (`NAME:VERSION`): nothing to follow."""
        return self.ref.version is None

    def _data_version(self) -> int:
        return int(self._store.conn.execute("PRAGMA data_version").fetchone()["data_version"])

    def _resolve(self) -> dict[str, Any]:
        from workbench.registry.refs import resolve_ref

        return resolve_ref(self._store, self.ref, default_alias="champion")

    def _load(self, version: dict[str, Any]) -> tuple[LoadedModel, dict[str, Any]]:
        """The version loaded (hash checked) and, unless the engine says not to, compiled; with the outcome."""
        from workbench.registry.artifacts import load_holdout, load_model

        estimator = load_model(self.workspace, version)
        if self.engine == "scikit-learn":
            return LoadedModel(version, estimator), {"engine": "scikit-learn", "onnx": "not tried (--engine)"}
        from workbench.onnx.scoring import compile_version

        holdout = load_holdout(self.workspace, version).drop(version["target"])
        compiled = compile_version(estimator, version["task"], holdout)
        if compiled.estimator is not None:
            return LoadedModel(version, compiled.estimator, "onnx"), {"engine": "onnx", "onnx": compiled.summary()}
        if self.engine == "onnx":
            raise ServiceUnavailableError(f"{version['model']}:{version['version']} has no checked ONNX graph "
                                          f"({compiled.reason}); serve it with --engine auto.")
        return LoadedModel(version, estimator), {"engine": "scikit-learn", "onnx": compiled.summary()}

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
            loaded, compiled = self._load(version)
        except WorkbenchError as exc:
            self._refuse(f"{self.ref} now names {version['model']}:{version['version']}, which is not served: "
                         f"{exc.message}", version)
        previous, self.model, self.compiled, self.refused = self.model, loaded, compiled, None
        self._record("serve.switched", {"from_version": previous.number, "to_version": loaded.number,
                                        "artifact_sha256": loaded.version["artifact_sha256"], **compiled})
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
