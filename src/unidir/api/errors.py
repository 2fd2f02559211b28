"""The one place where errors become HTTP responses in the contract's shape."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from unidir.errors import UnidirError

_log = structlog.get_logger(__name__)
_PHRASES = {404: "Not Found", 405: "Method Not Allowed", 401: "Unauthorized", 400: "Bad Request"}


def error_response(error: UnidirError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.http_status, headers=error.headers())


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


async def _on_unidir_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnidirError)
    return error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details: dict[str, str] = {}
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        problem = "invalid JSON" if err.get("type") == "json_invalid" else err.get("msg", "invalid")
        details.setdefault(_field_name(loc), str(problem))
    message = "; ".join(f"{field}: {problem}" for field, problem in details.items())
    body = {"statusCode": 400, "error": "Bad Request", "message": message, "details": details}
    return JSONResponse(body, status_code=400)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "statusCode": exc.status_code,
        "error": _PHRASES.get(exc.status_code, "Error"),
        "message": str(exc.detail),
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Log the type only: an exception's text may quote a provider body or a credential.
    _log.error("api.unexpected_error", error_type=type(exc).__name__)
    body = {"statusCode": 500, "error": "Internal Server Error", "message": "unexpected error"}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(UnidirError, _on_unidir_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
