"""Declared sources: refresh writes a version only when the content changed, then checks and certifies it;
a failing version is recorded as failed and `workbench batch` refuses to train on it."""

from __future__ import annotations

import json

import pytest
from checks_fixtures import GOOD_ROWS, NOW, events, readings_ws, write_expectations  # noqa: F401  (readings_ws is a fixture)

from workbench.errors import BadInputError
from workbench.lake.catalog import table_versions
from workbench.lake.engine import open_lake
from workbench.sources.declare import add_source, list_sources
from workbench.sources.refresh import refresh_source

EXPECT = """min_rows = 1
[schema]
id = "BIGINT"
[columns.id]
not_null = true
unique = true
[columns.temp]
min = -40
max = 50
"""


def _versions(ws) -> list[int]:
    with open_lake(ws, read_only=True) as lake:
        return [v.version for v in table_versions(lake, "readings")]


def test_refresh_unchanged_then_changed_then_failing(readings_ws) -> None:
    ws = readings_ws
    write_expectations(ws, "readings", EXPECT)
    first = refresh_source(ws, "readings", now=NOW)
    assert first.changed and first.version == 1 and first.checks is not None and first.checks.certified

    again = refresh_source(ws, "readings", now=NOW)  # same files: the fingerprint says unchanged
    assert not again.changed and again.version == 1 and again.checks is None
    assert _versions(ws) == [1]
    refreshed = events(ws, "source.refreshed")
    assert [e.params["changed"] for e in refreshed] == [False, True]  # newest first
    assert len(events(ws, "lake.ingest")) == 1

    (ws.root / "incoming" / "day2.csv").write_text("id,station,temp,observed_at\n5,west,9.5,2026-12-01 11:30:00\n")
    second = refresh_source(ws, "readings", now=NOW)
    assert second.changed and second.version == 2 and second.checks.certified
    certified = events(ws, "lake.certified")
    assert [e.params["version"] for e in certified] == [2, 1]
    assert certified[0].params["expectations_sha"] == second.checks.expectations_sha

    (ws.root / "incoming" / "day3.csv").write_text("id,station,temp,observed_at\n5,west,99.0,2026-12-01 11:45:00\n")
    third = refresh_source(ws, "readings", now=NOW)
    assert third.changed and third.version == 3 and not third.checks.passed and not third.checks.certified
    assert any("duplicate" in f for f in third.checks.failures)
    assert any("above 50" in f for f in third.checks.failures)
    checked = events(ws, "lake.checked")[0]
    assert checked.params["version"] == 3 and checked.params["passed"] is False and checked.outcome == "failed"
    assert [e.params["version"] for e in events(ws, "lake.certified")] == [2, 1]


def test_batch_refuses_a_failed_version_and_allows_it_explicitly(readings_ws, cli, tmp_path) -> None:
    ws = readings_ws
    write_expectations(ws, "readings", "[columns.temp]\nnot_null = true\n")  # day1.csv has a missing temp
    outcome = refresh_source(ws, "readings", now=NOW)
    assert not outcome.checks.passed
    spec = tmp_path / "spec.toml"
    spec.write_text('target = "temp"\nmax_trials = 1\ntime_budget_s = 20\n[data]\ntable = "readings"\n')
    before = len(events(ws, "run"))
    out = cli("-w", str(ws.root), "batch", str(spec), "--quiet")
    assert out.returncode == 2, out.stderr
    assert "readings version 1 failed its checks (temp has 1 missing value (not_null));" in out.stderr
    assert "--allow-uncertified" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert len(events(ws, "run")) == before

    query_spec = tmp_path / "query.toml"
    query_spec.write_text('target = "temp"\n[data]\nquery = "SELECT * FROM readings WHERE id > 1"\n')
    out = cli("-w", str(ws.root), "batch", str(query_spec), "--quiet")
    assert out.returncode == 2 and "readings version 1 failed its checks" in out.stderr

    from workbench.lake.certification import version_state
    from workbench.pipeline.spec import load_spec
    from workbench.runs.batch import allow_uncertified_data

    allowed = allow_uncertified_data(ws, load_spec(spec, 0.2, "local"), "known sensor gap, ticket 12")
    assert allowed == [("readings", 1)]
    assert version_state(ws, "readings", 1).state == "allowed"
    assert events(ws, "lake.uncertified_allowed")[0].params["reason"] == "known sensor gap, ticket 12"


def test_expectations_added_later_make_the_version_unchecked_until_checked(readings_ws) -> None:
    from workbench.checks.run import check_table
    from workbench.lake.certification import version_state

    ws = readings_ws
    refresh_source(ws, "readings", now=NOW)
    assert version_state(ws, "readings", 1).state == "no expectations"
    write_expectations(ws, "readings", "min_rows = 1\n")
    assert version_state(ws, "readings", 1).state == "unchecked"
    check_table(ws, "readings", now=NOW)
    assert version_state(ws, "readings", 1).state == "certified"


