"""What an Okta endpoint handler receives and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from unidir.sandbox.okta import errors
from unidir.sandbox.okta.auth import Principal

if TYPE_CHECKING:
    from unidir.sandbox.okta.org import Org
    from unidir.sandbox.okta.sandbox import Sandbox

T = TypeVar("T")


@dataclass
class Call:
    sandbox: Sandbox
    principal: Principal
    path: str
    path_params: dict[str, str]
    query: QueryParams
    body: Any
    body_is_valid: bool
    raw_body: bytes
    base: str

    @property
    def org(self) -> Org:
        return self.sandbox.org

    def json_object(self) -> dict[str, Any]:
        """The request body, which these endpoints require to be a JSON object."""
        if not self.body_is_valid or not isinstance(self.body, dict):
            raise errors.malformed_body()
        return self.body

    def flag(self, name: str, default: bool) -> bool:
        raw = self.query.get(name)
        if raw is None:
            return default
        return raw.lower() == "true"

    def limit(self, default: int, maximum: int) -> int:
        raw = self.query.get("limit")
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise errors.validation_failed("limit", "limit: must be an integer") from None
        if value < 1:
            raise errors.validation_failed("limit", "limit: must be greater than 0")
        # Okta serves at most its maximum page size whatever is asked.
        return min(value, maximum)


@dataclass
class Reply:
    status: int
    body: Any = None
    links: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def page_links(call: Call, limit: int, next_cursor: str | None) -> list[str]:
    """Okta's ``Link`` headers: always ``self``; ``next`` with the ``after`` cursor if more."""
    others = [(k, v) for k, v in call.query.multi_items() if k not in ("limit", "after")]
    url = f"{call.base}{call.path}"
    after = call.query.get("after")
    self_params = [("limit", str(limit)), *others]
    if after is not None:
        self_params.insert(0, ("after", after))
    links = [f'<{url}?{urlencode(self_params)}>; rel="self"']
    if next_cursor is not None:
        next_params = [("after", next_cursor), ("limit", str(limit)), *others]
        links.append(f'<{url}?{urlencode(next_params)}>; rel="next"')
    return links


def take_page(
    items: Iterator[T], limit: int, keep: Callable[[T], bool], cursor_of: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """Up to ``limit`` kept items, and the cursor of the last one if at least one more exists."""
    page: list[T] = []
    for item in items:
        if not keep(item):
            continue
        if len(page) == limit:
            return page, cursor_of(page[-1])
        page.append(item)
    return page, None
