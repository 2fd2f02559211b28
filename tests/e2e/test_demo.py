"""`make run` (`unidir demo`): the printed curl suspends a seeded user and shows the User."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _run_demo(
    tmp_path: Path, unidir_command: list[str], ports: tuple[int, int]
) -> tuple[str, httpx.Response, str]:
    """Start the demo in ``tmp_path``, run the curl it prints, stop it; also returns the id
    of the account's credential owner (unified ``me``)."""
    api_port, sandbox_port = ports
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIDIR_")}
    out = tmp_path / "demo.out"
    with out.open("wb") as log:
        demo = subprocess.Popen(
            [
                *unidir_command,
                "demo",
                "--port",
                str(api_port),
                "--sandbox-port",
                str(sandbox_port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Stop with Ctrl-C" not in out.read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, out.read_text()
            time.sleep(0.2)
        text = out.read_text()
        curl = text[text.index("curl ") : text.index("Stop with Ctrl-C")].replace("\\\n", " ")
        words = shlex.split(curl)
        url = words[words.index("-X") + 2]
        headers = dict(
            w.split(": ", 1) for i, w in enumerate(words) if i > 0 and words[i - 1] == "-H"
        )
        body = words[words.index("-d") + 1]
        response = httpx.post(url, headers=headers, content=body)
        me_url = url.replace("/users/suspend", "/me")
        me = httpx.get(me_url, headers=headers)
        assert me.status_code == 200, me.text
    finally:
        demo.terminate()
        demo.wait(timeout=10)
    return text, response, str(me.json()["id"])


def test_the_printed_curl_suspends_a_seeded_user_who_is_not_the_admin(
    tmp_path: Path, unidir_command: list[str], free_tcp_ports: tuple[int, int]
) -> None:
    text, response, owner = _run_demo(tmp_path, unidir_command, free_tcp_ports)

    assert response.status_code == 200, response.text
    user = response.json()
    assert user["status"] == "inactive"
    assert user["remote_data"]["status"] == "SUSPENDED"
    assert user["username"] in text  # the login the demo announced
    # Not the admin whose token the account uses: suspending it would lock the account out.
    assert user["id"] != owner
    assert "a plain listing shows" in text


def test_a_second_run_reuses_the_account_and_its_curl_still_works(
    tmp_path: Path, unidir_command: list[str], free_tcp_ports: tuple[int, int]
) -> None:
    first, _, _ = _run_demo(tmp_path, unidir_command, free_tcp_ports)
    second, response, _ = _run_demo(tmp_path, unidir_command, free_tcp_ports)

    assert response.status_code == 200, response.text

    def account_of(text: str) -> str:
        return text.split("integrated_account_id=", 1)[1].split("'", 1)[0]

    assert account_of(first) == account_of(second)
