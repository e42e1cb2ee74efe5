"""Lay a report's facts out as one self-contained HTML page or as Markdown with plot files beside it.

Every piece of text passes through `_text`, which masks secrets (`audit/redact.py`) before escaping: spec
values, SQL, data sources, reasons and evidence all come from what users typed. The page loads nothing:
the styles are inline and the plots are inline SVG, so it opens the same with no network.
"""

from __future__ import annotations

import html
from typing import Any, Iterable

from workbench import __version__
from workbench.audit.redact import redact, redact_text, secret_env_values
from workbench.report.facts import ReportFacts
from workbench.report.plots import Plot

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1d232a;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#57606a}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure.plot{display:inline-block;margin:.5rem 1rem 1rem 0;vertical-align:top}
figure.plot svg{max-width:100%;height:auto}figcaption{color:#57606a;font-size:.85rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto}.pareto{font-weight:600;color:#bc4c00}
"""


class _Text:
    """Masks secrets (environment values and secret-looking patterns) in every string written into a report."""

    def __init__(self) -> None:
        self.secrets = secret_env_values()

    def __call__(self, value: Any) -> str:
        return redact_text("" if value is None else str(value), self.secrets)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}{k}.")
        return out
    return [(prefix.rstrip("."), value)]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _stat(value: Any) -> Any:
    """A profile statistic as people read it: 6 significant digits, not 4 decimals (a year is 2007, not 2007.0000)."""
    return f"{value:.6g}" if isinstance(value, float) else value


def _profile_rows(facts: ReportFacts, fields: tuple[str, ...]) -> list[list[Any]]:
    return [[_stat(c[f]) for f in fields] for c in facts.profile]


def _score_names(run: Any) -> list[str]:
    rows = run.leaderboard
    names = [k[: -len("_std")] for k in (rows[0] if rows else {}) if k.endswith("_std")]
    return sorted(names, key=lambda m: m != run.metric)


def leaderboard_rows(facts: ReportFacts) -> tuple[list[str], list[list[Any]]]:
    """The leaderboard as the CLI prints it: each family's best with its scores and its cost columns."""
    names = _score_names(facts.run)
    headers = ["rank", "model", *[f"CV {m} (±sd)" for m in names], "fit s", "ms / 1k rows", "1-row p50 / p95 ms",
               "size KB", "Pareto", "trials"]
    body = []
    for i, r in enumerate(facts.run.leaderboard, 1):
        scores = [f"{r[m]:.4f} ±{r.get(m + '_std', 0):.4f}" if r.get(m) is not None else "failed" for m in names]
        p50, p95 = r.get("latency_p50_ms"), r.get("latency_p95_ms")
        body.append([i, r.get("model"), *scores, _fmt(r.get("fit_time_s"), 3), _fmt(r.get("predict_ms_per_1k"), 2),
                     f"{p50:.2f} / {p95:.2f}" if p50 is not None and p95 is not None else "",
                     _fmt(r.get("model_size_kb"), 1), "yes" if r.get("pareto") else "", r.get("trials")])
    return headers, body


def _sections(facts: ReportFacts, plots: list[Plot]) -> dict[str, Any]:
    """The report's content in display order, as plain rows both writers lay out."""
    text = _Text()
    run = facts.run
    spec = redact(run.spec, text.secrets)
    skipped = list((run.diagnostics or {}).get("skipped") or [])
    drawn = {p.key for p in plots}
    return {"text": text, "spec": [(k, v) for k, v in _flatten(spec) if v not in (None, [], {})],
            "summary": [("task", run.task), ("target", spec.get("target")), ("metric", run.metric),
                        ("best model", run.best_model), (f"CV {run.metric}", _fmt(run.best_score)),
                        ("trials", run.automl.get("trial_count")), ("stopped", run.automl.get("stop_reason"))],
            "data": [("source", run.data_source), ("version", run.data_version), ("fingerprint", run.fingerprint),
                     ("rows", _fmt(run.row_count))],
            "skipped": skipped, "missing": [k for k in skipped if k not in drawn]}


def to_html(facts: ReportFacts, plots: list[Plot]) -> str:
    """One self-contained HTML page (inline CSS and SVG, no scripts, no external references)."""
    s = _sections(facts, plots)
    t = s["text"]

    def e(value: Any) -> str:
        return html.escape(t(value))

    def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], numeric: bool = False) -> str:
        head = "".join(f"<th>{e(h)}</th>" for h in headers)
        cls = ' class="num"' if numeric else ""
        body = "".join("<tr>" + "".join(f"<td{cls if not isinstance(c, str) else ''}>{e(_fmt(c))}</td>" for c in r)
                       + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def pairs(rows: Iterable[tuple[str, Any]]) -> str:
        return "<table><tbody>" + "".join(f"<tr><th>{e(k)}</th><td>{e(_fmt(v))}</td></tr>" for k, v in rows) \
            + "</tbody></table>"

    run = facts.run
    out = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(facts.title)}</title>",
           f"<meta name=\"generator\" content=\"Workbench {e(__version__)}\"><style>{_CSS}</style></head><body>",
           f"<h1>{e(facts.title)}</h1>",
           f"<p class=\"meta\">Report on <code>{e(facts.subject)}</code>, written {e(facts.generated_at)} by Workbench "
           f"{e(__version__)}. Everything below comes from the workspace's hash-chained records.</p>",
           "<h2 id=\"summary\">Summary</h2>", pairs(s["summary"]),
           "<h3>Scores on the frozen holdout</h3><table id=\"holdout-scores\"><thead><tr><th>metric</th><th>holdout</th>"
           "</tr></thead><tbody>"]
    for metric, value in run.holdout_scores.items():
        out.append(f"<tr><th>{e(metric)}</th><td class=\"num\" data-metric=\"{e(metric)}\" data-value=\"{value!r}\">"
                   f"{value:.4f}</td></tr>")
    out.append("</tbody></table>")
    out += ["<h2 id=\"spec\">Run spec</h2>", pairs(s["spec"]),
            "<h2 id=\"data\">Data</h2>", pairs(s["data"]), f"<p>{e(facts.profile_note)}</p>"]
    if facts.profile:
        out.append(table(["column", "dtype", "kind", "values", "nulls", "null %", "min", "max", "mean", "sd"],
                         _profile_rows(facts, ("name", "dtype", "kind", "count", "nulls", "null_pct", "min", "max",
                                               "mean", "std"))))
    headers, rows = leaderboard_rows(facts)
    out += ["<h2 id=\"leaderboard\">Leaderboard</h2>",
            f"<p>Each family's best trial, ranked by cross-validated {e(run.metric)}; the cost columns are measured "
            "on the training machine. Pareto: no other family is both better and cheaper to predict with.</p>",
            table(headers, rows)]
    out.append("<h2 id=\"diagnostics\">Diagnostics</h2>")
    if s["missing"]:
        out.append(f"<p>Not computed within the time budget: {e(', '.join(s['missing']))}.</p>")
    if not plots:
        out.append("<p>This run recorded no diagnostics.</p>")
    for p in plots:
        out.append(f"<figure class=\"plot\" data-plot=\"{e(p.key)}\"><figcaption><strong>{e(p.title)}</strong> — "
                   f"{e(p.caption)}</figcaption>{p.svg}</figure>")
    out += ["<h2 id=\"lineage\">Lineage</h2>", pairs(facts.lineage)]
    if facts.model is not None:
        out += _model_html(facts, e, table)
    out.append("</body></html>")
    return "\n".join(out)


