"""Signed checkpoints: the log's head, signed with a person's own key, checkable with `ssh-keygen` alone.

`workbench audit checkpoint --sign -o head.txt` writes the checkpoint text and `head.txt.sig`, an SSH
signature in the `workbench-checkpoint` namespace. Anyone with the allowed-signers file
(`workbench keys allowed-signers`) proves who vouched for that head, without Workbench:

    ssh-keygen -Y verify -f allowed_signers -I alice -n workbench-checkpoint -s head.txt.sig < head.txt

The signing is also recorded as a governed `audit.checkpoint_signed` event (after the head it names).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.access.actions import append_governed, load_ledger
from workbench.access.keys import CHECKPOINT_NAMESPACE
from workbench.audit.checkpoint import current_checkpoint
from workbench.audit.log import AuditLog
from workbench.errors import SignatureRequired
from workbench.signing.sshsig import Signature, SignatureError, verify
from workbench.workspace import Workspace


@dataclass(frozen=True)
class SignedCheckpoint:
    text: str
    signature: str
    fingerprint: str
    signer: str


def sign_checkpoint(workspace: Workspace) -> SignedCheckpoint:
    from workbench.signing.ssh_keygen import SigningUnavailable, choose_key, sign

    with AuditLog(workspace.audit_path, workspace.root) as log:
        ledger = load_ledger(workspace, log)
        actor = workspace.actor
        try:
            key = choose_key(k.key.fingerprint for k in ledger.keys_of(actor))
            checkpoint = current_checkpoint(log)
            text = checkpoint.text()
            signature = sign(text.encode("utf-8"), key, CHECKPOINT_NAMESPACE)
        except SigningUnavailable as exc:
            raise SignatureRequired(f"A signed checkpoint needs your enrolled key, but {exc}.") from None
        append_governed(workspace, "audit.checkpoint_signed", checkpoint.origin,
                        {"size": checkpoint.size, "head_hash": checkpoint.head_hash, "key": key.public.fingerprint},
                        ledger=ledger, log=log)
    return SignedCheckpoint(text, signature, key.public.fingerprint, actor)


def check_checkpoint_signature(workspace: Workspace, text: str, signature: str) -> str:
    """Who signed the checkpoint (a sentence); SignatureError unless an enrolled key of theirs did."""
    ledger = load_ledger(workspace)
    sig = Signature.parse(signature)
    key = ledger.keys.get(sig.key.fingerprint)
    if key is None:
        raise SignatureError(f"the checkpoint is signed with {sig.key.fingerprint}, which is not enrolled here")
    verify(signature, text.encode("utf-8"), CHECKPOINT_NAMESPACE, key.key)
    state = "active" if key.revoked_seq is None else f"revoked at event #{key.revoked_seq}"
    return f"signed by {key.login} with {key.key.fingerprint} ({state})"
