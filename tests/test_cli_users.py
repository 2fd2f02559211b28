"""`unidir users ...` when the server cannot be reached to create the job: a clear message,
exit 2, and the request is not repeated (a job created by a lost answer would run twice)."""

from __future__ import annotations

from pathlib import Path

from tests.support.services import refused_port
from typer.testing import CliRunner

from unidir.bulk_cli import users_app


def test_a_server_that_cannot_be_reached_is_named_and_exits_2(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("00u1\n00u2\n")
    with refused_port() as port:
        server = f"http://127.0.0.1:{port}"
        result = CliRunner().invoke(
            users_app,
            ["suspend", "--account", "acc", "--from-file", str(ids_file),
             "--server", server, "--token", "t"],
            env={"COLUMNS": "200"},
        )  # fmt: skip

    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.stderr.splitlines() if "no answer from" in line]
    assert line.startswith(f"no answer from {server}: ")
    assert line.removeprefix(f"no answer from {server}: ").strip()  # says why
    assert "GET /bulk-jobs" in result.stderr


def test_the_result_table_says_when_a_user_was_already_in_that_state() -> None:
    from rich.console import Console

    from unidir.bulk_cli import _result_table

    items = [
        {
            "user_id": "00uDONE",
            "state": "succeeded",
            "status_code": 200,
            "upstream_request_id": "r1",
            "error": None,
            "outcome": "applied",
            "note": None,
        },
        {
            "user_id": "00uALREADY",
            "state": "succeeded",
            "status_code": 400,
            "upstream_request_id": "r2",
            "error": None,
            "outcome": "already_in_state",
            "note": "already status=SUSPENDED; the provider said: Cannot suspend a user",
        },
    ]
    console = Console(width=300, record=True)
    console.print(_result_table(items))
    lines = console.export_text().splitlines()

    done = next(line for line in lines if "00uDONE" in line)
    already = next(line for line in lines if "00uALREADY" in line)
    assert "already in that state" not in done
    assert "succeeded (already in that state)" in already
    assert "Cannot suspend a user" in already
