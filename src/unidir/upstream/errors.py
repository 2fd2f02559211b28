"""Upstream failures the engine must treat differently from a plain 502/504.

A write whose fate is unknown (the request may or may not have been applied: the
connection dropped after sending, the read timed out, the provider answered 500/502/504)
is *ambiguous*. Retrying it blindly could suspend a user twice or create a duplicate;
reporting it as failed could be a lie. The engine catches ``AmbiguousWriteError`` and
reads back the true state instead.

    UpstreamUnavailable (502)
    ├── AmbiguousWriteError        write sent, outcome unknown (dropped, 500/502/504)
    │   └── AmbiguousWriteTimeout  (also an UpstreamTimeout, 504) write sent, no answer in time
    └── BlockedAddressError        the host resolved to an address we refuse to connect to
"""

from __future__ import annotations

from typing import ClassVar

from unidir.errors import UpstreamTimeout, UpstreamUnavailable


class AmbiguousWriteError(UpstreamUnavailable):
    """A write reached the provider, or may have, and its outcome is unknown."""

    ambiguous: ClassVar[bool] = True


class AmbiguousWriteTimeout(AmbiguousWriteError, UpstreamTimeout):
    """A write was sent but no answer came in time; seen by clients as a 504."""

    status_code = 504
    error = "Gateway Timeout"
    ambiguous: ClassVar[bool] = True


class BlockedAddressError(UpstreamUnavailable):
    """A connection was refused by the address guard (SSRF protection); never retried."""
