"""RFC 8288 ``Link`` headers: ``<url>; rel="next", <url>; rel="self"``.

Okta sends one ``Link`` header per relation, other servers join them with commas; both
forms are read. A ``rel`` may list several space-separated relation types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# One link-value: a URI reference in angle brackets, then parameters up to the next
# comma that starts a new link-value (commas inside quoted parameters are kept).
_LINK_VALUE = re.compile(r'<(?P<url>[^>]*)>(?P<params>(?:[^,"]|"[^"]*")*)')
_PARAM = re.compile(r';\s*(?P<name>[A-Za-z0-9!#$&+\-.^_`|~*]+)\s*=\s*(?P<value>"[^"]*"|[^;,\s]+)')


def parse_link_headers(values: Iterable[str]) -> dict[str, str]:
    """Map each relation type to its URL; the first link for a relation wins."""
    links: dict[str, str] = {}
    for header in values:
        for match in _LINK_VALUE.finditer(header):
            url = match.group("url").strip()
            for param in _PARAM.finditer(match.group("params")):
                if param.group("name").lower() != "rel":
                    continue
                for rel in param.group("value").strip('"').split():
                    links.setdefault(rel.lower(), url)
    return links
