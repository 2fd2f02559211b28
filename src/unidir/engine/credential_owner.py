"""The credential owner guard: an account must not suspend, deactivate or delete the very
user whose credentials it acts with.

Okta refuses an API token once the admin who created it is no longer active, so suspending
that admin through the account locks the account out, and nothing but the provider's own
console brings it back. Such a write is refused with 409 unless the caller consents
explicitly (``allow_credential_owner=true``).

Who the owner is comes from the definition (``credential_owner``: one call, one id field),
read once per account version; credentials that act as no user (an OAuth service app) are
refused that call, and then nothing is protected.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping

from unidir.engine.accounts import ResolvedAccount
from unidir.errors import Conflict, RemoteError
from unidir.integrations.schema import MethodDef
from unidir.upstream.client import UpstreamClient
from unidir.upstream.request import UpstreamRequest

# Accounts whose owner is remembered (least recently used forgotten first).
MAX_REMEMBERED_ACCOUNTS = 10_000

PARAMETER = "allow_credential_owner"


class CredentialOwners:
    def __init__(self, max_accounts: int = MAX_REMEMBERED_ACCOUNTS) -> None:
        # account id -> (account version, owner id or None when the credentials have none)
        self._owners: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        self._max = max_accounts
        self._lookups: dict[tuple[str, str], asyncio.Future[str | None]] = {}

    async def refuse_owner(
        self,
        account: ResolvedAccount,
        client: UpstreamClient,
        method: MethodDef,
        ids: Mapping[str, str],
    ) -> None:
        """Raise Conflict when ``method`` would act on the account's credential owner; the
        error names the client's own field (``user_id`` of ``body.user_id``)."""
        if not method.protects_credential_owner:
            return
        owner = await self._owner(account, client)
        for name, value in ids.items():
            if owner is not None and value == owner:
                field = method.ids.get(name, name).split(".", 1)[-1]
                problem = (
                    "is the credential owner of this account: acting on it would lock the "
                    f"account out; pass {PARAMETER}=true to do it anyway"
                )
                raise Conflict(f"{field}: {problem}", details={field: problem})

    async def _owner(self, account: ResolvedAccount, client: UpstreamClient) -> str | None:
        known = self._owners.get(account.id)
        if known is not None and known[0] == account.version:
            self._owners.move_to_end(account.id)
            return known[1]
        # Concurrent first writes of one account share one lookup.
        key = (account.id, account.version)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = asyncio.ensure_future(self._look_up(account, client))
            self._lookups[key] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(key, None))
        return await asyncio.shield(lookup)

    async def _look_up(self, account: ResolvedAccount, client: UpstreamClient) -> str | None:
        spec = account.integration.definition.credential_owner
        assert spec is not None  # the definition's validation guarantees it
        try:
            response = await client.send(UpstreamRequest(spec.call.method, spec.call.path))
        except RemoteError:
            owner = None  # credentials that act as no user
        else:
            body = response.body if isinstance(response.body, dict) else {}
            value = body.get(spec.id_field)
            owner = value if isinstance(value, str) and value else None
        self._owners[account.id] = (account.version, owner)
        self._owners.move_to_end(account.id)
        while len(self._owners) > self._max:
            self._owners.popitem(last=False)
        return owner
