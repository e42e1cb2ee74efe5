"""Checkpoints: the log's head (size + hash) as text to keep outside the workspace, and the proof that
the log still extends it.

The text follows the body of a C2SP tlog checkpoint (https://c2sp.org/tlog-checkpoint): an origin line
naming this log, the size (number of events ever appended, archived ones included), the head hash in
base64, then an extension line with the time. It is unsigned: sign it with your own key (`ssh-keygen -Y
sign`, gpg) or store it where the workspace's writers cannot change it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from workbench.audit.log import AuditLog, utc_now
from workbench.errors import BadInputError

ORIGIN_PREFIX = "workbench.audit/"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    head_hash: str  # hex

    def text(self, when: str | None = None) -> str:
        b64 = base64.b64encode(bytes.fromhex(self.head_hash)).decode()
        return f"{self.origin}\n{self.size}\n{b64}\ntime {when or utc_now()}\n"


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    message: str


def current_checkpoint(log: AuditLog) -> Checkpoint:
    seq, head = log.head()
    return Checkpoint(ORIGIN_PREFIX + log.log_id, seq, head)


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.splitlines()
    try:
        origin, size, b64 = lines[0].strip(), int(lines[1].strip()), lines[2].strip()
        digest = base64.b64decode(b64, validate=True).hex()
    except (IndexError, ValueError, binascii.Error):
        raise BadInputError("Not a Workbench audit checkpoint (expected origin, size and base64 hash lines).") from None
    if not origin.startswith(ORIGIN_PREFIX) or len(digest) != 64 or size < 0:
        raise BadInputError("Not a Workbench audit checkpoint (unknown origin or malformed hash).")
    return Checkpoint(origin, size, digest)


def check_checkpoint(log: AuditLog, checkpoint: Checkpoint) -> CheckpointCheck:
    """Does the log (which must verify) still contain the checkpoint's head at the checkpoint's size?"""
    from workbench.audit.archive import archived_hash

    if checkpoint.origin != ORIGIN_PREFIX + log.log_id:
        return CheckpointCheck(False, f"the checkpoint is for another log ({checkpoint.origin})")
    head_seq, _ = log.head()
    if checkpoint.size > head_seq:
        return CheckpointCheck(False, f"the log was truncated: the checkpoint has {checkpoint.size:,} events, "
                                      f"the log only {head_seq:,} (events #{head_seq + 1}–#{checkpoint.size} are gone)")
    if checkpoint.size == 0:
        return CheckpointCheck(True, f"the log ({head_seq:,} events) extends the empty checkpoint")
    row = log.conn.execute("SELECT hash FROM events WHERE seq = ?", [checkpoint.size]).fetchone()
    found = row[0] if row else archived_hash(log, checkpoint.size)
    if found is None:
        return CheckpointCheck(False, f"event #{checkpoint.size} named by the checkpoint is missing")
    if found != checkpoint.head_hash:
        return CheckpointCheck(False, f"event #{checkpoint.size} differs from the checkpoint: history up to it was rewritten")
    return CheckpointCheck(True, f"the log ({head_seq:,} events) extends the checkpoint of {checkpoint.size:,} events")
