"""Module-level task functions the contract kit submits (importable wherever a worker runs)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path


def square(x: int) -> int:
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_then_return(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def die_once(marker: str) -> str:
    """Kill the worker process running this task the first time, succeed on every later attempt."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        logging.shutdown()
        os._exit(70)
    return "survived"


def always_die() -> None:
    """Kill the worker process running this task, every time."""
    os._exit(71)
