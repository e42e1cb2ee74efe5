"""The profile's one-pass shortcuts against DuckDB's exact computations on the same lake table.

Standard deviation from shifted sums, quartiles from a reservoir sample, histogram bins and top values
from GROUPING SETS: each is compared with `stddev_samp`, exact `quantile_cont` ranks, a GROUP BY of
`least(floor(...))` bins and a GROUP BY per column. The thresholds are lowered so that a 60,000-row table
takes the big-table paths.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import workbench.lake.profile as profile
from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
from workbench.lake.profile import profile_stages
from workbench.workspace import Workspace

ROWS = 60_000


@pytest.fixture
def awkward(empty_workspace: Workspace, tmp_path: Path) -> Workspace:
    """Columns that break naive formulas: a huge offset with a tiny spread (and an outlier in the first row),
    NULLs and NaN, skew, many distinct words, a timestamp, a one-value column."""
    path = tmp_path / "awkward.parquet"
    duckdb.sql(f"""
        COPY (SELECT
            CASE WHEN i = 0 THEN 1e12 ELSE 1e9 + (hash(i) % 1000) / 1000.0 END AS offset_tiny,
            CASE WHEN i % 11 = 0 THEN NULL WHEN i % 97 = 0 THEN 'nan'::DOUBLE ELSE (hash(i) % 10000) / 7.0 END AS gappy,
            exp((hash(i * 3) % 1000) / 100.0) AS skewed,
            (i % 7)::SMALLINT AS small,
            'w' || (hash(i * 5) % 3000)::VARCHAR AS words,
            'id' || i::VARCHAR AS ident,
            CASE WHEN i % 5 = 0 THEN NULL ELSE ['a', 'b', 'c'][1 + (i % 3)::INTEGER] END AS abc,
            TIMESTAMP '2024-01-01' + to_seconds(hash(i * 7) % 100000) AS ts,
            42 AS constant
        FROM range({ROWS}) t(i)) TO '{path}' (FORMAT parquet)""")
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [path])
    return empty_workspace


def test_shortcuts_match_exact_duckdb(awkward: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "QUANTILE_SAMPLE_FROM", 10_000)
    monkeypatch.setattr(profile, "QUANTILE_SAMPLE_SIZE", 20_000)
    monkeypatch.setattr(profile, "OWN_QUERY_FROM", 1_000)  # `words` (3,000 values) counts them on its own
    with open_lake(awkward) as lake:
        stages = list(profile_stages(lake, "awkward"))
        cur = lake.cursor()
        basic, full = stages[0], stages[-1]
        for name in ("offset_tiny", "skewed", "small", "constant"):
            std, mean, n = cur.execute(f"SELECT stddev_samp({name}), avg({name}), count({name}) FROM awkward").fetchone()
            col = basic.column(name)
            assert col.count == n
            assert col.std == pytest.approx(std, rel=1e-9, abs=1e-9), name
            assert col.mean == pytest.approx(mean, rel=1e-12)
        # DuckDB's stddev_samp refuses a column holding NaN ("out of range"); the profile says NaN, as avg does
        gappy = basic.column("gappy")
        assert gappy.std != gappy.std and gappy.mean != gappy.mean and gappy.nulls == cur.execute(
            "SELECT count(*) - count(gappy) FROM awkward").fetchone()[0]

        for name in ("offset_tiny", "skewed", "small"):
            col = full.column(name)
            for q, got in ((0.25, col.q25), (0.5, col.q50), (0.75, col.q75)):
                # the share of values below the sampled quartile is within 2 points of its rank
                below, n = cur.execute(f"SELECT count(*) FILTER (WHERE {name} < ?), count({name}) FROM awkward",
                                       [got]).fetchone()
                at_or_below = cur.execute(f"SELECT count(*) FILTER (WHERE {name} <= ?) FROM awkward", [got]).fetchone()[0]
                assert below / n - 0.02 <= q <= at_or_below / n + 0.02, (name, q, got)

        for name in ("offset_tiny", "gappy", "skewed", "small", "ts"):
            col = full.column(name)
            lo, width = col.histogram[0][0], col.histogram[0][1] - col.histogram[0][0]
            value = f"epoch({name}::TIMESTAMP)" if name == "ts" else f"{name}::DOUBLE"
            expected = dict(cur.execute(
                f"SELECT least(floor(({value} - {lo!r}) / {width!r}), {len(col.histogram) - 1})::INTEGER AS b, count(*) FROM awkward "
                f"WHERE {name} IS NOT NULL AND NOT isnan({value}) GROUP BY b").fetchall())
            assert [n for _, _, n in col.histogram] == [expected.get(b, 0) for b in range(len(col.histogram))], name
        assert full.column("constant").histogram == [(42.0, 43.0, ROWS)]

        for name in ("words", "abc", "small"):
            expected = cur.execute(f"SELECT {name}::VARCHAR AS v, count(*) AS n FROM awkward WHERE {name} IS NOT NULL "
                                   "GROUP BY v ORDER BY n DESC, v LIMIT 10").fetchall()
            assert full.column(name).top_values == [(v, n) for v, n in expected], name
        assert full.column("ident").top_values is None and "identifier" in full.column("ident").note


def test_small_tables_keep_exact_quartiles(awkward: Workspace) -> None:
    with open_lake(awkward) as lake:
        col = list(profile_stages(lake, "awkward"))[-1].column("skewed")
        exact = lake.cursor().execute("SELECT quantile_cont(skewed, [0.25, 0.5, 0.75]) FROM awkward").fetchone()[0]
    assert [col.q25, col.q50, col.q75] == pytest.approx(exact, rel=1e-12)
