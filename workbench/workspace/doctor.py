"""`workbench doctor`: what in a workspace's files keeps someone from using it, and the fix for each.

A shared workspace (`[workspace] shared_group`) must be the group's throughout: every path in the group,
folders setgid with group rwx, files group-writable, nothing readable from outside the group. A
single-user workspace needs only that its user can read and write it. `repair` fixes what the current
user may fix (their own files; root: all) and says who must fix the rest.
"""

from __future__ import annotations

import grp
import os
import shlex
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.workspace.model import Workspace
from workbench.workspace.sharing import in_group, owner_name

# Paths whose narrower modes are deliberate (relative to the workspace, as glob patterns).
PRIVATE = (".workbench/runs/*.spec.json",)  # a queued run's unredacted spec, read only by its own worker
READ_ONLY = ("audit-archive/*",)            # sealed archives of old events: the group reads, nobody writes


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one path, and the shell command that fixes it (run in the workspace folder)."""

    path: str        # relative to the workspace; "." is the folder itself
    problem: str
    fix: str
    owner: str       # who may run the fix (the path's owner; root may always)
    account: bool = False  # a problem with the group or a membership, not with the path: root fixes it


@dataclass(frozen=True)
class Repair:
    path: str
    fixed: bool
    note: str


@dataclass
class DoctorReport:
    root: Path
    shared_group: str | None
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Healthy: no problem left (after `--fix`, only those it could not repair count)."""
        if self.repairs:
            return all(r.fixed for r in self.repairs)
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"workspace": str(self.root), "shared_group": self.shared_group, "ok": self.ok, "checked": self.checked,
                "problems": [asdict(p) for p in self.problems], "repairs": [asdict(r) for r in self.repairs]}


def diagnose(ws: Workspace) -> DoctorReport:
    """Check every path in the workspace folder (symbolic links are skipped: their targets decide)."""
    report = DoctorReport(ws.root, ws.settings.shared_group)
    gid = None
    if report.shared_group is not None:
        try:
            gid = grp.getgrnam(report.shared_group).gr_gid
        except KeyError:
            group = report.shared_group
            report.problems.append(Problem(".", f"the workspace's group {group!r} does not exist on this machine",
                                           f"groupadd {shlex.quote(group)}", "root", account=True))
            return report
        if not in_group(gid) and os.geteuid() != 0:  # root needs no membership to use or repair it
            me = owner_name(os.geteuid())
            report.problems.append(Problem(".", f"you ({me}) are not in the workspace's group {report.shared_group!r}",
                                           f"usermod -aG {shlex.quote(report.shared_group)} {me}  # then log in again",
                                           "root", account=True))
    for path in _walk(ws.root, report):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue  # e.g. a -wal file its last connection removed while we looked
        if stat.S_ISLNK(st.st_mode):
            continue
        report.checked += 1
        rel = _rel(ws.root, path)
        found = _shared_problems(rel, st, gid, report.shared_group) if gid is not None else _single_user_problems(rel, path, st)
        report.problems.extend(found)
    return report


def _walk(root: Path, report: DoctorReport) -> list[Path]:
    paths = [root]

    def unlisted(err: OSError) -> None:
        rel = _rel(root, Path(err.filename))
        who = "g" if report.shared_group else "u"
        report.problems.append(Problem(rel, "you cannot list this folder", f"chmod {who}+rwx {shlex.quote(rel)}",
                                       _owner_of(Path(err.filename))))

    for folder, dirs, files in os.walk(root, onerror=unlisted):
        base = Path(folder)
        paths.extend(base / name for name in sorted(dirs) + sorted(files))
    return paths


def _rel(root: Path, path: Path) -> str:
    return "." if path == root else path.relative_to(root).as_posix()


def _owner_of(path: Path) -> str:
    try:
        return owner_name(path.lstat().st_uid)
    except OSError:
        return "root"


def _kind(rel: str) -> str:
    """"private", "read-only" or "shared": how much of the group's access a path is meant to give."""
    path = Path(rel)
    if any(path.match(p) for p in PRIVATE):
        return "private"
    if any(path.match(p) for p in READ_ONLY):
        return "read-only"
    return "shared"


def _shared_problems(rel: str, st: os.stat_result, gid: int, group: str) -> list[Problem]:
    mode, owner, q = st.st_mode, owner_name(st.st_uid), shlex.quote(rel)
    is_dir = stat.S_ISDIR(mode)
    what = "folder" if is_dir else "file"
    found = []
    if st.st_gid != gid:
        found.append(Problem(rel, f"{what} is in group {_group_name(st.st_gid)!r}, not {group!r}",
                             f"chgrp {shlex.quote(group)} {q}", owner))
    kind = "shared" if is_dir else _kind(rel)
    if is_dir and not mode & stat.S_ISGID:
        found.append(Problem(rel, "folder is not setgid, so what is made in it gets its maker's group, not the team's",
                             f"chmod g+s {q}", owner))
    needed = {"shared": 0o070 if is_dir else 0o060, "read-only": 0o040, "private": 0}[kind]
    if not is_dir and kind == "shared" and mode & 0o100:
        needed |= 0o010  # an executable stays executable for the group
    missing = needed & ~mode
    if missing:
        letters = "".join(c for bit, c in ((0o040, "r"), (0o020, "w"), (0o010, "x")) if missing & bit)
        found.append(Problem(rel, _missing_text(rel, what, letters, mode, owner), f"chmod g+{letters} {q}", owner))
    if mode & 0o007:
        found.append(Problem(rel, f"{what} is open to everyone on the machine (mode {_mode(mode)}), not only the group",
                             f"chmod o-rwx {q}", owner))
    return found


