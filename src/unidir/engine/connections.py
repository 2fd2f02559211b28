"""One upstream client per integrated account, built from its provider definition and reused.

Reusing the client keeps its connection pool (and an OAuth access token) warm across
requests; a changed account (new ``version``) gets a fresh client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from unidir.engine.accounts import ResolvedAccount
from unidir.settings import Settings
from unidir.upstream.auth import auth_from_definition
from unidir.upstream.client import Timeouts, UpstreamClient
from unidir.upstream.ratelimit import LocalRateLimitBudget, RateLimitBudget, RateLimitHeaders

# Tests and the demo plug a sandbox in here: base URL -> transport (None = real network).
TransportFactory = Callable[[str], httpx.AsyncBaseTransport | None]


class ConnectionPool:
    def __init__(
        self,
        settings: Settings,
        *,
        transport_factory: TransportFactory | None = None,
        budget_factory: Callable[[RateLimitHeaders], RateLimitBudget] | None = None,
    ) -> None:
        self._settings = settings
        self._transport_factory = transport_factory
        self._budget_factory = budget_factory or (lambda names: LocalRateLimitBudget(names))
        self._budgets: dict[str, RateLimitBudget] = {}
        self._clients: dict[str, tuple[str, UpstreamClient]] = {}
        self._lock = asyncio.Lock()

    async def client_for(self, account: ResolvedAccount) -> UpstreamClient:
        cached = self._clients.get(account.id)
        if cached is not None and cached[0] == account.version:
            return cached[1]
        async with self._lock:
            cached = self._clients.get(account.id)
            if cached is not None and cached[0] == account.version:
                return cached[1]
            if cached is not None:
                await cached[1].aclose()
            client = self._build(account)
            self._clients[account.id] = (account.version, client)
            return client

    def _build(self, account: ResolvedAccount) -> UpstreamClient:
        definition = account.integration.definition
        names = definition.rate_limit.headers
        variant = next(v for v in definition.auth if v.when in account.context)
        transport = self._transport_factory(account.base_url) if self._transport_factory else None
        return UpstreamClient(
            base_url=account.base_url,
            auth=auth_from_definition(variant.scheme, account.context, account.base_url),
            transport=transport,
            budget=self._budget(account),
            rate_limit_headers=RateLimitHeaders(
                limit=names.limit, remaining=names.remaining, reset=names.reset
            ),
            budget_key=account.id,
            family_of=account.integration.family_of,
            timeouts=Timeouts(
                connect=self._settings.connect_timeout,
                read=self._settings.read_timeout,
                write=self._settings.read_timeout,
                pool=self._settings.connect_timeout,
            ),
            max_rate_limit_wait=self._settings.max_rate_limit_wait,
            request_id_header=definition.request_id_header,
            error_message_fields=definition.error.message_fields,
            error_causes_field=definition.error.causes_field,
            allow_private_addresses=self._settings.allow_private_upstreams,
            max_answer_bytes=self._settings.max_upstream_body_bytes,
        )

    def _budget(self, account: ResolvedAccount) -> RateLimitBudget:
        definition = account.integration.definition
        budget = self._budgets.get(definition.name)
        if budget is None:
            names = definition.rate_limit.headers
            budget = self._budget_factory(
                RateLimitHeaders(limit=names.limit, remaining=names.remaining, reset=names.reset)
            )
            self._budgets[definition.name] = budget
        return budget

    async def aclose(self) -> None:
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
