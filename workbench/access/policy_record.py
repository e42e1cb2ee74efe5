"""The policy in force is the last one an admin adopted, not whatever `workbench.toml` says today.

`workbench governance adopt` records the `[governance]` (with `[governance.roles]`) and `[registry]`
sections as a signed `governance.policy_adopted` event. A hand edit of `workbench.toml` changes nothing
until an admin adopts it; `audit verify` and `governance report` say when the file and the policy in force
differ.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from workbench.workspace import Workspace

POLICY_SECTIONS = ("governance", "registry")


def toml_policy(workspace: Workspace) -> dict[str, Any]:
    """The policy sections as `workbench.toml` has them now."""
    return {name: workspace.settings.extra.get(name, {}) for name in POLICY_SECTIONS}


def policy_sha(policy: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(policy, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def pending_change(workspace: Workspace, adopted: dict[str, Any] | None) -> str | None:
    """A sentence when `workbench.toml`'s policy differs from the adopted one, else None."""
    if adopted is None:
        return None
    now = toml_policy(workspace)
    if policy_sha(now) == policy_sha({k: adopted.get(k, {}) for k in POLICY_SECTIONS}):
        return None
    changed = [f"[{name}]" for name in POLICY_SECTIONS if now.get(name, {}) != adopted.get(name, {})]
    return (f"workbench.toml's {' and '.join(changed)} differ from the adopted policy; the change is not in force "
            "until an admin runs `workbench governance adopt`")
