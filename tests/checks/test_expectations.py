"""Each kind of expectation, passing and failing, on a real lake table (DuckLake files, SQLite log)."""

from __future__ import annotations

import pytest
from checks_fixtures import NOW, event_count, events, readings_ws, write_expectations  # noqa: F401  (readings_ws is a fixture)

from workbench.checks.run import check_table
from workbench.errors import BadInputError
from workbench.sources.refresh import refresh_source

CASES = [
    # (expectations, passes?, a word the failure sentence must contain)
    ("min_rows = 4\nmax_rows = 4\n", True, None),
    ("min_rows = 5\n", False, "fewer than the 5"),
    ("max_rows = 3\n", False, "more than the 3"),
    ('[schema]\nid = "BIGINT"\nstation = "VARCHAR"\n', True, None),
    ('[schema]\nid = "VARCHAR"\n', False, "id is BIGINT, expected VARCHAR"),
    ('[schema]\nhumidity = "DOUBLE"\n', False, "column humidity is missing"),
    ("[columns.id]\nnot_null = true\nunique = true\n", True, None),
    ("[columns.temp]\nnot_null = true\n", False, "temp has 1 missing value"),
    ("[columns.station]\nunique = true\n", False, "station has 1 duplicate value"),
    ("[columns.temp]\nmin = 10\nmax = 15\n", True, None),
    ("[columns.temp]\nmin = 11.5\n", False, "1 value below 11.5"),
    ("[columns.temp]\nmax = 13\n", False, "1 value above 13"),
    ('[columns.station]\nallowed = ["north", "south", "east"]\n', True, None),
    ('[columns.station]\nallowed = ["north", "south"]\n', False, "outside the allowed set"),
    ("[columns.temp]\nmax_missing = 0.25\n", True, None),
    ("[columns.temp]\nmax_missing = 0.2\n", False, "25.00% missing"),
    ('[freshness]\ncolumn = "observed_at"\nmax_age = "2h"\n', True, None),
    ('[freshness]\ncolumn = "observed_at"\nmax_age = "30m"\n', False, "1.0 h old"),
]


@pytest.mark.parametrize("text,passes,phrase", CASES)
def test_each_expectation_kind(readings_ws, text, passes, phrase) -> None:
    ws = readings_ws
    refresh_source(ws, "readings", now=NOW)  # no expectations yet: a version, unchecked
    write_expectations(ws, "readings", text)
    outcome = check_table(ws, "readings", now=NOW)
    assert outcome.passed is passes and outcome.certified is passes
    if phrase:
        assert any(phrase in f for f in outcome.failures), outcome.failures
    else:
        assert outcome.failures == []
    checked = events(ws, "lake.checked")[0]
    assert checked.params["passed"] is passes and checked.params["version"] == 1
    certified = events(ws, "lake.certified")
    assert bool(certified) is passes
    if passes:
        assert certified[0].params["expectations_sha"] == outcome.expectations_sha
        assert certified[0].actor == ws.actor


BAD = [
    ("min_rows = \n", "not valid TOML"),
    ("min_row = 3\n", "unknown key 'min_row'"),
    ("[columns.temp]\nmaximum = 3\n", "unknown key 'maximum'"),
    ("[columns.pressure]\nnot_null = true\n", "names column 'pressure'"),
    ("[columns.temp]\nmax_missing = 2\n", "between 0 and 1"),
    ('[freshness]\ncolumn = "observed_at"\nmax_age = "soon"\n', "a duration"),
]


@pytest.mark.parametrize("text,phrase", BAD)
def test_bad_expectations_are_one_sentence_and_write_nothing(readings_ws, text, phrase) -> None:
    ws = readings_ws
    refresh_source(ws, "readings", now=NOW)
    write_expectations(ws, "readings", text)
    before = event_count(ws)
    with pytest.raises(BadInputError) as err:
        check_table(ws, "readings", now=NOW)
    assert phrase in err.value.message and "\n" not in err.value.message
    assert event_count(ws) == before


def test_unknown_table_is_bad_input(readings_ws) -> None:
    with pytest.raises(BadInputError, match="No table named 'nope'"):
        check_table(readings_ws, "nope")
