"""The idempotency flow when its records' store fails after the request has run."""

from __future__ import annotations

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from unidir.api.idempotency import IdempotencyStore, Record
from unidir.errors import SharedStateUnavailable
from unidir.store.crypto import SecretBox, generate_key, parse_key

BOX = SecretBox([parse_key(generate_key())])


class StoreGoneAfterClaim:
    """Records whose store answers the claim, then cannot be reached any more."""

    def __init__(self) -> None:
        self.claimed: list[str] = []

    async def claim(self, environment_id: str, key: str, request_hash: str) -> bool:
        self.claimed.append(key)
        return True

    async def load(self, environment_id: str, key: str) -> Record | None:
        return None

    async def finish(self, environment_id: str, key: str, status: int, body: str) -> None:
        raise SharedStateUnavailable("the idempotency records (Redis) cannot be reached")

    async def release(self, environment_id: str, key: str) -> None:
        raise SharedStateUnavailable("the idempotency records (Redis) cannot be reached")


def keyed_request() -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b'{"user_id": "00u1"}', "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/unified/user-directory/users/suspend",
        "query_string": b"",
        "headers": [(b"idempotency-key", b"offboard-1")],
    }
    return Request(scope, receive)


@pytest.mark.parametrize(
    "status", [pytest.param(200, id="applied"), pytest.param(502, id="provider-failed")]
)
async def test_the_answer_goes_out_when_its_record_cannot_be_saved(status: int) -> None:
    records = StoreGoneAfterClaim()
    store = IdempotencyStore(records, BOX)

    async def handler() -> Response:
        return JSONResponse({"id": "00u1"}, status_code=status)

    response = await store.run(keyed_request(), "env-1", handler)

    assert records.claimed == ["offboard-1"]
    assert response.status_code == status
    assert bytes(response.body) == b'{"id":"00u1"}'


async def test_the_request_s_own_failure_is_raised_not_the_store_s() -> None:
    store = IdempotencyStore(StoreGoneAfterClaim(), BOX)

    async def handler() -> Response:
        raise RuntimeError("the handler broke")

    with pytest.raises(RuntimeError, match="the handler broke"):
        await store.run(keyed_request(), "env-1", handler)
