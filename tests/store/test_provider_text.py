"""Provider text (request ids, messages) of any length and any characters is stored, cut to
its column and marked, on SQLite and PostgreSQL alike, by every path that writes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from unidir.store import repositories as repo
from unidir.store.database import session_factory
from unidir.store.models import AuditRecord
from unidir.store.request_store import RequestStore
from unidir.store.threaded import ThreadedEngine

LONG_ID = "r" * 27 + "x" * 123  # 150 characters; the column holds 100


def audit_facts(request_id: str, detail: str) -> dict[str, object]:
    return {
        "environment_id": "env",
        "token_id": None,
        "account_id": None,
        "operation": "users.suspend",
        "target": "00u1",
        "outcome": "success",
        "status_code": 200,
        "upstream_request_id": request_id,
        "detail": detail,
    }


@pytest.mark.parametrize(
    ("request_id", "detail", "stored_id", "stored_detail"),
    [
        pytest.param(LONG_ID, "ok", "r" * 27 + "x" * 72 + "…", "ok", id="long-request-id"),
        pytest.param("r" * 100, "ok", "r" * 100, "ok", id="request-id-that-fits"),
        pytest.param("abc", "bad\x00byte", "abc", "bad\ufffdbyte", id="nul-in-message"),
        pytest.param("a\x00b", "ok", "a\ufffdb", "ok", id="nul-in-request-id"),
    ],
)
@pytest.mark.parametrize("path", ["request-store", "session"])
async def test_provider_text_is_stored_cut_to_fit_and_without_nul(
    db: AsyncEngine,
    threaded: ThreadedEngine,
    path: str,
    request_id: str,
    detail: str,
    stored_id: str,
    stored_detail: str,
) -> None:
    facts = audit_facts(request_id, detail)
    if path == "request-store":
        await RequestStore(threaded).append_audit(repo.audit_row(**facts))  # type: ignore[arg-type]
    else:
        async with session_factory(db)() as session:
            repo.add_audit(session, **facts)
            await session.commit()

    async with session_factory(db)() as session:
        row = await session.scalar(select(AuditRecord))
    assert row is not None
    assert (row.upstream_request_id, row.detail) == (stored_id, stored_detail)
