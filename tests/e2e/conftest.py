"""Real processes on loopback: the Okta sandbox CLI and `unidir serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.processes import free_port, wait_until_up

UNIDIR = [sys.executable, "-m", "unidir"]
OKTA_TOKEN = "00e2e-okta-token-Zq8v"


@dataclass
class Stack:
    """A sandbox and a unidir server sharing one data directory."""

    data: Path
    env: dict[str, str]
    okta_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def okta_url(self) -> str:
        return f"http://127.0.0.1:{self.okta_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def log_path(self, name: str) -> Path:
        return self.data / f"{name}.log"

    def start(self, name: str, args: list[str], ready_url: str) -> None:
        with self.log_path(name).open("ab") as log:
            process = subprocess.Popen(
                [*UNIDIR, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes[name] = process
        wait_until_up(ready_url, process)

    def start_sandbox(self) -> None:
        args = ["sandbox", "okta", "--port", str(self.okta_port), "--api-token", OKTA_TOKEN]
        self.start("sandbox", args, self.okta_url)

    def start_server(self) -> None:
        self.start("serve", ["serve", "--port", str(self.api_port)], self.api_url + "/openapi.json")

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def cli(self, *args: str) -> str:
        done = subprocess.run([*UNIDIR, *args], env=self.env, capture_output=True, check=True)
        return done.stdout.decode()

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
            process.wait(timeout=10)
        self.processes.clear()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "UNIDIR_DATA_DIR": str(data / "state"),
        "UNIDIR_ALLOW_PRIVATE_UPSTREAMS": "true",
    }
    env.pop("UNIDIR_SECRET_KEY", None)  # exercise the generated-key path
    env.pop("UNIDIR_DATABASE_URL", None)
    running = Stack(data=data, env=env)
    try:
        running.start_sandbox()
        running.start_server()
        yield running
    finally:
        running.stop()


@pytest.fixture
def unidir_command() -> list[str]:
    return list(UNIDIR)


@pytest.fixture
def free_tcp_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second
