"""Where every command finds its state: one place reads the environment.

`UNIDIR_DATA_DIR` (default `.unidir/` in the working directory) holds the SQLite database
unless `UNIDIR_DATABASE_URL` names another, and the generated secret key file when
`UNIDIR_SECRET_KEY` is unset. `serve`, `token`, `account` and the rest all go through
`Settings.from_env()`, so they always agree on the store and the key.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in _TRUE


def _number(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


def _positive(env: dict[str, str], name: str, default: float) -> float:
    value = _number(env, name, default)
    if not 0 < value < math.inf:
        raise SystemExit(f"{name} must be a number greater than 0, got {env.get(name)!r}")
    return value


def _positive_integer(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise SystemExit(f"{name} must be a whole number greater than 0, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    # Raw key material as configured: comma-separated, newest first. Empty means "generate
    # and keep one in data_dir".
    secret_keys: tuple[str, ...]
    allow_private_upstreams: bool = False
    redis_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_rate_limit_wait: float = 10.0
    max_body_bytes: int = 1_000_000
    # Decoded bytes one provider answer may have: a small compressed body can decode to
    # gigabytes, and a larger answer is refused (502) rather than held in memory.
    max_upstream_body_bytes: int = 32 * 1024 * 1024
    # Requests per minute a single API token / a single integrated account may make (0: no limit).
    token_rate_limit: float = 6000.0
    account_rate_limit: float = 6000.0
    # Seconds a bulk runner holds an item it runs (renewed while it runs): how long a
    # job waits before another runner takes over the items of one that died.
    bulk_lease_seconds: float = 30.0
    # Bulk items of one environment in flight at once, across every worker: a large job
    # against a slow provider holds at most this many of the workers' slots.
    bulk_max_per_environment: int = 4
    # Seconds a bulk item's work (its write, retries, verifying reads) may take before it
    # fails, outcome unknown.
    bulk_item_deadline_seconds: float = 60.0
    log_level: str = "info"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("UNIDIR_DATA_DIR") or ".unidir").resolve()
        database_url = (
            env.get("UNIDIR_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'unidir.db'}"
        )
        keys = tuple(k.strip() for k in env.get("UNIDIR_SECRET_KEY", "").split(",") if k.strip())
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            secret_keys=keys,
            allow_private_upstreams=_flag(env, "UNIDIR_ALLOW_PRIVATE_UPSTREAMS"),
            redis_url=env.get("UNIDIR_REDIS_URL") or None,
            connect_timeout=_number(env, "UNIDIR_UPSTREAM_CONNECT_TIMEOUT", 5.0),
            read_timeout=_number(env, "UNIDIR_UPSTREAM_READ_TIMEOUT", 30.0),
            max_rate_limit_wait=_number(env, "UNIDIR_MAX_RATE_LIMIT_WAIT", 10.0),
            max_body_bytes=int(_number(env, "UNIDIR_MAX_BODY_BYTES", 1_000_000)),
            max_upstream_body_bytes=_positive_integer(
                env, "UNIDIR_MAX_UPSTREAM_BODY_BYTES", 32 * 1024 * 1024
            ),
            token_rate_limit=_number(env, "UNIDIR_TOKEN_RATE_LIMIT", 6000.0),
            account_rate_limit=_number(env, "UNIDIR_ACCOUNT_RATE_LIMIT", 6000.0),
            bulk_lease_seconds=_positive(env, "UNIDIR_BULK_LEASE_SECONDS", 30.0),
            bulk_max_per_environment=_positive_integer(env, "UNIDIR_BULK_MAX_PER_ENVIRONMENT", 4),
            bulk_item_deadline_seconds=_positive(env, "UNIDIR_BULK_ITEM_DEADLINE_SECONDS", 60.0),
            log_level=env.get("UNIDIR_LOG_LEVEL", "info").lower(),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
