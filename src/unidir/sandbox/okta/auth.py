"""Who is calling, and may they call this endpoint.

An API token (``SSWS <token>``; Okta's SDKs also send it without the space) may do
everything, as long as the sandbox honours it (see ``Sandbox.honours_api_token``). An OAuth
access token (``Bearer <token>``) may do what its scopes allow; a ``*.manage`` scope
includes the matching ``*.read``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from unidir.sandbox.okta import errors
from unidir.sandbox.okta.oauth import OAuthServer


@dataclass(frozen=True)
class Principal:
    scopes: frozenset[str] | None  # None: an API token, allowed everything

    def require(self, scope: str | None) -> None:
        if scope is None or self.scopes is None:
            return
        if scope in self.scopes:
            return
        if scope.endswith(".read") and scope.removesuffix(".read") + ".manage" in self.scopes:
            return
        raise errors.insufficient_scope(scope)


# The caller of a public endpoint (the token endpoint): no rights at all.
ANONYMOUS = Principal(scopes=frozenset())


def authenticate(
    header: str | None, honours_api_token: Callable[[str], bool], oauth: OAuthServer
) -> Principal:
    if not header:
        raise errors.invalid_token()
    if header[:4].upper() == "SSWS":
        if honours_api_token(header[4:].strip()):
            return Principal(scopes=None)
        raise errors.invalid_token()
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        token = oauth.lookup(credential.strip())
        if token is not None:
            return Principal(scopes=token.scopes)
    raise errors.invalid_token()
