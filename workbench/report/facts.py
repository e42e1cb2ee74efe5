"""What a report says, gathered once from the trusted records: the run (through `trusted_run`), the model
version, its aliases and approvals (through `RegistryStore`, rows checked against the chain), and the data
profile (on the read-only lake). The HTML and Markdown writers only lay these facts out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workbench.api.runs import RunDetails, run_details
from workbench.errors import BadInputError
from workbench.workspace import Workspace


@dataclass(frozen=True)
class Approval:
    """A promotion request for the version, with its evidence (as the CLI prints it) and its decisions."""

    request_id: int
    alias: str
    state: str
    requested_by: str
    requested_at: str
    reason: str
    verdict: str
    evidence: list[str]
    decisions: list[dict[str, Any]]


@dataclass(frozen=True)
class ReportFacts:
    subject: str  # what was asked for, e.g. "species@champion" or a run id
    generated_at: str
    run: RunDetails
    model: dict[str, Any] | None = None  # the registry version row, for a model report
    aliases: dict[str, int] = field(default_factory=dict)  # aliases this version holds now
    alias_history: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    profile: list[dict[str, Any]] = field(default_factory=list)
    profile_note: str = ""
    lineage: list[tuple[str, str]] = field(default_factory=list)
    card: Any = None  # the version's ModelCard (workbench.cards), for a model report

    @property
    def title(self) -> str:
        if self.model:
            return f"Model {self.model['model']}:{self.model['version']}"
        return f"Run {self.run.name} ({self.run.run_id})"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def is_run_id(text: str) -> bool:
    """Run ids start with their UTC date (model names cannot start with a digit), so the two never clash."""
    return text[:1].isdigit()


def gather(workspace: Workspace, subject: str) -> ReportFacts:
    """The facts for `subject`: a run id (or unique prefix), or `NAME`, `NAME@ALIAS`, `NAME:VERSION`."""
    subject = (subject or "").strip()
    if not subject:
        raise BadInputError("Name a run id or a model (NAME, NAME@ALIAS or NAME:VERSION) to report on.")
    if is_run_id(subject):
        run = run_details(workspace, subject)
        if run.state != "succeeded":
            raise BadInputError(f"Run {run.run_id} is {run.state}; only a succeeded run has results to report.")
        profile, note = _profile(workspace, run)
        return ReportFacts(subject=subject, generated_at=_now(), run=run, profile=profile, profile_note=note,
                           lineage=_lineage(run, None, {}))
    return _model_facts(workspace, subject)


def _model_facts(workspace: Workspace, subject: str) -> ReportFacts:
    from workbench.registry.evidence import evidence_lines
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore

    ref = parse_ref(subject)
    with RegistryStore.open(workspace) as store:
        version = resolve_ref(store, ref, default_alias="champion")
        name, number = version["model"], version["version"]
        aliases = {a: e["version"] for a, e in store.aliases(name).items() if e["version"] == number}
        history = [e for e in store.alias_history(name) if number in (e["version"], e["previous_version"])]
        approvals = []
        for r in reversed(store.requests(model=name)):
            if r["version"] != number:
                continue
            approvals.append(Approval(
                request_id=r["id"], alias=r["alias"], state=r["state"], requested_by=r["requested_by"],
                requested_at=r["requested_at"], reason=r["reason"], verdict=r["evidence"].get("verdict", ""),
                evidence=evidence_lines(r["evidence"]), decisions=store.decisions(r["id"])))
    from workbench.cards.model_card import build_card

    run = run_details(workspace, version["run_id"])
    profile, note = _profile(workspace, run)
    return ReportFacts(subject=subject, generated_at=_now(), run=run, model=version, aliases=aliases,
                       alias_history=history, approvals=approvals, profile=profile, profile_note=note,
                       lineage=_lineage(run, version, aliases), card=build_card(workspace, f"{name}:{number}"))


_PROFILE_FIELDS = ("name", "dtype", "kind", "count", "nulls", "null_pct", "distinct", "min", "max", "mean", "std")


def _profile(workspace: Workspace, run: RunDetails) -> tuple[list[dict[str, Any]], str]:
    """Column statistics of the exact table version the run read (a query's result is not profiled here)."""
    from workbench.lake.engine import open_lake
    from workbench.lake.profile import profile_table

    table = (run.spec.get("data") or {}).get("table")
    if not table:
        return [], "The run read a query, not one table; its columns are not profiled here."
    try:
        with open_lake(workspace, read_only=True) as lake:
            profile = profile_table(lake, table, run.data_version, basic_only=True)
    except BadInputError as exc:  # e.g. the version was pruned since
        return [], f"The profile of {table}@{run.data_version} is not available: {exc.message}"
    columns = [{k: c.as_dict().get(k) for k in _PROFILE_FIELDS} for c in profile.columns]
    return columns, f"{table} version {profile.version}: {profile.row_count:,} rows"


def _lineage(run: RunDetails, version: dict[str, Any] | None, aliases: dict[str, int]) -> list[tuple[str, str]]:
    """data → run → version → aliases, each with the hash or fingerprint that identifies it."""
    steps = [("data", f"{run.data_source} (version {run.data_version}, fingerprint {run.fingerprint}, "
                      f"{run.row_count:,} rows)" if run.row_count is not None else str(run.data_source)),
             ("run", f"{run.run_id} by {run.actor}, {str(run.started_at or '')[:19]} → {str(run.finished_at or '')[:19]} UTC"),
             ("model artifact", f"{run.artifact_path} (sha256 {run.artifact_sha256})")]
    if version is not None:
        steps.append(("spec", f"sha256 {version['spec_sha256']}"))
        steps.append(("registered", f"{version['model']}:{version['version']} by {version['registered_by']}, "
                                    f"{str(version['registered_at'])[:19]} UTC"))
        steps.append(("aliases", ", ".join(f"{a}" for a in sorted(aliases)) or "none held now"))
    code = run.libraries
    if code:
        steps.append(("libraries", ", ".join(f"{k} {v}" for k, v in sorted(code.items()))))
    return steps
