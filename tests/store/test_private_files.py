"""The data directory and the files in it are readable by unidir's user alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from unidir.settings import Settings
from unidir.store.crypto import load_secret_box
from unidir.store.database import create_engine, migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022): files would come out world-readable unless unidir says so."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_new_data_directory_its_database_and_key_are_private(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "fresh" / "data"
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(data)})

    load_secret_box(settings)
    engine = create_engine(settings)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE probe (n INTEGER)")
    finally:
        await engine.dispose()

    assert _mode(data) == 0o700
    assert _mode(data / "secret.key") == 0o600
    assert _mode(data / "unidir.db") == 0o600
    companions = [p for p in data.iterdir() if p.name.startswith("unidir.db-")]
    assert all(_mode(p) == 0o600 for p in companions), [(p, oct(_mode(p))) for p in companions]


async def test_an_existing_world_readable_database_is_tightened(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "unidir.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(data), "UNIDIR_SECRET_KEY": "x" * 43})

    engine = create_engine(settings)
    await engine.dispose()

    assert _mode(database) == 0o600
    # A directory the operator chose is left as it is (it may be a shared parent).
    assert _mode(data) == 0o755
