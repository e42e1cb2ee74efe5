"""Keep secrets out of anything recorded.

Three rules, applied to every value written to the log: values under secret-looking keys are masked;
inside text, `key=value` / `key: value` pairs with a secret-looking key, passwords in URLs, bearer
tokens, AWS access key ids and PEM private keys are masked; and the value of every environment variable
whose name looks secret is masked wherever it appears.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any, Iterable, Mapping

_SECRET_WORDS = r"secret|password|passwd|pwd|token|credential|api[_-]?key|access[_-]?key|private[_-]?key|session|authorization"
_SECRET_KEY = re.compile(rf"({_SECRET_WORDS})", re.I)
# Environment names are matched more narrowly: PWD, OLDPWD and *_SESSION_* hold paths and ids, not secrets.
_SECRET_ENV = re.compile(r"(secret|password|passwd|token|credential|api[_-]?key|access[_-]?key|private[_-]?key|auth)", re.I)
REDACTED = "***"

_TEXT_PATTERNS = (
    # key=value, key: value, key => 'value' (quotes kept so SQL and TOML stay readable)
    (re.compile(rf"""(\b[\w.-]*(?:{_SECRET_WORDS})[\w.-]*\b["']?\s*(?:=>|[=:])\s*)(["']?)([^\s"',;&)]+)""", re.I),
     lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)", re.I), lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}"),
    (re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), lambda m: f"{m.group(1)}{REDACTED}"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), lambda m: REDACTED),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), lambda m: REDACTED),
)
# One cheap check decides whether any text pattern can apply (most recorded strings have no secrets):
# plain substring tests on the case-folded text, 5x faster than one case-insensitive regex alternation.
# Folding (and the fix-ups in `_maybe_secret`) makes every string those re.I patterns match contain a needle.
_NEEDLES = ("secret", "password", "passwd", "pwd", "token", "credential", "apikey", "api_key", "api-key",
            "accesskey", "access_key", "access-key", "privatekey", "private_key", "private-key", "private key",
            "session", "authorization", "://", "bearer", "akia", "asia")


def _maybe_secret(text: str) -> bool:
    folded = text.casefold()
    if not folded.isascii():  # letters re.I equates with i: dotless ı, and İ (which folds to i + U+0307)
        folded = folded.replace("ı", "i").replace("\u0307", "")
    return any(needle in folded for needle in _NEEDLES)


_MIN_ENV_SECRET = 6  # shorter values would mask ordinary words


def secret_env_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of environment variables whose names look secret, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v.strip()) >= _MIN_ENV_SECRET}
    return tuple(sorted(values, key=len, reverse=True))


def may_hold_secret(json_text: str, secrets: Iterable[str] = ()) -> bool:
    """False only if `redact` of the value that `json_text` encodes would change nothing: no secret-looking
    key or pattern and no secret value (as it reads inside JSON) occurs anywhere in it."""
    if _maybe_secret(json_text):
        return True
    return any(value in json_text or _json_form(value) in json_text for value in secrets)


@functools.lru_cache(maxsize=256)
def _json_form(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    if not _maybe_secret(text):
        return text
    for pattern, repl in _TEXT_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """A copy of `value` (nested dicts/lists/strings) with secrets masked; `secrets` defaults to the environment's."""
    found = secret_env_values() if secrets is None else tuple(secrets)
    return _redact(value, found)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "")
                    else _redact(v, secrets)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value
