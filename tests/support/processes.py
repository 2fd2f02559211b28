"""Helpers for tests that run unidir or the sandbox as real processes on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

UNIDIR = [sys.executable, "-m", "unidir"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], within: float = 30) -> None:
    """Return once ``url`` answers; fail if the process exits or ``within`` passes."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(url)


@dataclass
class Stack:
    """A sandbox and a unidir server sharing one data directory, as real processes."""

    data: Path
    env: dict[str, str]
    okta_token: str
    sandbox_args: list[str] = field(default_factory=list)  # e.g. ["--latency-ms", "120"]
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
        args = ["sandbox", "okta", "--port", str(self.okta_port), "--api-token", self.okta_token]
        self.start("sandbox", [*args, *self.sandbox_args], self.okta_url)

    def start_server(self) -> None:
        self.start("serve", ["serve", "--port", str(self.api_port)], self.api_url + "/openapi.json")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no cleanup."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def cli(self, *args: str) -> str:
        done = subprocess.run([*UNIDIR, *args], env=self.env, capture_output=True, check=True)
        return done.stdout.decode()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
        self.processes.clear()
