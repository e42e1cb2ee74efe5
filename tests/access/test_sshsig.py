"""Signatures made by ssh-keygen (from a key file and through a real ssh-agent) verify in-process exactly
when `ssh-keygen -Y verify` accepts them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from workbench.signing.ssh_keygen import SigningKey, SigningUnavailable, explicit_key, sign
from workbench.signing.sshsig import PublicKey, SignatureError, verify

NS = "workbench"


def _key(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"{kind}@test", "-f", str(path)], check=True)
    return path


def _ssh_keygen_accepts(tmp_path: Path, pub: PublicKey, sig: str, message: bytes, namespace: str = NS) -> bool:
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"someone {pub.openssh}\n")
    sig_file = tmp_path / "msg.sig"
    sig_file.write_text(sig + "\n")
    done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", "someone", "-n", namespace,
                           "-s", str(sig_file)], input=message, capture_output=True)
    return done.returncode == 0


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_each_key_type_verifies_as_ssh_keygen_does(tmp_path: Path, kind: str) -> None:
    private = _key(tmp_path, kind)
    pub = PublicKey.parse(private.with_suffix(".pub").read_text())
    message = "approve request 7 for species:2 → champion".encode()
    sig = sign(message, SigningKey(pub, private, str(private)), NS)

    verify(sig, message, NS, pub)  # no exception
    assert _ssh_keygen_accepts(tmp_path, pub, sig, message)
    for bad_message, namespace in ((message + b" ", NS), (message, "git")):
        with pytest.raises(SignatureError):
            verify(sig, bad_message, namespace, pub)
        assert not _ssh_keygen_accepts(tmp_path, pub, sig, bad_message, namespace)


def test_another_keys_signature_and_garbage_are_refused(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    a, b = _key(tmp_path, "ed25519"), _key(tmp_path / "b", "ed25519")
    pub_a, pub_b = (PublicKey.parse(p.with_suffix(".pub").read_text()) for p in (a, b))
    sig = sign(b"x", SigningKey(pub_a, a, "a"), NS)
    with pytest.raises(SignatureError, match="another key"):
        verify(sig, b"x", NS, pub_b)
    for garbage in ("", "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----", sig.replace("A", "B", 5)):
        with pytest.raises(SignatureError):
            verify(garbage, b"x", NS, pub_a)


def test_fingerprint_is_what_ssh_keygen_prints(tmp_path: Path) -> None:
    private = _key(tmp_path, "ed25519")
    printed = subprocess.run(["ssh-keygen", "-l", "-f", str(private.with_suffix(".pub"))], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    assert PublicKey.parse(private.with_suffix(".pub").read_text()).fingerprint == printed


def test_signing_through_a_real_ssh_agent_never_needs_the_private_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    private = _key(tmp_path, "ed25519")
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"])
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(private)], env=env, check=True, capture_output=True)
        pub_text = private.with_suffix(".pub").read_text()
        private.unlink()  # from now on only the agent holds the private half
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        monkeypatch.setenv("WORKBENCH_SIGNING_KEY", str(private.with_suffix(".pub")))
        key = explicit_key()
        assert key is not None and key.private_path is None and key.where == "ssh-agent"
        sig = sign(b"checkpoint", key, NS)
        verify(sig, b"checkpoint", NS, PublicKey.parse(pub_text))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "gone.sock"))  # the agent is gone: one clear sentence
    with pytest.raises(SigningUnavailable, match="neither beside it nor in ssh-agent"):
        explicit_key()


def test_a_stored_signature_is_never_masked_as_a_secret(tmp_path: Path) -> None:
    """Random base64 can read like `pwd=…` to the secret patterns (2 in 1,000 signatures did, in the
    benchmark); a masked signature would never verify again. Other parameters are still masked."""
    from workbench.audit import AuditLog

    with AuditLog(tmp_path / "audit.sqlite") as log:
        log.record("x", actor="a", params={"signature": {"key": "SHA256:k", "sig": "AAAxPwD=BBB+token:CCC"},
                                           "note": "pwd=hunter2"})
        event = log.events()[0]
    assert event.params["signature"]["sig"] == "AAAxPwD=BBB+token:CCC"
    assert event.params["note"] == "pwd=***"