def _model_html(facts: ReportFacts, e: Any, table: Any) -> list[str]:
    out = ["<h2 id=\"aliases\">Aliases</h2>",
           f"<p>Held now: {e(', '.join(sorted(facts.aliases)) or 'none')}.</p>"]
    if facts.alias_history:
        out.append(table(["when (UTC)", "alias", "version", "was", "by", "approved by", "reason"],
                         [[str(h["set_at"])[:19], h["alias"], "removed" if h["version"] is None else h["version"],
                           h["previous_version"], h["set_by"], ", ".join(h["approved_by"] or []), h["reason"]]
                          for h in facts.alias_history]))
    if facts.card is not None:
        out += _card_html(facts.card, e, table)
    out.append("<h2 id=\"approvals\">Approvals and evidence</h2>")
    if not facts.approvals:
        out.append("<p>No promotion request was opened for this version.</p>")
    for a in facts.approvals:
        out.append(f"<h3>Request {a.request_id}: → {e(a.alias)} [{e(a.state)}]</h3>"
                   f"<p>Requested by {e(a.requested_by)} at {e(str(a.requested_at)[:19])} UTC: {e(a.reason)}</p>"
                   f"<pre>{e(chr(10).join(a.evidence))}</pre>")
        if a.decisions:
            out.append(table(["decision", "by", "when (UTC)", "reason"],
                             [[d["decision"], d["actor"], str(d["decided_at"])[:19], d["reason"]] for d in a.decisions]))
    return out


