"""The shape of a provider definition: provider facts as validated data.

A definition is loaded and validated once at startup (``registry.load_registry``); a bad
definition stops the server from starting instead of failing half-way through a request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContextField(_Strict):
    secret: bool = False
    kind: Literal["string", "list"] = "string"
    # Accepted only when the server allows private upstreams (sandboxes, tests).
    private_only: bool = False
    description: str = ""


class AuthVariant(_Strict):
    """One way to authenticate; the first whose ``when`` field is in the context wins."""

    when: str
    scheme: dict[str, Any]
    requires: tuple[str, ...] = ()


class RateLimitHeaders(_Strict):
    limit: str
    remaining: str
    reset: str


class RateLimitDef(_Strict):
    headers: RateLimitHeaders
    # (regex on the upstream path, family name); first match wins.
    families: tuple[tuple[str, str], ...]
    default_family: str = "default"


class PaginationDef(_Strict):
    strategy: Literal["link_header"]
    cursor_param: str
    limit_param: str
    max_limit: int
    default_limit: int


class ErrorDef(_Strict):
    """Where the provider puts a human summary in its error bodies."""

    message_fields: tuple[str, ...]
    causes_field: str | None = None


class UpstreamCall(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    kind: Literal["read", "write"] = "read"
    query: dict[str, str] = Field(default_factory=dict)
    # True: the client's remote_data is merged into this call's JSON body.
    takes_remote_data: bool = False


class SideFetch(_Strict):
    """A read made beside the main one, skipped when every field it feeds is excluded."""

    call: UpstreamCall
    feeds: tuple[str, ...]


class VerifyDef(_Strict):
    """How to learn the truth after an ambiguous write: read back and compare one field."""

    path: str
    field: str
    equals: str


class MethodDef(_Strict):
    call: UpstreamCall
    # Which resource method's read produces the object returned after this call
    # (lifecycle calls answer {} so the object is read afterwards).
    then_read: str | None = None
    side_fetches: dict[str, SideFetch] = Field(default_factory=dict)
    mapping: str | None = None
    # The name the main upstream record has in the mapping's input, beside the side fetches.
    record_key: str = "record"
    verify: VerifyDef | None = None
    required_body: tuple[str, ...] = ()
    description: str = ""

    @model_validator(mode="after")
    def _returns_something(self) -> MethodDef:
        if self.mapping is None and self.then_read is None:
            raise ValueError("a method needs a mapping or a then_read")
        return self


class Definition(_Strict):
    name: str
    label: str
    base_url: str
    allowed_hosts: tuple[str, ...]
    context: dict[str, ContextField]
    auth: tuple[AuthVariant, ...]
    request_id_header: str
    # Ids are spliced into upstream paths: anything outside this pattern is refused with
    # 400 before any request is made.
    id_pattern: str
    rate_limit: RateLimitDef
    pagination: PaginationDef
    error: ErrorDef
    resources: dict[str, dict[str, MethodDef]]

    def secret_fields(self) -> frozenset[str]:
        return frozenset(name for name, f in self.context.items() if f.secret)