def _missing_text(rel: str, what: str, letters: str, mode: int, owner: str) -> str:
    name = Path(rel).name
    for suffix, label in (("-wal", "WAL"), ("-shm", "shared-memory")):
        if name.endswith(suffix) and "w" in letters:
            return (f"SQLite {label} file of {name[:-len(suffix)]} is not group-writable (mode {_mode(mode)}, "
                    f"owner {owner}): the others' reads and writes of that database fail")
    verbs = {"r": "read", "w": "write", "x": "enter" if what == "folder" else "run"}
    return (f"the group cannot {' or '.join(verbs[c] for c in letters)} this {what} "
            f"(mode {_mode(mode)}, owner {owner})")


def _single_user_problems(rel: str, path: Path, st: os.stat_result) -> list[Problem]:
    is_dir = stat.S_ISDIR(st.st_mode)
    kind = "shared" if is_dir else _kind(rel)
    if kind == "private" and st.st_uid != os.geteuid():
        return []  # another user's queued run: theirs alone
    need = os.R_OK | os.X_OK | os.W_OK if is_dir else os.R_OK | (0 if kind == "read-only" else os.W_OK)
    if os.access(path, need, follow_symlinks=False):
        return []
    owner, q = owner_name(st.st_uid), shlex.quote(rel)
    letters = "rwx" if is_dir else ("r" if kind == "read-only" else "rw")
    me = owner_name(os.geteuid())
    fix = f"chmod u+{letters} {q}" if st.st_uid == os.geteuid() else f"chown {shlex.quote(me)} {q}"
    what = "folder" if is_dir else "file"
    return [Problem(rel, f"you ({me}) cannot {'use' if is_dir else 'read and write'} this {what} "
                         f"(mode {_mode(st.st_mode)}, owner {owner})", fix, owner if st.st_uid == os.geteuid() else "root")]


def _mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def repair(ws: Workspace, report: DoctorReport) -> DoctorReport:
    """Fix every path in `report` this user owns (root: every path); the rest is listed with who must fix it."""
    gid = grp.getgrnam(report.shared_group).gr_gid if report.shared_group and _group_exists(report.shared_group) else None
    me, root_user = os.geteuid(), os.geteuid() == 0
    for problem in report.problems:
        if problem.account:
            report.repairs.append(Repair(problem.path, False, f"needs root: {problem.fix}"))
    paths = [p.path for p in report.problems if not p.account]
    for rel in dict.fromkeys(paths):  # each path once, in report order
        problems = [p for p in report.problems if p.path == rel and not p.account]
        path = ws.root / rel
        try:
            st = path.lstat()
        except FileNotFoundError:
            report.repairs.append(Repair(rel, True, "gone since it was checked"))
            continue
        if st.st_uid != me and not root_user:
            owner = owner_name(st.st_uid)
            report.repairs.append(Repair(rel, False, f"owned by {owner}: {owner} (or root) must run `workbench doctor --fix`"))
            continue
        try:
            if gid is not None:
                _repair_shared(rel, path, st, gid)
            else:
                _repair_single_user(rel, path, st)
        except PermissionError as exc:
            report.repairs.append(Repair(rel, False, f"could not repair it: {exc.strerror}"))
            continue
        report.repairs.append(Repair(rel, True, "; ".join(p.fix for p in problems)))
    return report


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _repair_shared(rel: str, path: Path, st: os.stat_result, gid: int) -> None:
    if st.st_gid != gid:
        os.chown(path, -1, gid, follow_symlinks=False)
    mode = stat.S_IMODE(st.st_mode) & ~0o007  # chown may have cleared setgid: the whole mode is set after it
    if stat.S_ISDIR(st.st_mode):
        mode |= stat.S_ISGID | 0o070
    else:
        kind = _kind(rel)
        mode |= {"shared": 0o060, "read-only": 0o040, "private": 0}[kind]
        if kind == "shared" and mode & 0o100:
            mode |= 0o010
    os.chmod(path, mode)


def _repair_single_user(rel: str, path: Path, st: os.stat_result) -> None:
    extra = 0o700 if stat.S_ISDIR(st.st_mode) else (0o400 if _kind(rel) == "read-only" else 0o600)
    os.chmod(path, stat.S_IMODE(st.st_mode) | extra)
