"""Log lines never carry credentials or request data, whoever logs them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
import uvicorn
from fastapi import FastAPI

from unidir.api.errors import install_error_handlers
from unidir.cli import served_app
from unidir.logging import REDACTED, configure_logging, uvicorn_log_config


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


# --- exceptions: where, never what --------------------------------------------------------

SECRET = "00sekrit-request-data"


def _raise_chained() -> None:
    try:
        int(f"cursor-{SECRET}")
    except ValueError as exc:
        raise RuntimeError(f"could not read {SECRET}") from exc


def test_structlog_exceptions_keep_frames_and_types_not_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info")
    try:
        _raise_chained()
    except RuntimeError:
        structlog.get_logger("t").exception("failed", job_id="j1")
    output = capsys.readouterr().out
    structlog.reset_defaults()

    line = json.loads(output.strip().splitlines()[-1])
    assert SECRET not in output
    assert "_raise_chained" in line["exception"]
    assert "builtins.ValueError (message not logged)" in line["exception"]
    assert "builtins.RuntimeError (message not logged)" in line["exception"]
    assert "direct cause" in line["exception"]


def test_library_records_keep_frames_and_types_not_messages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("info")
    structlog.reset_defaults()
    try:
        _raise_chained()
    except RuntimeError as exc:
        logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=exc)

    assert SECRET not in caplog.text
    assert "RuntimeError (message not logged)" in caplog.text
    assert "Task exception was never retrieved" in caplog.text


def test_provider_urls_are_not_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("info")
    structlog.reset_defaults()
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        client.get("https://acme.okta.com/api/v1/users", params={"search": f'email eq "{SECRET}"'})

    assert SECRET not in caplog.text


@pytest.fixture
def uvicorn_loggers() -> Iterator[None]:
    """uvicorn configures its loggers for the whole process: put them back afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)


async def test_uvicorn_logs_an_unexpected_error_without_its_message(
    capfd: pytest.CaptureFixture[str], uvicorn_loggers: None
) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        _raise_chained()

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=uvicorn_log_config())
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # up to 10 s
            if server.started:
                break
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/fail")
    finally:
        server.should_exit = True
        await serving
    output = "".join(capfd.readouterr())

    assert response.json()["message"] == "unexpected error"
    assert "Exception in ASGI application" in output
    assert "builtins.RuntimeError (message not logged)" in output
    assert "_raise_chained" in output
    assert SECRET not in output


def test_each_served_worker_configures_redacting_logs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # uvicorn starts workers as fresh interpreters: the app factory is all they run.
    structlog.reset_defaults()
    monkeypatch.setenv("UNIDIR_DATA_DIR", str(tmp_path))
    served_app()
    structlog.get_logger("t").info("event", api_token=SECRET)
    output = capsys.readouterr().out
    structlog.reset_defaults()

    assert SECRET not in output
    assert json.loads(output.strip().splitlines()[-1])["api_token"] == REDACTED
