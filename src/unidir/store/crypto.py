"""Secrets at rest: AES-256-GCM with key rotation and the owning row bound as associated data.

Ciphertexts look like ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The key id is a
short fingerprint of the key, so any configured key can be found to decrypt; the newest key
(first configured) encrypts. The associated data is the owning row's id, so a ciphertext
copied onto another row fails to decrypt instead of lending its secret to that row.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from unidir.settings import Settings
from unidir.store.private_files import private_directory

_log = structlog.get_logger(__name__)
_VERSION = "v1"
_NONCE_BYTES = 12
KEY_FILE_NAME = "secret.key"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key (or was moved)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key() -> str:
    return _b64e(secrets.token_bytes(32))


def parse_key(text: str) -> bytes:
    try:
        raw = _b64d(text.strip())
    except ValueError as exc:
        raise ValueError("secret key is not base64url") from exc
    if len(raw) != 32:
        raise ValueError("secret key must be 32 bytes (base64url, 43 characters)")
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"unidir-key-id:" + key).hexdigest()[:12]


class SecretBox:
    """Encrypts with the first key, decrypts with whichever key made the ciphertext."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one secret key is required")
        self._encrypt_id = key_id(keys[0])
        self._newest = keys[0]
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}

    @property
    def current_key_id(self) -> str:
        return self._encrypt_id

    def encrypt(self, plaintext: bytes, *, bound_to: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self._encrypt_id].encrypt(nonce, plaintext, bound_to.encode())
        return f"{_VERSION}.{self._encrypt_id}.{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, *, bound_to: str) -> bytes:
        try:
            version, kid, payload = token.split(".", 2)
        except ValueError as exc:
            raise SecretDecryptionError("malformed ciphertext") from exc
        cipher = self._ciphers.get(kid)
        if version != _VERSION or cipher is None:
            raise SecretDecryptionError(f"no configured key {kid!r} for this secret")
        raw = _b64d(payload)
        try:
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound_to.encode())
        except InvalidTag as exc:
            raise SecretDecryptionError("secret does not belong to this record") from exc

    @staticmethod
    def is_sealed(text: str) -> bool:
        """Whether ``text`` is a ciphertext of this format (not, say, plain JSON)."""
        return text.startswith(f"{_VERSION}.")

    def derive_key(self, purpose: str) -> bytes:
        """A key for another use (e.g. signing cursors), derived from the newest key."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            self._newest
        )

    def key_id_of(self, token: str) -> str:
        return token.split(".", 2)[1]


def load_secret_box(settings: Settings) -> SecretBox:
    """Keys from UNIDIR_SECRET_KEY, or one generated once and kept in the data directory."""
    if settings.secret_keys:
        return SecretBox([parse_key(k) for k in settings.secret_keys])
    path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        _write_new_key(path)
        _log.warning(
            "generated a new secret key because UNIDIR_SECRET_KEY is unset; "
            "set UNIDIR_SECRET_KEY in production",
            key_file=str(path),
        )
    return SecretBox([parse_key(path.read_text())])


def _write_new_key(path: Path) -> None:
    private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key() + "\n")
