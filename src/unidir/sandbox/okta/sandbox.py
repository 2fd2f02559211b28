"""One sandbox instance: the org, its settings, limits, faults, OAuth clients and the log."""

from __future__ import annotations

from unidir.sandbox.okta.config import SandboxConfig
from unidir.sandbox.okta.faults import FaultPlan
from unidir.sandbox.okta.lifecycle import TOKEN_OWNER_STATUSES
from unidir.sandbox.okta.model import User
from unidir.sandbox.okta.oauth import OAuthServer
from unidir.sandbox.okta.org import Org
from unidir.sandbox.okta.ratelimit import RateLimiter
from unidir.sandbox.okta.requestlog import RequestLog
from unidir.sandbox.okta.seed import Seeded, default_group_count, seed_org


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.api_tokens = frozenset(config.api_tokens)
        self.org = Org(config.seed)
        self.limiter = RateLimiter(
            config.rate_limit_per_minute,
            dict(config.rate_limits),
            window_seconds=config.rate_limit_window_seconds,
        )
        self.faults = FaultPlan()
        self.log = RequestLog()
        self.oauth = OAuthServer()
        self.in_flight = 0
        if config.seed_users:
            groups = config.seed_groups
            if groups is None:
                groups = default_group_count(config.seed_users)
            self.seed(config.seed_users, groups, config.seed)

    def reset(self) -> None:
        self.org.clear()
        self.log.clear()

    def seed(self, users: int, groups: int, seed: int) -> Seeded:
        seeded = seed_org(self.org, users, groups, seed)
        if self.org.token_owner_id is None and seeded.user_ids:
            # The first seeded user is the org's super admin; in a real org the API token
            # would have been created by such an admin.
            self.org.token_owner_id = seeded.user_ids[0]
        return seeded

    def token_owner(self) -> User | None:
        """The admin who created the API tokens: ``/users/me`` for an API token."""
        owner_id = self.org.token_owner_id
        return None if owner_id is None else self.org.users.get(owner_id)

    def honours_api_token(self, token: str) -> bool:
        """Okta honours an API token only while the admin who created it is active: once
        they are suspended, deactivated or deleted, every call with it is 401 E0000011.
        Before any seed the org has no admin, and its tokens are honoured."""
        if token not in self.api_tokens:
            return False
        if self.org.token_owner_id is None:
            return True
        owner = self.token_owner()
        return owner is not None and owner.status in TOKEN_OWNER_STATUSES
