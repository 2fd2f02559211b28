"""structlog setup: JSON lines, and no secret or request data can be logged by accident.

Any event key that names a credential is replaced before rendering, whatever logged it.
A logged exception keeps its frames and its type but never its message, whoever logs it
(unidir, uvicorn, asyncio, a library): a message may quote request data or a credential
(``invalid literal for int(): '<the client's value>'``, a driver's SQL parameters).
"""

from __future__ import annotations

import copy
import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("token", "secret", "password", "private_key", "authorization", "assertion", "key")
REDACTED = "[redacted]"
# httpx logs each request's URL at INFO: a provider call's query string carries user data
# (the emails and logins of list filters).
_QUIET_LOGGERS = ("httpx", "httpcore")


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        lowered = key.lower()
        names_secret = any(marker in lowered for marker in _SECRET_KEYS)
        if key != "event" and names_secret and not lowered.endswith(("_id", "_file", "_count")):
            event[key] = REDACTED
    return event


def without_messages(exc: BaseException) -> str:
    """``exc``'s traceback as Python prints it, causes and contexts included, with each
    exception's message left out: where it happened, not what it was about."""
    return "".join(_without_messages(exc, set()))


def _without_messages(exc: BaseException, seen: set[int]) -> list[str]:
    if id(exc) in seen:  # a cycle of causes: each exception once
        return []
    seen.add(id(exc))
    lines: list[str] = []
    earlier = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if earlier is not None:
        lines += _without_messages(earlier, seen)
        lines.append(
            "\nThe above exception was the direct cause of the following exception:\n\n"
            if exc.__cause__ is not None
            else "\nDuring handling of the above exception, another exception occurred:\n\n"
        )
    lines.append("Traceback (most recent call last):\n")
    lines += traceback.format_tb(exc.__traceback__)
    kind = type(exc)
    lines.append(f"{kind.__module__}.{kind.__qualname__} (message not logged)\n")
    if isinstance(exc, BaseExceptionGroup):
        for number, inner in enumerate(exc.exceptions, start=1):
            lines.append(f"\nsub-exception {number} of {kind.__qualname__}:\n")
            lines += _without_messages(inner, seen)
    return lines


class WithoutExceptionMessages(logging.Filter):
    """A handler filter: the record's exception is rendered by ``without_messages``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is not None and record.exc_info[1] is not None:
            record.exc_text = without_messages(record.exc_info[1])
            record.exc_info = None
        return True


def _exception_without_messages(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog's ``log.exception(...)``: the exception as ``without_messages`` renders it."""
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc: BaseException | None = sys.exc_info()[1]
    elif isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple):
        exc = exc_info[1]
    else:
        exc = None
    if exc is not None:
        event["exception"] = without_messages(exc)
    return event


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, its handlers keeping exception messages out.

    Starlette re-raises an unexpected error after unidir answered it, for the server to
    log: uvicorn's "Exception in ASGI application" would otherwise print the message.
    Passed as ``log_config``, it reaches every worker process uvicorn starts."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_exception_messages"] = {
        "()": f"{__name__}.WithoutExceptionMessages"
    }
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "without_exception_messages"]
    return config


def configure_logging(level: str = "info") -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.basicConfig(level=numeric, format="%(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, WithoutExceptionMessages) for f in handler.filters):
            handler.addFilter(WithoutExceptionMessages())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            _exception_without_messages,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
