"""How one sandbox org is set up: tokens, seed data, limits and added latency."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SandboxConfig:
    """Settings of one sandbox instance (one Okta org).

    ``rate_limit_per_minute`` overrides every endpoint family's limit; when it is None each
    family keeps Okta's default (see ``ratelimit.FAMILIES``) unless ``rate_limits`` names it.
    """

    api_tokens: tuple[str, ...] = ("sandbox-api-token",)
    seed: int = 0
    seed_users: int = 0
    seed_groups: int | None = None
    rate_limit_per_minute: int | None = None
    rate_limits: dict[str, int] = field(default_factory=dict)
    concurrency_limit: int = 75
    latency_ms: int = 0
    # Okta's windows are one minute; tests shorten it so a client can wait out a 429 quickly.
    rate_limit_window_seconds: float = 60.0
