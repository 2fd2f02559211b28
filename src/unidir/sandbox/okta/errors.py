"""Okta's error responses, as the sandbox raises them.

Every refusal leaves the sandbox as Okta's body
``{errorCode, errorSummary, errorLink, errorId, errorCauses: [{errorSummary}]}`` with Okta's
HTTP status. Handlers raise ``OktaApiError``; the request pipeline renders it. The texts are
copied from recorded Okta traffic and Okta's published error list.
"""

from __future__ import annotations

from typing import Any

from unidir.sandbox.okta.ids import error_id


class OktaApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {summary}")
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = causes
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id(),
            "errorCauses": [{"errorSummary": cause} for cause in self.causes],
        }


def not_found(identifier: str, kind: str) -> OktaApiError:
    """``kind`` is Okta's internal name: ``User``, ``UserGroup``, ``RoleAssignment``..."""
    return OktaApiError(404, "E0000007", f"Not found: Resource not found: {identifier} ({kind})")


def invalid_token() -> OktaApiError:
    return OktaApiError(401, "E0000011", "Invalid token provided")


def access_denied() -> OktaApiError:
    return OktaApiError(
        403, "E0000006", "You do not have permission to perform the requested action"
    )


def insufficient_scope(scope: str) -> OktaApiError:
    return OktaApiError(
        403,
        "E0000006",
        "You do not have permission to perform the requested action",
        headers={
            "WWW-Authenticate": (
                f'Bearer authorization_uri="", realm="IDX", scope="{scope}", '
                'error="insufficient_scope", error_description="The access token provided '
                'does not contain the required scopes.", resource=""'
            )
        },
    )


def rate_limited() -> OktaApiError:
    return OktaApiError(429, "E0000047", "API call exceeded rate limit due to too many requests.")


def validation_failed(subject: str, *causes: str) -> OktaApiError:
    return OktaApiError(400, "E0000001", f"Api validation failed: {subject}", causes)


def field_already_exists(field: str) -> OktaApiError:
    return validation_failed(
        field, f"{field}: An object with this field already exists in the current organization"
    )


def field_blank(field: str) -> OktaApiError:
    return validation_failed(field, f"{field}: The field cannot be left blank")


def malformed_body() -> OktaApiError:
    return OktaApiError(400, "E0000003", "The request body was not well-formed.")


def invalid_search() -> OktaApiError:
    return OktaApiError(400, "E0000031", "Invalid search criteria.")


def method_not_allowed() -> OktaApiError:
    return OktaApiError(405, "E0000022", "The endpoint does not support the provided HTTP method")


def resource_not_found_path(path: str) -> OktaApiError:
    return OktaApiError(404, "E0000007", f"Not found: Resource not found: {path} (Endpoint)")


def injected(status: int) -> OktaApiError:
    """A server-side failure raised by fault injection, shaped like Okta's own 5xx."""
    if status == 429:
        return rate_limited()
    return OktaApiError(status, "E0000009", "Internal Server Error")
