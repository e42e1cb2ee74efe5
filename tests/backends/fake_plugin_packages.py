"""Installable-looking plugin packages that are broken in every way a real one can be.

They live in a folder put on sys.path (or PYTHONPATH for the CLI), with `.dist-info` metadata so that
`importlib.metadata.entry_points()` finds them exactly as it finds pip-installed plugins.
"""

from __future__ import annotations

from pathlib import Path

BROKEN_DIST = "workbench-broken-plugins"

_MODULES = {
    "broken_import_plugin.py": 'raise RuntimeError("boom at import")\n',
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
twice = dup_option_plugin:TwiceDeclared
ghost = missing_module_plugin:Backend

[workbench.storage]
half = dup_option_plugin:HalfStorage
"""


def install_fake_plugins(root: Path) -> Path:
    """Write the fake packages under `root` and return the folder to put on sys.path."""
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
    return site
