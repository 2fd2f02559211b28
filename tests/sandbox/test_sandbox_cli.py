"""`unidir sandbox okta`: options become the sandbox's configuration; the base URL is printed."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from unidir.sandbox import cli


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    captured: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        captured["app"] = app
        captured.update(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return captured


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param(
            ["--api-token", "abc"],
            {
                "host": "127.0.0.1",
                "port": 8089,
                "tokens": ("abc",),
                "users": 0,
                "limit": None,
                "latency": 0,
            },
            id="defaults",
        ),
        pytest.param(
            [
                *("--api-token", "abc", "--host", "0.0.0.0", "--port", "9000"),
                *("--seed-users", "12", "--seed", "4", "--rate-limit", "30", "--latency-ms", "15"),
            ],
            {
                "host": "0.0.0.0",
                "port": 9000,
                "tokens": ("abc",),
                "users": 12,
                "limit": 30,
                "latency": 15,
            },
            id="every-option",
        ),
    ],
)
def test_options_configure_the_sandbox(
    served: dict[str, Any], arguments: list[str], expected: dict[str, Any]
) -> None:
    result = CliRunner().invoke(cli.sandbox_app, ["okta", *arguments])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"Okta sandbox listening on http://{expected['host']}:{expected['port']}"
    )
    sandbox = served["app"].state.sandbox
    assert (served["host"], served["port"]) == (expected["host"], expected["port"])
    assert sandbox.config.api_tokens == expected["tokens"]
    assert len(sandbox.org.users) == expected["users"]
    assert sandbox.config.rate_limit_per_minute == expected["limit"]
    assert sandbox.config.latency_ms == expected["latency"]
    # The sandbox writes Okta's Date header itself; a second one from uvicorn would confuse clients.
    assert served["date_header"] is False


def test_api_token_is_required(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.sandbox_app, ["okta"])

    assert result.exit_code != 0
    assert "app" not in served


def test_rate_limit_option_applies_to_every_family(served: dict[str, Any]) -> None:
    CliRunner().invoke(cli.sandbox_app, ["okta", "--api-token", "abc", "--rate-limit", "7"])

    limits = served["app"].state.sandbox.limiter.limits
    assert set(limits.values()) == {7}
