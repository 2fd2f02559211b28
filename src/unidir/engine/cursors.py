"""Opaque list cursors: the provider's cursor, bound to one account and signed.

A client passes ``next_cursor`` back unchanged; a forged cursor, or one from another
account, fails verification and is refused with 400 instead of reaching the provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from unidir.errors import BadRequest


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, account_id: str, provider_cursor: str) -> str:
        payload = json.dumps({"a": account_id, "c": provider_cursor}, separators=(",", ":"))
        raw = payload.encode()
        return _b64(raw) + "." + _b64(self._sign(raw))

    def decode(self, account_id: str, cursor: str) -> str:
        try:
            body, signature = cursor.split(".", 1)
            raw = _unb64(body)
            valid = hmac.compare_digest(_unb64(signature), self._sign(raw))
            data = json.loads(raw) if valid else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or data.get("a") != account_id:
            raise BadRequest.for_field("next_cursor", "not a cursor issued for this account")
        value = data.get("c")
        if not isinstance(value, str):
            raise BadRequest.for_field("next_cursor", "not a cursor issued for this account")
        return value

    def _sign(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
