"""Upstream failures the engine must treat differently from a plain 502/504.

A write whose fate is unknown (the request may or may not have been applied: the
connection dropped after sending, the read timed out, the provider answered 500/502/504)
is *ambiguous*. Retrying it blindly could suspend a user twice or create a duplicate;
reporting it as failed could be a lie. The engine catches ``AmbiguousWriteError`` and
reads back the true state instead.

A write that was retried after a 503 (the provider said "not processed") and then
refused or rate-limited is ambiguous too: a provider can apply a write and still answer
503, and then the refusal of the retry (Okta: "cannot suspend a user that is not
active") may be the first attempt's own doing. ``refusal`` keeps that last answer, which
is the truth to report when reading back shows nothing changed.

An answer larger than the configured limit is never read to its end, nor passed on in
part. For a write it is ambiguous too: the provider answered, so the write arrived, and its
status alone cannot be trusted without the body that explains it; the engine reads back.

    UpstreamUnavailable (502)
    ├── AmbiguousWriteError        write sent, outcome unknown (dropped, 500/502/504,
    │   │                          or refused on a retry after a 503)
    │   ├── AmbiguousWriteTimeout  (also an UpstreamTimeout, 504) write sent, no answer in time
    │   └── WriteAnswerTooLarge    (also an AnswerTooLarge) a write's answer was too large
    ├── AnswerTooLarge             the answer, decoded, exceeded the configured size
    ├── ProviderRedirected         the provider answered with a redirect (never followed)
    └── BlockedAddressError        the host resolved to an address we refuse to connect to
"""

from __future__ import annotations

from typing import Any, ClassVar

from unidir.errors import RateLimited, RemoteError, UpstreamTimeout, UpstreamUnavailable


class AmbiguousWriteError(UpstreamUnavailable):
    """A write reached the provider, or may have, and its outcome is unknown."""

    ambiguous: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        upstream_request_id: str | None = None,
        refusal: RemoteError | RateLimited | None = None,
    ) -> None:
        super().__init__(message, details=details, upstream_request_id=upstream_request_id)
        self.refusal = refusal


class AmbiguousWriteTimeout(AmbiguousWriteError, UpstreamTimeout):
    """A write was sent but no answer came in time; seen by clients as a 504."""

    status_code = 504
    error = "Gateway Timeout"
    ambiguous: ClassVar[bool] = True


class BlockedAddressError(UpstreamUnavailable):
    """A connection was refused by the address guard (SSRF protection); never retried."""


class AnswerTooLarge(UpstreamUnavailable):
    """The provider's answer, decoded, was larger than allowed: reading stopped there and
    the connection was dropped. Never retried: the same call would bring the same answer."""


class WriteAnswerTooLarge(AmbiguousWriteError, AnswerTooLarge):
    """A write's answer was too large: the write arrived and may well have been applied."""


class ProviderRedirected(UpstreamUnavailable):
    """The provider answered with a 3xx. A provider's API does not move, and following a
    redirect could leave the checked host; its body is not the answer that was asked for."""
