from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from unidir.runtime import YOUNG_GENERATION_THRESHOLD


@pytest.fixture
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, *saved[1:])
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("default_thresholds")
async def test_a_serving_process_collects_young_garbage_less_often(app: FastAPI) -> None:
    # The app fixture has run the lifespan, as `unidir serve` does in every worker.
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
