"""`write_report`: gather the facts, draw the plots, write the file atomically, and record it in the audit log."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import BadInputError
from workbench.workspace import Workspace

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown"}


@dataclass(frozen=True)
class ReportResult:
    path: Path
    format: str
    subject: str
    title: str
    plots: int
    plot_files: tuple[Path, ...]
    sha256: str


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target and rename over it, so a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_report_path(workspace: Workspace, subject: str) -> Path:
    """Where a report goes when nobody names a file: `<workspace>/reports/<subject>.html`, the subject's
    `@` and `:` spelled out so that the name is a plain file name (`species@champion` → `species-at-champion`)."""
    name = subject.strip().replace("@", "-at-").replace(":", "-v")
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise BadInputError(f"{subject!r} does not name a run or a model version.")
    folder = workspace.root / "reports"
    folder.mkdir(exist_ok=True)
    return folder / f"{name}.html"


def write_report(workspace: Workspace, subject: str, out: Path) -> ReportResult:
    """Write the report on `subject` (a run id, or NAME[@ALIAS|:VERSION]) to `out` (.html, or .md with the
    plots as SVG files in a folder beside it); the write is a `report.written` audit event."""
    from workbench.pipeline.metrics import HIGHER_IS_BETTER
    from workbench.registry.trail import record_event
    from workbench.report.facts import gather
    from workbench.report.plots import cost_front, diagnostic_plots
    from workbench.report.render import to_html, to_markdown

    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise BadInputError(f"{out.name}: write the report to a .html or a .md file.")
    if not out.parent.is_dir():
        raise BadInputError(f"The folder {out.parent} does not exist.")
    facts = gather(workspace, subject)  # bad subject: refused before anything is drawn or written
    plots = diagnostic_plots(facts.run.diagnostics)
    if facts.run.leaderboard and facts.run.metric:
        plots.append(cost_front(facts.run.leaderboard, facts.run.metric, HIGHER_IS_BETTER.get(facts.run.metric, True)))
    plot_files: list[Path] = []
    if fmt == "html":
        data = to_html(facts, plots).encode("utf-8")
    else:
        folder = out.with_name(out.stem + "_plots")
        folder.mkdir(exist_ok=True)
        for i, p in enumerate(plots, 1):
            path = folder / f"{i:02d}-{p.key}.svg"
            _atomic_write(path, p.svg.encode("utf-8"))
            plot_files.append(path)
        data = to_markdown(facts, plots, [f"{folder.name}/{p.name}" for p in plot_files]).encode("utf-8")
    _atomic_write(out, data)
    digest = hashlib.sha256(data).hexdigest()
    model = facts.model
    record_event(workspace, "report.written", f"{model['model']}:{model['version']}" if model else facts.run.run_id,
                 {"path": str(out.resolve()), "format": fmt, "sha256": digest, "plots": len(plots),
                  "subject": subject}, run_id=facts.run.run_id, data_version=facts.run.data_version,
                 fingerprint=facts.run.fingerprint)
    return ReportResult(out, fmt, subject, facts.title, len(plots), tuple(plot_files), digest)
