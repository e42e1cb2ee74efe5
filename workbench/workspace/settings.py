"""`workbench.toml`: the documented settings of a workspace, parsed into a frozen dataclass."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkspaceError
from workbench.numbers import real_number, whole_number
from workbench.workspace.sharing import check_group_name

SETTINGS_FILE = "workbench.toml"
MAX_CONCURRENT_RUNS = 1024

# The [workspace] line `workbench init --shared GROUP` writes, or its commented default.
SHARED_LINE = 'shared_group = "{group}"   # a team\'s workspace: see `workbench doctor`'
NOT_SHARED_LINE = '# shared_group = "team"             # set by `workbench init --shared GROUP`; see `workbench doctor`'
# Written by `workbench init`; every key is optional and the comments are the reference documentation.
SETTINGS_TEMPLATE = """\
# Workbench workspace settings. Every key is optional; the values shown are the defaults.

[workspace]
name = "{name}"
# Who acts is the OS account running the command (login and uid, on every audit event);
# $WORKBENCH_USER is only a display label. See [governance] identity below.
{shared_line}

[lake]
# DuckLake catalog (SQLite, WAL mode) and the folder of Parquet data files, relative to the workspace.
catalog = "lake/catalog.sqlite"
data_path = "lake/data"

[runs]
# Compute back-end used when a run spec names none.
default_backend = "local"
# Share of rows held out for scoring when a spec sets neither `holdout` nor `cv_folds`.
default_holdout = 0.2
# Runs that execute at once on this machine; the others wait, queued, for a slot (0 = no limit).
# Each local run already uses every core, so more than 2 on a laptop mostly adds waiting.
max_concurrent = 2

# --- Model governance (workbench models / workbench governance report) --------------------------------
# [governance]
# approvers = []                     # who may approve promotions; empty = anyone but the requester
# required_approvals = 1             # distinct approvals before the alias moves
# protected_aliases = ["champion"]   # aliases that move only through an approved promotion request
# max_champion_age_days = 90         # report fails when a champion was trained longer ago
# max_days_since_evaluation = 30     # ... or was last evaluated against challengers longer ago
# stale_data_grace_days = 0          # days a changed training table may go without re-evaluation
# challenger_margin = 0.0            # a pipeline opens a promotion request when its challenger wins by more
# require_audit_verified = true      # report fails when the audit chain does not verify
# identity = "os"                    # "declared": trust $WORKBENCH_USER as the actor (single-user laptops)
# [governance.roles]                 # absent: everyone is an approver and the founder is the admin
# alice = "admin"                    # roles: viewer < contributor < approver < admin
# "group:analysts" = "contributor"
# "*" = "viewer"
# A change to [governance] or [registry] is in force only once an admin runs `workbench governance adopt`.
#
# [registry]
# psi_threshold = 0.2                # per-feature population stability index that counts as drift
# missing_rate_threshold = 0.1       # change in a feature's missing rate that counts as drift

# --- Back-ends (workbench plugins show compute|storage NAME lists every option) -----------------------
# [backends]
# timeout_s = 30                     # seconds any back-end may take to import, start or pass a check;
#                                    # past it: exit 3 "did not answer within N s" (docs/plugins.md)
# [backends.dask]
# address = "tcp://scheduler:8786"   # empty: start a LocalCluster on 127.0.0.1
# Storage: where the lake's Parquet files and run artifacts live (default: this folder). With "s3"
# (pip install workbench-s3) the files go to s3://bucket/prefix/lake/data/ and artifacts are uploaded to
# .../artifacts/<run>/ before a run succeeds; artifacts/ here is then a cache, re-fetched and hash-checked.
# Choose before the first ingest: a lake that has data files refuses a different backend.
# Tested against moto's S3 server on 127.0.0.1, not against AWS or MinIO (docs/scaling.md).
# [storage]
# backend = "s3"
# [storage.s3]
# bucket = "team-lake"               # credentials come from the AWS environment/profile, never from here
# prefix = "teams/churn"
# endpoint_url = "https://minio.internal:9000"   # omit for AWS
"""

_KNOWN: dict[str, set[str]] = {
    "workspace": {"name", "user", "shared_group"},
    "lake": {"catalog", "data_path"},
    "runs": {"default_backend", "default_holdout", "max_concurrent"},
}


@dataclass(frozen=True)
class Settings:
    name: str = "workspace"
    user: str | None = None
    shared_group: str | None = None  # the OS group of a team's workspace (`workbench init --shared GROUP`)
    lake_catalog: str = "lake/catalog.sqlite"
    lake_data_path: str = "lake/data"
    default_backend: str = "local"
    default_holdout: float = 0.2
    max_concurrent: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Settings":
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: e.g. an integer of 4300+ digits
            raise WorkspaceError(f"{path} is not valid TOML: {exc}.") from exc
        except OSError as exc:
            raise WorkspaceError(f"Cannot read {path}: {exc.strerror}.") from exc
        extra: dict[str, Any] = {}
        for section, values in raw.items():
            if section not in _KNOWN:
                extra[section] = values  # sections owned by plugins and later features
                continue
            if not isinstance(values, dict):
                raise WorkspaceError(f"{path}: [{section}] must be a table.")
            unknown = set(values) - _KNOWN[section]
            if unknown:
                raise WorkspaceError(f"{path}: unknown key {sorted(unknown)[0]!r} in [{section}].")
        ws, lake, runs = raw.get("workspace", {}), raw.get("lake", {}), raw.get("runs", {})
        holdout = real_number(runs.get("default_holdout", cls.default_holdout), "[runs] default_holdout", 0, 1,
                              low_open=True, high_open=True, what="a fraction", error=WorkspaceError, where=str(path))
        max_concurrent = whole_number(runs.get("max_concurrent", cls.max_concurrent), "[runs] max_concurrent", 0,
                                      MAX_CONCURRENT_RUNS, what="a whole number (0 = no limit)",
                                      error=WorkspaceError, where=str(path))
        group = ws.get("shared_group")
        if group is not None:
            check_group_name(group, f"{path}: [workspace] shared_group")
        return cls(
            name=str(ws.get("name", path.parent.name)),
            user=ws.get("user"),
            shared_group=group,
            lake_catalog=str(lake.get("catalog", cls.lake_catalog)),
            lake_data_path=str(lake.get("data_path", cls.lake_data_path)),
            default_backend=str(runs.get("default_backend", cls.default_backend)),
            default_holdout=holdout,
            max_concurrent=max_concurrent,
            extra=extra,
        )
