"""Reading a provider's answer with a ceiling on its decoded size.

A few hundred kilobytes of gzip can decode to gigabytes, so the limit is on the decoded
bytes, counted as they arrive: past it, reading stops, the caller drops the connection and
``AnswerTooLarge`` is raised. No part of such a body is ever passed on.

aiohttp decodes in bounded steps itself (``ProviderTransport`` only counts). httpx decodes
each raw chunk in one go, and one chunk of a bomb is the whole bomb, so ``decoded`` decodes
for the httpx seam here: zlib with ``max_length``, never more than ``STEP`` bytes at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator, Sequence

import httpx

from unidir.upstream.errors import AnswerTooLarge

# Per answer: an Okta page of 200 users is well under 1 MB.
DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024

# Most decoded bytes one step of decoding may produce.
STEP = 64 * 1024

# The content codings decoded here, as httpx decodes them without optional packages.
_ZLIB_CODINGS = {"gzip": zlib.MAX_WBITS | 16, "deflate": 0}


def too_large(limit: int, status: int) -> AnswerTooLarge:
    return AnswerTooLarge(f"the provider's answer exceeded {limit} bytes (HTTP {status})")


def content_codings(values: Iterable[str]) -> list[str]:
    """The codings of Content-Encoding header values, in the order they were applied."""
    return [c.strip().lower() for value in values for c in value.split(",") if c.strip()]


async def collect(chunks: AsyncIterable[bytes], limit: int, status: int) -> bytes:
    """The whole body, or ``AnswerTooLarge`` as soon as it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit, status)
        parts.append(chunk)
    return b"".join(parts)


async def decoded(raw: AsyncIterable[bytes], codings: Sequence[str]) -> AsyncGenerator[bytes, None]:
    """``raw`` decoded, in steps of at most ``STEP`` bytes.

    Codings are undone last-applied first; one this module does not know is left as it is,
    as httpx leaves it. A body that does not decode is a read error, as aiohttp reports it.
    """
    stages = [_Inflater(c) for c in reversed(codings) if c in _ZLIB_CODINGS]
    async for chunk in raw:
        for piece in _through(stages, chunk):
            yield piece


def _through(stages: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    if not stages:
        if data:
            yield data
        return
    for piece in stages[0].feed(data):
        yield from _through(stages[1:], piece)


class _Inflater:
    """One zlib content coding, decoded at most ``STEP`` bytes at a time."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        wbits = _ZLIB_CODINGS[coding]
        self._zlib = zlib.decompressobj(wbits) if wbits else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if not data:
                return
            # "deflate" means zlib-wrapped (RFC 9110), yet some servers send it raw.
            wrapped = data[0] & 0x0F == 8
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        inflater = self._zlib
        # Until the input is used up and a step comes back short: a full step may leave
        # decoded bytes inside zlib, so it is asked again. What follows the end of the
        # stream is ignored, as httpx ignores it.
        while not inflater.eof:
            try:
                out = inflater.decompress(data, STEP)
            except zlib.error as exc:
                raise httpx.ReadError(f"the provider's {self._coding} body is corrupt") from exc
            data = inflater.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < STEP:
                return
