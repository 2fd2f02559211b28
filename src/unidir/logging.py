"""structlog setup: JSON lines, and no secret can be logged by accident.

Any event key that names a credential is replaced before rendering, whatever logged it.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("token", "secret", "password", "private_key", "authorization", "assertion", "key")
REDACTED = "[redacted]"


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        lowered = key.lower()
        names_secret = any(marker in lowered for marker in _SECRET_KEYS)
        if key != "event" and names_secret and not lowered.endswith(("_id", "_file", "_count")):
            event[key] = REDACTED
    return event


def configure_logging(level: str = "info") -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.basicConfig(level=numeric, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
