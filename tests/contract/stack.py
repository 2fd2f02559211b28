"""A client's view of one unidir app in front of one provider sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from tests.contract.providers import Provider, ProviderSandbox

BASE = "/unified/user-directory"


@dataclass
class Stack:
    """unidir in front of one provider sandbox, seen as a client of the unified API."""

    provider: Provider
    sandbox: ProviderSandbox
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    account_id: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        account_id: str | None = None,
    ) -> httpx.Response:
        query = {"integrated_account_id": account_id or self.account_id, **(params or {})}
        return await self.client.request(
            method, BASE + path, params=query, json=json, headers=self.headers
        )

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        return response.json()

    async def list_pages(
        self, path: str, params: dict[str, Any] | None = None, *, account_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every page of a list, following next_cursor until it runs out."""
        pages: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = dict(params or {})
            if cursor is not None:
                query["next_cursor"] = cursor
            page = await self.ok("GET", path, params=query, account_id=account_id)
            assert page["result_count"] == len(page["result"])
            pages.append(page)
            cursor = page["next_cursor"]
            if not cursor:
                return pages
            assert len(pages) < 10_000, "next_cursor never ran out"

    async def list_all(
        self, path: str, params: dict[str, Any] | None = None, *, account_id: str | None = None
    ) -> list[dict[str, Any]]:
        pages = await self.list_pages(path, params, account_id=account_id)
        return [record for page in pages for record in page["result"]]

    async def new_account(self) -> str:
        response = await self.client.post(
            "/integrated-account",
            json={"integration": self.provider.name, "context": self.sandbox.account_context},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])
