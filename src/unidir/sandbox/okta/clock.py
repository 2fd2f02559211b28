"""Time as Okta writes it: UTC, second precision, milliseconds always ``.000``."""

from __future__ import annotations

import time

_OKTA_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"
# Many writes land in the same second; formatting it once keeps writes cheap.
_last_second = -1
_last_stamp = ""


def okta_timestamp(epoch_seconds: float) -> str:
    """Okta truncates to the second, so two writes in one second share a timestamp."""
    return time.strftime(_OKTA_FORMAT, time.gmtime(int(epoch_seconds)))


def now_timestamp() -> str:
    global _last_second, _last_stamp
    second = int(time.time())
    if second != _last_second:
        _last_second, _last_stamp = second, okta_timestamp(second)
    return _last_stamp


def http_date(epoch_seconds: float) -> str:
    """RFC 9110 date, the form of the ``Date`` header Okta's SDK reads on a 429."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(int(epoch_seconds)))
