"""SQL completion: the lake's own tables and columns and DuckDB's keywords, offered as ghost text; → accepts."""

from __future__ import annotations

from workbench.lake import open_lake
from workbench.lake.completion import Vocabulary, load_vocabulary
from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

from lake_fixtures import numbers  # noqa: F401  (a fixture)
from tui_support import settle

WORDS = Vocabulary(tables=("numbers", "nulls"), columns={"numbers": ("n", "noise", "label"), "nulls": ("nothing",)},
                   keywords=("NOT", "NULL", "SELECT"), functions=("now", "nullif"))


def test_the_vocabulary_is_the_lake_catalog_and_duckdb_own_keywords(numbers: Workspace) -> None:
    with open_lake(numbers) as lake:
        words = load_vocabulary(lake)
        columns = [r[0] for r in lake.cursor().execute("DESCRIBE SELECT * FROM numbers").fetchall()]
    assert words.tables == ("numbers",)
    assert list(words.columns["numbers"]) == columns  # in table order
    assert {"SELECT", "WHERE", "QUALIFY"} <= {k.upper() for k in words.keywords}
    assert {"count", "regexp_matches"} <= set(words.functions)


def test_completion_ranks_the_statement_tables_columns_first() -> None:
    sql = "SELECT no FROM numbers"
    # the columns of a table the statement names come before other tables, keywords and functions
    assert WORDS.complete("SELECT no", sql) == ["noise", "not", "nothing", "now"]
    assert WORDS.complete("SELECT NO", sql) == ["noise", "NOT", "nothing", "now"]  # keywords follow the case typed
    assert WORDS.complete("select no", "select no") == ["not", "noise", "nothing", "now"]  # no table named yet
    assert WORDS.complete("SELECT * FROM nu") == ["nulls", "numbers", "null", "nullif"]
    assert WORDS.complete("SELECT numbers.") == ["n", "noise", "label"]  # after `table.` only its columns
    assert WORDS.complete("SELECT numbers.la") == ["label"]
    assert WORDS.complete("SELECT unknown.la") == []
    assert WORDS.complete("SELECT n") == []  # one letter is too little to guess from
    assert WORDS.complete("SELECT noise") == []  # a finished word is not offered again
    assert WORDS.complete("SELECT 'nu") == []  # nor inside a string


async def test_the_console_suggests_and_right_arrow_accepts(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, pause=0.2)
        await pilot.press("e")
        await settle(app, pilot, pause=0.2)
        editor = app.query_one("#sql-editor")
        for _ in range(300):  # the vocabulary is read in a worker
            if editor.vocabulary.tables:
                break
            await pilot.pause(0.1)
        editor.load_text("")
        editor.focus()
        for key in ("S", "E", "L", "space", "n", "o", "i"):
            await pilot.press(key)
        assert editor.suggestion == "se" and "→ noise" in str(editor.border_subtitle)
        await pilot.press("right")
        assert editor.text == "SEL noise"
        await pilot.press("space", "F", "R", "O", "M", "space", "n", "u")
        assert editor.suggestion == "mbers"
        await pilot.press("right", "ctrl+r")
        await settle(app, pilot, pause=0.2)
        assert editor.text == "SEL noise FROM numbers"
        assert editor.suggestion == ""
