"""Verify OpenSSH signatures (`ssh-keygen -Y sign`, the SSHSIG format) in-process.

Signatures are made by `ssh-keygen` with the person's own key or agent (`signing/ssh_keygen.py`), the way
git signs commits, so anyone can re-check them with `ssh-keygen -Y verify` and an allowed-signers file.
Workbench checks them itself because `audit verify` checks every governed action on every run: one
`ssh-keygen` process per signature would cost milliseconds each, the in-process check (pyca/cryptography)
tens of microseconds. The format is OpenSSH's PROTOCOL.sshsig; the tests check each key type against
`ssh-keygen -Y verify` so the two never disagree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
_MAGIC = b"SSHSIG"
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_ECDSA_HASH = {"nistp256": hashes.SHA256(), "nistp384": hashes.SHA384(), "nistp521": hashes.SHA512()}
_RSA_HASH = {"rsa-sha2-256": hashes.SHA256(), "rsa-sha2-512": hashes.SHA512()}


class SignatureError(ValueError):
    """A signature that is malformed, made for another purpose, or does not verify."""


@dataclass(frozen=True)
class PublicKey:
    """An OpenSSH public key: `algorithm base64 [comment]` as in `~/.ssh/id_ed25519.pub`."""

    algorithm: str
    blob: bytes

    @classmethod
    def parse(cls, text: str) -> "PublicKey":
        parts = text.strip().split()
        if len(parts) < 2:
            raise SignatureError("not an OpenSSH public key (expected `TYPE BASE64 [comment]`)")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except binascii.Error:
            raise SignatureError("not an OpenSSH public key (its key part is not base64)") from None
        key = cls(parts[0], blob)
        if _read_string(blob, 0)[0].decode("ascii", "replace") != key.algorithm:
            raise SignatureError("not an OpenSSH public key (its type and its key part disagree)")
        key._crypto()  # refuses types we cannot verify, at enrolment rather than at the first signature
        return key

    @property
    def openssh(self) -> str:
        return f"{self.algorithm} {base64.b64encode(self.blob).decode()}"

    @property
    def fingerprint(self) -> str:
        """`SHA256:...` exactly as `ssh-keygen -l` prints it."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")

    def _crypto(self):  # noqa: ANN202 - one of cryptography's public key classes
        if self.algorithm.startswith("sk-"):
            raise SignatureError(f"{self.algorithm} (security-key) signatures are not supported yet; use an "
                                 "ed25519, ECDSA or RSA key")
        try:
            return load_ssh_public_key(self.openssh.encode())
        except (ValueError, TypeError) as exc:
            raise SignatureError(f"unsupported or malformed {self.algorithm} key ({exc})") from None


@dataclass(frozen=True)
class Signature:
    key: PublicKey
    namespace: str
    hash_algorithm: str
    algorithm: str
    raw: bytes

    @classmethod
    def parse(cls, armored: str) -> "Signature":
        text = armored.strip()
        if not (text.startswith(ARMOR_BEGIN) and text.endswith(ARMOR_END)):
            raise SignatureError("not an SSH signature (missing the BEGIN/END SSH SIGNATURE lines)")
        try:
            blob = base64.b64decode("".join(text[len(ARMOR_BEGIN):-len(ARMOR_END)].split()), validate=True)
        except binascii.Error:
            raise SignatureError("not an SSH signature (its body is not base64)") from None
        if blob[:6] != _MAGIC:
            raise SignatureError("not an SSH signature (bad preamble)")
        try:
            (version,) = struct.unpack(">I", blob[6:10])
            key_blob, at = _read_string(blob, 10)
            namespace, at = _read_string(blob, at)
            _reserved, at = _read_string(blob, at)
            hash_alg, at = _read_string(blob, at)
            sig, at = _read_string(blob, at)
            sig_alg, inner = _read_string(sig, 0)
            raw, _ = _read_string(sig, inner)
            key_alg, _ = _read_string(key_blob, 0)
        except (struct.error, IndexError):
            raise SignatureError("not an SSH signature (truncated)") from None
        if version != 1:
            raise SignatureError(f"unsupported SSH signature version {version}")
        return cls(PublicKey(key_alg.decode("ascii", "replace"), key_blob), namespace.decode("utf-8", "replace"),
                   hash_alg.decode("ascii", "replace"), sig_alg.decode("ascii", "replace"), raw)


def verify(armored: str, message: bytes, namespace: str, key: PublicKey) -> Signature:
    """Check that `armored` signs `message` for `namespace` with `key`; raise `SignatureError` if not."""
    sig = Signature.parse(armored)
    if sig.key.blob != key.blob:
        raise SignatureError(f"signed with another key ({sig.key.fingerprint}, expected {key.fingerprint})")
    if sig.namespace != namespace:
        raise SignatureError(f"signed for {sig.namespace!r}, not {namespace!r}")
    digest = _HASHES.get(sig.hash_algorithm)
    if digest is None:
        raise SignatureError(f"unsupported hash {sig.hash_algorithm!r}")
    signed = (_MAGIC + _string(namespace.encode()) + _string(b"") + _string(sig.hash_algorithm.encode())
              + _string(digest(message).digest()))
    public = key._crypto()
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            _expect(sig.algorithm, "ssh-ed25519")
            public.verify(sig.raw, signed)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            curve = key.algorithm.rsplit("-", 1)[-1]
            _expect(sig.algorithm, key.algorithm)
            r, at = _read_mpint(sig.raw, 0)
            s, _ = _read_mpint(sig.raw, at)
            public.verify(encode_dss_signature(r, s), signed, ec.ECDSA(_ECDSA_HASH[curve]))
        elif isinstance(public, rsa.RSAPublicKey):
            if sig.algorithm not in _RSA_HASH:  # ssh-rsa (SHA-1) signatures are refused, as OpenSSH does
                raise SignatureError(f"RSA signature algorithm {sig.algorithm!r} is not accepted")
            public.verify(sig.raw, signed, padding.PKCS1v15(), _RSA_HASH[sig.algorithm])
        else:
            raise SignatureError(f"unsupported key type {key.algorithm}")
    except InvalidSignature:
        raise SignatureError("the signature does not match the signed text") from None
    except (struct.error, IndexError, KeyError):
        raise SignatureError("malformed signature") from None
    return sig


def _expect(found: str, wanted: str) -> None:
    if found != wanted:
        raise SignatureError(f"signature algorithm {found!r} does not fit a {wanted} key")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_string(buf: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack(">I", buf[at:at + 4])
    end = at + 4 + n
    if end > len(buf):
        raise IndexError("string past the end")
    return buf[at + 4:end], end


def _read_mpint(buf: bytes, at: int) -> tuple[int, int]:
    data, end = _read_string(buf, at)
    return int.from_bytes(data, "big", signed=True), end
