"""Every Okta-path request goes through the same steps, in Okta's order:

concurrency limit -> added latency -> rate limit -> authentication -> scope ->
fault (before) -> handler -> fault (after) -> request log.

Each response carries ``X-Rate-Limit-*``, ``X-Okta-Request-Id`` and ``Date``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from unidir.sandbox.okta import errors
from unidir.sandbox.okta.auth import ANONYMOUS, authenticate
from unidir.sandbox.okta.call import Call, Reply
from unidir.sandbox.okta.clock import http_date
from unidir.sandbox.okta.faults import Fault, FaultKind, When
from unidir.sandbox.okta.ids import request_id
from unidir.sandbox.okta.ratelimit import Verdict
from unidir.sandbox.okta.requestlog import LoggedRequest, Outcome
from unidir.sandbox.okta.sandbox import Sandbox

Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Operation:
    """One method on one path: its handler, the OAuth scope it needs, its rate-limit family."""

    handler: Handler
    scope: str | None
    family: str
    public: bool = False  # no Authorization needed (the token endpoint)


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised into an in-process client exactly where a real client sees its connection drop."""


class _DroppedConnection(Response):
    """Starts a response and dies: on a socket the server closes the connection mid-reply."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        raise ConnectionDropped("Server disconnected without sending a complete response.")


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _response(
    status: int, body: Any, headers: dict[str, str], links: list[str] | None = None
) -> Response:
    if body is None:
        response = Response(status_code=status, headers=headers)
    else:
        response = Response(
            _json_bytes(body), status_code=status, headers=headers, media_type="application/json"
        )
    for link in links or ():
        response.raw_headers.append((b"link", link.encode("latin-1")))
    return response


def _error_response(problem: errors.OktaApiError, headers: dict[str, str]) -> Response:
    return _response(problem.status, problem.body(), {**headers, **problem.headers})


def _parse_body(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False


def _redacted(body: Any) -> Any:
    """The logged body, without password values: secrets are never logged."""
    if not isinstance(body, dict):
        return body
    credentials = body.get("credentials")
    if not isinstance(credentials, dict):
        return body
    password = credentials.get("password")
    if not isinstance(password, dict) or "value" not in password:
        return body
    return {
        **body,
        "credentials": {**credentials, "password": {**password, "value": "REDACTED"}},
    }


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _fault_response(fault: Fault, headers: dict[str, str]) -> Response:
    if fault.kind is FaultKind.STATUS:
        if fault.status == 429:
            # A scripted 429 reports a window that resets soon, so clients can wait it out.
            reset = str(int(time.time() + fault.retry_after_seconds))
            headers = {**headers, "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset}
        return _error_response(errors.injected(fault.status), headers)
    if fault.kind is FaultKind.TIMEOUT:
        await asyncio.sleep(fault.timeout_seconds)
    return _DroppedConnection()


def _fault_note(fault: Fault) -> dict[str, Any]:
    note: dict[str, Any] = {"kind": fault.kind.value, "when": fault.when.value}
    if fault.kind is FaultKind.STATUS:
        note["status"] = fault.status
    return note


async def handle(
    sandbox: Sandbox, request: Request, operation: Operation | None, known_path: bool
) -> Response:
    seq = sandbox.log.next_seq()
    started = time.time()
    raw_body = await request.body()
    body, body_is_valid = _parse_body(raw_body)
    headers = {"X-Okta-Request-Id": request_id(), "Date": http_date(started)}
    fault_note: dict[str, Any] | None = None

    if sandbox.in_flight >= sandbox.config.concurrency_limit:
        # Okta reports a concurrency refusal as a 429 with limit and remaining both 0.
        limits = {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0"}
        limits["X-Rate-Limit-Reset"] = str(int(started) + 1)
        response = _error_response(errors.rate_limited(), {**headers, **limits})
        outcome = Outcome.REJECTED
    else:
        sandbox.in_flight += 1
        try:
            response, outcome, fault_note = await _process(
                sandbox, request, operation, known_path, raw_body, body, body_is_valid, headers
            )
        finally:
            sandbox.in_flight -= 1

    status = None if isinstance(response, _DroppedConnection) else response.status_code
    sandbox.log.append(
        LoggedRequest(
            seq=seq,
            time=started,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            body=_redacted(body),
            status=status,
            request_id=headers["X-Okta-Request-Id"],
            outcome=outcome,
            fault=fault_note,
        )
    )
    return response


async def _process(
    sandbox: Sandbox,
    request: Request,
    operation: Operation | None,
    known_path: bool,
    raw_body: bytes,
    body: Any,
    body_is_valid: bool,
    headers: dict[str, str],
) -> tuple[Response, Outcome, dict[str, Any] | None]:
    latency_ms = sandbox.config.latency_ms + sandbox.faults.latency_ms
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)

    verdict: Verdict = sandbox.limiter.hit(operation.family if operation else "default")
    headers.update(verdict.headers())
    if not verdict.allowed:
        return _error_response(errors.rate_limited(), headers), Outcome.REJECTED, None

    principal = ANONYMOUS
    try:
        if operation is None or not operation.public:
            principal = authenticate(
                request.headers.get("authorization"), sandbox.honours_api_token, sandbox.oauth
            )
        if operation is None:
            raise (
                errors.method_not_allowed()
                if known_path
                else errors.resource_not_found_path(request.url.path)
            )
        if not operation.public:
            principal.require(operation.scope)
    except errors.OktaApiError as problem:
        return _error_response(problem, headers), Outcome.REJECTED, None

    fault = sandbox.faults.decide(request.method, request.url.path)
    if fault is not None and fault.when is When.BEFORE:
        return await _fault_response(fault, headers), Outcome.FAULT, _fault_note(fault)

    call = Call(
        sandbox=sandbox,
        principal=principal,
        path=request.url.path,
        path_params=dict(request.path_params),
        query=request.query_params,
        body=body,
        body_is_valid=body_is_valid,
        raw_body=raw_body,
        base=_base_url(request),
    )
    try:
        reply = await operation.handler(call)
    except errors.OktaApiError as problem:
        response = _error_response(problem, headers)
        outcome = Outcome.REJECTED
    else:
        response = _response(reply.status, reply.body, {**headers, **reply.headers}, reply.links)
        outcome = Outcome.APPLIED if reply.status < 400 else Outcome.REJECTED

    if fault is not None:
        # The request went through; only its answer is lost.
        return await _fault_response(fault, headers), outcome, _fault_note(fault)
    return response, outcome, None
