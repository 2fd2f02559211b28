"""How unidir proves itself to a provider: httpx ``Auth`` flows built from definition data.

* ``HeaderTokenAuth``: a static secret in a header (Okta: ``Authorization: SSWS {token}``).
* ``PrivateKeyJwtAuth``: OAuth 2.0 client credentials with a ``private_key_jwt`` client
  assertion (RFC 7523), the scheme of Okta service apps. The access token is cached until
  shortly before it expires and fetched again once when the API answers 401. The token
  request travels through the same client and transport as API calls, so it gets the same
  timeouts, SSRF guard and test seam.

Secrets never appear in ``repr``, log lines or error messages.
"""

from __future__ import annotations

import asyncio
import string
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from unidir.errors import BadRequest, RemoteError, UpstreamUnavailable
from unidir.upstream.request import parse_body

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def template_field(template: str) -> str:
    """The one plain ``{name}`` placeholder of a header template, else ``ValueError``."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        # Only a bare identifier: no attribute access, indexing, conversions or specs.
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"header template placeholder {{{name}}} must be a plain name")
        names.append(name)
    if len(names) != 1:
        raise ValueError("a header template needs exactly one placeholder, like 'SSWS {token}'")
    return names[0]


class HeaderTokenAuth(httpx.Auth):
    """Puts ``template`` with its single placeholder replaced by ``secret`` into ``header``."""

    def __init__(self, header: str, template: str, secret: str) -> None:
        self._header = header
        self._value = template.format_map({template_field(template): secret})

    @property
    def header(self) -> tuple[str, str]:
        """The header to send; ``UpstreamClient`` adds it without running an auth flow."""
        return self._header, self._value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request

    def __repr__(self) -> str:
        return f"HeaderTokenAuth(header={self._header!r})"


@dataclass(frozen=True)
class _AccessToken:
    value: str
    refresh_at: float


def load_rsa_private_key(text: str) -> tuple[rsa.RSAPrivateKey, str | None]:
    """Parse a PEM or JSON JWK RSA private key; return it and the JWK's ``kid`` if any.

    Raises ``ValueError`` with a message that never quotes the key.
    """
    text = text.strip()
    key_id: str | None = None
    try:
        if text.startswith("{"):
            jwk = jwt.PyJWK.from_json(text)
            key: Any = jwk.key
            key_id = jwk.key_id
        else:
            # A PEM pasted into a single-line field often arrives with literal "\n".
            if "\\n" in text and "\n" not in text:
                text = text.replace("\\n", "\n")
            key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, jwt.PyJWTError):
        raise ValueError("not a readable PEM or JWK private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the key is not an RSA private key (RS256 needs one)")
    return key, key_id


class PrivateKeyJwtAuth(httpx.Auth):
    """OAuth 2.0 client credentials with a signed JWT client assertion, then Bearer tokens."""

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key: str,
        scopes: list[str],
        key_id: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        assertion_lifetime: float = 300.0,
        refresh_margin: float = 60.0,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._key, jwk_key_id = load_rsa_private_key(private_key)
        self._key_id = key_id or jwk_key_id
        self._scopes = list(scopes)
        self._clock = clock
        # Okta rejects assertions that live longer than an hour; five minutes is plenty.
        self._assertion_lifetime = min(assertion_lifetime, 300.0)
        self._refresh_margin = refresh_margin
        self._token: _AccessToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PrivateKeyJwtAuth(token_url={self._token_url!r}, client_id={self._client_id!r})"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise TypeError("PrivateKeyJwtAuth fetches tokens asynchronously; use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._fresh_token()
        if token is None:
            # One fetch at a time: later callers find the token the first one fetched.
            async with self._lock:
                token = self._fresh_token()
                if token is None:
                    token_response = yield self.token_request()
                    token = await self._accept(token_response)
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        # The token may have been revoked or rotated early: fetch a new one, once.
        async with self._lock:
            if self._token is None or self._token is token:
                self._token = None
                token_response = yield self.token_request()
                token = await self._accept(token_response)
            else:
                token = self._token
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request

    def _fresh_token(self) -> _AccessToken | None:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        return None

    def client_assertion(self) -> str:
        """A new signed assertion: ``iss = sub = client_id``, ``aud = token_url``, fresh ``jti``."""
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "iat": now,
            "exp": now + int(self._assertion_lifetime),
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    def token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "scope": " ".join(self._scopes),
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.client_assertion(),
            },
            headers={"Accept": "application/json"},
        )

    async def _accept(self, response: httpx.Response) -> _AccessToken:
        await response.aread()
        body = parse_body(response.content)
        status = response.status_code
        if 400 <= status < 500:
            raise RemoteError(
                f"the token endpoint refused the client credentials: {_oauth_error(body)}",
                remote_status=status,
                raw_response=body,
            )
        if status >= 300:
            raise UpstreamUnavailable(f"the token endpoint answered HTTP {status}")
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise UpstreamUnavailable("the token endpoint answered without an access_token")
        token_type = str(body.get("token_type", "Bearer"))
        if token_type.lower() != "bearer":
            raise UpstreamUnavailable(f"the token endpoint issued a {token_type} token, not Bearer")
        expires_in = _number(body.get("expires_in"), default=3600.0)
        margin = min(self._refresh_margin, expires_in / 2)
        self._token = _AccessToken(body["access_token"], self._clock() + expires_in - margin)
        return self._token


def _oauth_error(body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
        if parts:
            return ": ".join(parts)
    return "no error description"


def _number(value: Any, *, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


# --- building from definition data -------------------------------------------------------

AuthBuilder = Callable[[Mapping[str, Any], Mapping[str, Any], str], httpx.Auth]


def auth_from_definition(
    auth_def: Mapping[str, Any], context: Mapping[str, Any], base_url: str
) -> httpx.Auth:
    """Build the ``httpx.Auth`` a definition's ``auth`` block describes.

    Missing or unusable account fields raise ``BadRequest`` naming ``context.<field>``;
    an unknown ``type`` is a definition bug and raises ``ValueError``.
    """
    kind = auth_def.get("type")
    builder = AUTH_BUILDERS.get(str(kind))
    if builder is None:
        raise ValueError(f"unknown auth type {kind!r}; known: {', '.join(sorted(AUTH_BUILDERS))}")
    return builder(auth_def, context, base_url)


def _header_token(auth_def: Mapping[str, Any], context: Mapping[str, Any], _: str) -> httpx.Auth:
    template = str(auth_def["template"])
    field = template_field(template)
    secret = _required_text(context, field)
    return HeaderTokenAuth(str(auth_def.get("header", "Authorization")), template, secret)


def _private_key_jwt(
    auth_def: Mapping[str, Any], context: Mapping[str, Any], base_url: str
) -> httpx.Auth:
    client_id = _required_text(context, str(auth_def.get("client_id_field", "client_id")))
    key_field = str(auth_def.get("private_key_field", "private_key"))
    private_key = _required_text(context, key_field)
    key_id_field = str(auth_def.get("key_id_field", "key_id"))
    key_id = context.get(key_id_field) or None
    scopes_field = str(auth_def.get("scopes_field", "scopes"))
    scopes = _scopes(context.get(scopes_field), auth_def.get("default_scopes", []))
    if not scopes:
        raise BadRequest.for_field(f"context.{scopes_field}", "at least one scope is required")
    token_url = base_url.rstrip("/") + "/" + str(auth_def.get("token_path", "")).lstrip("/")
    try:
        return PrivateKeyJwtAuth(
            token_url, client_id, private_key, scopes, str(key_id) if key_id else None
        )
    except ValueError as exc:
        raise BadRequest.for_field(f"context.{key_field}", str(exc)) from None


def _required_text(context: Mapping[str, Any], field: str) -> str:
    value = context.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest.for_field(f"context.{field}", "required")
    return value


def _scopes(value: Any, default: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return list(value)
    return [str(s) for s in default]


AUTH_BUILDERS: dict[str, AuthBuilder] = {
    "header_token": _header_token,
    "private_key_jwt": _private_key_jwt,
}
