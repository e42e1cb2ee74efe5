"""One workspace shared by a team of real OS users (issue 12, item 4): alice, bob and carol in one group,
each with a different umask, work on it at the same time; mallory, outside the group, cannot read it."""

from __future__ import annotations

import json
import os
import signal
import stat
import textwrap
from pathlib import Path

import pytest
from osusers import Team

pytestmark = pytest.mark.slow

TINY = ('name = "tiny"\ntarget = "species"\ncandidates = ["linear"]\nmax_trials = 1\ncv_folds = 3\n'
        'time_budget_s = 60\n[data]\ntable = "penguins"\n')
VISITS = "site,visits\nnorth,12\nsouth,7\neast,30\n"

# Run as alice: the TUI opened the way `workbench` opens it, driven through Pilot until it shows carol's
# table and bob's finished run (bounded, so a broken run fails instead of hanging).
PILOT = textwrap.dedent('''
    import asyncio, json, sys
    from pathlib import Path
    from textual.widgets import DataTable
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.lake.catalog_tree import CatalogTree
    from workbench.workspace.locate import locate_workspace

    async def main(root, table, run_name):
        ws = locate_workspace(Path(root)).workspace
        app = WorkbenchApp(ws)
        tables, runs = [], []
        async with app.run_test(size=(140, 40)) as pilot:
            for _ in range(600):
                await pilot.pause(0.3)
                await pilot.press("1", "r")
                await pilot.pause(0.3)
                tree = app.query_one(CatalogTree)
                if tree.root.children:
                    tables = [str(n.label).split()[0] for n in tree.root.children[0].children]
                await pilot.press("2", "r")
                await pilot.pause(0.3)
                grid = app.query_one("#runs-table", DataTable)
                runs = [[str(c) for c in grid.get_row_at(i)[:3]] for i in range(grid.row_count)]
                if table in tables and any(r[1] == run_name and r[2] == "succeeded" for r in runs):
                    break
        print(json.dumps({"tables": tables, "runs": runs}))

    asyncio.run(main(*sys.argv[1:]))
''')

WAL_MODES = textwrap.dedent('''
    import json, os, sqlite3, stat, sys
    from pathlib import Path
    from workbench.workspace.locate import locate_workspace

    locate_workspace(Path(sys.argv[1]).parent)  # the umask, as every command sets it
    con = sqlite3.connect(sys.argv[1])
    con.execute("SELECT count(*) FROM events").fetchone()
    out = {}
    for suffix in ("-wal", "-shm"):
        st = os.stat(sys.argv[1] + suffix)
        out[suffix] = [oct(stat.S_IMODE(st.st_mode)), st.st_gid]
    con.close()
    print(json.dumps(out))
''')


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    return path


def _not_shared(root: Path, gid: int) -> list[str]:
    """Every path under `root` that is not the group's, group-usable and private to the group."""
    bad = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        mode, rel = st.st_mode, str(path.relative_to(root)) or "."
        if st.st_gid != gid:
            bad.append(f"{rel}: group {st.st_gid}")
        if mode & 0o007:
            bad.append(f"{rel}: others have {oct(mode & 0o007)}")
        if stat.S_ISDIR(mode) and (mode & 0o2070) != 0o2070:
            bad.append(f"{rel}: folder mode {oct(stat.S_IMODE(mode))}")
        if stat.S_ISREG(mode) and (mode & 0o060) != 0o060:
            bad.append(f"{rel}: file mode {oct(stat.S_IMODE(mode))}")
    return bad


def _init(team: Team, name: str, *extra: str) -> Path:
    ws = team.srv / name
    done = team.workbench(team.alice, "init", "--shared", team.group, *extra, str(ws), umask=0o022)
    assert done.returncode == 0, done.stderr
    return ws


