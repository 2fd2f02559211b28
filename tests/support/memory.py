"""This process's resident memory, from /proc (Linux), and its peak since a reset."""

from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")


def _kib(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise LookupError(key)


def resident_mib() -> float:
    return _kib("VmRSS") / 1024


def peak_resident_mib() -> float:
    """The highest resident size since start, or since ``reset_peak``."""
    return _kib("VmHWM") / 1024


def reset_peak() -> None:
    # "5" resets the peak resident set size (Documentation/filesystems/proc.rst).
    Path("/proc/self/clear_refs").write_text("5")
