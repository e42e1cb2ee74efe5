"""A workspace shared by a team: one OS group owns the folder, and every member can write every file.

The modes are the classic shared-folder set-up: folders 2770 (setgid, so whatever anyone creates inside
gets the workspace's group; group rwx; others nothing), files 0660 (0770 if executable). They stay right
whatever each person's umask because every entry point that opens a shared workspace sets the process's
umask to 0o007 (`apply_shared_umask`), and the few places that create files with a fixed mode
(`tempfile.mkstemp` always makes 0600) give them the umask's mode instead (`match_umask`).
"""

from __future__ import annotations

import grp
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkspaceError

if TYPE_CHECKING:
    from workbench.workspace.model import Workspace

SHARED_UMASK = 0o007
SHARED_DIR_MODE = 0o2770
SHARED_FILE_MODE = 0o660
SHARED_EXEC_MODE = 0o770
# POSIX portable group names (useradd's default rule); a trailing newline is not a name.
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def check_group_name(name: str, where: str = "The group") -> str:
    """`name` if it is a valid group name, else a WorkspaceError naming `where`."""
    if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
        raise WorkspaceError(f"{where} {name!r} is not a valid group name (letters, digits, '_', '.', '-').")
    return name


def member_group(name: str) -> grp.struct_group:
    """The OS group `name`, if it exists and this process is in it; refuses in one sentence otherwise."""
    check_group_name(name)
    try:
        group = grp.getgrnam(name)
    except KeyError:
        raise WorkspaceError(f"There is no group {name!r} on this machine (create it with `groupadd {name}`).") from None
    if not in_group(group.gr_gid):
        raise WorkspaceError(
            f"You are not in group {name!r} (add yourself with `usermod -aG {name} $USER`, then log in again).")
    return group


def in_group(gid: int) -> bool:
    """True if this process acts with group `gid` (primary or supplementary): it may chgrp files to it."""
    return gid in (os.getgid(), os.getegid(), *os.getgroups())


def shared_group(ws: "Workspace") -> str | None:
    """The workspace's `[workspace] shared_group`, or None for a single-user workspace."""
    return ws.settings.shared_group


def apply_shared_umask(ws: "Workspace") -> int | None:
    """Set this process's umask to 0o007 if `ws` is shared, so everything it creates is group-writable and
    private to the group whatever the user's own umask; returns the previous umask (None: not shared)."""
    if not shared_group(ws):
        return None
    return os.umask(SHARED_UMASK)


def current_umask() -> int:
    """This process's umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it, briefly
    os.umask(mask)
    return mask


def match_umask(fd: int) -> None:
    """Give a file made with a fixed restrictive mode (mkstemp: 0600) the mode `open()` would have given it,
    so a teammate can replace or read what this process wrote."""
    os.fchmod(fd, 0o666 & ~current_umask())


def shared_mode(mode: int) -> int:
    """The mode a path with `mode` (from `os.stat`) should have in a shared workspace."""
    if stat.S_ISDIR(mode):
        return SHARED_DIR_MODE
    return SHARED_EXEC_MODE if mode & 0o100 else SHARED_FILE_MODE


def share_tree(root: Path, gid: int) -> None:
    """Give every folder and file under `root` (itself included) the group `gid` and the shared modes.

    Used by `workbench init --shared` on the folder it has just created, so every path is the caller's own;
    symbolic links are left alone (their target decides)."""
    paths = [root, *root.rglob("*")]
    for path in paths:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_gid != gid:
            os.chown(path, -1, gid)
        # chown may clear setgid/setuid bits, so the mode is set after it.
        os.chmod(path, shared_mode(st.st_mode))


def owner_name(uid: int) -> str:
    """The login of `uid`, or the number when the account is gone."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def not_writable(ws: "Workspace", path: Path) -> WorkspaceError:
    """The one-sentence refusal for a workspace file this user may not write (a lock, a slot, a cache)."""
    try:
        owner = owner_name(path.stat().st_uid)
    except OSError:
        owner = "its owner"
    where = path.relative_to(ws.root) if path.is_relative_to(ws.root) else path
    return WorkspaceError(f"You cannot write {where} (it belongs to {owner}); "
                          f"`workbench doctor --fix` run by {owner} makes it the group's.")


def share_new_folders(ws: "Workspace", folder: Path) -> None:
    """In a shared workspace, open to the group the folders under `folder` that this process made with a
    fixed mode (DuckDB makes its table and extension folders 0755, which the umask turns into 0750)."""
    if not shared_group(ws) or not folder.is_dir():
        return
    me = os.geteuid()
    for path in [folder, *(Path(d) / name for d, names, _ in os.walk(folder) for name in names)]:
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode) and st.st_uid == me and st.st_mode & 0o2070 != 0o2070:
            os.chmod(path, (stat.S_IMODE(st.st_mode) | 0o2070) & ~0o007)