def test_a_team_works_on_one_workspace_at_once_whatever_their_umasks(team: Team) -> None:
    ws = _init(team, "together", "--sample")
    assert f'shared_group = "{team.group}"' in (ws / "workbench.toml").read_text()
    assert stat.S_IMODE(ws.stat().st_mode) == 0o2770 and ws.stat().st_gid == team.gid
    spec = _write(team.base / "tiny.toml", TINY)
    csv = _write(team.base / "visits.csv", VISITS)
    pilot = _write(team.base / "pilot_alice.py", PILOT)

    # bob (umask 0077) runs a batch, carol (umask 0002) ingests, alice (umask 0022) watches in the TUI.
    bob = team.start_workbench(team.bob, "-w", str(ws), "batch", str(spec), "--json", umask=0o077)
    carol = team.start_workbench(team.carol, "-w", str(ws), "lake", "ingest", str(csv), "--table", "visits",
                                 umask=0o002)
    alice = team.start_as(team.alice, [str(team.python), str(pilot), str(ws), "visits", "tiny"], umask=0o022)
    outs = {who: proc.communicate(timeout=900) for who, proc in (("bob", bob), ("carol", carol), ("alice", alice))}
    assert bob.returncode == 0, outs["bob"][1]
    assert carol.returncode == 0, outs["carol"][1]
    assert alice.returncode == 0, outs["alice"][1]
    run = json.loads(outs["bob"][0])
    seen = json.loads(outs["alice"][0].strip().splitlines()[-1])
    assert "visits" in seen["tables"] and "penguins" in seen["tables"]
    assert [run["run_id"], "tiny", "succeeded"] in seen["runs"]

    assert _not_shared(ws, team.gid) == []
    # SQLite's -wal and -shm files, made by bob (umask 0077) while he has the log open, are the group's.
    wal = team.python_as(team.bob, WAL_MODES, str(ws / "audit.sqlite"), umask=0o077)
    assert wal.returncode == 0, wal.stderr
    assert json.loads(wal.stdout) == {"-wal": ["0o660", team.gid], "-shm": ["0o660", team.gid]}
    verified = team.workbench(team.carol, "-w", str(ws), "audit", "verify", umask=0o002)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    healthy = team.workbench(team.bob, "-w", str(ws), "doctor", "--json", umask=0o077)
    assert healthy.returncode == 0, healthy.stdout
    report = json.loads(healthy.stdout)
    assert report["ok"] and report["problems"] == [] and report["shared_group"] == team.group

    # Each of them sees who did what: the actor is each one's OS login.
    events = team.workbench(team.alice, "-w", str(ws), "audit", "search", "visits", "--json")
    assert events.returncode == 0, events.stderr
    assert team.carol.name in {e["actor"] for e in json.loads(events.stdout)}

    # Mallory, outside the group, can read nothing.
    peek = team.python_as(team.mallory, "import sys; open(sys.argv[1], 'rb').read(16)", str(ws / "audit.sqlite"))
    assert peek.returncode != 0 and "PermissionError" in peek.stderr
    refused = team.workbench(team.mallory, "-w", str(ws), "lake", "tables")
    assert refused.returncode == 2 and "is not readable" in refused.stderr
    refused = team.workbench(team.mallory, "lake", "tables", env={"WORKBENCH_HOME": str(ws)})
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"Error: You may not open {ws}: it is private to group '{team.group}'."


HOLD_LOCKS = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from workbench.lake.write_lock import lake_write_lock
    from workbench.runs.slots import run_slot
    from workbench.workspace.locate import locate_workspace

    ws = locate_workspace(Path(sys.argv[1])).workspace
    with lake_write_lock(ws), run_slot(ws, on_wait=lambda n: None) as slot:
        print("holding", slot, flush=True)
        time.sleep(3600)
