"""Model references as users type them: `NAME`, `NAME@ALIAS`, `NAME:VERSION`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.errors import BadInputError
from workbench.registry.store import RegistryStore

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}", re.ASCII)
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,49}", re.ASCII)


@dataclass(frozen=True)
class ModelRef:
    model: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.model}:{self.version}"
        return f"{self.model}@{self.alias}" if self.alias else self.model


def check_model_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):  # fullmatch: `$` would let a trailing newline through
        raise BadInputError(f"{name!r} is not a valid model name: use letters, digits, '_', '-' and '.', "
                            "starting with a letter or '_'.")
    return name


def check_alias(alias: str) -> str:
    if not _ALIAS.fullmatch(alias or ""):
        raise BadInputError(f"{alias!r} is not a valid alias: use letters, digits, '_' and '-'.")
    return alias


def parse_ref(text: str) -> ModelRef:
    """Parse `NAME`, `NAME@ALIAS` or `NAME:VERSION` (a leading `v` on the version is allowed)."""
    text = (text or "").strip()
    if "@" in text:
        name, alias = text.split("@", 1)
        return ModelRef(check_model_name(name), alias=check_alias(alias))
    if ":" in text:
        name, raw = text.split(":", 1)
        raw = raw[1:] if raw[:1] in ("v", "V") else raw
        if not raw.isdigit() or int(raw) < 1:
            raise BadInputError(f"{text!r}: the version after ':' must be a positive whole number.")
        return ModelRef(check_model_name(name), version=int(raw))
    return ModelRef(check_model_name(text))


def resolve_ref(store: RegistryStore, ref: ModelRef, default_alias: str | None = None) -> dict[str, Any]:
    """The model version `ref` names; a bare NAME means `default_alias`, or the latest version if None."""
    versions = store.versions(ref.model)
    if not versions:
        known = ", ".join(store.model_names()) or "none yet"
        raise BadInputError(f"No registered model {ref.model!r} (models: {known}).")
    if ref.version is not None:
        found = store.get_version(ref.model, ref.version)
        if found is None:
            raise BadInputError(f"Model {ref.model!r} has no version {ref.version} "
                                f"(versions: {', '.join(str(v['version']) for v in versions)}).")
        return found
    alias = ref.alias or default_alias
    if alias is None:
        return versions[-1]
    event = store.alias_at(ref.model, alias)
    if event is None or event["version"] is None:
        held = ", ".join(sorted(store.aliases(ref.model))) or "none"
        raise BadInputError(f"Model {ref.model!r} has no version with alias {alias!r} (aliases: {held}).")
    found = store.get_version(ref.model, event["version"])
    assert found is not None
    return found


def at_timestamp(text: str) -> str:
    """A user's point in time as the registry's ISO UTC form; a bare date means the end of that day."""
    from datetime import datetime, time, timezone

    raw = text.strip()
    try:
        if len(raw) == 10:
            when = datetime.combine(datetime.fromisoformat(raw).date(), time.max, tzinfo=timezone.utc)
        else:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    except ValueError:
        raise BadInputError(f"{text!r} is not a date or time (use 2025-06-30 or 2025-06-30T14:00:00Z).") from None
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")
