"""The Ed25519 key that signs seals and checkpoints, kept outside the store.

``FUNDLEDGER_SIGNING_KEY_FILE`` names a file holding an Ed25519 private key in PEM (PKCS#8,
unencrypted), or ``FUNDLEDGER_SIGNING_KEY`` holds the PEM text itself; without either, seals
and checkpoints are recorded unsigned. An auditor trusts public keys, handed over by
``fundledger audit keys`` and given back to ``audit verify --key FILE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.errors import InvalidInput
from domain.seal import key_id_of

SIGNING_KEY_FILE_ENV = "FUNDLEDGER_SIGNING_KEY_FILE"
SIGNING_KEY_ENV = "FUNDLEDGER_SIGNING_KEY"


@dataclass(frozen=True)
class Signer:
    """A private signing key and the id of its public key."""

    private_key: Ed25519PrivateKey
    public_key: bytes
    key_id: str

    def sign(self, digest: str) -> str:
        """The hex signature of a digest (its ASCII text is what is signed)."""
        return self.private_key.sign(digest.encode()).hex()


def signer_from_pem(pem: bytes, *, source: str) -> Signer:
    """The signer of an Ed25519 private key in PEM; ``source`` names it in an error."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"not an unencrypted PEM private key: {error}", field=source) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("not an Ed25519 private key", field=source)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Signer(key, public, key_id_of(public))


def signer_from_env(environ: Mapping[str, str]) -> Signer | None:
    """The configured signer, or None when no key is configured."""
    path = environ.get(SIGNING_KEY_FILE_ENV)
    if path:
        try:
            pem = Path(path).read_bytes()
        except OSError as error:
            raise InvalidInput(
                f"cannot read {path}: {error.strerror}", field=SIGNING_KEY_FILE_ENV
            ) from None
        return signer_from_pem(pem, source=SIGNING_KEY_FILE_ENV)
    text = environ.get(SIGNING_KEY_ENV)
    if text:
        return signer_from_pem(text.encode(), source=SIGNING_KEY_ENV)
    return None


def public_key_from_pem(pem: bytes, *, source: str) -> bytes:
    """The raw bytes of an Ed25519 public key in PEM (a private key gives its public half)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        return signer_from_pem(pem, source=source).public_key
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("not an Ed25519 public key", field=source)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(public_key: bytes) -> str:
    """A raw Ed25519 public key as PEM text (SubjectPublicKeyInfo)."""
    key = Ed25519PublicKey.from_public_bytes(public_key)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def new_private_pem() -> bytes:
    """A fresh Ed25519 private key in PEM (for tests and ``audit keys --new``)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
