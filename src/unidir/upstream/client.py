"""``UpstreamClient``: one provider account's HTTP client, with retries and a rate budget.

``send`` runs one logical call: wait for the rate-limit budget, send, record the budget
headers, let ``decide_retry`` judge the outcome, and either return an ``UpstreamResponse``
or raise from the shared exception tree:

* 2xx -> ``UpstreamResponse``;
* 3xx -> ``ProviderRedirected`` (502): redirects are never followed, and a redirect's body
  is not the answer that was asked for;
* an answer larger than ``max_answer_bytes`` once decoded -> ``AnswerTooLarge`` (502),
  for a write ``WriteAnswerTooLarge`` (ambiguous: the write arrived);
* 429 past retries or past the wait budget -> ``RateLimited`` with ``retry_after``;
* other 4xx -> ``RemoteError`` with the provider's status, summary and body;
* 5xx or connection failures after retries -> ``UpstreamUnavailable``; timeouts ->
  ``UpstreamTimeout``; a write whose fate is unknown -> ``AmbiguousWriteError`` /
  ``AmbiguousWriteTimeout`` (also a write refused or rate-limited on a retry after a 503:
  the 503'd attempt may have done the work; ``refusal`` keeps the final answer).

A request marked ``read_back`` (a read of what a write may just have changed) gets the
policy's ``read_back_attempts`` and may wait up to ``READ_BACK_MAX_RATE_LIMIT_WAIT`` for a
rate-limit window.

Each instance keeps its transport's connections alive between calls; no cookies are kept.
The happy path does no logging; each retry and wait is logged with its reason, never with
headers or bodies.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self

import httpx
import structlog

from unidir import __version__
from unidir.errors import (
    RateLimited,
    RemoteError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from unidir.upstream.auth import HeaderTokenAuth
from unidir.upstream.body import DEFAULT_MAX_ANSWER_BYTES
from unidir.upstream.errors import (
    AmbiguousWriteError,
    AmbiguousWriteTimeout,
    AnswerTooLarge,
    ProviderRedirected,
    WriteAnswerTooLarge,
)
from unidir.upstream.families import DEFAULT_FAMILY, FamilyOf, family_matcher
from unidir.upstream.pagination import paginate, paginate_links
from unidir.upstream.params import flatten_params
from unidir.upstream.ratelimit import (
    LocalRateLimitBudget,
    RateLimitBudget,
    RateLimitHeaders,
    retry_after_seconds,
)
from unidir.upstream.request import UpstreamRequest, UpstreamResponse, parse_body
from unidir.upstream.retry import Outcome, RetryDecision, RetryPolicy, decide_retry
from unidir.upstream.ssrf import Resolver
from unidir.upstream.transport import (
    Answer,
    Exchange,
    HttpxExchange,
    ProviderTransport,
    Timeouts,
    as_httpx_response,
)

__all__ = [
    "DEFAULT_ERROR_MESSAGE_FIELDS",
    "Timeouts",
    "UpstreamClient",
    "family_matcher",
    "paginate",
    "paginate_links",
]

_log = structlog.get_logger("unidir.upstream.client")

# Where providers put a human summary of an error. Okta: errorSummary (+ errorCauses);
# OAuth servers: error_description; many others: message / error.
DEFAULT_ERROR_MESSAGE_FIELDS = ("errorSummary", "error_description", "message", "error")


# How long a read-back may wait for a rate-limit window (one of Okta's one-minute windows):
# the write is done, and the client is better served by a late answer than a false failure.
READ_BACK_MAX_RATE_LIMIT_WAIT = 60.0

# Sent with every provider call (a JSON body adds its Content-Type).
_HEADERS = (("Accept", "*/*"), ("User-Agent", f"unidir/{__version__}"))
_JSON = ("Content-Type", "application/json")

# A path (with an optional query) that httpx would neither encode nor normalise: plain
# characters and percent-escapes, no dot segments. Such a path is appended to the base URL
# as it is; any other goes through httpx's own URL handling (``UpstreamClient.url_for``).
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_PLAIN_PATH = re.compile(rf"(?:/{_PCHAR}*)+(?:\?(?:{_PCHAR}|[/?])*)?")


def _default_family(_method: str, _path: str) -> str:
    return DEFAULT_FAMILY


class UpstreamClient:
    """HTTP client toward one provider account.

    ``transport`` is the test and sandbox seam; when omitted, a ``ProviderTransport``
    re-checks every new connection's resolved address (private addresses only with
    ``allow_private_addresses``). ``budget`` should be shared by every client of the same
    account (one per process, or a shared store); when omitted, this client has its own.
    ``max_answer_bytes`` bounds each answer's decoded body, whichever the transport.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RateLimitBudget | None = None,
        budget_key: str = "default",
        family_of: FamilyOf = _default_family,
        timeouts: Timeouts | None = None,
        retry_policy: RetryPolicy | None = None,
        max_rate_limit_wait: float = 30.0,
        request_id_header: str = "X-Request-Id",
        *,
        rate_limit_headers: RateLimitHeaders | None = None,
        error_message_fields: Sequence[str] = DEFAULT_ERROR_MESSAGE_FIELDS,
        error_causes_field: str | None = "errorCauses",
        allow_private_addresses: bool = False,
        resolver: Resolver | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rate_limit_headers = rate_limit_headers or RateLimitHeaders()
        self._budget: RateLimitBudget = budget or LocalRateLimitBudget(
            self._rate_limit_headers, clock=clock, sleep=sleep
        )
        self._budget_key = budget_key
        self._family_of = family_of
        self._retry = retry_policy or RetryPolicy()
        self._max_wait = max_rate_limit_wait
        # What a read-back gets instead: more attempts, a longer wait for a rate-limit window.
        self._read_back = (
            replace(
                self._retry,
                max_attempts=max(self._retry.max_attempts, self._retry.read_back_attempts),
            ),
            max(max_rate_limit_wait, READ_BACK_MAX_RATE_LIMIT_WAIT),
        )
        self._request_id_header = request_id_header
        self._error_fields = tuple(error_message_fields)
        self._causes_field = error_causes_field
        self._sleep = sleep
        self._clock = clock
        self._auth = auth or httpx.Auth()
        # A fixed header is all most providers' auth is: added directly, with no auth flow
        # to run. None: ``auth`` needs its flow.
        self._fixed_auth: tuple[tuple[str, str], ...] | None = (
            () if auth is None else (auth.header,) if isinstance(auth, HeaderTokenAuth) else None
        )
        self._exchanger: Exchange = (
            ProviderTransport(
                allow_private=allow_private_addresses,
                resolver=resolver,
                max_answer_bytes=max_answer_bytes,
            )
            if transport is None
            else HttpxExchange(transport, max_answer_bytes=max_answer_bytes)
        )
        self._timeouts = timeouts or Timeouts()
        # As httpx's client: the base path ends in "/" and request paths go under it.
        url = httpx.URL(base_url)
        self._base_url = url.copy_with(raw_path=url.raw_path.rstrip(b"/") + b"/")
        self._prefix = str(self._base_url)

    @property
    def base_url(self) -> httpx.URL:
        return self._base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._exchanger.aclose()

    async def send(self, req: UpstreamRequest) -> UpstreamResponse:
        doubt = _Doubt()
        try:
            return await self._attempts(req, doubt)
        except (RemoteError, RateLimited) as refusal:
            if doubt.reason is None:
                raise
            # The retry was refused, but an earlier attempt may have done the work (a
            # suspend refused as "not active" because the first try already suspended).
            raise AmbiguousWriteError(
                f"{req.method} {_bare(req.path)}: {doubt.reason}; the retry got: {refusal.message}",
                upstream_request_id=getattr(refusal, "upstream_request_id", None),
                refusal=refusal,
            ) from refusal

    async def _attempts(self, req: UpstreamRequest, doubt: _Doubt) -> UpstreamResponse:
        family = self._family_of(req.method, req.path)
        pairs = flatten_params(req.params)
        params = tuple(pairs) if pairs else None
        policy, max_wait = self._read_back if req.read_back else (self._retry, self._max_wait)
        attempt = 0
        while True:
            attempt += 1
            await self._budget.acquire(self._budget_key, family, max_wait)
            try:
                response = await self._exchange(req.method, req.path, params, req.json)
            except httpx.TransportError as exc:
                outcome = Outcome.from_exception(exc)
                decision = decide_retry(req.kind, outcome, attempt, policy)
                if not decision.retry:
                    raise self._transport_failure(req, outcome, decision) from exc
            except AnswerTooLarge as exc:
                if req.kind != "write":
                    raise
                raise WriteAnswerTooLarge(
                    f"{req.method} {_bare(req.path)}: {exc.message}; the write arrived "
                    "and may have been applied"
                ) from exc
            else:
                status = response.status
                await self._budget.observe(
                    self._budget_key, family, response.headers, status, self._clock()
                )
                if status < 300:
                    return self._accept(response)
                if status < 400:
                    raise ProviderRedirected(
                        f"{req.method} {_bare(req.path)}: the provider redirected (HTTP "
                        f"{status}) instead of answering; redirects are never followed",
                        upstream_request_id=response.headers.get(self._request_id_header),
                    )
                decision = decide_retry(
                    req.kind, Outcome.from_status(status, response.headers), attempt, policy
                )
                if not decision.retry:
                    raise self._status_failure(response, decision)
                if req.kind == "write" and status >= 500:
                    doubt.reason = f"an earlier attempt got HTTP {status}"
            _log.info(
                "upstream.retry",
                method=req.method,
                path=_bare(req.path),
                attempt=attempt,
                reason=decision.reason,
            )
            await self._sleep(decision.delay)

    async def _exchange(
        self, method: str, path: str, params: tuple[tuple[str, str], ...] | None, body: Any
    ) -> Answer:
        """One request, through the auth flow when the auth needs one, read in full.

        Redirects are returned rather than followed; no cookies are kept.
        """
        url = self.url_for(path, params)
        headers = list(_HEADERS)
        content = None
        if body is not None:
            # As httpx encodes a json= body.
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            content = text.encode()
            headers.append(_JSON)
        if self._fixed_auth is not None:
            headers.extend(self._fixed_auth)
            return await self._exchanger.exchange(method, url, headers, content, self._timeouts)
        request = httpx.Request(method, url, headers=headers, content=content)
        flow = self._auth.async_auth_flow(request)
        try:
            request = await anext(flow)
            while True:
                answer = await self._exchanger.exchange(
                    request.method,
                    str(request.url),
                    request.headers.multi_items(),
                    request.content or None,
                    self._timeouts,
                )
                try:
                    request = await flow.asend(as_httpx_response(answer, request))
                except StopAsyncIteration:
                    return answer
        finally:
            await flow.aclose()

    def url_for(self, path: str, params: tuple[tuple[str, str], ...] | None) -> str:
        """The URL of ``path`` (relative to the base URL) with ``params``, as httpx's client
        builds it; plain paths are joined as strings, the rest parsed by httpx."""
        plain = _PLAIN_PATH.fullmatch(path) and "/." not in path
        if plain and not (params and "?" in path):
            url = self._prefix + path[1:]
            return f"{url}?{httpx.QueryParams(params)}" if params else url
        target = httpx.URL(path)
        if target.is_relative_url:
            raw_path = self._base_url.raw_path + target.raw_path.lstrip(b"/")
            target = self._base_url.copy_with(raw_path=raw_path)
        return str(target.copy_merge_params(params) if params else target)

    def _accept(self, response: Answer) -> UpstreamResponse:
        headers = response.headers
        return UpstreamResponse(
            status=response.status,
            headers=headers,
            body=parse_body(response.content),
            request_id=headers.get(self._request_id_header),
            link_headers=headers.getall("link", ()),
        )

    def _status_failure(
        self, response: Answer, decision: RetryDecision
    ) -> UpstreamError | RateLimited:
        status = response.status
        request_id = response.headers.get(self._request_id_header)
        body = parse_body(response.content)
        if status == 429:
            retry_after = retry_after_seconds(
                response.headers, self._clock(), self._rate_limit_headers
            )
            return RateLimited("the provider's rate limit is spent", retry_after=retry_after or 1.0)
        if status < 500:
            message = provider_message(body, self._error_fields, self._causes_field)
            return RemoteError(
                message or f"the provider refused the request (HTTP {status})",
                remote_status=status,
                raw_response=body,
                upstream_request_id=request_id,
            )
        failure = AmbiguousWriteError if decision.ambiguous else UpstreamUnavailable
        return failure(f"the provider failed: {decision.reason}", upstream_request_id=request_id)

    def _transport_failure(
        self, req: UpstreamRequest, outcome: Outcome, decision: RetryDecision
    ) -> UpstreamError:
        message = f"{req.method} {_bare(req.path)}: {decision.reason}"
        failure: type[UpstreamError]
        if outcome.is_timeout:
            failure = AmbiguousWriteTimeout if decision.ambiguous else UpstreamTimeout
        else:
            failure = AmbiguousWriteError if decision.ambiguous else UpstreamUnavailable
        return failure(message)


@dataclass
class _Doubt:
    """Why a write that is being retried may already have been applied.

    A 503 says "not processed", which is why a write may be retried after one; but a
    provider (or a proxy in front of it) can apply a write and still answer 503. The
    retry goes ahead, and if it then fails, the failure does not prove nothing changed.
    """

    reason: str | None = None


def provider_message(
    body: Any, fields: Sequence[str], causes_field: str | None = None
) -> str | None:
    """The provider's own summary of an error, with its listed causes appended."""
    if not isinstance(body, dict):
        return None
    summary = _first_text(body, fields)
    if summary is None:
        return None
    causes = body.get(causes_field) if causes_field else None
    if isinstance(causes, list):
        details = [c for c in (_first_text(x, fields) for x in causes if isinstance(x, dict)) if c]
        if details:
            return f"{summary} ({'; '.join(details)})"
    return summary


def _first_text(body: dict[str, Any], fields: Sequence[str]) -> str | None:
    for name in fields:
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _bare(path: str) -> str:
    # Query strings may carry search terms (emails); logs and messages keep the path only.
    return path.split("?", 1)[0]
