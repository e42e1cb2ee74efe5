"""Real OS users for the shared-workspace tests: a group, three members and one outsider, created with
`groupadd`/`useradd` (the test machines run as root) and removed afterwards.

The users need a Python they can execute: the interpreter on root's PATH (and the project venv's, a
symlink into /root/.pyenv) lives under root's home, which nobody else may enter. So `make_team` builds a
venv from Debian's world-executable `/usr/bin/python3` (same minor version, same cp311 ABI) in a
world-readable temp folder, with a `.pth` file that puts the repository and the project venv's
site-packages on its path (hard-linked copies when those are not reachable by other users), and proves
the arrangement by importing workbench, duckdb and lightgbm as one of the users.

Names carry a random tag (`wb1f2ealice`) so two test sessions (xdist workers, two engineers) never share
a user; each user's GECOS field records the creating pid, so users left by a killed session are removed
by the next one.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
GECOS_PREFIX = "workbench test user pid="
MEMBERS = ("alice", "bob", "carol")
OUTSIDER = "mallory"


class TeamUnavailable(Exception):
    """Real users cannot be made here (not root, no useradd): the tests skip with this reason."""


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    home: Path


@dataclass
class Team:
    """A group with members alice, bob, carol, an outsider mallory, and a Python they can all run."""

    group: str
    gid: int
    users: dict[str, OsUser]
    base: Path        # world-traversable temp folder holding the venv, homes and `srv`
    python: Path      # the interpreter every test user can execute
    srv: Path         # a sticky, world-writable folder (like /tmp) where workspaces are made

    def __getattr__(self, role: str) -> OsUser:
        users = self.__dict__.get("users", {})
        if role in users:
            return users[role]
        raise AttributeError(role)

    def env(self, user: OsUser, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment for `user`: their HOME, the test venv first on PATH, no WORKBENCH_USER."""
        return {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name, "LANG": "C.UTF-8",
                "PATH": f"{self.python.parent}:/usr/bin:/bin", "TERM": "dumb", **(extra or {})}

    def command(self, user: OsUser, argv: Sequence[str], umask: int | None = None) -> list[str]:
        """`argv` as `user` (real and effective uid/gid, their supplementary groups) with `umask`."""
        inner = ["/bin/sh", "-c", 'umask "$0" && exec "$@"', f"{0o022 if umask is None else umask:04o}", *argv]
        # Absolute paths: the child's PATH (the user's) need not hold /usr/sbin.
        setpriv = shutil.which("setpriv")
        if setpriv:
            return [setpriv, f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups", "--", *inner]
        return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user.name, "--", *inner]

    def run_as(self, user: OsUser, argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None,
               umask: int | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `argv` as `user` and wait for it (stdout and stderr captured as text)."""
        return subprocess.run(self.command(user, argv, umask), cwd=cwd or user.home, env=self.env(user, env),
                              capture_output=True, text=True, timeout=timeout)

    def start_as(self, user: OsUser, argv: Sequence[str], cwd: Path | None = None,
                 env: Mapping[str, str] | None = None, umask: int | None = None) -> subprocess.Popen[str]:
        """Start `argv` as `user` without waiting (stdout and stderr piped as text)."""
        return subprocess.Popen(self.command(user, argv, umask), cwd=cwd or user.home, env=self.env(user, env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def workbench(self, user: OsUser, *args: str, umask: int | None = None, cwd: Path | None = None,
                  env: Mapping[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """The real `workbench` command (`python -m workbench`) as `user`."""
        return self.run_as(user, [str(self.python), "-m", "workbench", *args], cwd=cwd, env=env, umask=umask,
                           timeout=timeout)

    def start_workbench(self, user: OsUser, *args: str, umask: int | None = None,
                        env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return self.start_as(user, [str(self.python), "-m", "workbench", *args], env=env, umask=umask)

    def python_as(self, user: OsUser, code: str, *args: str, umask: int | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet as `user` with the test interpreter."""
        return self.run_as(user, [str(self.python), "-c", code, *args], umask=umask, timeout=timeout)


def check_can_make_users() -> None:
    """Raise TeamUnavailable with the reason when this machine cannot give us real users."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise TeamUnavailable("creating OS users needs root (the CI machine runs the tests as root)")
    missing = [tool for tool in ("useradd", "groupadd", "userdel", "groupdel") if shutil.which(tool) is None]
    if missing:
        raise TeamUnavailable(f"{', '.join(missing)} not found (package `passwd`)")
    if shutil.which("setpriv") is None and shutil.which("runuser") is None:
        raise TeamUnavailable("neither setpriv nor runuser is installed (package `util-linux`)")


def make_team() -> Team:
    """Create the group, the users and their interpreter; `remove_team` undoes it."""
    check_can_make_users()
    remove_leftovers()
    tag = secrets.token_hex(2)
    base = Path(tempfile.mkdtemp(prefix=f"wb-osusers-{tag}-", dir="/tmp"))
    os.chmod(base, 0o755)
    group = f"wb{tag}team"
    team = Team(group=group, gid=-1, users={}, base=base, python=base / "venv" / "bin" / "python", srv=base / "srv")
    try:
        _run(["groupadd", group])
        team.gid = grp.getgrnam(group).gr_gid
        (base / "home").mkdir(mode=0o755)
        for role in (*MEMBERS, OUTSIDER):
            name = f"wb{tag}{role}"
            argv = ["useradd", "--create-home", "--home-dir", str(base / "home" / name), "--shell", "/bin/sh",
                    "--user-group", "--comment", f"{GECOS_PREFIX}{os.getpid()} group={group}"]
            if role in MEMBERS:
                argv += ["--groups", group]
            _run([*argv, name])
            pw = pwd.getpwnam(name)
            team.users[role] = OsUser(name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))
        team.srv.mkdir()
        os.chmod(team.srv, 0o1777)
        _make_interpreter(team)
    except BaseException:
        remove_team(team)
        raise
    return team


def _run(argv: Sequence[str]) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def _reachable_by_others(path: Path) -> bool:
    """True if a user outside root's groups can read `path` (every parent folder lets others enter)."""
    path = path.resolve()
    if not os.stat(path).st_mode & stat.S_IROTH:
        return False
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _link_copy(source: Path, target: Path) -> None:
    """Copy a tree by hard links (fast, same file system), falling back to real copies."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".venv", ".git"))


def _make_interpreter(team: Team) -> None:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise RuntimeError(f"{SYSTEM_PYTHON} is missing: the test users need a world-executable Python "
                           f"{sys.version_info.major}.{sys.version_info.minor}")
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        raise RuntimeError(f"{SYSTEM_PYTHON} is Python {version}, but the project venv is "
                           f"{tuple(sys.version_info[:2])}: its compiled packages would not load")
    venv = team.base / "venv"
    _run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)])
    site_packages = Path(sysconfig.get_paths()["purelib"])
    if not _reachable_by_others(site_packages):
        copied = team.base / "site-packages"
        _link_copy(site_packages, copied)
        site_packages = copied
    repo = REPO
    if not _reachable_by_others(REPO):
        repo = team.base / "repo"
        _link_copy(REPO / "workbench", repo / "workbench")
        _link_copy(REPO / "sample_data", repo / "sample_data")
        for src in REPO.glob("plugins/*/src"):
            _link_copy(src, repo / src.relative_to(REPO))
    # The repository first (the code under test), then the project's packages with their own .pth files.
    lines = [str(repo), *(str(p) for p in sorted(repo.glob("plugins/*/src"))),
             f"import site; site.addsitedir({str(site_packages)!r})"]
    target = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    (target / "workbench_tests.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    wrapper = venv / "bin" / "workbench"
    wrapper.write_text(f"#!{venv / 'bin' / 'python'}\nfrom workbench.cli import main\nmain()\n", encoding="utf-8")
    wrapper.chmod(0o755)
    probe = team.python_as(team.bob, "import workbench, duckdb, lightgbm, textual; print(workbench.__file__)",
                           timeout=300)
    expected = str(repo / "workbench")
    if probe.returncode != 0 or not probe.stdout.strip().startswith(expected):
        raise RuntimeError(f"the test users' interpreter {team.python} cannot import the project as "
                           f"{team.bob.name} (got {probe.stdout.strip()!r}, expected {expected}/…): "
                           f"{probe.stderr.strip()[-500:]}")


def _processes_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def remove_team(team: Team) -> None:
    """Stop what the test users still run (by pid), delete them, their group and the temp folder."""
    uids = {u.uid for u in team.users.values()}
    for pid in _processes_of(uids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for user in team.users.values():
        subprocess.run(["userdel", "--remove", user.name], capture_output=True, timeout=120)
    if team.gid >= 0:
        subprocess.run(["groupdel", team.group], capture_output=True, timeout=120)
    shutil.rmtree(team.base, ignore_errors=True)


def remove_leftovers() -> None:
    """Delete test users (and their groups) made by a test session whose process is gone."""
    pattern = re.compile(re.escape(GECOS_PREFIX) + r"(\d+) group=(\S+)")
    groups: set[str] = set()
    for pw in pwd.getpwall():
        match = pattern.fullmatch(pw.pw_gecos)
        if match is None or _alive(int(match.group(1))):
            continue
        for pid in _processes_of({pw.pw_uid}):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", "--remove", pw.pw_name], capture_output=True, timeout=120)
        groups.add(match.group(2))
        base = Path(pw.pw_dir).parent.parent  # the dead session's temp folder (venv, srv)
        if base.name.startswith("wb-osusers-") and base.parent == Path("/tmp"):
            shutil.rmtree(base, ignore_errors=True)
    for name in groups:
        subprocess.run(["groupdel", name], capture_output=True, timeout=120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
