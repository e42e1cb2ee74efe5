"""The outcome of a contract-kit run: which checks passed, which were skipped (and why), which failed."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable


class ContractViolation(AssertionError):
    """A back-end does not do what the contract says; the message says what and how to fix it."""


class CheckSkipped(Exception):
    """A check that does not apply (e.g. retries on a back-end whose SUPPORTS_RETRY is False)."""


@dataclass
class KitContext:
    """What the checks may use: a scratch folder every worker can see, and secrets that must not leak."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="workbench-kit-")))
    secrets: tuple[str, ...] = ()


@dataclass
class KitReport:
    backend: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{self.backend}: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        lines += [f"  FAILED {name}: {why}" for name, why in self.failed.items()]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines)


Check = Callable[[Any, KitContext], None]


def run_checks(label: str, backend: Any, checks: Iterable[tuple[str, Check]], ctx: KitContext,
               only: Iterable[str] | None = None) -> KitReport:
    wanted = set(only) if only else None
    report = KitReport(label)
    for name, check in checks:
        if wanted is not None and name not in wanted:
            continue
        try:
            check(backend, ctx)
        except CheckSkipped as exc:
            report.skipped[name] = str(exc)
        except AssertionError as exc:
            report.failed[name] = str(exc) or "assertion failed"
        except Exception as exc:  # a crash in a check is a failure of the back-end, reported the same way
            report.failed[name] = f"raised {type(exc).__name__}: {exc}"
        else:
            report.passed.append(name)
    if report.failed:
        raise ContractViolation(report.summary())
    return report


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)
