"""The shape of a provider definition: provider facts as validated data.

A definition is loaded and validated once at startup (``registry.load_registry``); a bad
definition stops the server from starting instead of failing half-way through a request.
"""

from __future__ import annotations

import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContextField(_Strict):
    """One field of an integrated account's context.

    Every string is printable ASCII (values end up in URLs and headers). ``kind: hostname``
    is a DNS host name and nothing else: no scheme, path, query, user info or %-escapes.
    """

    secret: bool = False
    kind: Literal["string", "list", "hostname"] = "string"
    # hostname only: ":port" may follow the name.
    port: bool = False
    # The field decides where requests go: changing it needs every stored secret given
    # again in the same change, so credentials never follow an account to another host.
    decides_host: bool = False
    # Line breaks and tabs are accepted (PEM keys); other control characters never are.
    multiline: bool = False
    # Accepted only when the server allows private upstreams (sandboxes, tests).
    private_only: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ContextField:
        if self.port and self.kind != "hostname":
            raise ValueError("only a hostname field can take a port")
        return self


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
    # True: the client's remote_data is merged into this call's JSON body. A call with
    # neither a mapped body nor remote_data is sent without a body, as Okta's own clients
    # send its lifecycle calls.
    takes_remote_data: bool = False


class SideFetch(_Strict):
    """A read made beside the main one, skipped when every field it feeds is excluded."""

    call: UpstreamCall
    feeds: tuple[str, ...]


class VerifyDef(_Strict):
    """How to learn the truth after an ambiguous write: read back and compare one field.

    ``equals`` is the value the write leads to, or the list of values it may lead to (Okta's
    unsuspend ends ACTIVE, or PROVISIONED for a user without a password).
    """

    path: str
    field: str
    equals: str | tuple[str, ...]

    def reached(self, record: Any) -> bool:
        """Whether ``record`` (the object read back) is in a state the write leads to."""
        if not isinstance(record, dict):
            return False
        value = record.get(self.field)
        targets = (self.equals,) if isinstance(self.equals, str) else self.equals
        return value in targets

    def describe(self) -> str:
        targets = (self.equals,) if isinstance(self.equals, str) else self.equals
        return f"{self.field}={'|'.join(targets)}"


class FilterDef(_Strict):
    """How one unified list filter becomes part of a provider query.

    Either an ``expression`` added to the provider's ``param`` (several are joined with
    the definition's ``join``), or a ``path`` that replaces the list call's path (Okta lists
    a group's members at its own URL).
    """

    param: str | None = None
    expression: str | None = None
    # Unified value -> provider values, OR-ed together (one unified status is several of Okta's).
    values: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # A value outside ``values`` is passed through when it matches this (provider's own values).
    raw_value_pattern: str | None = None
    # Unified comparison operator -> provider operator; empty means equality only.
    ops: dict[str, str] = Field(default_factory=dict)
    value_kind: Literal["string", "datetime", "id"] = "string"
    path: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> FilterDef:
        if (self.path is None) == (self.param is None or self.expression is None):
            raise ValueError("a filter needs either param+expression or path")
        return self


class MethodDef(_Strict):
    # None only for methods answered from ``static_records``.
    call: UpstreamCall | None = None
    # What the client gets back: one mapped object, a list envelope, or {"id": ...}.
    returns: Literal["record", "list", "deleted"] = "record"
    # Where each id of the call's path comes from: template name -> "path.id",
    # "body.user_id" or "query.user_id" (the part after the dot names the client's field).
    ids: dict[str, str] = Field(default_factory=dict)
    # Which method of the same resource reads the object returned after this call
    # (Okta's lifecycle calls answer {} so the object is read afterwards).
    then_read: str | None = None
    # Field of this call's response holding the id to read (a create learns its id here).
    then_read_id: str | None = None
    # Field of this call's response holding the id of the object it created, for the
    # audit log, when it is not read back (``then_read_id`` serves otherwise).
    created_id: str | None = None
    side_fetches: dict[str, SideFetch] = Field(default_factory=dict)
    mapping: str | None = None
    # The name the main upstream record has in the mapping's input, beside the side
    # fetches; None: the record itself is the mapping's input.
    record_key: str | None = None
    # JSONata turning {"body": unified body, "current": provider record or null} into the
    # provider's request body.
    request_mapping: str | None = None
    # Read this method's raw record first and hand it to request_mapping as "current"
    # (a PATCH over a provider that only offers full replacement).
    read_current: str | None = None
    filters: dict[str, FilterDef] = Field(default_factory=dict)
    filter_join: str = " and "
    # Provider facts served without a call (e.g. Okta's built-in admin role types).
    static_records: tuple[dict[str, Any], ...] | None = None
    verify: VerifyDef | None = None
    # True: refused (409) when its target is the account's own credential owner (suspending
    # the admin whose token the account uses locks the account out), unless the caller
    # passes allow_credential_owner=true.
    protects_credential_owner: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> MethodDef:
        if self.call is None and self.static_records is None:
            raise ValueError("a method needs a call or static_records")
        if self.returns != "deleted" and self.mapping is None and self.then_read is None:
            raise ValueError("a method that returns records needs a mapping or a then_read")
        if self.side_fetches and self.record_key is None:
            raise ValueError("side fetches need a record_key to sit beside")
        for source in self.ids.values():
            if source.split(".", 1)[0] not in ("path", "body", "query") or "." not in source:
                raise ValueError(f"id source {source!r} must be path.X, body.X or query.X")
        return self


class CredentialOwnerDef(_Strict):
    """How to learn which user the account's credentials act as (none for app credentials:
    a refusal of this call means there is no such user)."""

    call: UpstreamCall
    id_field: str


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
    credential_owner: CredentialOwnerDef | None = None

    @model_validator(mode="after")
    def _owner_known_where_protected(self) -> Definition:
        protected = [
            f"{resource}.{name}"
            for resource, methods in self.resources.items()
            for name, method in methods.items()
            if method.protects_credential_owner
        ]
        if protected and self.credential_owner is None:
            raise ValueError(f"{protected} protect the credential owner: say how to find it")
        return self

    @model_validator(mode="after")
    def _hosts_declared(self) -> Definition:
        # The fields filling the base URL template, and a base_url field replacing it.
        deciding = {field for _, field, _, _ in string.Formatter().parse(self.base_url) if field}
        deciding |= {"base_url"} & set(self.context)
        for name in sorted(deciding):
            spec = self.context.get(name)
            if spec is None or not spec.decides_host:
                raise ValueError(f"context.{name} decides where requests go: mark it decides_host")
        return self

    def secret_fields(self) -> frozenset[str]:
        return frozenset(name for name, f in self.context.items() if f.secret)

    def host_fields(self) -> frozenset[str]:
        return frozenset(name for name, f in self.context.items() if f.decides_host)
