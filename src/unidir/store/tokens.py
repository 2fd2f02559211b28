"""API tokens: random, shown once, stored only as a SHA-256 digest.

Tokens carry 256 bits of randomness, so a plain digest is enough to make a stolen database
useless for authenticating; no slow hash is needed (that is for low-entropy passwords).
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "udt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """Enough of a token to recognise it in a list, far too little to use it."""
    return token[: len(TOKEN_PREFIX) + 6]
