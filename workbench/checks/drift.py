"""Drift of a new table version against the data a model version (by default the champion) trained on.

The registry keeps, with every model version, a reference profile of its training rows (`registry/drift.py`:
decile edges, top categories, missing rates), made from the exact lake table version it trained on; the
new version is compared with `compare_to_reference`, so PSI here is the PSI `models predict` reports.
"""

from __future__ import annotations

from typing import Any

from workbench.checks.expectations import Expectations
from workbench.errors import BadInputError
from workbench.workspace import Workspace


def drift_failures(ws: Workspace, exp: Expectations, cur: Any, from_sql: str,
                   columns: set[str]) -> tuple[list[str], list[str], dict[str, float | None]]:
    """(failures, notes, PSI per feature) of the rows of `from_sql` against `exp.drift_model`@alias."""
    from workbench.registry.drift import compare_to_reference
    from workbench.registry.refs import ModelRef, resolve_ref
    from workbench.registry.store import RegistryStore

    assert exp.drift_model is not None
    ref = ModelRef(exp.drift_model, alias=exp.drift_alias)
    with RegistryStore.open(ws) as store:
        if not store.versions(exp.drift_model):
            raise BadInputError(f"{exp.path} [drift] names model {exp.drift_model!r}, which is not registered.")
        try:
            version = resolve_ref(store, ref)
        except BadInputError:
            return [], [f"{ref} does not exist yet, so drift was not checked."], {}
    reference = dict(version.get("reference") or {})
    features = {k: v for k, v in (reference.get("features") or {}).items() if k in columns}
    if not features:
        return [], [f"{ref} shares no feature column with this table, so drift was not checked."], {}
    reference["features"] = features
    drifts = compare_to_reference(cur, from_sql, reference, exp.drift_max_psi, missing_threshold=1.0)
    trained = f"{version.get('data_source') or 'its training data'}"
    if version.get("data_version") is not None and version.get("data_table"):
        trained = f"{version['data_table']} version {version['data_version']}"
    failures = [f"{d.feature} drifted from {trained} ({ref}, v{version['version']}): PSI {d.psi:.3f} > "
                f"{exp.drift_max_psi:g}." for d in drifts if d.psi is not None and d.psi > exp.drift_max_psi]
    return failures, [], {d.feature: d.psi for d in drifts}
