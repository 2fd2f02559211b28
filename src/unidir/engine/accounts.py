"""Integrated accounts: validate a provider context, keep its secrets sealed, resolve it for calls.

What counts as a secret is provider data (``secret: true`` in the definition's context);
those fields are encrypted with the account id as associated data and never leave this
module except inside a ``ResolvedAccount`` handed to the upstream client. A change of a
field that decides the host (``decides_host: true``) must give the secrets again: stored
credentials never follow an account to another host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unidir.engine.account_context import clean_context, require_secrets_when_host_changes
from unidir.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from unidir.integrations.registry import Integration, Registry
from unidir.store import repositories as repo
from unidir.store.crypto import SecretBox, SecretDecryptionError
from unidir.store.models import IntegratedAccount, utcnow
from unidir.upstream.ssrf import Resolver, check_base_url


@dataclass(frozen=True)
class ResolvedAccount:
    id: str
    environment_id: str
    integration: Integration
    base_url: str
    context: dict[str, Any]  # public and secret fields together; never serialised
    mapping_overrides: dict[str, Any]
    version: str  # changes whenever the account changes, so cached clients are rebuilt


class AccountService:
    def __init__(
        self,
        registry: Registry,
        secrets: SecretBox,
        *,
        allow_private_upstreams: bool,
        resolver: Resolver | None = None,
    ) -> None:
        self._registry = registry
        self._secrets = secrets
        self._allow_private = allow_private_upstreams
        self._resolver = resolver
        self._resolved: dict[str, ResolvedAccount] = {}

    async def create(
        self, session: AsyncSession, environment_id: str, integration_name: Any, context: Any
    ) -> IntegratedAccount:
        if not isinstance(integration_name, str) or not integration_name:
            raise BadRequest.for_field("integration", "required, a provider name such as 'okta'")
        try:
            integration = self._registry.get(integration_name)
        except NotFound:
            raise BadRequest.for_field(
                "integration", f"unknown; supported: {', '.join(self._registry.names())}"
            ) from None
        account_id = repo.new_id()
        clean = await self._validated_context(integration, context)
        public, secret = self._split(integration, clean)
        row = IntegratedAccount(
            id=account_id,
            environment_id=environment_id,
            integration=integration.name,
            public_context=public,
            secret_context=self._seal(secret, account_id),
            mapping_overrides={},
        )
        session.add(row)
        await session.flush()
        return row

    async def update_context(self, row: IntegratedAccount, context_patch: Any) -> None:
        if not isinstance(context_patch, dict):
            raise BadRequest.for_field("context", "must be an object")
        integration = self._registry.get(row.integration)
        stored = {**row.public_context, **self._unseal(row)}
        merged = {k: v for k, v in {**stored, **context_patch}.items() if v is not None}
        clean = await self._validated_context(integration, merged)
        require_secrets_when_host_changes(integration.definition, stored, clean, context_patch)
        public, secret = self._split(integration, clean)
        row.public_context = public
        row.secret_context = self._seal(secret, row.id)
        row.updated_at = utcnow()

    async def get(
        self, session: AsyncSession, environment_id: str, account_id: str
    ) -> IntegratedAccount:
        return self.require(await repo.get_account(session, environment_id, account_id), account_id)

    @staticmethod
    def require(row: IntegratedAccount | None, account_id: str) -> IntegratedAccount:
        if row is None:
            # The same answer whether the id does not exist or belongs to another environment.
            raise NotFound(f"integrated account {account_id} not found")
        return row

    @staticmethod
    async def release(session: AsyncSession) -> None:
        """End the read transaction so no pooled connection waits on a provider call.
        (Objects stay usable: sessions are made with expire_on_commit=False.)"""
        await session.commit()

    async def resolve(self, row: IntegratedAccount) -> ResolvedAccount:
        if row.status != "active":
            raise Conflict(
                f"integrated account {row.id} is {row.status}; PATCH its status to active to use it"
            )
        version = f"{row.id}:{row.updated_at.isoformat()}"
        cached = self._resolved.get(row.id)
        if cached is not None and cached.version == version:
            # Unchanged since last resolved: no decryption, no DNS. The upstream client still
            # checks each new connection's address (DNS may change after an account is saved).
            return cached
        integration = self._registry.get(row.integration)
        context = {**row.public_context, **self._unseal(row)}
        base_url = await self._base_url(integration, context)
        resolved = ResolvedAccount(
            id=row.id,
            environment_id=row.environment_id,
            integration=integration,
            base_url=base_url,
            context=context,
            mapping_overrides=dict(row.mapping_overrides or {}),
            version=version,
        )
        self._resolved[row.id] = resolved
        return resolved

    def reseal(self, row: IntegratedAccount) -> bool:
        """Re-encrypt with the newest key; True when the row changed."""
        if self._secrets.key_id_of(row.secret_context) == self._secrets.current_key_id:
            return False
        row.secret_context = self._seal(self._unseal(row), row.id)
        return True

    def public_view(self, row: IntegratedAccount) -> dict[str, Any]:
        return {
            "id": row.id,
            "integration": row.integration,
            "context": dict(row.public_context),
            "mapping_overrides": dict(row.mapping_overrides or {}),
            "status": row.status,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        }

    async def _validated_context(self, integration: Integration, context: Any) -> dict[str, Any]:
        clean = clean_context(integration.definition, context, allow_private=self._allow_private)
        await self._base_url(integration, clean)
        return clean

    async def _base_url(self, integration: Integration, context: dict[str, Any]) -> str:
        if "base_url" in context:
            url, field = context["base_url"], "context.base_url"
        elif "domain" in context:
            url = integration.definition.base_url.format(domain=context["domain"])
            field = "context.domain"
        else:
            raise BadRequest.for_field("context.domain", "required")
        return await check_base_url(
            url,
            allowed_host_patterns=list(integration.definition.allowed_hosts),
            allow_private=self._allow_private,
            resolver=self._resolver,
            field=field,
        )

    @staticmethod
    def _split(
        integration: Integration, context: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        secret_names = integration.definition.secret_fields()
        public = {k: v for k, v in context.items() if k not in secret_names}
        secret = {k: v for k, v in context.items() if k in secret_names}
        return public, secret

    def _seal(self, secret: dict[str, Any], account_id: str) -> str:
        return self._secrets.encrypt(json.dumps(secret).encode(), bound_to=account_id)

    def _unseal(self, row: IntegratedAccount) -> dict[str, Any]:
        try:
            plaintext = self._secrets.decrypt(row.secret_context, bound_to=row.id)
        except SecretDecryptionError:
            raise ServiceUnavailable(
                f"the stored credentials of integrated account {row.id} cannot be decrypted "
                "with the configured UNIDIR_SECRET_KEY keys"
            ) from None
        data: dict[str, Any] = json.loads(plaintext)
        return data

    def check_readable(self, row: IntegratedAccount) -> bool:
        try:
            self._unseal(row)
        except ServiceUnavailable:
            return False
        return True


def _iso(value: datetime) -> str:
    # SQLite returns naive datetimes; every stored time is UTC.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
