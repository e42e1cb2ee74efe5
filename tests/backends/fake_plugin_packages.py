"""Installable-looking plugin packages that are broken in every way a real one can be.

They live in a folder put on sys.path (or PYTHONPATH for the CLI), with `.dist-info` metadata so that
`importlib.metadata.entry_points()` finds them exactly as it finds pip-installed plugins.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

BROKEN_DIST = "workbench-broken-plugins"

_MODULES = {
    "broken_import_plugin.py": 'raise RuntimeError("boom at import")\n',
    "exit_import_plugin.py": 'import sys\nsys.exit(1)  # a plugin that ends the process that imports it\n',
    "probe_fault_plugin.py": '''
import sys
import time


class _Compute:
    SUPPORTS_CANCEL = False
    SUPPORTS_RETRY = False

    def worker_count(self):
        return 1

    def close(self):
        pass


class RaisesOnProbe(_Compute):
    name = "raises-on-probe"

    def run_tasks(self, tasks, **kwargs):
        raise RuntimeError("boom at probe")


class ExitsOnProbe(_Compute):
    name = "exits-on-probe"

    def run_tasks(self, tasks, **kwargs):
        sys.exit(4)


class NeverAnswers(_Compute):
    """Starts, then never finishes a task: a scheduler that accepted the connection and went quiet."""

    name = "never-answers"

    def run_tasks(self, tasks, **kwargs):
        time.sleep(3600)
''',
    "dup_option_plugin.py": '''
from workbench.backends.options import Option
from workbench.backends.local import LocalCompute


class TwiceDeclared(LocalCompute):
    name = "twice"
    OPTIONS = (Option("workers", int), Option("workers", int))


class HalfStorage:
    name = "half"
    SUPPORTS_DUCKDB = False

    def read(self, key):
        return b""


class Fine(LocalCompute):
    name = "needy"
''',
}

_ENTRY_POINTS = """\
[workbench.compute]
explodes = broken_import_plugin:Backend
quits = exit_import_plugin:Backend
raises-on-probe = probe_fault_plugin:RaisesOnProbe
exits-on-probe = probe_fault_plugin:ExitsOnProbe
never-answers = probe_fault_plugin:NeverAnswers
twice = dup_option_plugin:TwiceDeclared
ghost = missing_module_plugin:Backend

[workbench.storage]
half = dup_option_plugin:HalfStorage
"""


FAKE_MODULES = ("broken_import_plugin", "dup_option_plugin", "exit_import_plugin", "probe_fault_plugin")


def install_fake_plugins(root: Path, *, hanging: bool = False) -> Path:
    """Write the fake packages under `root` and return the folder to put on sys.path. With `hanging`,
    also a plugin whose import never finishes (for subprocesses only: an abandoned import keeps its
    module locked in the process that tried it)."""
    site = root / "fake-site"
    site.mkdir(parents=True, exist_ok=True)
    for name, text in _MODULES.items():
        (site / name).write_text(text)
    info = site / "workbench_broken_plugins-0.0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {BROKEN_DIST}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(_ENTRY_POINTS)
    needy = site / "workbench_needy_plugin-0.0.2.dist-info"
    needy.mkdir(exist_ok=True)
    (needy / "METADATA").write_text("Metadata-Version: 2.1\nName: workbench-needy-plugin\nVersion: 0.0.2\n"
                                    "Requires-Dist: definitely-not-installed-xyz>=1\n"
                                    "Requires-Dist: pytest; extra == 'test'\n")
    (needy / "entry_points.txt").write_text("[workbench.compute]\nneedy = dup_option_plugin:Fine\n")
    if hanging:
        (site / "hanging_import_plugin.py").write_text("import time\ntime.sleep(3600)\n")
        hangs = site / "workbench_hanging_plugin-0.0.3.dist-info"
        hangs.mkdir(exist_ok=True)
        (hangs / "METADATA").write_text("Metadata-Version: 2.1\nName: workbench-hanging-plugin\nVersion: 0.0.3\n")
        (hangs / "entry_points.txt").write_text("[workbench.compute]\nhangs = hanging_import_plugin:Backend\n")
    return site


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake plugin packages, importable in this process (and in a CLI given `fake_env`)."""
    site = install_fake_plugins(tmp_path)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for mod in FAKE_MODULES:
        sys.modules.pop(mod, None)


def fake_env(site: Path) -> dict[str, str]:
    """Environment for a `workbench` subprocess that sees the fake plugins."""
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
