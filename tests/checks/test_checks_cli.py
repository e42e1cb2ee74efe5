"""The commands as a user runs them: exit codes per the README's contract, one sentence on bad input."""

from __future__ import annotations

import json

from checks_fixtures import event_count, events, readings_ws, write_expectations  # noqa: F401  (readings_ws is a fixture)


def test_sources_and_lake_check_from_the_command_line(readings_ws, cli) -> None:
    ws = readings_ws
    w = ("-w", str(ws.root))
    out = cli(*w, "sources", "refresh", "readings")
    assert out.returncode == 0 and "readings: version 1 from source readings; no expectations." in out.stdout
    out = cli(*w, "sources", "refresh", "readings")
    assert out.returncode == 0 and "unchanged (version 1); nothing was written" in out.stdout

    write_expectations(ws, "readings", "[columns.id]\nunique = true\nnot_null = true\n")
    out = cli(*w, "lake", "check", "readings@1")
    assert out.returncode == 0 and out.stdout.startswith("readings version 1: certified (4 rows"), out.stderr
    listed = json.loads(cli(*w, "sources", "list", "--json").stdout)
    assert listed[0]["status"]["state"] == "certified" and listed[0]["status"]["last_refresh_changed"] is False

    write_expectations(ws, "readings", "min_rows = 10\n")
    out = cli(*w, "lake", "check", "readings", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["failures"] == ["4 rows, fewer than the 10 expected."]
    assert out.stderr.strip().endswith("readings version 1 failed its checks; it is not certified.")


def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(readings_ws, cli) -> None:
    ws = readings_ws
    w = ("-w", str(ws.root))
    cli(*w, "sources", "refresh", "readings")
    write_expectations(ws, "readings", "[columns.nope]\nunique = true\n")
    before = event_count(ws)
    for args, phrase in [
        (("lake", "check", "readings"), "names column 'nope'"),
        (("lake", "check", "missing_table"), "No table named 'missing_table'"),
        (("lake", "check", "readings@7"), "has no version 7"),
        (("sources", "refresh", "ghost"), "No source named 'ghost'"),
        (("sources", "add", "Bad Name", "--table", "t", "--path", "x"), "not a valid source name"),
    ]:
        out = cli(*w, *args)
        assert out.returncode == 2, (args, out.stderr)
        assert phrase in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert event_count(ws) == before
