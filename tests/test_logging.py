"""Log lines never carry credentials, whoever logs them."""

from __future__ import annotations

import json

import pytest
import structlog

from unidir.logging import REDACTED, configure_logging


@pytest.mark.parametrize(
    "key",
    ["api_token", "Authorization", "private_key", "client_secret", "password", "access_token"],
)
def test_secret_keys_are_redacted(capsys: pytest.CaptureFixture[str], key: str) -> None:
    configure_logging("info")
    structlog.get_logger("t").info("event", **{key: "hunter2-secret"}, account_id="a1")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line[key] == REDACTED
    assert line["account_id"] == "a1"
    structlog.reset_defaults()
