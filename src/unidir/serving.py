"""How the API server is run: uvicorn's options, and a deadline and a size for request heads.

uvicorn (0.54) closes a connection left idle after a response (``timeout_keep_alive``), but
has no timeout for reading a request's head: nothing is armed when a connection opens, and
the first byte of a request disarms the keep-alive timer. A client that connects and sends
nothing, or sends its headers a byte every few seconds, holds a connection and its buffers
for as long as it likes; a few thousand such clients exhaust the server. Nor does the
httptools parser limit a head's size: tens of megabytes of headers are read into memory.

``GuardedHttpToolsProtocol`` adds both: a head (request line and headers) must be complete
within ``HEAD_TIMEOUT`` seconds of the connection opening or of the request's first byte,
and must stay under ``MAX_HEAD_BYTES`` (checked after each read, so give or take one read
buffer); past either, the connection is answered 408 or 431 and closed. A request body is
not timed here: behind a reverse proxy its body timeout applies (see the README).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

# Seconds a client has to send a request's head: ample for any client that means to send
# one (nginx allows 60 for a browser on a slow link; API clients send theirs at once).
HEAD_TIMEOUT = 10.0
# Bytes a head may have: request line plus headers (nginx: 4 buffers of 8 KB by default).
MAX_HEAD_BYTES = 64 * 1024
# Seconds an idle kept-alive connection stays open between requests (uvicorn's default).
KEEP_ALIVE_TIMEOUT = 5


def server_options() -> dict[str, Any]:
    """uvicorn options every unidir API server runs with (``uvicorn.run`` / ``Config``)."""
    return {
        # By name: with several workers the config is sent to each worker process.
        "http": f"{__name__}:GuardedHttpToolsProtocol",
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
    }


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline and a size limit on each request head."""

    head_timeout: float = HEAD_TIMEOUT
    max_head_bytes: int = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        # From the connection, or a request's first byte, until its head is complete.
        self._awaiting_head = True
        self._head_begun = False  # a byte of the awaited head has arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Covers a client that connects and sends nothing as well as a slow first head.
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._awaiting_head and self._head_bytes > self.max_head_bytes:
            self._refuse(431, "the request's head is too large")

    # Parser callbacks (httptools calls them by name).

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._awaiting_head = True
        self._head_begun = True
        # Not re-armed when already running: the first head's time counts from the connection.
        if self._head_deadline is None:
            self._arm_head_deadline()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_begun = False
        self._disarm_head_deadline()
        super().on_headers_complete()

    # The deadline.

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or not self._awaiting_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while an answer is still being sent: finish that
            # answer, then close.
            self.cycle.keep_alive = False
            return
        if not self._head_begun:
            self.transport.close()  # connected and said nothing: nobody to answer
            return
        self._refuse(408, "the request's head did not arrive in time")

    def _refuse(self, status: int, message: str) -> None:
        if self.transport.is_closing():
            return
        body = message.encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
