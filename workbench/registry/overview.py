"""What the Models screen shows, read in one go: versions with aliases, open requests, registrable runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace


@dataclass
class RegistryOverview:
    versions: list[dict[str, Any]] = field(default_factory=list)  # each with an "aliases" list
    open_requests: list[dict[str, Any]] = field(default_factory=list)  # each with its "decisions"
    registrable_runs: list[dict[str, Any]] = field(default_factory=list)  # succeeded, not yet registered
    alias_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # model -> events
    identity: str = "os"  # the adopted policy's identity mode
    serving: dict[str, str] = field(default_factory=dict)  # "model:version" -> what serving it did (one line)


def registry_overview(workspace: Workspace, run_limit: int = 200) -> RegistryOverview:
    from workbench.audit import AuditLog
    from workbench.runs.records import RunRecords

    out = RegistryOverview()
    registered_runs: set[str] = set()
    with RegistryStore.open(workspace) as store:
        ledger = store.ledger
        out.identity = ledger.identity_mode

        def signature(row: dict[str, Any]) -> str:
            """The governed event's signature status for a row (signed, declared, or why it does not count)."""
            found = ledger.status(int(row["event_seq"])) if row.get("event_seq") is not None else None
            return found.status if found else "—"

        for model in store.model_names():
            held: dict[int, list[str]] = {}
            for alias, event in store.aliases(model).items():
                held.setdefault(event["version"], []).append(alias)
            for v in reversed(store.versions(model)):
                v["aliases"] = sorted(held.get(v["version"], []))
                out.versions.append(v)
                registered_runs.add(v["run_id"])
            out.alias_history[model] = store.alias_history(model)
            for e in out.alias_history[model]:
                e["signature"] = signature(e)
        for r in store.requests(state="open"):
            r["signature"] = signature(r)
            r["decisions"] = [{**d, "signature": signature(d)} for d in store.raw_decisions(r["id"])]
            out.open_requests.append(r)
    with AuditLog(workspace.audit_path, workspace.root) as log:
        out.registrable_runs = [r for r in RunRecords(log).list_runs(limit=run_limit)
                                if r.get("state") == "succeeded" and r["run_id"] not in registered_runs]
        from workbench.registry.serving import serving_records

        out.serving = {f"{m}:{v}": record.summary() for (m, v), record in serving_records(log).items()}
    return out
