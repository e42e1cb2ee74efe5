"""Keep secrets out of anything recorded: keys that look like credentials have their values masked."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEY = re.compile(r"(secret|password|passwd|token|credential|api[_-]?key|access[_-]?key|private[_-]?key|session)", re.I)
REDACTED = "***"


def redact(value: Any) -> Any:
    """Return a copy of `value` (nested dicts/lists) with secret-looking keys masked."""
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
