"""`from workbench import open_workspace`: the lake, runs, registry and audit log from a notebook, on real workspaces."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from deploy_fixtures import two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.errors import BadInputError, LakeError
from workbench.registry.artifacts import ArtifactIntegrityError
from workbench.workspace import Workspace


def test_import_workbench_stays_cheap_and_the_api_loads_on_first_use() -> None:
    code = ("import sys, workbench\nassert 'workbench.api' not in sys.modules\n"
            "from workbench import open_workspace\nassert 'workbench.api' in sys.modules\n"
            "print(sorted(m for m in ('polars', 'duckdb', 'sklearn', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lake_tables_as_polars_and_arrow_and_sql_is_read_only(sample_workspace: Workspace) -> None:
    from workbench import open_workspace

    ws = open_workspace(sample_workspace.root)
    assert "penguins" in [t.name for t in ws.lake.tables()]
    frame = ws.lake.table("penguins")
    assert isinstance(frame, pl.DataFrame) and frame.height == 344
    assert ws.lake.arrow("penguins").num_rows == 344
    counts = ws.lake.sql("SELECT species, count(*) AS n FROM penguins GROUP BY 1 ORDER BY 1")
    assert counts["n"].sum() == 344
    assert [v.version for v in ws.lake.versions("penguins")] == [1]
    for statement in ("DROP TABLE penguins", "CALL ducklake_flush_inlined_data('lake')", "CHECKPOINT"):
        with pytest.raises(LakeError):
            ws.lake.sql(statement)
    assert ws.lake.table("penguins").height == 344


def test_runs_start_list_and_results_use_the_batch_path(sample_workspace: Workspace) -> None:
    from workbench import open_workspace

    ws = open_workspace(sample_workspace.root)
    result = ws.runs.start({"name": "nb", "target": "species", "candidates": ["linear"], "max_trials": 2,
                            "data": {"table": "penguins"}})
    assert [r["run_id"] for r in ws.runs.list()] == [result.run_id]
    details = ws.runs.get(result.run_id[:15])
    assert details.state == "succeeded" and details.best_model == result.best_model
    assert details.holdout_scores == pytest.approx(result.holdout_scores)
    assert details.diagnostics and "confusion_matrix" in details.diagnostics
    assert details.data_version == 1 and details.fingerprint == result.fingerprint
    kinds = {e.kind for e in ws.audit.events(run=result.run_id)}
    assert {"run.queued", "run.started", "run.finished"} <= kinds
    with pytest.raises(BadInputError, match="unknown key"):
        ws.runs.start({"target": "species", "data": {"table": "penguins"}, "bogus": 1})


def test_registry_predict_equals_models_predict(with_champion: Workspace, cli) -> None:
    from workbench import open_workspace

    ws = open_workspace(with_champion.root)
    assert ws.registry.models() == ["species"] and ws.registry.aliases("species") == {"champion": 1}
    rows = ws.lake.table("penguins").head(40)
    mine = ws.registry.predict("species@champion", rows)
    out = cli("-w", str(with_champion.root), "models", "predict", "species", "--table", "penguins", "--into", "scored")
    assert out.returncode == 0, out.stderr
    theirs = ws.lake.table("scored").head(40)
    assert mine["prediction"].to_list() == theirs["prediction"].to_list()
    for column in [c for c in mine.columns if c.startswith("probability_")]:
        assert mine[column].to_list() == pytest.approx(theirs[column].to_list(), abs=1e-12)
    # JSON-like rows (numbers as ints where the lake has floats) score the same
    as_dicts = ws.registry.predict("species:1", rows.drop("species").to_dicts())
    assert as_dicts["prediction"].to_list() == mine["prediction"].to_list()
    assert ws.registry.load("species:1").estimator is not None


def test_bad_rows_get_one_sentence(with_champion: Workspace) -> None:
    from workbench import open_workspace

    ws = open_workspace(with_champion.root)
    rows = ws.lake.table("penguins").head(2).drop("species").to_dicts()
    with pytest.raises(BadInputError, match="missing column.*island"):
        ws.registry.predict("species", [{k: v for k, v in r.items() if k != "island"} for r in rows])
    with pytest.raises(BadInputError, match="bill_length_mm is String"):
        ws.registry.predict("species", [{**r, "bill_length_mm": "long"} for r in rows])
    with pytest.raises(BadInputError, match="no version 9"):
        ws.registry.predict("species:9", rows)


def test_a_tampered_artifact_is_refused_by_load(with_champion: Workspace) -> None:
    from workbench import open_workspace

    ws = open_workspace(with_champion.root)
    path = with_champion.root / ws.registry.get("species:1")["artifact_path"]
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ArtifactIntegrityError):
        ws.registry.load("species:1")
