"""unidir's files on disk are readable by the user running it and no one else.

The data directory holds the secret key and, on SQLite, the database: the audit log,
encrypted credentials and, for a day, the encrypted answers kept for Idempotency-Keys.
A directory unidir creates is 0700 and every file it keeps is 0600; an existing
directory is left as it is (it may be a shared parent a user chose), with a warning when
others can read it, while the database file itself is always tightened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import structlog

_log = structlog.get_logger(__name__)

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> None:
    """Create ``path`` (0700) if it is missing; warn when an existing one is open to others."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
        # mkdir's mode is narrowed by the umask only, never widened; set it exactly.
        path.chmod(PRIVATE_DIRECTORY)
        return
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        _log.warning(
            "the data directory is open to other users; unidir's own files in it are 0600",
            data_dir=str(path),
            mode=oct(stat.S_IMODE(path.stat().st_mode)),
        )


def private_file(path: Path) -> None:
    """Create ``path`` empty (0600) if it is missing; make an existing one 0600.

    An existing file is never opened: closing any descriptor of a SQLite database drops
    every POSIX lock this process holds on it, those of its open connections included.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        path.chmod(PRIVATE_FILE)
    else:
        os.close(fd)


def private_sqlite_database(path: Path) -> None:
    """The database file and its write-ahead log 0600 before SQLite opens them (SQLite gives
    the -wal and -shm files it creates the database file's mode)."""
    private_directory(path.parent)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.chmod(PRIVATE_FILE)
