"""The Proxy API's engine side: a provider call with the account's auth, nothing mapped."""

from __future__ import annotations

import re
from typing import Any

from unidir.engine.accounts import ResolvedAccount
from unidir.engine.calls import CallResult
from unidir.engine.connections import ConnectionPool
from unidir.engine.cursors import CursorCodec
from unidir.engine.runner import next_provider_cursor
from unidir.errors import BadRequest
from unidir.upstream.request import UpstreamRequest

# One path segment: unreserved characters plus a few Okta uses; no "..", no "%" games.
_SEGMENT = re.compile(r"^[A-Za-z0-9._~@:+=-]{1,200}$")


def proxy_path(raw: str) -> str:
    segments = raw.strip("/").split("/")
    if not raw.strip("/") or any(
        s in ("", ".", "..") or not _SEGMENT.fullmatch(s) for s in segments
    ):
        raise BadRequest.for_field("path", "must be a provider path of plain segments")
    return "/" + "/".join(segments)


class Proxy:
    def __init__(self, connections: ConnectionPool, cursors: CursorCodec) -> None:
        self._connections = connections
        self._cursors = cursors

    async def send(
        self,
        account: ResolvedAccount,
        method: str,
        path: str,
        params: dict[str, Any],
        body: Any,
        cursor: str | None,
    ) -> CallResult:
        paging = account.integration.definition.pagination
        params = dict(params)
        if cursor:
            params[paging.cursor_param] = self._cursors.decode(account.id, cursor)
        client = await self._connections.client_for(account)
        response = await client.send(
            UpstreamRequest(
                method=method,
                path=proxy_path(path),
                params=params or None,
                json=body,
                kind="read" if method == "GET" else "write",
            )
        )
        if isinstance(response.body, list):
            next_cursor = next_provider_cursor(response, paging.cursor_param)
            envelope = {
                "result": response.body,
                "next_cursor": self._cursors.encode(account.id, next_cursor)
                if next_cursor
                else None,
                "result_count": len(response.body),
            }
            return CallResult(envelope, response.request_id, response.status)
        return CallResult(response.body, response.request_id, response.status)
