"""Pipeline files: `pipelines/NAME.toml` in the workspace. Read and checked whole before anything runs.

```toml
description = "Retrain the species model every night"

[trigger]                     # exactly one of cron, certified, after
cron = "0 2 * * *"            # five-field cron, UTC
# certified = "penguins"      # a new certified version of this lake table (`lake.certified` events)
# after = "refresh_penguins"  # after that pipeline finishes successfully
catch_up_hours = 6            # cron only: after downtime, missed slots newer than this run once, never a burst

[[steps]]
kind = "refresh"              # refresh a source (workbench.sources); a new version failing its checks fails the step
source = "penguins_csv"
[[steps]]
kind = "check"                # check a table's expectations (workbench.checks); a failure stops the pipeline
table = "penguins"
[[steps]]
kind = "train"                # run a spec through the run engine, register it, set the challenger alias
spec = "specs/species.toml"   # relative to the workspace
model = "species"
alias = "challenger"          # default
[[steps]]
kind = "evaluate"             # challenger vs champion on the challenger's frozen holdout rows
model = "species"             # default: the model of the last train step
promote = true                # open a promotion request (it still needs an approver) when it wins by the margin
[[steps]]
kind = "score"                # score a lake table with a model version (default: the champion)
model = "species@champion"
table = "penguins"
into = "penguins_scored"
[[steps]]
kind = "governance"           # the governance report; a violation alerts and fails the step
[[steps]]
kind = "noop"                 # does nothing: for testing a trigger, and the scheduler benchmark
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import BadInputError
from workbench.numbers import real_number
from workbench.workspace import Workspace

PIPELINES_DIR = "pipelines"
NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
DEFAULT_CATCH_UP_HOURS = 6.0
_TOP = {"description", "trigger", "steps"}
_TRIGGER = {"cron", "certified", "after", "catch_up_hours"}
STEP_KEYS: dict[str, set[str]] = {
    "refresh": {"source"},
    "check": {"table"},
    "train": {"spec", "model", "alias"},
    "evaluate": {"model", "promote", "alias"},
    "score": {"model", "table", "into"},
    "governance": set(),
    "noop": set(),
}


class PipelineError(BadInputError):
    title = "Pipeline file problem"


@dataclass(frozen=True)
class Trigger:
    kind: str  # "cron" | "certified" | "after" | "manual"
    value: str | None = None
    catch_up_hours: float = DEFAULT_CATCH_UP_HOURS

    def describe(self) -> str:
        return {"cron": f"cron {self.value}", "certified": f"certified {self.value}",
                "after": f"after {self.value}"}.get(self.kind, "manual")


@dataclass(frozen=True)
class Step:
    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.kind + "".join(f" {k}={v}" for k, v in self.options.items())


@dataclass(frozen=True)
class Pipeline:
    name: str
    path: Path
    trigger: Trigger
    steps: tuple[Step, ...]
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "description": self.description,
                "trigger": self.trigger.describe(), "steps": [s.describe() for s in self.steps]}


def pipelines_dir(ws: Workspace) -> Path:
    return ws.root / PIPELINES_DIR


def check_pipeline_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise PipelineError(f"{name!r} is not a pipeline name (letters, digits, - and _, starting with a letter).")
    return name


def check_cron(expression: str, where: str) -> str:
    """A five-field cron expression, refused with one sentence when cronsim cannot read it."""
    from datetime import datetime, timezone

    from cronsim import CronSim, CronSimError

    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise PipelineError(f"{where}: cron {expression!r} must have five fields (minute hour day month weekday).")
    try:
        CronSim(expression, datetime(2026, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:
        raise PipelineError(f"{where}: cron {expression!r} is malformed ({exc}).") from None
    return expression


def _parse_trigger(raw: Any, where: str) -> Trigger:
    if raw is None:
        return Trigger("manual")
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: [trigger] must be a table.")
    unknown = sorted(set(raw) - _TRIGGER)
    if unknown:
        raise PipelineError(f"{where}: unknown key {unknown[0]!r} in [trigger] (known: {', '.join(sorted(_TRIGGER))}).")
    kinds = [k for k in ("cron", "certified", "after") if k in raw]
    if len(kinds) != 1:
        raise PipelineError(f"{where}: [trigger] needs exactly one of cron, certified or after.")
    kind = kinds[0]
    hours = real_number(raw.get("catch_up_hours", DEFAULT_CATCH_UP_HOURS), "[trigger] catch_up_hours", 0, 24 * 366,
                        what="a number of hours", error=PipelineError, where=where)
    value = raw[kind]
    if kind == "cron":
        check_cron(value, where)
    elif kind == "after":
        check_pipeline_name(value)
    elif not isinstance(value, str) or not value.strip():
        raise PipelineError(f"{where}: [trigger] certified must name a lake table.")
    return Trigger(kind, value.strip(), hours)


def _parse_step(raw: Any, index: int, where: str) -> Step:
    if not isinstance(raw, dict) or "kind" not in raw:
        raise PipelineError(f"{where}: step {index} needs a kind ({', '.join(STEP_KEYS)}).")
    kind = raw["kind"]
    if kind not in STEP_KEYS:
        raise PipelineError(f"{where}: step {index} has unknown kind {kind!r} (known: {', '.join(STEP_KEYS)}).")
    options = {k: v for k, v in raw.items() if k != "kind"}
    unknown = sorted(set(options) - STEP_KEYS[kind])
    if unknown:
        raise PipelineError(f"{where}: step {index} ({kind}) has unknown key {unknown[0]!r}.")
    required = {"refresh": ("source",), "check": ("table",), "train": ("spec", "model"),
                "score": ("table", "into")}.get(kind, ())
    for key in required:
        if not isinstance(options.get(key), str) or not options[key].strip():
            raise PipelineError(f"{where}: step {index} ({kind}) needs {key} = \"...\".")
    if "promote" in options and not isinstance(options["promote"], bool):
        raise PipelineError(f"{where}: step {index} ({kind}) promote must be true or false.")
    return Step(kind, options)


def parse_pipeline(path: Path) -> Pipeline:
    """The pipeline in `path`, its shape checked (names against the workspace: `check_pipelines`)."""
    where = str(path)
    name = check_pipeline_name(path.stem)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"No pipeline file {path}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{where} is not valid TOML: {exc}.") from None
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise PipelineError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP))}).")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise PipelineError(f"{where}: a pipeline needs at least one [[steps]] entry.")
    return Pipeline(name=name, path=path, trigger=_parse_trigger(raw.get("trigger"), where),
                    steps=tuple(_parse_step(s, i, where) for i, s in enumerate(steps, 1)),
                    description=str(raw.get("description", "")))


def load_pipelines(ws: Workspace) -> dict[str, Pipeline]:
    """Every pipeline of the workspace, each checked against the lake, the specs and the others (cycles)."""
    folder = pipelines_dir(ws)
    found = {p.name: p for p in (parse_pipeline(f) for f in sorted(folder.glob("*.toml")))} if folder.is_dir() else {}
    check_pipelines(ws, found)
    return found


def load_pipeline(ws: Workspace, name: str) -> Pipeline:
    """One pipeline by name (all are loaded: an `after` cycle or an unknown name is refused before a run)."""
    check_pipeline_name(name)
    found = load_pipelines(ws)
    if name not in found:
        raise PipelineError(f"No pipeline {name!r} in {pipelines_dir(ws)} (pipelines: {', '.join(found) or 'none yet'}).")
    return found[name]


def check_pipelines(ws: Workspace, pipelines: dict[str, Pipeline]) -> None:
    """Names that must exist do (tables, spec files, pipelines) and `after` triggers form no cycle."""
    from workbench.lake.catalog import table_exists
    from workbench.lake.engine import open_lake
    from workbench.pipeline.spec import load_spec
    from workbench.registry.refs import check_model_name, parse_ref

    tables: set[str] = set()
    for p in pipelines.values():
        if p.trigger.kind == "certified":
            tables.add(p.trigger.value or "")
        tables |= {s.options["table"] for s in p.steps if s.kind in ("check", "score")}
        if p.trigger.kind == "after" and p.trigger.value not in pipelines:
            raise PipelineError(f"{p.path}: [trigger] after names no pipeline {p.trigger.value!r}.")
        for s in p.steps:
            if s.kind == "train":
                spec_path = ws.root / s.options["spec"]
                try:
                    spec = load_spec(spec_path, ws.settings.default_holdout, ws.settings.default_backend)
                except BadInputError as exc:
                    raise PipelineError(f"{p.path}: train step names spec {s.options['spec']!r}: {exc.message}") from None
                if spec.data.table:
                    tables.add(spec.data.table)
                check_model_name(s.options["model"])
            elif s.kind in ("evaluate", "score") and "model" in s.options:
                parse_ref(str(s.options["model"]))
    if tables:
        with open_lake(ws, read_only=True) as lake:
            missing = [t for t in sorted(tables) if not table_exists(lake, t)]
        fed = _fed_by_sources(ws) if missing else set()
        for table in missing:
            if table not in fed:  # a table a declared source will create on its first refresh is fine
                owner = next((p for p in pipelines.values()
                              if table == p.trigger.value or table in {s.options.get("table") for s in p.steps}),
                             None)
                where = owner.path if owner else "a train step's spec"
                raise PipelineError(f"{where}: names lake table {table!r}, which does not exist (and no source "
                                    "in sources/ feeds it).")
    _refuse_cycles(pipelines)


def _fed_by_sources(ws: Workspace) -> set[str]:
    """Tables named by the workspace's declared sources (a broken source file is the refresh's error)."""
    from workbench.sources.declare import list_sources

    try:
        return {s.table for s in list_sources(ws)}
    except BadInputError:
        return set()


def _refuse_cycles(pipelines: dict[str, Pipeline]) -> None:
    """`after` triggers point at one pipeline each, so following them from every pipeline finds any cycle."""
    for start in pipelines:
        seen = [start]
        current = pipelines[start]
        while current.trigger.kind == "after":
            nxt = current.trigger.value or ""
            if nxt in seen:
                loop = " → ".join([*seen[seen.index(nxt):], nxt])
                raise PipelineError(f"Pipelines trigger each other in a cycle ({loop}); none of them can start.")
            seen.append(nxt)
            current = pipelines[nxt]
