"""The model registry from Python: versions with lineage, aliases, loading a version and scoring rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.api.models import LoadedModel, load_version, rows_to_frame
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.registry.predict import PredictionResult


class RegistryApi:
    """Reads go through `RegistryStore` (rows checked against the audit log); loading checks the artifact hash."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def models(self) -> list[str]:
        """Registered model names."""
        from workbench.registry.store import RegistryStore

        with RegistryStore.open(self._ws) as store:
            return store.model_names()

    def versions(self, model: str) -> list[dict[str, Any]]:
        """Every version of `model` with its lineage (run, spec, data version, fingerprint, artifact hash, metrics)."""
        from workbench.registry.refs import check_model_name
        from workbench.registry.store import RegistryStore

        with RegistryStore.open(self._ws) as store:
            return store.versions(check_model_name(model))

    def get(self, ref: str) -> dict[str, Any]:
        """The version `ref` names: `NAME:VERSION`, `NAME@ALIAS`, or `NAME` (its champion)."""
        from workbench.registry.refs import parse_ref, resolve_ref
        from workbench.registry.store import RegistryStore

        with RegistryStore.open(self._ws) as store:
            return resolve_ref(store, parse_ref(ref), default_alias="champion")

    def aliases(self, model: str) -> dict[str, int]:
        """alias -> version, for the aliases `model` holds now."""
        from workbench.registry.refs import check_model_name
        from workbench.registry.store import RegistryStore

        with RegistryStore.open(self._ws) as store:
            return {a: e["version"] for a, e in store.aliases(check_model_name(model)).items()}

    def load(self, ref: str) -> LoadedModel:
        """A version's fitted pipeline, loaded after its artifact's SHA-256 checks out (`.estimator` is sklearn's)."""
        return load_version(self._ws, ref)

    def predict(self, ref: str, rows: Any) -> Any:
        """Predictions for `rows` (a polars or pandas frame, an Arrow table, or a list of dicts) as polars,
        exactly as `workbench models predict` scores them, without writing anything."""
        import polars as pl

        model = self.load(ref)
        if isinstance(rows, list):
            frame = rows_to_frame(rows, model.features, "the rows")
        else:
            frame = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows) \
                if type(rows).__module__.startswith("pandas") else pl.from_arrow(rows)
        return model.predict(frame)

    def predict_into(self, ref: str, into: str, *, table: str | None = None, query: str | None = None,
                     replace: bool = False) -> PredictionResult:
        """Score lake rows into a new lake table version with drift checks: `workbench models predict`, audited."""
        from workbench.registry.predict import predict
        from workbench.registry.refs import parse_ref

        return predict(self._ws, parse_ref(ref), into=into, table=table, query=query, replace=replace)
