"""What the engine asks of a provider, and what comes back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from unidir.upstream.links import parse_link_headers

RequestKind = Literal["read", "write"]


@dataclass(frozen=True)
class UpstreamRequest:
    """One call to a provider.

    ``path`` is already rendered and relative to the account's base URL; it may carry a
    query string (pagination cursors arrive that way). ``params`` are flattened with
    bracket notation (see ``unidir.upstream.params``). ``kind`` tells the retry logic
    whether repeating the call is harmless: ``"read"`` is, ``"write"`` is not.
    ``read_back`` marks a read of an object a write may just have changed (to verify it,
    or to return it): giving up on such a read would report a done change as failed, so
    the client retries it longer and waits out rate limits past its usual wait budget.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    kind: RequestKind = "read"
    read_back: bool = False


@dataclass
class UpstreamResponse:
    """A provider's answer that was not an error (a 2xx: redirects are refused).

    ``body`` is the parsed JSON, the text when the provider did not send JSON, or ``None``
    for an empty body. ``links`` maps Link-header relations (``"next"``, ``"self"``) to URLs.
    """

    status: int
    headers: Mapping[str, str]  # looked up case-insensitively
    body: Any
    request_id: str | None
    link_headers: Sequence[str] = ()

    @cached_property
    def links(self) -> dict[str, str]:
        # Parsed on first use: only a paginated call reads them, and most answers carry
        # some (Okta links every list, even a user's three groups, to itself).
        return parse_link_headers(self.link_headers)


def parse_body(content: bytes) -> Any:
    """A provider's body: parsed JSON, the text when it is not JSON, None when empty."""
    if not content:
        return None
    try:
        # Decoded first (a UTF-8 byte-order mark dropped, as json.loads drops it): given
        # bytes, json.loads sniffs the encoding of every body, and providers send UTF-8.
        # A body that is not UTF-8 is handed over as bytes, so JSON in UTF-16 or UTF-32
        # is still read. Plain "utf-8" is decoded in C; the "utf-8-sig" codec is not.
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return json.loads(content)
        return json.loads(text[1:] if text.startswith("\ufeff") else text)
    except ValueError:
        return content.decode("utf-8", errors="replace")
