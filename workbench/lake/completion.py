"""What the SQL console offers to complete: the lake's tables and columns, DuckDB's keywords and functions.

The vocabulary is read once per catalog change (two catalog queries); completing a word is then a pure,
in-memory lookup, fast enough to run on every keystroke.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from workbench.lake.engine import Lake

_WORD = re.compile(r"(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)?$")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_MENTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MIN_PREFIX = 2  # one letter matches too much to be a help


@dataclass(frozen=True)
class Vocabulary:
    tables: tuple[str, ...] = ()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    # (lowercase word, word, kind, table) sorted: a prefix is one bisect away, whatever the vocabulary's size.
    _index: list[tuple[str, str, str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = [(t.lower(), t, "table", t) for t in self.tables]
        entries += [(c.lower(), c, "column", t) for t, cols in self.columns.items() for c in cols]
        entries += [(k.lower(), k, "keyword", "") for k in self.keywords]
        entries += [(f.lower(), f, "function", "") for f in self.functions]
        object.__setattr__(self, "_index", sorted(e for e in entries if _IDENT.match(e[1])))

    def complete(self, before_cursor: str, sql: str = "") -> list[str]:
        """Whole words that could finish the word ending `before_cursor`, best first.

        After `table.` only that table's columns; otherwise the columns of the tables the statement names,
        then table names, keywords, other columns and functions. Keywords follow the case typed."""
        if before_cursor.count("'") % 2 or "--" in before_cursor:
            return []  # inside a string literal or a comment: nothing to complete
        match = _WORD.search(before_cursor)
        qualifier, prefix = (match.group(1), match.group(2) or "") if match else (None, "")
        if qualifier is not None:
            table = self._table(qualifier)
            return [c for c in self.columns.get(table, ()) if _starts(c, prefix)] if table else []
        if len(prefix) < MIN_PREFIX:
            return []
        mentioned = {t for w in _MENTION.findall(sql) if (t := self._table(w))}
        keyword_case = str.upper if prefix[-1].isupper() else str.lower
        low = prefix.lower()
        ranked: list[tuple[int, int, str]] = []
        for i in range(bisect.bisect_left(self._index, (low,)), len(self._index)):
            key, word, kind, table = self._index[i]
            if not key.startswith(low):
                break
            if key == low:
                continue
            rank = {"table": 1, "keyword": 2, "function": 4}.get(kind, 0 if table in mentioned else 3)
            ranked.append((rank, i, keyword_case(word) if kind == "keyword" else word))
        out: list[str] = []
        seen: set[str] = set()
        for _, _, word in sorted(ranked):
            if word.lower() not in seen:
                seen.add(word.lower())
                out.append(word)
        return out

    def _table(self, name: str) -> str | None:
        return next((t for t in self.tables if t.lower() == name.lower()), None)


def _starts(word: str, prefix: str) -> bool:
    return word.lower().startswith(prefix.lower())


def load_vocabulary(lake: Lake) -> Vocabulary:
    """The lake's current tables and columns, and DuckDB's own keyword and function lists."""
    from workbench.lake.catalog import column_names_by_table

    columns = column_names_by_table(lake)
    cur = lake.cursor()
    keywords = [k for (k,) in cur.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category "
                                          "IN ('reserved', 'unreserved') ORDER BY keyword_name").fetchall()]
    functions = [f for (f,) in cur.execute("SELECT DISTINCT function_name FROM duckdb_functions() WHERE "
                                           "function_type IN ('scalar', 'aggregate', 'table', 'macro') "
                                           "AND function_name NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY 1").fetchall()]
    return Vocabulary(tables=tuple(sorted(columns, key=str.lower)),
                      columns={t: tuple(c) for t, c in columns.items()},
                      keywords=tuple(keywords), functions=tuple(functions))
