"""Request dependencies: the services, a database session, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from unidir.api.services import Services
from unidir.errors import Unauthorized
from unidir.store.repositories import Principal

_bearer = HTTPBearer(auto_error=False, description="An API token from `unidir token create`")


async def get_services(request: Request) -> Services:
    # async: a plain def dependency would be run on a worker thread for every request.
    services: Services = request.app.state.services
    return services


async def get_session(
    services: Annotated[Services, Depends(get_services)],
) -> AsyncIterator[AsyncSession]:
    session: AsyncSession = services.sessions()
    try:
        yield session
    finally:
        await session.close()


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    return credentials.credentials


def bearer_of(request: Request) -> str:
    """The request's bearer token, read as the ``BearerDep`` dependency reads it (the first
    Authorization header, its scheme in any case), straight from the ASGI headers: without
    the header mapping and credentials model the dependency builds on every request."""
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            credentials = credentials.strip()
            if scheme.lower() == "bearer" and credentials:
                return credentials
            break
    raise Unauthorized("missing bearer token")


def admit(services: Services, principal: Principal | None) -> Principal:
    """A caller whose token is live and within its request rate."""
    if principal is None:
        raise Unauthorized("invalid or revoked token")
    services.token_limiter.check(principal.token_id, "API token")
    return principal


async def get_principal(
    services: Annotated[Services, Depends(get_services)], credentials: BearerDep
) -> Principal:
    return admit(services, await services.requests.authenticate(bearer_token(credentials)))


ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
JsonObject = dict[str, Any]
