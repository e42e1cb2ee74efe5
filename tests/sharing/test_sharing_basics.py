"""Shared-workspace set-up without extra OS users: the umask, mkstemp's mode, `init --shared` with the
caller's own primary group, refusals, and `doctor` finding and repairing a file."""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from workbench.workspace import Settings, Workspace
from workbench.workspace.sharing import SHARED_UMASK, apply_shared_umask, match_umask


@pytest.fixture
def restore_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def _own_group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


def _cli(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, umask=umask,
                          env={**os.environ}, timeout=300)


def test_a_shared_workspace_sets_the_umask_and_a_single_user_one_leaves_it(tmp_path: Path, restore_umask) -> None:
    os.umask(0o077)
    assert apply_shared_umask(Workspace(tmp_path, Settings())) is None
    assert os.umask(0o077) == 0o077
    assert apply_shared_umask(Workspace(tmp_path, Settings(shared_group="team"))) == 0o077
    assert os.umask(0o022) == SHARED_UMASK


def test_mkstemp_files_get_the_mode_of_the_umask(tmp_path: Path, restore_umask) -> None:
    os.umask(SHARED_UMASK)
    fd, name = tempfile.mkstemp(dir=tmp_path)
    try:
        match_umask(fd)
    finally:
        os.close(fd)
    assert stat.S_IMODE(os.stat(name).st_mode) == 0o660


def test_init_shared_gives_every_path_the_group_and_modes_whatever_the_umask(tmp_path: Path) -> None:
    group = _own_group()
    ws = tmp_path / "team"
    made = _cli("init", "--shared", group, str(ws), umask=0o077)
    assert made.returncode == 0, made.stderr
    assert f"Shared with group {group!r}" in made.stdout
    assert f'shared_group = "{group}"' in (ws / "workbench.toml").read_text()
    gid = grp.getgrnam(group).gr_gid
    for path in [ws, *ws.rglob("*")]:
        st = path.lstat()
        assert st.st_gid == gid, path
        expected = 0o2770 if stat.S_ISDIR(st.st_mode) else (0o770 if st.st_mode & 0o100 else 0o660)
        assert stat.S_IMODE(st.st_mode) == expected, (path, oct(st.st_mode))
    # A later command under a 0077 umask still makes group-writable files (the lake lock, here).
    assert not (ws / ".workbench" / "lake.write.lock").exists()
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n")
    assert _cli("-w", str(ws), "lake", "ingest", str(csv), umask=0o077).returncode == 0
    assert stat.S_IMODE((ws / ".workbench" / "lake.write.lock").stat().st_mode) == 0o660
    doctor = _cli("-w", str(ws), "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout
    assert json.loads(doctor.stdout)["ok"] is True


def test_init_shared_with_an_unknown_group_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "parent" / "ws"
    done = _cli("init", "--shared", "nosuchgroup", str(target))
    assert done.returncode == 2
    assert done.stderr == "Error: There is no group 'nosuchgroup' on this machine (create it with `groupadd nosuchgroup`).\n"
    assert not (tmp_path / "parent").exists()
    bad = _cli("init", "--shared", "team\n", str(target))
    assert bad.returncode == 2 and "is not a valid group name" in bad.stderr and not target.exists()


def test_a_bad_shared_group_in_workbench_toml_is_one_sentence(empty_workspace: Workspace) -> None:
    path = empty_workspace.settings_path
    path.write_text(path.read_text().replace('name = "empty"', 'name = "empty"\nshared_group = "no way"'))
    done = _cli("-w", str(empty_workspace.root), "doctor")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("[workspace] shared_group 'no way' is not a valid group name "
                                        "(letters, digits, '_', '.', '-').")


def test_doctor_lists_a_file_outside_the_modes_and_fix_repairs_it(tmp_path: Path) -> None:
    ws = tmp_path / "team"
    assert _cli("init", "--shared", _own_group(), str(ws)).returncode == 0
    os.chmod(ws / "registry.sqlite", 0o644)
    os.chmod(ws / "artifacts", 0o755)  # chmod clears setgid too
    found = _cli("-w", str(ws), "doctor", "--json")
    assert found.returncode == 1
    problems = {(p["path"], p["fix"]) for p in json.loads(found.stdout)["problems"]}
    assert problems == {("registry.sqlite", "chmod g+w registry.sqlite"), ("registry.sqlite", "chmod o-rwx registry.sqlite"),
                        ("artifacts", "chmod g+s artifacts"), ("artifacts", "chmod g+w artifacts"),
                        ("artifacts", "chmod o-rwx artifacts")}
    text = _cli("-w", str(ws), "doctor")
    assert "PROBLEM registry.sqlite: the group cannot write this file (mode 0644" in text.stdout
    fixed = _cli("-w", str(ws), "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert stat.S_IMODE((ws / "registry.sqlite").stat().st_mode) == 0o660
    assert stat.S_IMODE((ws / "artifacts").stat().st_mode) == 0o2770
    assert _cli("-w", str(ws), "doctor").returncode == 0


def test_doctor_on_a_single_user_workspace_says_so(empty_workspace: Workspace) -> None:
    done = _cli("-w", str(empty_workspace.root), "doctor")
    assert done.returncode == 0, done.stdout
    assert "Single-user workspace" in done.stdout and "OK: no problems found" in done.stdout
    assert _cli("-w", str(empty_workspace.root), "doctor", "--bogus").returncode == 2
