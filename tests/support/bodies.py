"""Provider bodies that are small on the wire and huge once decoded, and the memory they cost."""

from __future__ import annotations

import contextlib
import gc
import re
import zlib
from pathlib import Path
from types import TracebackType

MIB = 1024 * 1024


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip body of zeros that decodes to ``decoded_size`` bytes (about 1/1000 of it on
    the wire), built without ever holding the decoded bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    step = bytes(MIB)
    parts = [compressor.compress(step) for _ in range(decoded_size // MIB)]
    return b"".join([*parts, compressor.compress(bytes(decoded_size % MIB)), compressor.flush()])


def _peak_resident_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None, "no VmHWM in /proc/self/status"
    return int(match.group(1)) * 1024


class PeakMemoryGrowth:
    """How far the process's peak resident memory rose above its level at the start.

    The peak (VmHWM) is reset to the current size first where Linux allows it, so what
    earlier tests allocated does not hide this block's peak.
    """

    growth = 0

    def __enter__(self) -> PeakMemoryGrowth:
        gc.collect()
        # Without a reset the growth measured is a lower bound; the tests using it also
        # bound what was read.
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
        self._start = _peak_resident_bytes()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.growth = _peak_resident_bytes() - self._start
