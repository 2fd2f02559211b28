"""The one exception tree of unidir.

Every failure that can reach a client is an ``UnidirError``. Each subclass fixes its HTTP
status and the short ``error`` phrase of the contract's error body
(``{"statusCode", "error", "message", "details"?}``); ``unidir.api.errors`` is the only
place that turns these into HTTP responses. Code below the API layer raises these and
never builds HTTP responses itself.

    UnidirError
    ├── BadRequest            400  input failed validation (``details`` names each field)
    ├── Unauthorized          401  missing, malformed, unknown or revoked API token
    ├── NotFound              404  no such object *visible to this environment*
    ├── Conflict              409  the request conflicts with current state
    ├── PayloadTooLarge       413  body over the configured limit
    ├── Unprocessable         422  e.g. an Idempotency-Key reused with another body
    │   └── OverrideFailed         the account's stored mapping override cannot be applied
    ├── RateLimited           429  past a wait budget; carries ``retry_after`` seconds
    ├── NotSupported          501  the provider cannot back this resource or method
    ├── ServiceUnavailable    503  unidir cannot serve this now (e.g. an account's stored
    │   │                          secrets do not open with the configured keys)
    │   └── SharedStateUnavailable  Redis, which every worker shares, cannot be reached
    └── UpstreamError              something went wrong talking to the provider
        ├── RemoteError       4xx  the provider refused; keeps its status and body
        ├── UpstreamUnavailable 502 provider 5xx, connection refused or dropped
        └── UpstreamTimeout   504  provider did not answer in time
"""

from __future__ import annotations

from typing import Any, ClassVar


class UnidirError(Exception):
    """Base of every error a client can see."""

    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        # True when the provider had already applied a write before this failure (its
        # read-back or mapping failed): the answer is kept for the Idempotency-Key and the
        # body says so, so that a retry does not write a second time.
        self.write_applied = False

    def after_applied_write(self) -> None:
        """Mark this failure as one that happened after the provider applied the write."""
        if not self.write_applied:
            self.write_applied = True
            self.message = f"the provider applied the write, but then: {self.message}"

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "statusCode": self.http_status,
            "error": self.error,
            "message": self.message,
        }
        details = self._details_out()
        if details:
            out["details"] = details
        return out

    def _details_out(self) -> dict[str, Any] | None:
        if not self.write_applied:
            return self.details
        return {**(self.details or {}), "write_applied": True}

    @property
    def http_status(self) -> int:
        return self.status_code

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(UnidirError):
    status_code = 400
    error = "Bad Request"

    @classmethod
    def for_field(cls, field: str, problem: str) -> BadRequest:
        return cls(f"{field}: {problem}", details={field: problem})


class Unauthorized(UnidirError):
    status_code = 401
    error = "Unauthorized"


class NotFound(UnidirError):
    status_code = 404
    error = "Not Found"


class Conflict(UnidirError):
    status_code = 409
    error = "Conflict"


class PayloadTooLarge(UnidirError):
    status_code = 413
    error = "Payload Too Large"


class Unprocessable(UnidirError):
    status_code = 422
    error = "Unprocessable Entity"


class OverrideFailed(Unprocessable):
    """An account's stored mapping override could not produce this answer.

    The request is fine; the account's configuration is not (the override ran past a budget
    or failed to evaluate), so no retry helps until the override is changed. ``details``
    names it as ``mapping_overrides.<resource>.<method>.<field>``.
    """

    @classmethod
    def at(cls, where: str, problem: str) -> OverrideFailed:
        return cls(f"{where}: {problem}", details={where: problem})


class RateLimited(UnidirError):
    status_code = 429
    error = "Too Many Requests"

    def __init__(self, message: str, *, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        # Retry-After is whole seconds; round up so a client never retries too early.
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1))))}


class NotSupported(UnidirError):
    status_code = 501
    error = "Not Implemented"


class ServiceUnavailable(UnidirError):
    status_code = 503
    error = "Service Unavailable"


class SharedStateUnavailable(ServiceUnavailable):
    """Redis (the shared rate-limit budget, idempotency records) cannot be reached.

    Raised before anything is sent to a provider, so a retry is safe; likely to pass soon.
    """

    retry_after = 1  # seconds: a Redis restart, or its 2 s timeout, is over soon

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UpstreamError(UnidirError):
    """The provider could not do what was asked."""

    status_code = 502
    error = "Bad Gateway"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        upstream_request_id: str | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.upstream_request_id = upstream_request_id


class RemoteError(UpstreamError):
    """The provider answered with a 4xx: its status and body are passed to the client."""

    def __init__(
        self,
        message: str,
        *,
        remote_status: int,
        raw_response: Any,
        upstream_request_id: str | None = None,
    ) -> None:
        super().__init__(message, upstream_request_id=upstream_request_id)
        self.remote_status = remote_status
        self.raw_response = raw_response

    @property
    def http_status(self) -> int:
        return self.remote_status if 400 <= self.remote_status < 500 else 502

    @property
    def error_phrase(self) -> str:
        return _REASONS.get(self.http_status, "Remote Error")

    def body(self) -> dict[str, Any]:
        return {
            "statusCode": self.http_status,
            "error": self.error_phrase,
            "message": self.message,
            "truto_is_remote_error": True,
            "raw_response": self.raw_response,
            **({"details": details} if (details := self._details_out()) else {}),
        }


class UpstreamUnavailable(UpstreamError):
    status_code = 502
    error = "Bad Gateway"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    error = "Gateway Timeout"


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    502: "Bad Gateway",
}
