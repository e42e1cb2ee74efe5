"""Scale-out benchmark: the same fan-out of fits on `local` (1 and 2 workers) and on `dask` (2 workers).

The fan-out is fixed: candidates × folds × trials (default 2 × 5 × 4 = 40 fits of a tree ensemble on
synthetic data, each single-threaded so that the speed-up measures the back-end, not BLAS threads).
For each back-end it reports wall time, speed-up against local with 1 worker, and overhead per task:
the wall time beyond a perfect split of the fits' own run time over the workers, divided by the number
of tasks; a separate burst of no-op tasks gives the bare round-trip cost per task.

    python benchmarks/scale_out.py [--candidates 2 --folds 5 --trials 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from workbench.backends.compute import Task
from workbench.backends.local import LocalCompute

CANDIDATES = ("random_forest", "extra_trees", "gradient_boosting")


def fit_one(candidate: str, fold: int, trial: int, folds: int) -> float:
    """One candidate × fold × trial fit; data is generated in the worker so no data crosses the wire."""
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.ensemble import ExtraTreesClassifier, GradientBoostingClassifier, RandomForestClassifier

    X, y = make_classification(n_samples=3000, n_features=20, n_informative=8, random_state=7)
    test = np.arange(len(y)) % folds == fold
    depth = 6 + 2 * trial
    model: Any = {
        "random_forest": lambda: RandomForestClassifier(n_estimators=40, max_depth=depth, n_jobs=1, random_state=trial),
        "extra_trees": lambda: ExtraTreesClassifier(n_estimators=60, max_depth=depth, n_jobs=1, random_state=trial),
        "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=trial),
    }[candidate]()
    model.fit(X[~test], y[~test])
    return float(model.score(X[test], y[test]))


def noop(i: int) -> int:
    return i


def warm(i: int) -> int:
    """Start a worker and import what the fits import, so neither is timed as fan-out."""
    import sklearn.datasets  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    return i


def measure(backend: Any, tasks: list[Task], noops: int) -> dict[str, Any]:
    backend.run_tasks([Task(f"warm-{i}", warm, (i,)) for i in range(backend.worker_count() * 2)])
    start = time.perf_counter()
    results = backend.run_tasks(tasks)
    wall = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} fits failed, e.g. {failed[0].error}")
    busy = sum(r.duration_s for r in results)
    workers = backend.worker_count()
    start = time.perf_counter()
    backend.run_tasks([Task(f"noop-{i}", noop, (i,)) for i in range(noops)])
    noop_wall = time.perf_counter() - start
    return {
        "workers": workers,
        "tasks": len(tasks),
        "wall_s": wall,
        "fit_s_total": busy,
        "overhead_ms_per_task": max(0.0, wall - busy / workers) / len(tasks) * 1000,
        "roundtrip_ms_per_task": noop_wall / noops * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2, help="How many of the candidate models (1-3).")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--noops", type=int, default=200, help="No-op tasks for the round-trip figure.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    tasks = [Task(f"{c}/fold{f}/trial{t}", fit_one, (c, f, t, args.folds))
             for c in CANDIDATES[: args.candidates] for f in range(args.folds) for t in range(args.trials)]

    load_before = os.getloadavg()[0]
    rows: dict[str, dict[str, Any]] = {}
    for label, make in (("local, 1 worker", lambda: LocalCompute(workers=1)),
                        ("local, 2 workers", lambda: LocalCompute(workers=2)),
                        ("dask LocalCluster, 2 workers", _dask)):
        with make() as backend:
            rows[label] = measure(backend, tasks, args.noops)
        print(f"  {label}: {rows[label]['wall_s']:.2f} s", file=sys.stderr)
    base = rows["local, 1 worker"]["wall_s"]
    for row in rows.values():
        row["speedup"] = base / row["wall_s"]

    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "fits": len(tasks), "load_average_before": load_before,
                          "load_average_after": os.getloadavg()[0], "results": rows}, indent=2))
        return 0
    print(f"{len(tasks)} fits ({args.candidates} candidates × {args.folds} folds × {args.trials} trials), "
          f"{os.cpu_count()} cores; 1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          "(a load above the core count means other work shared the cores and the figures understate the speed-up)")
    print(f"{'back-end':<30} {'wall s':>8} {'speed-up':>9} {'overhead ms/task':>17} {'round-trip ms/task':>19}")
    for label, r in rows.items():
        print(f"{label:<30} {r['wall_s']:>8.2f} {r['speedup']:>8.2f}× {r['overhead_ms_per_task']:>17.1f} "
              f"{r['roundtrip_ms_per_task']:>19.2f}")
    return 0


def _dask() -> Any:
    from workbench_dask.backend import DaskCompute

    return DaskCompute(workers=2, threads_per_worker=1, connect_timeout=30)


if __name__ == "__main__":
    sys.exit(main())
