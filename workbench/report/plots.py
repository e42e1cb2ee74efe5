"""Every diagnostic a run recorded (`pipeline/diagnostics.py`) drawn as a static SVG with matplotlib.

Why matplotlib SVG: the file renders offline in any browser with no JavaScript (so no console errors and
nothing to fetch), the text stays text (numbers in a plot can be searched and tested), it is a mature,
well-kept library that needs no browser to draw, and the same SVG files serve the Markdown report. It is
imported only here, when a report is written, never on the TUI's start-up path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

_WIDTH, _HEIGHT = 6.4, 4.0


@dataclass(frozen=True)
class Plot:
    """One drawn diagnostic: `key` names the diagnostic it came from, `svg` is a complete <svg> element."""

    key: str
    title: str
    caption: str
    svg: str


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        from workbench.errors import BackendUnavailableError

        raise BackendUnavailableError("Reports draw their plots with matplotlib, which is not installed: "
                                      "pip install 'workbench[deploy]'.") from None

    matplotlib.use("Agg", force=True)  # no display, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any, key: str) -> str:
    """The figure as an inline <svg> element; ids are salted per plot so several SVGs can share one page."""
    plt = _pyplot()
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"wb-{key}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(rows: int = 1, cols: int = 1, width: float = _WIDTH, height: float = _HEIGHT) -> tuple[Any, Any]:
    plt = _pyplot()
    with plt.style.context("default"):
        fig, ax = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    return fig, ax


def learning_curve(d: dict[str, Any]) -> Plot:
    curve = d["learning_curve"]
    fig, ax = _figure()
    a = ax[0][0]
    rows = curve["train_rows"]
    for label, values, style in (("training", curve["train_score"], "o--"),
                                 ("validation", curve["validation_score"], "o-")):
        pts = [(r, v) for r, v in zip(rows, values) if v is not None]
        if pts:
            a.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    a.set_xlabel("training rows")
    a.set_ylabel(curve["metric"])
    a.legend()
    a.grid(alpha=0.3)
    return Plot("learning_curve", "Learning curve", f"{curve['metric']} on training and validation folds as the "
                "training set grows", _svg(fig, "learning_curve"))


def roc(d: dict[str, Any]) -> Plot:
    fig, ax = _figure(width=5.2, height=4.4)
    a = ax[0][0]
    for c in d["roc_curve"]:
        a.plot(c["fpr"], c["tpr"], label=f"{c['class']} (AUC {c['auc']:.3f})")
    a.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    a.set_xlabel("false positive rate")
    a.set_ylabel("true positive rate")
    a.legend(loc="lower right")
    a.grid(alpha=0.3)
    return Plot("roc_curve", "ROC curve", "one-vs-rest on the frozen holdout; AUC in the legend", _svg(fig, "roc"))


def precision_recall(d: dict[str, Any]) -> Plot:
    fig, ax = _figure(width=5.2, height=4.4)
    a = ax[0][0]
    for c in d["pr_curve"]:
        line = a.plot(c["recall"], c["precision"], label=f"{c['class']} (base rate {c['base_rate']:.3f})")[0]
        a.axhline(c["base_rate"], ls=":", color=line.get_color(), alpha=0.6)
    a.set_xlabel("recall")
    a.set_ylabel("precision")
    a.set_ylim(0, 1.05)
    a.legend(loc="lower left")
    a.grid(alpha=0.3)
    return Plot("pr_curve", "Precision–recall", "dotted lines: each class's base rate", _svg(fig, "pr"))


def calibration(d: dict[str, Any]) -> Plot:
    fig, ax = _figure(width=5.2, height=4.4)
    a = ax[0][0]
    for c in d["calibration"]:
        a.plot(c["predicted"], c["observed"], "o-", label=str(c["class"]))
    a.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    a.set_xlabel("mean predicted probability")
    a.set_ylabel("observed frequency")
    a.legend(loc="upper left")
    a.grid(alpha=0.3)
    return Plot("calibration", "Calibration", "10 quantile bins on the frozen holdout", _svg(fig, "calibration"))


def confusion(d: dict[str, Any]) -> Plot:
    cm = d["confusion_matrix"]
    labels, matrix = cm["labels"], cm["matrix"]
    n = len(labels)
    fig, ax = _figure(width=max(4.0, 1.1 * n + 2), height=max(3.4, 0.9 * n + 1.8))
    a = ax[0][0]
    a.imshow(matrix, cmap="Blues")
    top = max((max(r) for r in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            a.text(j, i, str(count), ha="center", va="center", color="white" if count > top / 2 else "black")
    a.set_xticks(range(n), labels, rotation=30, ha="right")
    a.set_yticks(range(n), labels)
    a.set_xlabel("predicted")
    a.set_ylabel("actual")
    return Plot("confusion_matrix", "Confusion matrix", "counts of holdout rows", _svg(fig, "confusion"))


def residuals(d: dict[str, Any]) -> Plot:
    r = d["residuals"]
    fig, ax = _figure()
    a = ax[0][0]
    a.scatter(r["predicted"], r["residual"], s=10, alpha=0.6)
    a.axhline(0, color="grey", ls=":")
    a.set_xlabel("predicted")
    a.set_ylabel("actual − predicted")
    a.grid(alpha=0.3)
    return Plot("residuals", "Residuals", f"mean {r['mean']:.4g}, sd {r['std']:.4g}", _svg(fig, "residuals"))


def predicted_vs_actual(d: dict[str, Any]) -> Plot:
    p = d["predicted_vs_actual"]
    fig, ax = _figure(width=5.2, height=4.4)
    a = ax[0][0]
    a.scatter(p["actual"], p["predicted"], s=10, alpha=0.6)
    both = p["actual"] + p["predicted"]
    if both:
        a.plot([min(both), max(both)], [min(both), max(both)], ":", color="grey")
    a.set_xlabel("actual")
    a.set_ylabel("predicted")
    a.grid(alpha=0.3)
    return Plot("predicted_vs_actual", "Predicted vs actual", "dotted: perfect predictions",
                _svg(fig, "predicted_vs_actual"))


def importance(d: dict[str, Any]) -> Plot:
    imp = d["permutation_importance"]
    names, means, stds = imp["features"][::-1], imp["mean"][::-1], imp["std"][::-1]
    fig, ax = _figure(height=max(2.5, 0.35 * len(names) + 1))
    a = ax[0][0]
    a.barh(names, means, xerr=stds, color="#4c72b0")
    a.axvline(0, color="grey", lw=0.8)
    a.set_xlabel(imp.get("note", "importance"))
    return Plot("permutation_importance", "Permutation importance", imp.get("note", ""), _svg(fig, "importance"))


def partial_dependence(d: dict[str, Any]) -> Plot:
    curves = d["partial_dependence"]
    fig, ax = _figure(1, len(curves), width=3.4 * len(curves), height=3.4)
    for a, c in zip(ax[0], curves):
        for label, values in c["average"].items():
            if c["kind"] == "categorical":
                a.plot([str(g) for g in c["grid"]], values, "o", label=label)
                a.tick_params(axis="x", rotation=30)
            else:
                a.plot(c["grid"], values, "-", label=label)
        a.set_xlabel(c["feature"])
        a.grid(alpha=0.3)
    ax[0][0].set_ylabel("average prediction")
    ax[0][0].legend(fontsize=8)
    return Plot("partial_dependence", "Partial dependence",
                "average prediction with one column set to each grid value, the others as they were",
                _svg(fig, "partial_dependence"))


def cost_front(leaderboard: list[dict[str, Any]], metric: str, higher_is_better: bool) -> Plot:
    """Score against prediction cost per family, the Pareto front joined: what each extra point of score costs."""
    rows = [r for r in leaderboard if r.get(metric) is not None and r.get("predict_ms_per_1k") is not None]
    fig, ax = _figure()
    a = ax[0][0]
    for r in rows:
        a.scatter(r["predict_ms_per_1k"], r[metric], s=40, color="#dd8452" if r.get("pareto") else "#8c8c8c")
        a.annotate(r["model"], (r["predict_ms_per_1k"], r[metric]), fontsize=8, xytext=(4, 4),
                   textcoords="offset points")
    front = sorted((r for r in rows if r.get("pareto")), key=lambda r: r["predict_ms_per_1k"])
    if len(front) > 1:
        a.plot([r["predict_ms_per_1k"] for r in front], [r[metric] for r in front], "-", color="#dd8452",
               label="Pareto front")
        a.legend()
    a.set_xscale("log")
    a.set_xlabel("prediction cost (ms per 1,000 rows, log scale)")
    a.set_ylabel(f"CV {metric} ({'higher' if higher_is_better else 'lower'} is better)")
    a.grid(alpha=0.3)
    return Plot("cost_front", "Score vs cost", "each family's best; orange: on the Pareto front", _svg(fig, "cost"))


# The order plots appear in; each is drawn when the run recorded its diagnostic.
DIAGNOSTIC_PLOTS: tuple[tuple[str, Callable[[dict[str, Any]], Plot]], ...] = (
    ("learning_curve", learning_curve), ("roc_curve", roc), ("pr_curve", precision_recall),
    ("calibration", calibration), ("confusion_matrix", confusion), ("residuals", residuals),
    ("predicted_vs_actual", predicted_vs_actual), ("permutation_importance", importance),
    ("partial_dependence", partial_dependence),
)


def diagnostic_plots(diagnostics: dict[str, Any] | None) -> list[Plot]:
    """A plot for every diagnostic the run recorded (skipped or empty ones are left out, and listed by the report)."""
    if not diagnostics:
        return []
    return [draw(diagnostics) for key, draw in DIAGNOSTIC_PLOTS if diagnostics.get(key)]
