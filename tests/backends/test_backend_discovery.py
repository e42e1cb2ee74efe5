"""Discovery: listing never imports plugins; broken ones are reported with their reason, never fatal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from fake_plugin_packages import fake_site  # noqa: F401  (a fixture)
from workbench.backends.discovery import get_compute_backend, get_storage_backend, list_plugins, load_backend_class
from workbench.errors import BackendUnavailableError, ExitCode


def _by_name(infos):
    return {(i.kind, i.name): i for i in infos}


def test_builtins_register_through_entry_points():
    infos = _by_name(list_plugins())
    assert infos[("compute", "local")].package == "workbench"
    assert infos[("storage", "local")].package == "workbench"
    assert infos[("compute", "local")].status == "available"


def test_listing_does_not_import_plugins(fake_site: Path):
    infos = _by_name(list_plugins())
    assert "broken_import_plugin" not in sys.modules and "dup_option_plugin" not in sys.modules
    assert infos[("compute", "explodes")].status == "available"  # cannot be known without importing it
    ghost = infos[("compute", "ghost")]
    assert ghost.status == "broken" and "missing_module_plugin" in ghost.error
    needy = infos[("compute", "needy")]
    assert needy.status == "broken" and "definitely-not-installed-xyz" in needy.error


def test_check_imports_and_reports_each_broken_plugin(fake_site: Path):
    infos = _by_name(list_plugins(check=True))
    assert "RuntimeError: boom at import" in infos[("compute", "explodes")].error
    assert "declared twice" in infos[("compute", "twice")].error
    assert "does not define" in infos[("storage", "half")].error and "write" in infos[("storage", "half")].error
    assert infos[("compute", "local")].status == "ok"
    assert infos[("storage", "local")].status == "ok"


def test_using_a_broken_plugin_is_a_clear_exit_3(fake_site: Path):
    with pytest.raises(BackendUnavailableError) as err:
        get_compute_backend("explodes")
    assert err.value.exit_code == ExitCode.BACKEND_UNAVAILABLE
    assert "failed to import: RuntimeError: boom at import" in err.value.message
    with pytest.raises(BackendUnavailableError, match="declared twice"):
        load_backend_class("workbench.compute", "twice")
    with pytest.raises(BackendUnavailableError, match="No compute back-end named 'nope'"):
        get_compute_backend("nope")
    # ...and everything else still works.
    backend = get_compute_backend("local", workers=1)
    backend.close()
    assert get_storage_backend("local", root=str(fake_site)).root == fake_site.resolve()


def test_a_constructor_failure_is_a_start_failure():
    with pytest.raises(BackendUnavailableError, match="failed to start"):
        get_compute_backend("local", workers=1, bogus=True)


def test_cli_lists_broken_plugins_and_keeps_working(fake_site: Path, cli, empty_workspace):
    env = {"PYTHONPATH": os.pathsep.join([str(fake_site), os.environ.get("PYTHONPATH", "")])}
    listed = cli("plugins", "list", "--json", "--check", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    assert rows[("compute", "explodes")]["status"] == "broken"
    assert rows[("compute", "twice")]["status"] == "broken"
    assert rows[("compute", "local")]["status"] == "ok"
    assert {"name", "kind", "package", "version", "status"} <= set(rows[("compute", "local")])

    used = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "twice", env=env)
    assert used.returncode == ExitCode.BACKEND_UNAVAILABLE
    assert used.stderr.strip().startswith("Error:") and "declared twice" in used.stderr
    assert "Traceback" not in used.stderr

    ok = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "local", "--workers", "1", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "ok" in ok.stdout
