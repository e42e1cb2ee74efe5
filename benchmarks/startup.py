"""Cold-start times: `workbench --help`, the TUI's first paint with the lake listed, and bare Textual.

Each figure is the median of N fresh processes (these machines are noisy); ratios are against
`python -c "import textual.app"`, the floor any Textual app pays.

    python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_PAINT = r"""
import asyncio, sys
from pathlib import Path
from workbench.workspace import Workspace
from workbench.tui.app import WorkbenchApp

async def main():
    app = WorkbenchApp(Workspace.load(Path(sys.argv[1])))
    async with app.run_test(size=(120, 40)) as pilot:
        from workbench.tui.lake.catalog_tree import CatalogTree
        tree = app.query_one(CatalogTree)
        # Painted = the catalog lists the lake's tables with their row counts.
        while not (tree.root.children and "rows" in " ".join(str(n.label) for n in tree.root.children[0].children)):
            await pilot.pause(0.005)
        print("PAINTED", flush=True)
        heavy = sorted({"sklearn", "lightgbm", "optuna"} & set(sys.modules))
        print("HEAVY", ",".join(heavy) or "-", flush=True)

asyncio.run(main())
"""


def time_until(cmd: list[str], marker: str | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    elapsed = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker and line.startswith(marker):
            elapsed = time.perf_counter() - start
    proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed with {proc.returncode}")
    return elapsed if elapsed is not None else time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from workbench.workspace.create import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws", sample=True)
        script = Path(tmp) / "paint.py"
        script.write_text(FIRST_PAINT)
        cases = {
            'python -c "import textual.app"': ([sys.executable, "-c", "import textual.app"], None),
            "workbench --help": ([sys.executable, "-m", "workbench", "--help"], None),
            "TUI first paint (tables listed)": ([sys.executable, str(script), str(ws.root)], "PAINTED"),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved, so drift in machine load hits every case alike
            for name, (cmd, marker) in cases.items():
                results[name].append(time_until(cmd, marker))
        heavy = subprocess.run([sys.executable, str(script), str(ws.root)], capture_output=True, text=True).stdout
    base = statistics.median(results['python -c "import textual.app"'])
    print(f"{'case':<36} {'median s':>9} {'min s':>7} {'max s':>7} {'× textual':>10}")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<36} {med:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {med / base:>10.2f}")
    line = next((ln for ln in heavy.splitlines() if ln.startswith("HEAVY")), "HEAVY ?")
    print(f"heavy ML modules imported by first paint: {line.split(' ', 1)[1]}")


if __name__ == "__main__":
    main()
