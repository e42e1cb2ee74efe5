"""One error hierarchy for the whole package; the CLI maps it to exit codes, the TUI to notifications."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit-status contract of every `workbench` command."""

    OK = 0
    RUN_FAILED = 1
    BAD_INPUT = 2
    BACKEND_UNAVAILABLE = 3
    INTERRUPTED = 130


class WorkbenchError(Exception):
    """Base for every error a user may see: `title` is short, `str(err)` is one helpful sentence."""

    title = "Workbench error"
    exit_code = ExitCode.RUN_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInputError(WorkbenchError):
    """The user asked for something that cannot be done as asked (bad file, unknown name, bad spec)."""

    title = "Bad input"
    exit_code = ExitCode.BAD_INPUT


class WorkspaceError(BadInputError):
    title = "Workspace problem"


class PermissionDenied(BadInputError):
    """The acting person's role (or identity) does not allow this; nothing was written."""

    title = "Not allowed"


class SignatureRequired(BadInputError):
    """A governed action must be signed with the person's own enrolled key, and cannot be here."""

    title = "Signature needed"


class LakeError(BadInputError):
    title = "Lake problem"


class SpecError(BadInputError):
    title = "Run spec problem"


class LakeWriteError(WorkbenchError):
    """A lake write could not be completed together with its audit event (the lake is left as it was)."""

    title = "Lake write failed"
    exit_code = ExitCode.RUN_FAILED


class RunFailedError(WorkbenchError):
    title = "Run failed"
    exit_code = ExitCode.RUN_FAILED


class BackendUnavailableError(WorkbenchError):
    title = "Back-end unavailable"
    exit_code = ExitCode.BACKEND_UNAVAILABLE


class IntegrityError(WorkbenchError):
    """Something a decision relies on disagrees with the hash-chained audit log, or the log is missing:
    it is refused where it is used, and `workbench audit verify` reports it."""

    title = "Integrity check failed"
    exit_code = ExitCode.RUN_FAILED
