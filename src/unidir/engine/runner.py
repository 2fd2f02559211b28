"""Runs one unified call: definition -> upstream request(s) -> mapping -> shaping.

The runner knows nothing of any provider: every path, side fetch and verification rule
comes from the provider's definition.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from pydantic import BaseModel

from unidir.engine.accounts import ResolvedAccount
from unidir.engine.calls import CallResult, UnifiedCall
from unidir.engine.connections import ConnectionPool
from unidir.errors import BadRequest, NotSupported
from unidir.integrations.schema import MethodDef, UpstreamCall
from unidir.unified.models import User
from unidir.unified.shaping import shape_record
from unidir.upstream.client import UpstreamClient
from unidir.upstream.errors import AmbiguousWriteError
from unidir.upstream.request import UpstreamRequest

_log = structlog.get_logger(__name__)

SCHEMAS: dict[str, type[BaseModel]] = {"users": User}


class Engine:
    def __init__(self, connections: ConnectionPool) -> None:
        self._connections = connections

    async def run(self, account: ResolvedAccount, call: UnifiedCall) -> CallResult:
        method = _method(account, call.resource, call.method)
        _check_id(account, call)
        client = await self._connections.client_for(account)
        if method.mapping is not None and method.call.kind == "read":
            return CallResult(await self._read(account, client, call, method, call.remote_query))
        request_id = await self._write(client, call, method)
        assert method.then_read is not None  # enforced by the definition schema
        read_method = _method(account, call.resource, method.then_read)
        body = await self._read(account, client, call, read_method, {})
        return CallResult(body, upstream_request_id=request_id)

    async def _write(
        self, client: UpstreamClient, call: UnifiedCall, method: MethodDef
    ) -> str | None:
        request = _request(method.call, call, call.remote_query, call.remote_data)
        try:
            response = await client.send(request)
        except AmbiguousWriteError as ambiguous:
            if method.verify is None or not await self._verify(client, call, method):
                raise
            _log.info("engine.write.verified_after_ambiguous_failure", operation=call.method)
            return ambiguous.upstream_request_id
        return response.request_id

    async def _verify(self, client: UpstreamClient, call: UnifiedCall, method: MethodDef) -> bool:
        """After a write whose fate is unknown, read the object: did the change happen?"""
        assert method.verify is not None
        check = UpstreamRequest("GET", method.verify.path.format(id=call.id), kind="read")
        response = await client.send(check)
        body = response.body if isinstance(response.body, dict) else {}
        return bool(body.get(method.verify.field) == method.verify.equals)

    async def _read(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        call: UnifiedCall,
        method: MethodDef,
        remote_query: dict[str, Any],
    ) -> Any:
        excluded = set(call.shaping.exclude_fields)
        wanted = {
            name: fetch
            for name, fetch in method.side_fetches.items()
            if not all(feed in excluded for feed in fetch.feeds)
        }
        if call.shaping.format == "raw":
            wanted = {}
        main = _request(method.call, call, remote_query, None)
        side = [_request(fetch.call, call, {}, None) for fetch in wanted.values()]
        responses = await asyncio.gather(client.send(main), *(client.send(r) for r in side))
        raw = responses[0].body
        data: dict[str, Any] = {method.record_key: raw}
        data.update({name: None for name in method.side_fetches})
        data.update({name: r.body for name, r in zip(wanted, responses[1:], strict=True)})
        assert method.mapping is not None
        mapping = account.integration.mappings[method.mapping]
        unified = mapping.evaluate(data) if call.shaping.format != "raw" else {}
        return shape_record(unified, raw, call.shaping, SCHEMAS[call.resource])


def _method(account: ResolvedAccount, resource: str, name: str) -> MethodDef:
    method = account.integration.method(resource, name)
    if method is None:
        raise NotSupported(
            f"{account.integration.definition.label} does not support {resource}.{name}"
        )
    return method


def _check_id(account: ResolvedAccount, call: UnifiedCall) -> None:
    if call.id is None:
        return
    if not account.integration.id_regex.fullmatch(call.id):
        # Ids are spliced into upstream paths; anything unexpected is refused here so that
        # "../groups" or "a/b?c" can never reach the provider.
        raise BadRequest.for_field(call.id_field, "not a valid id for this provider")


def _request(
    spec: UpstreamCall, call: UnifiedCall, query: dict[str, Any], body: dict[str, Any] | None
) -> UpstreamRequest:
    params = {**spec.query, **query} or None
    json_body: Any = None
    if spec.takes_remote_data:
        json_body = dict(body or {})
    return UpstreamRequest(
        method=spec.method,
        path=spec.path.format(id=call.id),
        params=params,
        json=json_body,
        kind=spec.kind,
    )
