"""The error answers every route may give, for the OpenAPI document (one list, all routers)."""

from typing import Any

from unidir.unified.models import ErrorBody

_STATUSES = {
    400: "Invalid input (details name each field), or the provider refused it (remote error)",
    401: "Missing, invalid or revoked API token",
    403: "The provider refused: not permitted (remote error)",
    404: "Unknown object, or one of another environment",
    409: "The account is disabled, or a request with this Idempotency-Key still runs",
    413: "Request body too large",
    422: "Idempotency-Key reused with a different request, or the account's mapping override "
    "(named in details) ran past its budget or failed to evaluate",
    429: "Rate limited (see Retry-After)",
    501: "The account's provider does not support this operation",
    502: "The provider failed or could not be reached",
    503: "The account's stored credentials do not open with the configured keys",
    504: "The provider did not answer in time",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in _STATUSES.items()
}
