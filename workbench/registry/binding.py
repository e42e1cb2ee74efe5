"""Registry rows are bound to the audit events that made them, and checked against them when used.

Each row of `model_versions`, `alias_events`, `promotion_requests`, `decisions` and `evaluations`
carries `event_seq` and `event_hash`: where its event sits in the hash chain. A row is believed only if
that event still hashes to what the row carries, is of the right kind and subject, was made by the
person the row names, and records the same values for the fields a decision relies on. A row inserted
with raw SQL has no such event; a row copied from an older event is caught because the newest alias
row must be bound to the newest `model.alias_set` event of that alias.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from workbench.audit.log import AuditLog, Event
from workbench.audit.redact import redact

# A request closes through one of these events; its `closed_event_seq` points at it.
CLOSING_KINDS = {"approved": "model.alias_set", "rejected": "model.rejected", "withdrawn": "model.promotion_withdrawn"}


@dataclass(frozen=True)
class Binding:
    """What a table's rows must agree on with their event: kinds, subject, actor column, field map."""

    kinds: tuple[str, ...]
    subject: Callable[[Mapping[str, Any]], str]
    actor_column: str | None
    fields: Mapping[str, str]  # event param -> row column
    keys: tuple[str, ...] = ("id",)  # the columns that name a row in a finding
    # fields added to the event later: compared when the event recorded them (older events predate them)
    since: tuple[str, ...] = ()

    def key(self, row: Mapping[str, Any]) -> str:
        return ":".join(str(row.get(c)) for c in self.keys)


BINDINGS: dict[str, Binding] = {
    "model_versions": Binding(
        ("model.registered",), lambda r: f"{r['model']}:{r['version']}", "registered_by",
        {"model": "model", "version": "version", "run_id": "run_id", "artifact_path": "artifact_path",
         "artifact_sha256": "artifact_sha256", "holdout_path": "holdout_path", "holdout_sha256": "holdout_sha256",
         "spec_sha256": "spec_sha256", "training": "training", "features": "features"}, keys=("model", "version"),
        since=("features",)),
    "alias_events": Binding(
        ("model.alias_set",), lambda r: f"{r['model']}@{r['alias']}", "set_by",
        {"model": "model", "alias": "alias", "version": "version", "previous_version": "previous_version",
         "request_id": "request_id", "approved_by": "approved_by"}, keys=("seq",)),
    "promotion_requests": Binding(
        ("model.promotion_requested",), lambda r: f"{r['model']}:{r['version']}", "requested_by",
        {"request": "id", "model": "model", "version": "version", "alias": "alias",
         "current_version": "current_version"}),
    "decisions": Binding(
        ("model.approved", "model.rejected"), lambda r: "", "actor", {"request": "request_id"}, keys=("seq",)),
    "evaluations": Binding(
        ("model.evaluated",), lambda r: r["model"], "evaluated_by",
        {"evaluation": "id", "best_version": "best_version", "champion_version": "champion_version"}),
}
_DECISION_KIND = {"approve": "model.approved", "reject": "model.rejected"}


def _same(row_value: Any, event_value: Any, secrets: Any) -> bool:
    if isinstance(row_value, str) and row_value.startswith(("[", "{")):
        try:
            row_value = json.loads(row_value)
        except ValueError:
            pass
    return redact(row_value, secrets) == event_value


def row_problem(log: AuditLog, table: str, row: Mapping[str, Any]) -> str | None:
    """Why `row` of `table` is not what its bound event says, or None when they agree."""
    seq, bound_hash = row.get("event_seq"), row.get("event_hash")
    if seq is None:
        return "no audit event is bound to it"
    event = log.chained_event(int(seq))
    if event is None:
        return f"its event #{seq} is missing or was edited"
    if event.hash != bound_hash:
        return f"it carries a hash that is not event #{seq}'s"
    return event_problem(table, row, event, log._secrets)


def event_problem(table: str, row: Mapping[str, Any], event: Event, secrets: Any = ()) -> str | None:
    binding = BINDINGS[table]
    if event.kind not in binding.kinds:
        return f"event #{event.seq} is a {event.kind}, not a {' or '.join(binding.kinds)}"
    if table == "decisions" and _DECISION_KIND.get(row.get("decision")) != event.kind:
        return f"it says {row.get('decision')!r} but event #{event.seq} is a {event.kind}"
    subject = binding.subject(row)
    if subject and event.subject != subject:
        return f"event #{event.seq} is about {event.subject!r}, not {subject!r}"
    if binding.actor_column and row.get(binding.actor_column) != event.actor:
        return f"{binding.actor_column} {row.get(binding.actor_column)!r}, but event #{event.seq} was made by {event.actor!r}"
    for param, column in binding.fields.items():
        if param in binding.since and param not in event.params:
            continue
        if not _same(row.get(column), event.params.get(param), secrets):
            return f"{column} {row.get(column)!r}, but event #{event.seq} recorded {event.params.get(param)!r}"
    return None


def closing_problem(log: AuditLog, row: Mapping[str, Any]) -> str | None:
    """A decided request must be closed by the event its state names; an open one by none."""
    state = row.get("state")
    seq = row.get("closed_event_seq")
    if state == "open":
        return None if seq is None else "it is open but carries a closing event"
    if seq is None:
        return f"it is {state} but no closing event is bound to it"
    event = log.chained_event(int(seq))
    if event is None or event.hash != row.get("closed_event_hash"):
        return f"its closing event #{seq} is missing, edited or not the one it names"
    want = CLOSING_KINDS.get(str(state))
    if event.kind != want:
        return f"it is {state}, but its closing event #{seq} is a {event.kind}"
    request = event.params.get("request_id") if event.kind == "model.alias_set" else event.params.get("request")
    if request != row.get("id"):
        return f"its closing event #{seq} closes request {request}, not {row.get('id')}"
    return None


def newest_alias_seq(log: AuditLog, model: str, alias: str) -> int | None:
    """The chain's newest `model.alias_set` event for `model@alias` (the alias table must agree with it)."""
    return log.conn.execute("SELECT max(seq) FROM events WHERE kind = 'model.alias_set' AND subject = ?",
                            [f"{model}@{alias}"]).fetchone()[0]
