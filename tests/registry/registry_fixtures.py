"""Registry fixtures: fast real runs (linear candidates only) on the sample penguins table.

Not a conftest.py: a second `conftest` module would shadow tests/conftest.py for `from conftest import ...`.
Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workbench.workspace import Workspace

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def train(ws: Workspace, seed: int = 7, target: str = "species", metric: str = "log_loss", **extra) -> str:
    """Run a real (small) spec end to end and return its run id."""
    from workbench.pipeline.spec import parse_spec
    from workbench.runs.batch import run_spec

    raw = {"name": f"penguin_{target}", "target": target, "metric": metric, "holdout": 0.25, "seed": seed,
           "candidates": ["linear"], "max_trials": 3, "data": {"table": "penguins"}, **extra}
    return run_spec(ws, parse_spec(raw)).run_id


def as_user(monkeypatch: pytest.MonkeyPatch, ws: Workspace, user: str) -> Workspace:
    """Play `user` by declared name (the workspace must allow declared identities: `declared_team`).
    Real OS accounts and signatures are tested in tests/access/."""
    monkeypatch.setenv("WORKBENCH_USER", user)
    return Workspace.load(ws.root)


_POLICY_MARK = "# --- test policy (registry_fixtures.set_policy) ---"


def set_policy(ws: Workspace, text: str, *, declared: bool = True) -> Workspace:
    """Write `[governance]`/`[registry]` keys (merged with earlier ones) and adopt them as the founder.

    `declared`: also `identity = "declared"`, so tests can play alice and bob on one OS account."""
    import os
    import tomllib

    from workbench.errors import BadInputError
    from workbench.registry.policy import adopt_policy

    body = ws.settings_path.read_text(encoding="utf-8")
    base, _, old = body.partition(_POLICY_MARK)
    merged = tomllib.loads(old)
    for section, values in tomllib.loads(text).items():
        merged.setdefault(section, {}).update(values)
    if declared:
        merged.setdefault("governance", {}).setdefault("identity", "declared")
    lines = [_POLICY_MARK]
    for section, values in merged.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items() if not isinstance(v, dict)]
        for k, v in values.items():
            if isinstance(v, dict):
                lines.append(f"[{section}.{k}]")
                lines += [f"{_toml(n)} = {_toml(r)}" for n, r in v.items()]
    ws.settings_path.write_text(base.rstrip() + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    label = os.environ.pop("WORKBENCH_USER", None)  # the founder (the OS account) adopts it
    try:
        adopt_policy(Workspace.load(ws.root), "test policy")
    except BadInputError as exc:
        if "already the one in force" not in str(exc):
            raise
    finally:
        if label is not None:
            os.environ["WORKBENCH_USER"] = label
    return Workspace.load(ws.root)


def _toml(value) -> str:  # noqa: ANN001
    import json

    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def declared_team(ws: Workspace) -> Workspace:
    """The workspace plays several people by declared name (`[governance] identity = "declared"`)."""
    return set_policy(ws, "")


@contextmanager
def _isolated(folder: Path, founder_key: Path) -> Iterator[None]:
    """The environment `tests/conftest.py:_isolated_env` gives a test, for a session fixture (which runs
    before it): no developer identity, home or keys; the founder's test key."""
    names = ("XDG_DATA_HOME", "WORKBENCH_HOME", "WORKBENCH_USER", "WORKBENCH_SIGNING_KEY", "SSH_AUTH_SOCK", "HOME")
    saved = {k: os.environ.get(k) for k in names}
    (folder / "home").mkdir(parents=True, exist_ok=True)
    for k in ("WORKBENCH_HOME", "WORKBENCH_USER", "SSH_AUTH_SOCK"):
        os.environ.pop(k, None)
    os.environ.update(XDG_DATA_HOME=str(folder / "xdg-data"), WORKBENCH_SIGNING_KEY=str(founder_key),
                      HOME=str(folder / "home"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _built_once(template: Path, tmp_path_factory: pytest.TempPathFactory, founder_key: Path, name: str,
                build: Callable[[Path], None]) -> Path:
    folder = tmp_path_factory.mktemp(name)
    root = folder / "ws"
    shutil.copytree(template, root)
    with _isolated(folder, founder_key):
        build(root)
    return root


def _copy(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user: str = "alice") -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    monkeypatch.setenv("WORKBENCH_USER", user)
    return Workspace.load(root)


def _register_two(root: Path) -> None:
    from workbench.registry.register import register_run

    declared_team(Workspace.load(root))
    os.environ["WORKBENCH_USER"] = "alice"
    ws = Workspace.load(root)
    register_run(ws, train(ws, seed=7), name="species")
    register_run(ws, train(ws, seed=11), name="species")


def _approve_champion(root: Path) -> None:
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref

    os.environ["WORKBENCH_USER"] = "alice"
    request = request_promotion(Workspace.load(root), parse_ref("species:1"), "champion", "first model")
    os.environ["WORKBENCH_USER"] = "bob"
    approve_request(Workspace.load(root), request["id"])


_TEMPLATES: dict[str, Path] = {}  # built once per test process, copied per test


def _template(name: str, base: Path, tmp_path_factory: pytest.TempPathFactory, founder_key: Path,
              build: Callable[[Path], None]) -> Path:
    # A cache rather than session fixtures: the test modules import the fixtures below by name, and
    # helpers they would need are not visible to pytest there. Two real runs cost ~15 s on a busy machine.
    if name not in _TEMPLATES:
        _TEMPLATES[name] = _built_once(base, tmp_path_factory, founder_key, name, build)
    return _TEMPLATES[name]


def _two_versions_template(sample: Path, factory: pytest.TempPathFactory, key: Path) -> Path:
    return _template("two-versions", sample, factory, key, _register_two)


@pytest.fixture
def two_versions(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory, founder_key: Path,
                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`species` v1 (seed 7) and v2 (seed 11), registered by alice; no aliases yet (a copy per test)."""
    return _copy(_two_versions_template(_sample_template, tmp_path_factory, founder_key), tmp_path, monkeypatch)


@pytest.fixture
def with_champion(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory, founder_key: Path,
                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`species` v1 is champion (requested by alice, approved by bob); the current user is alice again."""
    two = _two_versions_template(_sample_template, tmp_path_factory, founder_key)
    return _copy(_template("champion", two, tmp_path_factory, founder_key, _approve_champion), tmp_path, monkeypatch)


def lake_snapshots(ws: Workspace) -> int:
    from workbench.lake.engine import LAKE_ALIAS, open_lake

    with open_lake(ws) as lake:
        return lake.cursor().execute(f"SELECT count(*) FROM ducklake_snapshots('{LAKE_ALIAS}')").fetchone()[0]


def reingest_penguins(ws: Workspace, tmp_path: Path, rows: int = 300) -> None:
    """Write a new version of `penguins` with fewer rows (the "refreshed" training table)."""
    import polars as pl

    from workbench.lake.engine import open_lake
    from workbench.lake.ingest import ingest_files

    path = tmp_path / "penguins_v2.parquet"
    pl.read_parquet(SAMPLE_DATA / "penguins.parquet").head(rows).write_parquet(path)
    with open_lake(ws) as lake:
        ingest_files(lake, [path], table="penguins", replace=True, actor=ws.actor)