''')

TAKE_LOCKS = textwrap.dedent('''
    import fcntl, json, os, sys
    from pathlib import Path
    from workbench.lake.write_lock import lake_write_lock, lock_path
    from workbench.process_identity import process_alive
    from workbench.runs.slots import run_slot
    from workbench.workspace.locate import locate_workspace

    ws = locate_workspace(Path(sys.argv[1])).workspace
    if sys.argv[2] == "probe":  # while bob's process lives: the files open for writing, the locks are held
        fd = os.open(lock_path(ws), os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = False
        except OSError:
            held = True
        print(json.dumps({"held": held, "alive": process_alive(int(sys.argv[3]), None)}))
    else:
        with lake_write_lock(ws), run_slot(ws, on_wait=lambda n: sys.exit("no free slot")) as slot:
            print(json.dumps({"slot": slot}))
''')


def test_a_lock_left_by_a_killed_teammate_is_taken_over(team: Team) -> None:
    ws = _init(team, "locks")
    (ws / "workbench.toml").write_text((ws / "workbench.toml").read_text().replace("max_concurrent = 2",
                                                                                    "max_concurrent = 1"))
    hold = _write(team.base / "hold_locks.py", HOLD_LOCKS)
    take = _write(team.base / "take_locks.py", TAKE_LOCKS)
    # setpriv and sh exec, so the process started is bob's python itself.
    bob = team.start_as(team.bob, [str(team.python), str(hold), str(ws)], umask=0o077)
    try:
        line = bob.stdout.readline()
        assert line.split() == ["holding", "0"], bob.stderr.read() if bob.poll() is not None else line
        probe = team.run_as(team.carol, [str(team.python), str(take), str(ws), "probe", str(bob.pid)], umask=0o002)
        assert probe.returncode == 0, probe.stderr
        # carol may open bob's lock file, finds it held, and counts bob's live process as alive (a
        # PermissionError from kill(pid, 0) means "someone else's", not "gone").
        assert json.loads(probe.stdout) == {"held": True, "alive": True}
    finally:
        bob.kill()  # SIGKILL: bob's process leaves its locks behind as it dies
        bob.communicate(timeout=60)
    took = team.run_as(team.carol, [str(team.python), str(take), str(ws), "take"], umask=0o002, timeout=120)
    assert took.returncode == 0, took.stderr
    assert json.loads(took.stdout) == {"slot": 0}
    assert _not_shared(ws, team.gid) == []


def test_doctor_finds_a_teammates_private_file_and_its_owner_repairs_it(team: Team) -> None:
    ws = _init(team, "doctor")
    csv = _write(team.base / "visits_doctor.csv", VISITS)
    ingest = team.workbench(team.bob, "-w", str(ws), "lake", "ingest", str(csv), "--table", "visits", umask=0o077)
    assert ingest.returncode == 0, ingest.stderr
    bobs = sorted(p for p in ws.rglob("*") if p.is_file() and p.stat().st_uid == team.bob.uid)
    assert bobs, f"bob's ingest wrote no file: {sorted(map(str, ws.rglob('*')))}"
    broken = bobs[0]
    rel = broken.relative_to(ws).as_posix()
    chmod = team.run_as(team.bob, ["chmod", "0644", str(broken)])
    assert chmod.returncode == 0, chmod.stderr

    found = team.workbench(team.carol, "-w", str(ws), "doctor")
    assert found.returncode == 1
    lines = [line for line in found.stdout.splitlines() if line.startswith("PROBLEM")]
    assert any(rel in line and "cannot write" in line and team.bob.name in line for line in lines), found.stdout
    assert any(rel in line and "open to everyone" in line for line in lines), found.stdout
    assert all(rel in line for line in lines), found.stdout  # nothing else is wrong

    not_hers = team.workbench(team.carol, "-w", str(ws), "doctor", "--fix", "--json")
    assert not_hers.returncode == 1
    repairs = json.loads(not_hers.stdout)["repairs"]
    assert repairs == [{"path": rel, "fixed": False,
                        "note": f"owned by {team.bob.name}: {team.bob.name} (or root) must run `workbench doctor --fix`"}]
    assert stat.S_IMODE(broken.stat().st_mode) == 0o644

    fixed = team.workbench(team.bob, "-w", str(ws), "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert f"FIXED {rel}" in fixed.stdout
    assert stat.S_IMODE(broken.stat().st_mode) == 0o660
    again = team.workbench(team.carol, "-w", str(ws), "doctor")
    assert again.returncode == 0 and "OK: no problems found" in again.stdout, again.stdout


def test_init_shared_refuses_a_missing_group_or_one_you_are_not_in(team: Team) -> None:
    target = team.srv / "refused"
    missing = team.workbench(team.alice, "init", "--shared", "nosuchgroup", str(target))
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("Error: There is no group 'nosuchgroup' on this machine "
                                      "(create it with `groupadd nosuchgroup`).")
    outsider = team.workbench(team.mallory, "init", "--shared", team.group, str(target))
    assert outsider.returncode == 2
    assert outsider.stderr.strip().startswith(f"Error: You are not in group '{team.group}'")
    assert len(outsider.stderr.strip().splitlines()) == 1
    assert not target.exists()


def test_doctor_on_a_single_user_workspace_checks_only_its_users_access(team: Team) -> None:
    ws = team.srv / "bobs_own"
    made = team.workbench(team.bob, "init", str(ws), umask=0o022)
    assert made.returncode == 0, made.stderr
    healthy = team.workbench(team.bob, "-w", str(ws), "doctor")
    assert healthy.returncode == 0, healthy.stdout
    assert "Single-user workspace" in healthy.stdout and "OK: no problems found" in healthy.stdout
    assert team.run_as(team.bob, ["chmod", "0444", str(ws / "registry.sqlite")]).returncode == 0
    found = team.workbench(team.bob, "-w", str(ws), "doctor", "--json")
    assert found.returncode == 1
    problems = json.loads(found.stdout)["problems"]
    assert [(p["path"], p["fix"]) for p in problems] == [("registry.sqlite", "chmod u+rw registry.sqlite")]
    fixed = team.workbench(team.bob, "-w", str(ws), "doctor", "--fix")
    assert fixed.returncode == 0 and "FIXED registry.sqlite" in fixed.stdout, fixed.stdout
    assert stat.S_IMODE((ws / "registry.sqlite").stat().st_mode) == 0o644


LONG = ('name = "long"\ntarget = "species"\ncandidates = ["random_forest", "extra_trees"]\nmax_trials = 500\n'
        'cv_folds = 5\ntime_budget_s = 300\n[data]\ntable = "penguins"\n')


def _run_row(team: Team, user, ws: Path, run_id: str) -> dict:  # type: ignore[no-untyped-def]
    shown = team.workbench(user, "-w", str(ws), "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["run"]


def _until_state(team: Team, user, ws: Path, run_id: str, states: set[str], tries: int = 600) -> dict:  # type: ignore[no-untyped-def]
    """Poll the run as `user` until it reaches one of `states` (bounded: a stuck run fails the test)."""
    import time

    for _ in range(tries):
        row = _run_row(team, user, ws, run_id)
        if row["state"] in states:
            return row
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} never reached {states}: {row['state']}")


def test_a_teammates_run_can_be_cancelled_and_a_killed_one_is_reaped(team: Team) -> None:
    ws = _init(team, "runs", "--sample")
    spec = _write(team.base / "long.toml", LONG)
    started = team.workbench(team.bob, "-w", str(ws), "batch", str(spec), "--detach", "--json", umask=0o077)
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run_id"]
    _until_state(team, team.carol, ws, run_id, {"running"})
    # carol may not signal bob's worker: the cancel is recorded and bob's worker stops at its next step.
    cancel = team.workbench(team.carol, "-w", str(ws), "runs", "cancel", run_id, umask=0o002)
    assert cancel.returncode == 0, cancel.stderr
    assert cancel.stdout.strip() == f"Cancel requested; {team.bob.name}'s worker will stop at its next step."
    assert _until_state(team, team.carol, ws, run_id, {"cancelled", "succeeded", "failed"})["state"] == "cancelled"

    again = team.workbench(team.bob, "-w", str(ws), "batch", str(spec), "--detach", "--json", umask=0o077)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)["run_id"]
    pid = _until_state(team, team.carol, ws, second, {"running"})["pid"]
    os.killpg(pid, signal.SIGKILL)  # bob's detached worker leads its own session: it and its pool die
    # carol's next look at the runs notices bob's dead worker (kill(pid, 0) says "no such process").
    assert _until_state(team, team.carol, ws, second, {"interrupted"}, tries=60)["state"] == "interrupted"
    assert _not_shared(ws, team.gid) == []


def test_a_lock_file_a_teammate_made_private_is_refused_in_one_sentence(team: Team) -> None:
    ws = _init(team, "private_lock")
    lock = ws / ".workbench" / "lake.write.lock"
    lock.unlink(missing_ok=True)
    made = team.python_as(team.alice, "import os, sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600))",
                          str(lock))
    assert made.returncode == 0, made.stderr
    csv = _write(team.base / "visits_lock.csv", VISITS)
    refused = team.workbench(team.bob, "-w", str(ws), "lake", "ingest", str(csv), "--table", "visits")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"Error: You cannot write .workbench/lake.write.lock (it belongs to "
                                      f"{team.alice.name}); `workbench doctor --fix` run by {team.alice.name} "
                                      "makes it the group's.")
    tables = team.workbench(team.bob, "-w", str(ws), "lake", "tables", "--json")
    assert tables.returncode == 0 and json.loads(tables.stdout) == []  # nothing was written
    assert team.workbench(team.alice, "-w", str(ws), "doctor", "--fix").returncode == 0
    assert team.workbench(team.bob, "-w", str(ws), "lake", "ingest", str(csv), "--table", "visits").returncode == 0
