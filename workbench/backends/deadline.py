"""An overall deadline for every call into plugin code that should answer quickly: importing a back-end,
starting it, checking it, closing it.

A back-end is a guest: it may hang (an S3 endpoint that accepts connections and never answers, a
scheduler that never replies) or end the process (`sys.exit()` at import). `call_within` runs the call
in a daemon thread and waits at most `timeout_s`; past that the caller gets one sentence ("did not
answer within N s", exit 3) and the call is abandoned — whatever it returns later is handed to
`on_late` (to close a back-end that started too late) and is otherwise dropped.

`workbench.toml`::

    [backends]
    timeout_s = 30        # seconds; also $WORKBENCH_BACKEND_TIMEOUT_S; a back-end declaring a
                          # `timeout_s` option may be given its own in [backends.<name>] / [storage.<name>]
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Callable, TypeVar

from workbench.errors import BackendUnavailableError

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0
TIMEOUT_ENV = "WORKBENCH_BACKEND_TIMEOUT_S"
TIMEOUT_OPTION = "timeout_s"  # the option name through which a back-end may receive the deadline


class BackendTimeout(BackendUnavailableError):
    """A back-end did not answer within the overall deadline."""

    title = "Back-end did not answer"


def _valid(value: Any, where: str) -> float:
    from workbench.backends.options import BackendOptionError

    ok = not isinstance(value, bool) and isinstance(value, (int, float, str))
    try:
        seconds = float(value) if ok else math.nan
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise BackendOptionError(f"{where} must be a number of seconds greater than 0, not {value!r}.")
    return seconds


def configured_timeout(settings: Any = None) -> float:
    """The overall deadline in seconds: `[backends] timeout_s` > $WORKBENCH_BACKEND_TIMEOUT_S > 30."""
    table = (getattr(settings, "extra", {}) or {}).get("backends", {}) if settings is not None else {}
    if isinstance(table, dict) and TIMEOUT_OPTION in table:
        return _valid(table[TIMEOUT_OPTION], "workbench.toml: [backends] timeout_s")
    if os.environ.get(TIMEOUT_ENV, "").strip():
        return _valid(os.environ[TIMEOUT_ENV].strip(), f"${TIMEOUT_ENV}")
    return DEFAULT_TIMEOUT_S


def call_within(fn: Callable[[], T], timeout_s: float, what: str, *,
                on_late: Callable[[Any], None] | None = None) -> T:
    """`fn()`, or `BackendTimeout` naming `what` ("The storage back-end 's3'") if it takes longer than
    `timeout_s`. Whatever `fn` raises (SystemExit included) is raised here, in the caller's thread."""
    done = threading.Event()
    lock = threading.Lock()
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who decides
            with lock:
                box["error"] = exc
            done.set()
            return
        with lock:
            box["value"] = value
            late = box.get("abandoned", False)
        done.set()
        if late and on_late is not None:
            try:
                on_late(value)
            except BaseException:  # noqa: BLE001 - nobody is left to tell
                pass

    thread = threading.Thread(target=body, name=f"backend-call: {what}", daemon=True)
    thread.start()
    if not done.wait(timeout_s):
        with lock:
            finished = "value" in box or "error" in box
            box["abandoned"] = not finished
        if not finished:
            raise BackendTimeout(f"{what} did not answer within {timeout_s:g} s; check that the service it uses is "
                                 "reachable ([backends] timeout_s in workbench.toml sets this limit).")
    if "error" in box:
        raise box["error"]
    return box["value"]
