"""OAuth 2.0 service apps: ``client_credentials`` with a ``private_key_jwt`` assertion.

A client registers its public JWKs and the scopes it was granted; ``POST /oauth2/v1/token``
verifies the signed assertion (signature, ``iss`` = ``sub`` = client id, ``aud`` = the
token URL, ``exp``, a ``jti`` never seen before) and issues an opaque access token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from unidir.errors import BadRequest
from unidir.sandbox.okta.ids import opaque_token

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_SECONDS = 3600
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]


class OAuthError(Exception):
    """An RFC 6749 error: the token endpoint answers ``{error, error_description}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    keys: tuple[jwt.PyJWK, ...]
    scopes: frozenset[str]


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


def parse_client(raw: Any) -> OAuthClient:
    """Validate the admin API's registration body."""
    if not isinstance(raw, dict):
        raise BadRequest("the OAuth client must be a JSON object")
    client_id = raw.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise BadRequest.for_field("client_id", "must be a non-empty string")
    jwks = raw.get("jwks")
    keys_raw = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys_raw, list) or not keys_raw:
        raise BadRequest.for_field("jwks", 'must be {"keys": [<public JWK>, ...]}')
    keys = []
    for index, key in enumerate(keys_raw):
        if not isinstance(key, dict) or "d" in key:
            raise BadRequest.for_field(f"jwks.keys[{index}]", "must be a public JWK")
        try:
            keys.append(jwt.PyJWK(key))
        except jwt.PyJWTError as problem:
            raise BadRequest.for_field(f"jwks.keys[{index}]", str(problem)) from None
    scopes = raw.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise BadRequest.for_field("scopes", "must be a list of scope names")
    return OAuthClient(client_id, tuple(keys), frozenset(scopes))


class OAuthServer:
    def __init__(self) -> None:
        self._clients: dict[str, OAuthClient] = {}
        self._tokens: dict[str, AccessToken] = {}
        self._seen_jti: dict[str, float] = {}

    def register(self, client: OAuthClient) -> None:
        self._clients[client.client_id] = client

    def clear(self) -> None:
        self._clients.clear()
        self._tokens.clear()
        self._seen_jti.clear()

    def lookup(self, access_token: str) -> AccessToken | None:
        token = self._tokens.get(access_token)
        if token is None or token.expires_at <= time.time():
            return None
        return token

    def issue(self, form: dict[str, str], token_url: str) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(401, "invalid_client", "A client_assertion is required.")
        client, claims = self._verify(form["client_assertion"], token_url)
        requested = frozenset(form.get("scope", "").split())
        if not requested:
            raise OAuthError(400, "invalid_scope", "The 'scope' parameter is required.")
        refused = sorted(requested - client.scopes)
        if refused:
            raise OAuthError(
                400,
                "invalid_scope",
                f"The following scopes were not granted to the client: {' '.join(refused)}",
            )
        self._seen_jti[claims["jti"]] = float(claims["exp"])
        access_token = opaque_token(64)
        self._tokens[access_token] = AccessToken(
            client.client_id, requested, time.time() + ACCESS_TOKEN_SECONDS
        )
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "access_token": access_token,
            "scope": " ".join(sorted(requested)),
        }

    def _verify(self, assertion: str, token_url: str) -> tuple[OAuthClient, dict[str, Any]]:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", "The client_assertion is malformed.") from None
        client = self._clients.get(str(unverified.get("iss", "")))
        if client is None:
            raise OAuthError(401, "invalid_client", "The client_assertion issuer is unknown.")
        candidates = [k for k in client.keys if header.get("kid") in (None, k.key_id)]
        for key in candidates or client.keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    assertion,
                    key=key.key,
                    algorithms=_ALGORITHMS,
                    audience=token_url,
                    issuer=client.client_id,
                    options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise OAuthError(
                    401, "invalid_client", "The client_assertion has expired."
                ) from None
            except jwt.InvalidAudienceError:
                raise OAuthError(
                    401, "invalid_client", "The audience of the client_assertion is invalid."
                ) from None
            except jwt.PyJWTError as problem:
                raise OAuthError(
                    401, "invalid_client", f"Invalid client_assertion: {problem}"
                ) from None
            if claims["sub"] != client.client_id:
                raise OAuthError(401, "invalid_client", "The client_assertion subject is invalid.")
            self._forget_expired_jti()
            if claims["jti"] in self._seen_jti:
                raise OAuthError(
                    401, "invalid_client", "The client_assertion token has already been used."
                )
            return client, claims
        raise OAuthError(401, "invalid_client", "The client_assertion signature is invalid.")

    def _forget_expired_jti(self) -> None:
        now = time.time()
        for jti in [j for j, exp in self._seen_jti.items() if exp < now]:
            del self._seen_jti[jti]
