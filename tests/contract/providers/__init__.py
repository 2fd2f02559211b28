"""What the contract suite needs from a provider, and the providers it runs against.

The suite talks to unidir only through the unified API. A provider contributes two things:

- a running sandbox of itself and the means to *arrange* state there (create users and
  groups, put a user in a given provider status, read the sandbox's request log), and
- the facts where the contract leaves room for the provider: its own statuses and how they
  map to unified ones, its lifecycle table, the role it can assign, its mapping language.

Every assertion about the unified API lives in the test modules; nothing there names a
provider. Adding a provider means adding a module here and listing it in the suite's
conftest (``PROVIDERS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class DirectoryUser:
    """A user as the sandbox holds it: the ground truth filters are checked against."""

    id: str
    email: str
    username: str
    status: str  # the provider's own status
    created_at: datetime
    updated_at: datetime
    group_ids: frozenset[str]


@dataclass(frozen=True)
class UpstreamCall:
    method: str
    path: str
    query: str


@dataclass(frozen=True)
class Allowed:
    to_status: str  # the provider status the user ends in


@dataclass(frozen=True)
class Refused:
    http_status: int
    error_code: str


@dataclass(frozen=True)
class LifecycleCase:
    verb: str  # the unified method: suspend, unsuspend, activate, ...
    from_status: str  # a provider status
    outcome: Allowed | Refused

    @property
    def id(self) -> str:
        verdict = "ok" if isinstance(self.outcome, Allowed) else "refused"
        return f"{self.verb}-from-{self.from_status}-{verdict}"


class ProviderSandbox(Protocol):
    """One running sandbox org, private to one test module."""

    base_url: str
    asgi_app: Any
    account_context: dict[str, Any]

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, title: str | None = None
    ) -> str:
        """An active user; returns its provider id."""

    async def put_in_status(self, user_id: str, status: str) -> None:
        """Puts the user in a provider status, however the sandbox gets there."""

    async def status_of(self, user_id: str) -> str | None:
        """The user's provider status, or None when the user no longer exists."""

    async def create_group(self, name: str) -> str: ...

    async def add_to_group(self, group_id: str, user_id: str) -> None: ...

    async def seed(self, users: int, seed: int) -> list[str]:
        """Adds ``users`` realistic users in every status; returns their ids."""

    async def credential_owner(self) -> str:
        """The id of the user behind the account's credentials (created if needed)."""

    def directory(self) -> list[DirectoryUser]: ...

    async def upstream_calls(self) -> list[UpstreamCall]: ...

    async def forget_upstream_calls(self) -> None: ...

    async def close(self) -> None: ...


class Provider(Protocol):
    name: str
    # Every provider status, and the unified status each one reads as.
    unified_status: Mapping[str, str]
    # Provider statuses a plain (unfiltered) user list leaves out.
    hidden_from_plain_list: frozenset[str]
    # Filters the provider answers only on their own; combining one is a 400.
    standalone_filters: frozenset[str]
    # The provider status of a user created through the unified API without remote_data,
    # and remote_data that makes the created user active straight away.
    status_after_create: str
    remote_data_for_active_create: dict[str, Any]
    lifecycle: tuple[LifecycleCase, ...]
    assignable_role_id: str
    # The unified resources and methods the provider backs (capabilities must list them).
    supported: Mapping[str, frozenset[str]]

    def start_sandbox(self) -> ProviderSandbox: ...

    def title_override(self, prefix: str) -> str:
        """A users.get override of ``title``: ``prefix`` followed by the last name."""
