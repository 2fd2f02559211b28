"""Runs one unified call: definition -> upstream request(s) -> mapping -> shaping.

The runner knows nothing of any provider: every path, id source, filter, side fetch and
verification rule comes from the provider's definition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from unidir.engine.accounts import ResolvedAccount
from unidir.engine.calls import CallResult, UnifiedCall, WriteApplied
from unidir.engine.connections import ConnectionPool
from unidir.engine.credential_owner import CredentialOwners
from unidir.engine.cursors import CursorCodec
from unidir.engine.filters import translate_filters
from unidir.engine.override_pool import OverridePool
from unidir.engine.overrides import OverrideApplier
from unidir.errors import (
    BadRequest,
    NotSupported,
    RateLimited,
    RemoteError,
    UnidirError,
    UpstreamError,
    UpstreamUnavailable,
)
from unidir.integrations.schema import MethodDef, UpstreamCall
from unidir.unified.models import UNIFIED_RESOURCES as SCHEMAS
from unidir.unified.shaping import shape_record
from unidir.upstream.client import UpstreamClient
from unidir.upstream.errors import AmbiguousWriteError
from unidir.upstream.request import UpstreamRequest, UpstreamResponse

_log = structlog.get_logger(__name__)


class Engine:
    def __init__(
        self,
        connections: ConnectionPool,
        cursors: CursorCodec,
        overrides: OverridePool | None = None,
    ) -> None:
        self._connections = connections
        self._cursors = cursors
        # Workers start only when an account with overrides is first read.
        self._overrides = OverrideApplier(overrides or OverridePool())
        self._owners = CredentialOwners()

    @property
    def override_pool(self) -> OverridePool:
        return self._overrides.pool

    async def aclose(self) -> None:
        await self._overrides.pool.aclose()

    async def run(
        self, account: ResolvedAccount, call: UnifiedCall, on_applied: WriteApplied | None = None
    ) -> CallResult:
        method = method_of(account, call.resource, call.method)
        ids = _resolve_ids(account, method, call)
        _refuse_unknown_filters(method, call)
        if method.static_records is not None:
            return CallResult(await self._static(account, call, method))
        client = await self._connections.client_for(account)
        assert method.call is not None
        if method.returns == "list":
            return CallResult(await self._list(account, client, call, method, ids))
        if method.call.kind == "read":
            return CallResult(await self._read(account, client, call, call.method, ids, True))
        return await self._write(account, client, call, method, ids, on_applied)

    async def _write(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        call: UnifiedCall,
        method: MethodDef,
        ids: dict[str, str],
        on_applied: WriteApplied | None,
    ) -> CallResult:
        assert method.call is not None
        if not call.allow_credential_owner:
            await self._owners.refuse_owner(account, client, method, ids)
        current = None
        if method.read_current is not None:
            reader = method_of(account, call.resource, method.read_current)
            assert reader.call is not None
            current = (await client.send(_request(reader.call, ids, {}, None))).body
        body = None
        if method.request_mapping is not None:
            mapping = account.integration.mappings[method.request_mapping]
            body = mapping.evaluate({"body": call.body, "current": current})
        if method.call.takes_remote_data and call.remote_data:
            body = _merge(body if isinstance(body, dict) else {}, call.remote_data)
        request = _request(method.call, ids, call.remote_query, body)
        try:
            response = await client.send(request)
        except UpstreamError as failure:
            if not _may_have_applied(failure) or not await self._verify(client, method, ids):
                raise _reportable(failure) from None
            _log.info("engine.write.verified_after_failure", operation=call.method)
            response = None
        request_id = response.request_id if response is not None else None
        try:
            return await self._after_applied(
                account, client, call, method, ids, response, request_id, on_applied
            )
        except UnidirError as failure:
            # The provider has the change: whatever failed afterwards (the read-back, the
            # mapping of its answer) must not read as "nothing happened" to the client,
            # the audit log or an Idempotency-Key retry.
            failure.after_applied_write()
            raise

    async def _after_applied(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        call: UnifiedCall,
        method: MethodDef,
        ids: dict[str, str],
        response: UpstreamResponse | None,
        request_id: str | None,
        on_applied: WriteApplied | None,
    ) -> CallResult:
        """What a write returns once the provider has applied it."""
        if method.returns == "deleted":
            return CallResult({"id": ids.get("id")}, upstream_request_id=request_id)
        if method.then_read is None:
            assert response is not None
            if on_applied is not None:
                # Recorded before mapping: a mapping that fails does not undo the write.
                await on_applied(request_id, _created_id(account, method, response))
            shaped = await self._map_one(account, call, call.method, method, response.body, {})
            return CallResult(shaped, upstream_request_id=request_id)
        read_ids = dict(ids)
        created = None
        if method.then_read_id is not None:
            read_ids["id"] = created = _id_from(account, response, method.then_read_id)
        read_back = self._read(
            account,
            client,
            call,
            method.then_read,
            read_ids,
            with_remote_query=False,
            read_back=True,
        )
        if on_applied is None:
            return CallResult(await read_back, upstream_request_id=request_id)
        # The record of an applied write is completed whatever happens to the read (a
        # failure or a cancelled request included), so it is not a TaskGroup sibling.
        recording = asyncio.create_task(on_applied(request_id, created))
        try:
            body_out = await read_back
        finally:
            await asyncio.shield(recording)
        return CallResult(body_out, upstream_request_id=request_id)

    async def _verify(self, client: UpstreamClient, method: MethodDef, ids: dict[str, str]) -> bool:
        """After a write whose fate is unknown, read the object: did the change happen?

        A verification that cannot read answers "not proven": the write's own failure is
        then reported, which is the honest "outcome unknown".
        """
        if method.verify is None:
            return False
        check = UpstreamRequest("GET", method.verify.path.format(**ids), read_back=True)
        try:
            response = await client.send(check)
        except (UpstreamError, RateLimited):
            return False
        return method.verify.reached(response.body)

    async def _read(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        call: UnifiedCall,
        method_name: str,
        ids: dict[str, str],
        with_remote_query: bool,
        read_back: bool = False,
    ) -> Any:
        method = method_of(account, call.resource, method_name)
        assert method.call is not None
        excluded = set(call.shaping.exclude_fields)
        wanted = {}
        if call.shaping.format != "raw":
            wanted = {
                name: fetch
                for name, fetch in method.side_fetches.items()
                if not all(feed in excluded for feed in fetch.feeds)
            }
        query = call.remote_query if with_remote_query else {}
        main = _request(method.call, ids, query, None, read_back)
        side = [_request(fetch.call, ids, {}, None, read_back) for fetch in wanted.values()]
        responses = await _send_all(client, [main, *side])
        extra = {name: r.body for name, r in zip(wanted, responses[1:], strict=True)}
        return await self._map_one(account, call, method_name, method, responses[0].body, extra)

    async def _list(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        call: UnifiedCall,
        method: MethodDef,
        ids: dict[str, str],
    ) -> dict[str, Any]:
        assert method.call is not None
        paging = account.integration.definition.pagination
        plan = translate_filters(
            method.filters, call.filters, account.integration.id_regex, method.filter_join
        )
        spec = method.call
        if plan.path is not None:
            spec = spec.model_copy(update={"path": plan.path})
        # A remote_query key unidir sets itself would silently replace a unified filter (a
        # list "where email=x" answering everyone) or step around the signed cursor.
        _refuse_colliding_remote_query(
            call.remote_query,
            {
                **dict.fromkeys(plan.params, "set by a unified filter of this request"),
                paging.limit_param: "set by unidir: use limit",
                paging.cursor_param: "set by unidir: use next_cursor",
            },
        )
        params: dict[str, Any] = {**plan.params, **call.remote_query}
        params[paging.limit_param] = min(call.limit or paging.default_limit, paging.max_limit)
        if call.cursor:
            params[paging.cursor_param] = self._cursors.decode(account.id, call.cursor)
        response = await client.send(_request(spec, ids, params, None))
        records = response.body if isinstance(response.body, list) else []
        next_cursor = next_provider_cursor(response, paging.cursor_param)
        return {
            "result": await self._map_many(account, call, method, records),
            "next_cursor": self._cursors.encode(account.id, next_cursor) if next_cursor else None,
            "result_count": len(records),
            "is_partial_response": _is_partial(account, call.resource),
        }

    async def _static(self, account: ResolvedAccount, call: UnifiedCall, method: MethodDef) -> Any:
        records = list(method.static_records or ())
        return {
            "result": await self._map_many(account, call, method, records),
            "next_cursor": None,
            "result_count": len(records),
        }

    async def _map_one(
        self,
        account: ResolvedAccount,
        call: UnifiedCall,
        method_name: str,
        method: MethodDef,
        raw: Any,
        extra: dict[str, Any],
    ) -> Any:
        if call.shaping.format == "raw":
            return shape_record({}, raw, call.shaping, SCHEMAS[call.resource])
        data: Any = raw
        if method.record_key is not None:
            data = {method.record_key: raw, **dict.fromkeys(method.side_fetches), **extra}
        assert method.mapping is not None
        mapped = account.integration.mappings[method.mapping].evaluate(data)
        overrides = self._overrides.fields_of(account, call.resource, method_name)
        if overrides:
            [mapped] = await self._overrides.apply(
                account, call.resource, method_name, overrides, [data], [mapped]
            )
        return shape_record(mapped, raw, call.shaping, SCHEMAS[call.resource])

    async def _map_many(
        self, account: ResolvedAccount, call: UnifiedCall, method: MethodDef, records: list[Any]
    ) -> list[Any]:
        schema = SCHEMAS[call.resource]
        if call.shaping.format == "raw":
            return [shape_record({}, r, call.shaping, schema) for r in records]
        key = method.record_key
        inputs = records if key is None else [{key: r} for r in records]
        assert method.mapping is not None
        mapped = account.integration.mappings[method.mapping].evaluate_many(inputs)
        overrides = self._overrides.fields_of(account, call.resource, call.method)
        if overrides:
            mapped = await self._overrides.apply(
                account, call.resource, call.method, overrides, inputs, mapped
            )
        return [
            shape_record(m, r, call.shaping, schema) for m, r in zip(mapped, records, strict=True)
        ]


async def _send_all(
    client: UpstreamClient, requests: list[UpstreamRequest]
) -> list[UpstreamResponse]:
    """Send concurrently, all or nothing; the first request goes out first.

    The first failure cancels the others: once the call has failed, no request of it may
    still be running (and retrying) against the provider behind the client's back. The
    first request is sent by the calling task itself, one task fewer per call.
    """
    first, *rest = requests
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(client.send(request)) for request in rest]
            answer = await client.send(first)
    except BaseExceptionGroup as failures:
        raise _first_leaf(failures) from None
    return [answer, *(task.result() for task in tasks)]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def method_of(account: ResolvedAccount, resource: str, name: str) -> MethodDef:
    method = account.integration.method(resource, name)
    if method is None:
        label = account.integration.definition.label
        raise NotSupported(f"{label} does not support {resource}.{name}")
    return method


def _resolve_ids(account: ResolvedAccount, method: MethodDef, call: UnifiedCall) -> dict[str, str]:
    """Pick the ids the provider call needs; each is checked before it can reach a path."""
    ids: dict[str, str] = {}
    for template_name, source in method.ids.items():
        field = source.split(".", 1)[1]
        value = call.id_values.get(source)
        if value is None or value == "":
            raise BadRequest.for_field(field, "required")
        if not account.integration.id_regex.fullmatch(value):
            # "../groups" or "a/b?c" must never be spliced into an upstream path.
            raise BadRequest.for_field(field, "not a valid id for this provider")
        ids[template_name] = value
    return ids


def _refuse_unknown_filters(method: MethodDef, call: UnifiedCall) -> None:
    # An ignored filter would return everyone: "list users where email=x" must never
    # silently become "list users".
    known = set(method.filters) | {s.split(".", 1)[1] for s in method.ids.values()}
    unknown = sorted(set(call.filters) - known)
    if unknown:
        raise BadRequest(
            f"unsupported filter(s): {', '.join(unknown)}",
            details={name: "not a filter of this resource for this provider" for name in unknown},
        )


def _refuse_colliding_remote_query(
    remote_query: Mapping[str, Any], set_by_unidir: Mapping[str, str]
) -> None:
    colliding = sorted(set(remote_query) & set(set_by_unidir))
    if colliding:
        details = {f"remote_query[{name}]": set_by_unidir[name] for name in colliding}
        first = next(iter(details))
        raise BadRequest(f"{first}: {details[first]}", details=details)


def _request(
    spec: UpstreamCall,
    ids: dict[str, str],
    query: Mapping[str, Any],
    body: Any,
    read_back: bool = False,
) -> UpstreamRequest:
    params = {**spec.query, **query} or None
    return UpstreamRequest(
        method=spec.method,
        path=spec.path.format(**ids),
        params=params,
        json=body,
        kind=spec.kind,
        read_back=read_back,
    )


def _may_have_applied(failure: UpstreamError) -> bool:
    """Whether a failed write needs reading back before its failure can be reported.

    A provider's refusal (a 4xx) proves nothing happened. Anything else does not: besides
    the client's ``AmbiguousWriteError``, a write that ran out of retries on 503s may have
    been applied by one of them (a provider can apply a write and still answer 503), and
    reading back where nothing was sent costs one read.
    """
    return not isinstance(failure, RemoteError)


def _reportable(failure: UpstreamError) -> UnidirError:
    """What to tell the client once reading back showed the change did not happen.

    After a retry that the provider refused, its refusal is the truth (a 400 "user is not
    active" rather than a 502).
    """
    if isinstance(failure, AmbiguousWriteError) and failure.refusal is not None:
        return failure.refusal
    return failure


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """remote_data merged into the mapped body, nested objects merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _id_in(account: ResolvedAccount, response: UpstreamResponse | None, field: str) -> str | None:
    """The valid id the provider's answer carries in ``field``, if any."""
    value = response.body.get(field) if response and isinstance(response.body, dict) else None
    valid = isinstance(value, str) and account.integration.id_regex.fullmatch(value)
    return value if valid else None


def _id_from(account: ResolvedAccount, response: UpstreamResponse | None, field: str) -> str:
    value = _id_in(account, response, field)
    if value is None:
        raise UpstreamUnavailable("the provider's answer did not carry the new object's id")
    return value


def _created_id(
    account: ResolvedAccount, method: MethodDef, response: UpstreamResponse
) -> str | None:
    """The id of the object a create made, for the audit log (None when not a create)."""
    return None if method.created_id is None else _id_in(account, response, method.created_id)


def next_provider_cursor(response: UpstreamResponse, cursor_param: str) -> str | None:
    link = response.links.get("next")
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get(cursor_param)
    return values[0] if values else None


def _is_partial(account: ResolvedAccount, resource: str) -> bool:
    """A list is partial when reading one object would add what side fetches bring."""
    get = account.integration.method(resource, "get")
    return bool(get and get.side_fetches)
