"""Identifiers shaped like Okta's: a type prefix, random base62 body, an org suffix."""

from __future__ import annotations

import base64
import random
import string

_BASE62 = string.digits + string.ascii_letters

# Okta ids are 20 characters; the first three name the kind of object.
USER_PREFIX = "00u"
GROUP_PREFIX = "00g"
# Okta user type and schema ids seen in the recorded traffic have these prefixes.
USER_TYPE_PREFIX = "oty"
USER_SCHEMA_PREFIX = "osc"
FACTOR_PREFIXES: dict[str, str] = {
    "sms": "mbl",
    "call": "clf",
    "email": "emf",
    "push": "opf",
    "token:software:totp": "ost",
    "question": "ufs",
    "webauthn": "fwf",
}


class IdFactory:
    """Makes ids from one random source, so a seeded org gets the same ids every time."""

    def __init__(self, rng: random.Random, org_suffix: str = "1d7") -> None:
        self._rng = rng
        self._suffix = org_suffix

    def _body(self, length: int, alphabet: str = _BASE62) -> str:
        # randbytes is much cheaper than choices(); the slight modulo bias is harmless here.
        size = len(alphabet)
        return "".join([alphabet[byte % size] for byte in self._rng.randbytes(length)])

    def object_id(self, prefix: str) -> str:
        return prefix + self._body(20 - len(prefix) - len(self._suffix)) + self._suffix

    def token(self, length: int = 20) -> str:
        return self._body(length, _BASE62 + "-_")


def standard_role_assignment_id(role_type: str) -> str:
    """Okta names an assignment of a standard role after the role, not the assignee: the
    RFC 4648 base32 of its type without padding (``APP_ADMIN`` -> ``IFIFAX2BIRGUSTQ``, as in
    the recorded traffic), the same id on every user who holds it."""
    return base64.b32encode(role_type.encode("ascii")).decode("ascii").rstrip("=")


_noise = random.Random()


def error_id() -> str:
    """Per-response ids need no reproducibility, only uniqueness."""
    return "oae" + "".join(_noise.choices(_BASE62, k=22))


def request_id() -> str:
    return "".join(_noise.choices(_BASE62, k=27))


def opaque_token(length: int = 40) -> str:
    return "".join(_noise.choices(_BASE62, k=length))
