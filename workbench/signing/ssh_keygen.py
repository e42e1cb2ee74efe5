"""Sign with the person's own SSH key through `ssh-keygen -Y sign`, as git does for SSH-signed commits.

Workbench never reads, copies or stores a private key: it hands `ssh-keygen` either the path of the
user's key file, or only the *public* key when the private half is held by `ssh-agent` (`SSH_AUTH_SOCK`).
Which key: `$WORKBENCH_SIGNING_KEY` (a key file, or its `.pub`) if set; otherwise the first key that is
both enrolled for this person in the workspace and available (in the agent, or `~/.ssh/id_*` with its
private file beside it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from workbench.signing.sshsig import PublicKey, SignatureError

SIGN_TIMEOUT_S = 30  # a hardware key or an agent asking for confirmation may take a while


class SigningUnavailable(SignatureError):
    """No usable key: nothing is enrolled for this person, or the enrolled key is not at hand."""


@dataclass(frozen=True)
class SigningKey:
    public: PublicKey
    private_path: Path | None  # None: the agent holds the private half
    where: str  # for messages: "ssh-agent" or the file path


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if not found:
        raise SigningUnavailable("ssh-keygen is not installed (Debian: apt-get install openssh-client)")
    return found


def agent_keys() -> list[PublicKey]:
    """Public keys the running ssh-agent offers (none without `SSH_AUTH_SOCK`)."""
    if not os.environ.get("SSH_AUTH_SOCK") or not shutil.which("ssh-add"):
        return []
    try:
        out = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    keys = []
    for line in out.stdout.splitlines() if out.returncode == 0 else []:
        try:
            keys.append(PublicKey.parse(line))
        except SignatureError:
            continue
    return keys


def _key_files() -> Iterable[tuple[PublicKey, Path]]:
    ssh = Path.home() / ".ssh"
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        pub, private = ssh / f"{name}.pub", ssh / name
        if pub.is_file() and private.is_file():
            try:
                yield PublicKey.parse(pub.read_text()), private
            except (OSError, SignatureError):
                continue


def explicit_key() -> SigningKey | None:
    """The key named by `$WORKBENCH_SIGNING_KEY`, if set."""
    named = os.environ.get("WORKBENCH_SIGNING_KEY", "").strip()
    if not named:
        return None
    path = Path(named).expanduser()
    pub_path = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
    private = path.with_suffix("") if path.suffix == ".pub" else path
    try:
        public = PublicKey.parse(pub_path.read_text())
    except OSError:
        raise SigningUnavailable(f"WORKBENCH_SIGNING_KEY names {named}, but {pub_path} cannot be read") from None
    if private.is_file():
        return SigningKey(public, private, str(private))
    if any(k.blob == public.blob for k in agent_keys()):
        return SigningKey(public, None, "ssh-agent")
    raise SigningUnavailable(f"the private half of {pub_path} is neither beside it nor in ssh-agent")


def available_keys() -> list[SigningKey]:
    """Every key this person could sign with now: the explicit one, the agent's, then ~/.ssh files."""
    found = [k for k in [explicit_key()] if k is not None]
    found += [SigningKey(k, None, "ssh-agent") for k in agent_keys()]
    found += [SigningKey(k, p, str(p)) for k, p in _key_files()]
    return found


def choose_key(enrolled: Iterable[str]) -> SigningKey:
    """The first available key whose fingerprint is in `enrolled`."""
    wanted = set(enrolled)
    explicit = explicit_key()
    candidates = [explicit] if explicit is not None else available_keys()
    for key in candidates:
        if key.public.fingerprint in wanted:
            return key
    if not wanted:
        raise SigningUnavailable("you have no enrolled signing key in this workspace; an admin enrolls one with "
                                 "`workbench keys add LOGIN ~/.ssh/id_ed25519.pub`")
    if explicit is not None:
        raise SigningUnavailable(f"WORKBENCH_SIGNING_KEY ({explicit.public.fingerprint}) is not one of your "
                                 f"enrolled keys ({', '.join(sorted(wanted))})")
    raise SigningUnavailable(f"none of your enrolled keys ({', '.join(sorted(wanted))}) is available: load it "
                             "into ssh-agent (`ssh-add`) or set WORKBENCH_SIGNING_KEY to its file")


def sign(message: bytes, key: SigningKey, namespace: str) -> str:
    """The armored SSH signature of `message`, made by `ssh-keygen` with `key`."""
    with tempfile.TemporaryDirectory(prefix="workbench-sign-") as tmp:
        if key.private_path is not None:
            key_arg = str(key.private_path)
        else:  # agent: ssh-keygen finds the private half from the public key
            key_arg = os.path.join(tmp, "key.pub")
            Path(key_arg).write_text(key.public.openssh + "\n")
        try:
            done = subprocess.run([_ssh_keygen(), "-Y", "sign", "-q", "-n", namespace, "-f", key_arg],
                                  input=message, capture_output=True, timeout=SIGN_TIMEOUT_S,
                                  start_new_session=True)  # no terminal: never a passphrase prompt
        except subprocess.TimeoutExpired:
            raise SigningUnavailable(f"ssh-keygen did not sign within {SIGN_TIMEOUT_S} s (is the agent waiting "
                                     "for a confirmation?)") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SigningUnavailable(f"ssh-keygen could not sign with {key.where}: {why[-1] if why else 'no reason given'}"
                                 " (a key with a passphrase must be loaded into ssh-agent)")
    return done.stdout.decode("ascii").strip()
