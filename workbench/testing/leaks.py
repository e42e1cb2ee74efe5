"""Look for secrets wherever a back-end might let one slip: repr, str, describe(), log records, errors."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from workbench.testing.report import ContractViolation


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(record.getMessage())
        except Exception:
            self.texts.append(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.append(str(record.exc_info[1]))


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every log record emitted meanwhile, at DEBUG level, from any library."""
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.texts
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def public_faces(backend: Any) -> dict[str, str]:
    faces = {"repr()": repr(backend), "str()": str(backend)}
    if hasattr(backend, "describe"):
        faces["describe()"] = json.dumps(backend.describe(), default=str)
    return faces


def assert_no_secret(where: str, texts: list[str] | str, secrets: tuple[str, ...]) -> None:
    for text in [texts] if isinstance(texts, str) else texts:
        for secret in secrets:
            if secret and secret in text:
                raise ContractViolation(f"a credential leaks through {where}; keep secrets out of it.")
