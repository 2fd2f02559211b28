"""A sandbox whose answers carry request ids longer than any column that stores one: a
provider's request id is its own business, and nothing bounds its length."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LONG_ID_LENGTH = 150


class LongRequestIds:
    """The sandbox app, each answer's ``X-Okta-Request-Id`` padded to ``length`` characters
    (the sandbox's own id first, so each stays unique)."""

    def __init__(self, app: ASGIApp, length: int = LONG_ID_LENGTH) -> None:
        self._app = app
        self._length = length
        self.sent: list[str] = []  # every id handed out, in order

    @property
    def state(self) -> Any:
        return self._app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def padded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message["headers"]:
                    if name.lower() == b"x-okta-request-id":
                        value = value.ljust(self._length, b"x")
                        self.sent.append(value.decode())
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, padded)