def test_sources_are_audited_and_bad_declarations_write_nothing(readings_ws) -> None:
    ws = readings_ws
    assert [s.name for s in list_sources(ws)] == ["readings"]
    assert events(ws, "source.added")[0].params["location"] == "incoming/*.csv"
    before = len(events(ws, "source"))
    for kwargs, phrase in [
        ({"path": "x", "query": "SELECT 1"}, "exactly one of"),
        ({"path": "incoming", "fmt": "xml"}, "format must be one of"),
        ({"query": "SELECT * FROM pg.t WHERE password = 'hunter22'"}, "looks like a secret"),
    ]:
        with pytest.raises(BadInputError, match=phrase):
            add_source(ws, "other", "other", **kwargs)
    with pytest.raises(BadInputError, match="already exists"):
        add_source(ws, "readings", "readings", path="incoming")
    with pytest.raises(BadInputError, match="No source named 'nope'"):
        refresh_source(ws, "nope")
    assert not (ws.root / "sources" / "other.toml").exists()
    assert len(events(ws, "source")) == before


def test_malformed_expectations_stop_a_refresh_before_it_writes(readings_ws) -> None:
    ws = readings_ws
    write_expectations(ws, "readings", "[columns.temp\n")
    with pytest.raises(BadInputError, match="not valid TOML"):
        refresh_source(ws, "readings", now=NOW)
    assert _versions(ws) == []
    with open_lake(ws, read_only=True) as lake:
        from workbench.lake.catalog import table_exists

        assert not table_exists(lake, "readings")
    assert events(ws, "source.refreshed") == []


def test_jsonl_and_query_sources(readings_ws) -> None:
    ws = readings_ws
    rows = [{"id": i, "v": i * 1.5} for i in range(5)]
    (ws.root / "drops").mkdir()
    (ws.root / "drops" / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    add_source(ws, "events", "events", path="drops")
    assert refresh_source(ws, "events").version == 1
    refresh_source(ws, "readings")
    add_source(ws, "north", "north_readings", query="SELECT * FROM readings WHERE station = 'north'")
    north = refresh_source(ws, "north")
    assert north.changed and north.version == 1
    assert not refresh_source(ws, "north").changed
    with open_lake(ws, read_only=True) as lake:
        assert lake.cursor().execute("SELECT count(*) FROM north_readings").fetchone()[0] == 2
        assert lake.cursor().execute("SELECT sum(v) FROM events").fetchone()[0] == pytest.approx(15.0)


def test_storage_prefix_source_on_the_local_back_end(readings_ws) -> None:
    """A `prefix` source lists objects through the storage back-end (local here: the workspace folder)."""
    ws = readings_ws
    drops = ws.root / "drops" / "meters"
    drops.mkdir(parents=True)
    (drops / "a.csv").write_text("meter,kwh\nm1,3.5\nm2,4.0\n")
    (drops / "notes.txt").write_text("not data")
    add_source(ws, "meters", "meters", prefix="drops/meters")
    first = refresh_source(ws, "meters")
    assert first.changed and first.version == 1
    assert not refresh_source(ws, "meters").changed
    (drops / "b.csv").write_text("meter,kwh\nm3,1.0\n")
    assert refresh_source(ws, "meters").version == 2
    with open_lake(ws, read_only=True) as lake:
        assert lake.cursor().execute("SELECT count(*), sum(kwh) FROM meters").fetchone() == (3, 8.5)
    add_source(ws, "empty", "empty", prefix="drops/none")
    with pytest.raises(BadInputError, match="no objects under 'drops/none'"):
        refresh_source(ws, "empty")


def test_query_source_over_an_attached_database(readings_ws, tmp_path) -> None:
    """The attached-database kind: a read-only SELECT over a `lake attach`ed DuckDB file, refreshed when
    another program changes that file."""
    import duckdb

    from workbench.lake.operations import attach

    ws = readings_ws
    crm = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(crm))
    con.execute("CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'ann'), (2, 'bo')) t(id, name)")
    con.close()
    with open_lake(ws) as lake:
        attach(lake, crm, "crm")
    add_source(ws, "customers", "customers", query="SELECT id, name FROM crm.customers")
    assert refresh_source(ws, "customers").version == 1
    assert not refresh_source(ws, "customers").changed
    con = duckdb.connect(str(crm))
    con.execute("INSERT INTO customers VALUES (3, 'cy')")
    con.close()
    third = refresh_source(ws, "customers")
    assert third.changed and third.version == 2
    with open_lake(ws, read_only=True) as lake:
        assert lake.cursor().execute("SELECT count(*) FROM customers").fetchone()[0] == 3
