"""`workbench report`: a self-contained HTML page opened in headless Chromium, Markdown with plot files, secrets
masked, bad input refused with one sentence. Real runs, a real approved champion, a real browser."""

from __future__ import annotations

import re

import pytest

from deploy_fixtures import train, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.workspace import Workspace


def _expected_plots(diagnostics: dict) -> list[str]:
    from workbench.report.plots import DIAGNOSTIC_PLOTS

    return [key for key, _ in DIAGNOSTIC_PLOTS if diagnostics.get(key)] + ["cost_front"]


@pytest.mark.slow
def test_model_report_opens_offline_in_chromium_with_every_plot_and_the_recorded_numbers(
        with_champion: Workspace, tmp_path) -> None:
    from headless_chromium import Page

    from workbench.api.runs import run_details
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore
    from workbench.report import write_report

    out = tmp_path / "species.html"
    result = write_report(with_champion, "species@champion", out)
    with RegistryStore.open(with_champion) as store:
        version = resolve_ref(store, parse_ref("species@champion"))
    run = run_details(with_champion, version["run_id"])
    expected = _expected_plots(run.diagnostics)
    assert {"learning_curve", "roc_curve", "pr_curve", "calibration", "confusion_matrix",
            "permutation_importance", "partial_dependence"} <= set(expected)
    assert result.plots == len(expected)
    page = Page(tmp_path / "chromium-profile")
    try:
        page.open(out.as_uri())
        seen = page.evaluate("""({
            svgs: document.querySelectorAll('svg').length,
            plots: [...document.querySelectorAll('figure.plot')].map(f => f.dataset.plot),
            drawn: [...document.querySelectorAll('figure.plot > svg')].filter(s => s.getBBox().width > 0).length,
            holdout: Object.fromEntries([...document.querySelectorAll('#holdout-scores td[data-metric]')]
                                        .map(td => [td.dataset.metric, [td.dataset.value, td.textContent]])),
            roc: document.querySelector('figure[data-plot=roc_curve]').textContent,
            confusion: [...document.querySelectorAll('figure[data-plot=confusion_matrix] svg text')].map(t => t.textContent),
            text: document.body.innerText,
        })""")
        shot = page.screenshot(tmp_path / "species-report.png")
    finally:
        page.close()
    print(f"screenshot: {shot}")  # the test artifact, kept in pytest's tmp dir
    assert page.console_errors == []
    assert all(u.startswith(("file://", "data:", "about:")) for u in page.requests), page.requests  # offline
    assert seen["svgs"] == len(expected) and seen["plots"] == expected and seen["drawn"] == len(expected)
    assert set(seen["holdout"]) == set(run.holdout_scores)
    for metric, value in run.holdout_scores.items():
        raw, shown = seen["holdout"][metric]
        assert float(raw) == value and shown == f"{value:.4f}"
    for curve in run.diagnostics["roc_curve"]:
        assert f"{curve['class']} (AUC {curve['auc']:.3f})" in seen["roc"]
    cm = run.diagnostics["confusion_matrix"]
    counts = [str(c) for row in cm["matrix"] for c in row]
    assert [t for t in seen["confusion"] if t.isdigit()][:len(counts)] == counts
    assert set(cm["labels"]) <= set(seen["confusion"])
    text = seen["text"]
    assert run.fingerprint in text and version["artifact_sha256"] in text
    assert "Request 1: → champion [approved]" in text and "approve" in text and "bob" in text
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_report_of_a_regression_run_writes_its_plots_beside_it(sample_workspace: Workspace, tmp_path,
                                                                        cli) -> None:
    from workbench.api.runs import run_details

    run_id = train(sample_workspace, target="body_mass_g", metric="rmse")
    out = tmp_path / "mass.md"
    done = cli("-w", str(sample_workspace.root), "report", run_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    run = run_details(sample_workspace, run_id)
    expected = _expected_plots(run.diagnostics)
    assert {"residuals", "predicted_vs_actual"} <= set(expected)
    files = sorted((tmp_path / "mass_plots").iterdir())
    assert [re.sub(r"^\d+-|\.svg$", "", f.name) for f in files] == expected
    text = out.read_text()
    for f in files:
        assert f"](mass_plots/{f.name})" in text and f.read_text().startswith("<svg")
    for metric, value in run.holdout_scores.items():
        assert f"| {metric} | {value:.4f} |" in text
    assert f"{len(expected)} plots" in done.stdout


def test_report_masks_secrets_from_the_spec_and_the_environment(sample_workspace: Workspace, tmp_path,
                                                                monkeypatch) -> None:
    from workbench.report import write_report

    monkeypatch.setenv("WAREHOUSE_API_TOKEN", "s3cr3t-value-42")
    run_id = train(sample_workspace, description="loaded with s3cr3t-value-42 password=hunter22",
                   data={"query": "SELECT * FROM penguins WHERE 'token=abcdef123456' <> ''"})
    for name in ("r.html", "r.md"):
        write_report(sample_workspace, run_id, tmp_path / name)
        text = (tmp_path / name).read_text()
        assert "s3cr3t-value-42" not in text and "hunter22" not in text and "abcdef123456" not in text
        assert "***" in text


def test_bad_report_requests_are_one_sentence_and_write_nothing(with_champion: Workspace, tmp_path, cli) -> None:
    from workbench.audit import AuditLog

    ws = str(with_champion.root)
    for args, message in (
        (["nosuch", "-o", str(tmp_path / "a.html")], "No registered model 'nosuch'"),
        (["species:7", "-o", str(tmp_path / "a.html")], "has no version 7"),
        (["20990101-000000-ffffff", "-o", str(tmp_path / "a.html")], "No run"),
        (["species", "-o", str(tmp_path / "a.pdf")], "a .html or a .md file"),
        (["species", "-o", str(tmp_path / "missing" / "a.html")], "does not exist"),
    ):
        done = cli("-w", ws, "report", *args)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"] or not any(p.suffix in (".html", ".pdf")
                                                                    for p in tmp_path.iterdir())
    done = cli("-w", ws, "report", "species", "-o", str(tmp_path / "ok.html"))
    assert done.returncode == 0, done.stderr
    with AuditLog(with_champion.audit_path, with_champion.root) as log:
        (event,) = log.events(kind="report.written")
    assert event.subject == "species:1" and event.params["plots"] >= 7 and event.params["format"] == "html"
    assert len(event.params["sha256"]) == 64 and event.actor == "alice"
    verify = cli("-w", ws, "audit", "verify")  # the new event kinds leave the workspace verifiable
    assert verify.returncode == 0, verify.stdout + verify.stderr
