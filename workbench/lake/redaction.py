"""Secrets out of what the lake writes as text: commit metadata, the SQL history, export metadata.

The audit log already masks secrets (`audit/redact.py`); the same rules apply to every string the lake
derives from SQL, specs or the environment, so a token typed into a query is stored nowhere in the clear.
"""

from __future__ import annotations

from workbench.audit.redact import redact_text, secret_env_values


def redact_sql(text: str) -> str:
    """`text` with secret-looking values and the values of secret environment variables masked."""
    return redact_text(text, secret_env_values())
