"""The deployment's Ed25519 key: it signs audit checkpoints and every delivered answer.

The private key lives in one PEM file (mode 0600), created on first run; replicas either share the file or
each make their own, since every public key is registered in the store and published at
`/.well-known/supervisor-keys.json`. A key is named by its id: the first 16 hex digits of the SHA-256 of
its raw public key. Signatures and public keys travel as unpadded base64url.

Each kind of signed message starts with its own domain line, so a checkpoint signature can never be
replayed as a response signature or the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import StoreError

CHECKPOINT_DOMAIN = b"edu-supervisor/audit-checkpoint/v1\n"
RESPONSE_DOMAIN = b"edu-supervisor/response/v1\n"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    public_key: str            # base64url of the 32 raw bytes

    def verify(self, domain: bytes, message: bytes, signature: str) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(unb64(self.public_key)).verify(unb64(signature), domain + message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_dict(self) -> dict:
        return {"kid": self.key_id, "alg": "Ed25519", "public_key": self.public_key}


class Signer:
    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public = PublicKey(key_id(raw), b64(raw))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, domain: bytes, message: bytes) -> str:
        return b64(self._private.sign(domain + message))


def load_or_create_signer(path: Path) -> Signer:
    """Read the key file, or create it (0600) if there is none. Safe when several processes start at once."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        try:
            os.link(tmp, path)      # atomic, and fails if another process made the key first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    for _ in range(50):             # another process may still be writing it
        data = path.read_bytes()
        if data:
            break
        time.sleep(0.05)
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise StoreError(f"the signing key file {path} is not an unencrypted Ed25519 PEM key: {exc}. "
                         "Restore it from backup, or move it away to create a new key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise StoreError(f"the signing key file {path} holds a {type(private).__name__}, not an Ed25519 key")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)       # a private key readable by others is tightened, not trusted as is
    return Signer(private)
