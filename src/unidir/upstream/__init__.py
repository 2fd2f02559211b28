"""The HTTP client toward identity providers.

``UpstreamClient.send(UpstreamRequest) -> UpstreamResponse`` is the whole surface the
engine needs; auth schemes, retry and rate-limit decisions, the SSRF guard and
pagination strategies are built from the provider definition's data.
"""

from unidir.upstream.auth import HeaderTokenAuth, PrivateKeyJwtAuth, auth_from_definition
from unidir.upstream.client import Timeouts, UpstreamClient
from unidir.upstream.errors import AmbiguousWriteError, AmbiguousWriteTimeout, BlockedAddressError
from unidir.upstream.families import family_matcher
from unidir.upstream.pagination import paginate, paginate_links
from unidir.upstream.ratelimit import LocalRateLimitBudget, RateLimitBudget, RateLimitHeaders
from unidir.upstream.request import UpstreamRequest, UpstreamResponse
from unidir.upstream.retry import RetryPolicy
from unidir.upstream.ssrf import check_base_url
from unidir.upstream.transport import ProviderTransport

__all__ = [
    "AmbiguousWriteError",
    "AmbiguousWriteTimeout",
    "BlockedAddressError",
    "HeaderTokenAuth",
    "LocalRateLimitBudget",
    "PrivateKeyJwtAuth",
    "ProviderTransport",
    "RateLimitBudget",
    "RateLimitHeaders",
    "RetryPolicy",
    "Timeouts",
    "UpstreamClient",
    "UpstreamRequest",
    "UpstreamResponse",
    "auth_from_definition",
    "check_base_url",
    "family_matcher",
    "paginate",
    "paginate_links",
]
