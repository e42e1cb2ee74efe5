"""A writer ingesting repeatedly while a batch reader and a TUI-style pager read: separate processes, no errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
from workbench.workspace import Workspace

ROUNDS = 12

WRITER = """
import sys
from pathlib import Path
from workbench.workspace import Workspace
from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
ws = Workspace.load(Path(sys.argv[1]))
csv = Path(sys.argv[2])
errors = 0
with open_lake(ws) as lake:
    for i in range(2, {rounds} + 2):
        csv.write_text("k,v\\n" + "".join(f"{{j}},{{i}}\\n" for j in range(2000 + i)))
        try:
            ingest_files(lake, [csv], table="t", replace=True, actor="writer")
        except Exception as exc:
            errors += 1
            print("writer error:", exc, file=sys.stderr)
print("errors", errors)
"""

# Every version v has 2000 + v rows whose `v` column is v: any torn or mixed read shows up.
BATCH_READER = """
import sys, time
from pathlib import Path
from workbench.workspace import Workspace
from workbench.lake import open_lake
from workbench.lake.catalog import table_ref
ws = Workspace.load(Path(sys.argv[1]))
errors = reads = 0
deadline = time.time() + 60
with open_lake(ws) as lake:
    cur = lake.cursor()
    while time.time() < deadline:
        try:
            n, lo, hi = cur.execute(f"SELECT count(*), min(v), max(v) FROM {{table_ref(lake, 't')}}").fetchone()
            if lo != hi or n != 2000 + lo:
                errors += 1
                print("inconsistent", n, lo, hi, file=sys.stderr)
            reads += 1
            if lo == {rounds} + 1:
                break
        except Exception as exc:
            errors += 1
            print("reader error:", exc, file=sys.stderr)
print("errors", errors, "reads", reads)
"""

PAGER = """
import sys, time
from pathlib import Path
from workbench.workspace import Workspace
from workbench.lake import open_lake
from workbench.lake.preview import PageQuery, read_page
ws = Workspace.load(Path(sys.argv[1]))
errors = pages = 0
deadline = time.time() + 60
with open_lake(ws) as lake:  # one connection for the whole session, as the TUI keeps it
    done = False
    while time.time() < deadline and not done:
        try:
            first = read_page(lake, PageQuery("t"), 0, 500)
            version = first.rows[0][1]
            for offset in range(500, first.total_rows, 500):
                page = read_page(lake, first.query, offset, 500, first.total_rows)
                pages += 1
                if page.total_rows != 2000 + version or any(r[1] != version for r in page.rows):
                    errors += 1
                    print("page mixed versions", file=sys.stderr)
            done = version == {rounds} + 1
        except Exception as exc:
            errors += 1
            print("pager error:", exc, file=sys.stderr)
print("errors", errors, "pages", pages)
"""


@pytest.mark.slow
def test_writer_batch_reader_and_pager_run_together(empty_workspace: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("k,v\n" + "".join(f"{j},1\n" for j in range(2001)))
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [csv], table="t")
    root = str(empty_workspace.root)
    procs = {
        "writer": subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER.format(rounds=ROUNDS)), root,
                                    str(tmp_path / "w.csv")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "batch": subprocess.Popen([sys.executable, "-c", BATCH_READER.format(rounds=ROUNDS), root],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "pager": subprocess.Popen([sys.executable, "-c", PAGER.format(rounds=ROUNDS), root],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    }
    results = {name: p.communicate(timeout=180) for name, p in procs.items()}
    for name, (out, err) in results.items():
        assert procs[name].returncode == 0, f"{name}: {err}"
        assert out.startswith("errors 0"), f"{name}: {out} {err}"
    assert int(results["batch"][0].split()[3]) > 1 and int(results["pager"][0].split()[3]) > 1
