"""One sandbox instance: the org, its settings, limits, faults, OAuth clients and the log."""

from __future__ import annotations

from unidir.sandbox.okta.config import SandboxConfig
from unidir.sandbox.okta.faults import FaultPlan
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
        return seed_org(self.org, users, groups, seed)

    def token_owner(self) -> User | None:
        """``/users/me`` for an API token: the org's first super admin, as in a real org
        where the token was created by its super admin."""
        for user_id, assignments in self.org.roles.items():
            if any(a.type == "SUPER_ADMIN" for a in assignments.values()):
                return self.org.users.get(user_id)
        return None
