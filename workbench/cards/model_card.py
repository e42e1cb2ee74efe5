"""Model cards: what a registered version is for, what it learned from, how well it does (overall and per group of
each column marked sensitive), its limitations and its approvals.

Why the editable fields live in the audit log and nowhere else: a card edit is a `model.card_edited` event whose
subject is `NAME:VERSION` and whose params hold the changed fields. The card is derived from those events
(each re-checked against its hash with `chained_event` when read), so its history is the chain itself, an
edited or deleted edit is an `audit verify` finding like any other event, and no table can disagree with it.
Everything else on the card is computed from the registry row, the frozen holdout and the lake when it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.errors import BadInputError, IntegrityError
from workbench.workspace import Workspace

EDIT_KIND = "model.card_edited"
FIELDS = {
    "intended_use": "What the model is for, and who relies on it.",
    "out_of_scope": "Uses it was not built or checked for.",
    "limitations": "Known weaknesses: data it has not seen, groups where it does worse, drift to watch.",
    "sensitive_columns": "Input columns whose groups get their own holdout metrics (comma-separated).",
    "owner": "Who answers for the model.",
    "notes": "Anything else a reader should know.",
}
MAX_FIELD_CHARS = 20_000
MISSING_GROUP = "(missing)"


@dataclass(frozen=True)
class CardEdit:
    seq: int
    ts: str
    actor: str
    changes: dict[str, str]


@dataclass(frozen=True)
class GroupMetrics:
    column: str
    group: str
    rows: int
    scores: dict[str, float | None]


@dataclass(frozen=True)
class ModelCard:
    model: str
    version: int
    task: str
    target: str
    estimator: str | None
    fields: dict[str, str]
    history: list[CardEdit]
    training: dict[str, Any]
    holdout_rows: int
    holdout_metrics: dict[str, float | None]
    group_metrics: list[GroupMetrics] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sensitive_columns(self) -> list[str]:
        return parse_columns(self.fields.get("sensitive_columns", ""))


def parse_columns(text: str) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _version(workspace: Workspace, ref_text: str) -> dict[str, Any]:
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore

    with RegistryStore.open(workspace) as store:
        return resolve_ref(store, parse_ref(ref_text), default_alias="champion")


def card_history(workspace: Workspace, model: str, version: int) -> list[CardEdit]:
    """Every edit of the card, oldest first, each event checked against the chain before it is believed."""
    from workbench.audit import AuditLog

    subject = f"{model}:{version}"
    edits = []
    with AuditLog(workspace.audit_path, workspace.root) as log:
        for (seq,) in log.conn.execute("SELECT seq FROM events WHERE kind = ? AND subject = ? ORDER BY seq",
                                       [EDIT_KIND, subject]).fetchall():
            event = log.chained_event(seq)
            if event is None:
                raise IntegrityError(f"Card edit #{seq} of {subject} disagrees with the audit chain; the card is "
                                     "not shown. Run `workbench audit verify` for details.")
            edits.append(CardEdit(event.seq, event.ts, event.actor, dict(event.params.get("changes") or {})))
    return edits


def current_fields(history: list[CardEdit]) -> dict[str, str]:
    fields = {name: "" for name in FIELDS}
    for edit in history:
        fields.update({k: v for k, v in edit.changes.items() if k in FIELDS})
    return fields


def edit_card(workspace: Workspace, ref_text: str, changes: Mapping[str, str]) -> ModelCard:
    """Record the changed fields as one `model.card_edited` event (nothing if nothing changed); unknown fields,
    oversized values and sensitive columns the model does not take are refused before anything is written."""
    from workbench.registry.trail import record_event

    version = _version(workspace, ref_text)
    model, number = version["model"], version["version"]
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise BadInputError(f"{unknown[0]!r} is not a card field (fields: {', '.join(FIELDS)}).")
    for name, value in changes.items():
        if len(value) > MAX_FIELD_CHARS:
            raise BadInputError(f"The card field {name} is longer than {MAX_FIELD_CHARS:,} characters.")
    if "sensitive_columns" in changes:
        known = {name for name, *_ in version["features"]}
        bad = [c for c in parse_columns(changes["sensitive_columns"]) if c not in known]
        if bad:
            raise BadInputError(f"{', '.join(bad)}: not an input column of {model}:{number} "
                                f"(columns: {', '.join(sorted(known))}).")
    before = current_fields(card_history(workspace, model, number))
    changed = {k: v.strip() for k, v in changes.items() if v.strip() != before.get(k, "")}
    if changed:
        record_event(workspace, EDIT_KIND, f"{model}:{number}", {"model": model, "version": number, "changes": changed,
                                                                  "previous": {k: before.get(k, "") for k in changed}},
                     run_id=version["run_id"])
    return build_card(workspace, f"{model}:{number}")


def _scores(estimator: Any, frame: Any, version: dict[str, Any]) -> dict[str, float | None]:
    from workbench.registry.scoring import score_metric

    metrics = [version["metric"]] + (["accuracy"] if version["task"] != "regression" else ["rmse", "mae"])
    out: dict[str, float | None] = {}
    for metric in dict.fromkeys(metrics):
        try:
            out[metric] = score_metric(estimator, frame, version["target"], version["task"], metric)
        except Exception:  # e.g. ROC AUC on a group holding one class: not defined, shown as blank
            out[metric] = None
    return out


def _training(workspace: Workspace, version: dict[str, Any]) -> dict[str, Any]:
    """The data the version learned from, and whether the lake still certifies it (same version, same fingerprint)."""
    from workbench.lake.catalog import resolve_version
    from workbench.lake.engine import open_lake

    facts = {"source": version["data_source"], "table": version["data_table"], "version": version["data_version"],
             "fingerprint": version["fingerprint"], "rows": version["row_count"], "certified": None, "note": ""}
    if not version["data_table"]:
        facts["note"] = "trained on a query; the fingerprint identifies its result"
        return facts
    try:
        with open_lake(workspace, read_only=True) as lake:
            held = resolve_version(lake, version["data_table"], version["data_version"])
    except BadInputError as exc:
        facts.update(certified=False, note=exc.message)
        return facts
    facts["certified"] = bool(held and held.fingerprint == version["fingerprint"])
    facts["note"] = ("the lake holds this table version with the same content fingerprint" if facts["certified"]
                     else "the lake no longer holds this table version with this fingerprint")
    return facts


def build_card(workspace: Workspace, ref_text: str) -> ModelCard:
    """The card of the version `ref_text` names (NAME means NAME@champion): fields, history and computed facts."""
    import polars as pl

    from workbench.registry.artifacts import load_holdout, load_model
    from workbench.registry.store import RegistryStore

    version = _version(workspace, ref_text)
    model, number = version["model"], version["version"]
    history = card_history(workspace, model, number)
    fields = current_fields(history)
    estimator = load_model(workspace, version)  # hash-checked, like every load
    holdout = load_holdout(workspace, version)
    groups = []
    for column in parse_columns(fields["sensitive_columns"]):
        if column not in holdout.columns:
            continue
        keyed = holdout.with_columns(pl.col(column).cast(pl.String).fill_null(MISSING_GROUP).alias("_wb_group"))
        for (value,), part in sorted(keyed.group_by(["_wb_group"]), key=lambda kv: str(kv[0][0])):
            groups.append(GroupMetrics(column, str(value), part.height, _scores(estimator, part.drop("_wb_group"), version)))
    with RegistryStore.open(workspace) as store:
        approvals = []
        for r in reversed(store.requests(model=model)):
            if r["version"] == number:
                approvals.append({"request": r["id"], "alias": r["alias"], "state": r["state"],
                                  "requested_by": r["requested_by"], "verdict": r["evidence"].get("verdict"),
                                  "approved_by": [d["actor"] for d in store.decisions(r["id"]) if d["decision"] == "approve"]})
    return ModelCard(model=model, version=number, task=version["task"], target=version["target"],
                     estimator=version["estimator"], fields=fields, history=history,
                     training=_training(workspace, version), holdout_rows=holdout.height,
                     holdout_metrics=_scores(estimator, holdout, version), group_metrics=groups, approvals=approvals)


def card_lines(card: ModelCard, approvals: bool = True) -> list[str]:
    """The card as Markdown lines (the CLI prints them; the Markdown report embeds them without the approvals,
    which it shows with their evidence)."""
    def score(v: float | None) -> str:
        return "" if v is None else f"{v:.4f}"

    t = card.training
    lines = [f"# Model card: {card.model}:{card.version}", "",
             f"{card.task} model of `{card.target}` ({card.estimator}).", ""]
    for name, help_text in FIELDS.items():
        if name != "sensitive_columns":
            lines += [f"## {name.replace('_', ' ').capitalize()}", "", card.fields.get(name) or f"_Not written yet: {help_text}_", ""]
    certified = {True: "yes", False: "no", None: "n/a"}[t["certified"]]
    lines += ["## Training data", "", f"{t['source']} (version {t['version']}, {t['rows'] or 0:,} rows, fingerprint "
              f"`{t['fingerprint']}`); certified: {certified} — {t['note']}.", "",
              f"## Metrics on the frozen holdout ({card.holdout_rows:,} rows)", "",
              "| " + " | ".join(card.holdout_metrics) + " |", "|" + " --- |" * len(card.holdout_metrics),
              "| " + " | ".join(score(v) for v in card.holdout_metrics.values()) + " |", ""]
    if card.sensitive_columns:
        names = list(card.holdout_metrics)
        lines += ["## Per-group metrics (sensitive columns)", "", "| column | group | rows | " + " | ".join(names) + " |",
                  "|" + " --- |" * (3 + len(names))]
        lines += [f"| {g.column} | {g.group} | {g.rows} | " + " | ".join(score(g.scores.get(n)) for n in names) + " |"
                  for g in card.group_metrics]
        lines.append("")
    else:
        lines += ["_No column is marked sensitive (`--set sensitive_columns=COL,...`)._", ""]
    if approvals:
        lines += ["## Approvals", ""]
        lines += [f"- request {a['request']} → {a['alias']}: {a['state']} (requested by {a['requested_by']}, approved by "
                  f"{', '.join(a['approved_by']) or 'nobody yet'}; evidence verdict: {a['verdict']})"
                  for a in card.approvals] or ["No promotion request was opened for this version."]
        lines.append("")
    lines += ["## Card history", ""]
    lines += [f"- #{e.seq} {e.ts[:19]} {e.actor}: {', '.join(sorted(e.changes))}" for e in card.history] or ["No edits yet."]
    return lines
