"""Secrets at rest: AES-GCM, newest key encrypts, any configured key decrypts, rows bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from unidir.settings import Settings
from unidir.store.crypto import (
    SecretBox,
    SecretDecryptionError,
    generate_key,
    load_secret_box,
    parse_key,
)


def box(*keys: str) -> SecretBox:
    return SecretBox([parse_key(k) for k in keys])


def test_round_trip_and_no_plaintext_in_ciphertext() -> None:
    sealed = box(generate_key()).encrypt(b"api-token-123", bound_to="acct-1")
    assert "api-token-123" not in sealed
    assert sealed.startswith("v1.")


def test_ciphertext_moved_to_another_row_fails() -> None:
    secrets = box(generate_key())
    sealed = secrets.encrypt(b"api-token-123", bound_to="acct-1")
    with pytest.raises(SecretDecryptionError):
        secrets.decrypt(sealed, bound_to="acct-2")


def test_rotation_newest_encrypts_old_still_decrypts_until_removed() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = box(old).encrypt(b"x", bound_to="a")
    rotated = box(new, old)
    assert rotated.decrypt(sealed_old, bound_to="a") == b"x"
    sealed_new = rotated.encrypt(b"x", bound_to="a")
    assert rotated.key_id_of(sealed_new) == rotated.current_key_id != rotated.key_id_of(sealed_old)
    assert box(new).decrypt(sealed_new, bound_to="a") == b"x"
    with pytest.raises(SecretDecryptionError):
        box(new).decrypt(sealed_old, bound_to="a")


@pytest.mark.parametrize(
    "key", [pytest.param("short", id="too-short"), pytest.param("!!!" * 15, id="not-base64")]
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="secret key"):
        parse_key(key)


def test_generated_key_is_kept_and_reused(tmp_path: Path) -> None:
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path)})
    first = load_secret_box(settings)
    sealed = first.encrypt(b"v", bound_to="r")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert load_secret_box(settings).decrypt(sealed, bound_to="r") == b"v"