def _card_html(card: Any, e: Any, table: Any) -> list[str]:
    from workbench.cards.model_card import FIELDS

    def score(v: float | None) -> str:
        return "" if v is None else f"{v:.4f}"

    t = card.training
    certified = {True: "yes", False: "no", None: "n/a"}[t["certified"]]
    out = ["<h2 id=\"model-card\">Model card</h2><table><tbody>"]
    for name, help_text in FIELDS.items():
        value = card.fields.get(name)
        out.append(f"<tr><th>{e(name.replace('_', ' '))}</th><td>"
                   + (e(value) if value else f"<em>not written yet: {e(help_text)}</em>") + "</td></tr>")
    out.append(f"<tr><th>training data</th><td>{e(t['source'])} (version {e(t['version'])}, fingerprint "
               f"{e(t['fingerprint'])}); certified: {certified} — {e(t['note'])}</td></tr></tbody></table>")
    names = list(card.holdout_metrics)
    out.append(f"<h3>Metrics on the frozen holdout ({card.holdout_rows:,} rows)</h3>")
    out.append(table(names, [[score(v) for v in card.holdout_metrics.values()]]))
    if card.group_metrics:
        out.append("<h3>Per-group metrics (sensitive columns)</h3>")
        out.append(table(["column", "group", "rows", *names],
                         [[g.column, g.group, g.rows, *[score(g.scores.get(n)) for n in names]] for g in card.group_metrics]))
    if card.history:
        out.append("<h3>Card history</h3>")
        out.append(table(["event", "when (UTC)", "by", "fields"],
                         [[f"#{h.seq}", h.ts[:19], h.actor, ", ".join(sorted(h.changes))] for h in card.history]))
    return out


def to_markdown(facts: ReportFacts, plots: list[Plot], plot_files: list[str]) -> str:
    """Markdown for a repository or wiki; the plots are the SVG files named in `plot_files` (relative paths)."""
    s = _sections(facts, plots)
    t = s["text"]

    def cell(value: Any) -> str:
        return t(_fmt(value)).replace("|", "\\|").replace("\n", " ")

    def table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
        lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + " --- |" * len(headers)]
        return lines + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows] + [""]

    run = facts.run
    out = [f"# {t(facts.title)}", "",
           f"Report on `{t(facts.subject)}`, written {facts.generated_at} by Workbench {__version__}.", "",
           "## Summary", "", *table(["", ""], s["summary"]),
           "### Scores on the frozen holdout", "", *table(["metric", "holdout"],
                                                        [[m, f"{v:.4f}"] for m, v in run.holdout_scores.items()]),
           "## Run spec", "", *table(["key", "value"], s["spec"]),
           "## Data", "", *table(["", ""], s["data"]), t(facts.profile_note), ""]
    if facts.profile:
        out += table(["column", "dtype", "nulls", "min", "max", "mean"],
                     _profile_rows(facts, ("name", "dtype", "nulls", "min", "max", "mean")))
    headers, rows = leaderboard_rows(facts)
    out += ["## Leaderboard", "", *table(headers, rows), "## Diagnostics", ""]
    if s["missing"]:
        out += [f"Not computed within the time budget: {', '.join(s['missing'])}.", ""]
    for p, path in zip(plots, plot_files):
        out += [f"### {p.title}", "", f"![{p.title}]({path})", "", f"*{t(p.caption)}*", ""]
    out += ["## Lineage", "", *table(["", ""], facts.lineage)]
    if facts.model is not None:
        out += ["## Aliases", "", f"Held now: {', '.join(sorted(facts.aliases)) or 'none'}.", ""]
        if facts.alias_history:
            out += table(["when (UTC)", "alias", "version", "was", "by", "reason"],
                         [[str(h["set_at"])[:19], h["alias"], h["version"], h["previous_version"], h["set_by"],
                           h["reason"]] for h in facts.alias_history])
        if facts.card is not None:
            from workbench.cards.model_card import card_lines

            # the card's own sections, one level down; its approvals are the report's next section
            out += ["## Model card", ""] + [("#" + t(line) if line.startswith("## ") else t(line))
                                            for line in card_lines(facts.card, approvals=False)[2:]]
        out += ["## Approvals and evidence", ""]
        if not facts.approvals:
            out += ["No promotion request was opened for this version.", ""]
        for a in facts.approvals:
            out += [f"### Request {a.request_id}: → {a.alias} [{a.state}]", "",
                    f"Requested by {t(a.requested_by)} at {str(a.requested_at)[:19]} UTC: {t(a.reason)}", "",
                    "```", *[t(line) for line in a.evidence], "```", ""]
            out += table(["decision", "by", "when (UTC)", "reason"],
                         [[d["decision"], d["actor"], str(d["decided_at"])[:19], d["reason"]] for d in a.decisions])
    return "\n".join(out) + "\n"
