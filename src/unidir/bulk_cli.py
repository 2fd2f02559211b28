"""``unidir users ...``: bulk lifecycle changes through a running unidir server.

The commands talk to the HTTP API (``POST /bulk-jobs``, then ``GET /bulk-jobs/{id}``), so
they work against any deployment, and the server does the work: closing the terminal does
not stop the job, and the job id printed first lets anyone follow it later. While the job
runs, a server that cannot be reached or answers 5xx (restarting, say) is asked again until
it is back, for up to ``--patience`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

users_app = typer.Typer(help="Bulk lifecycle changes (suspend, ...) of many users.")
_err = Console(stderr=True)

_ServerOption = Annotated[
    str, typer.Option("--server", envvar="UNIDIR_SERVER_URL", help="unidir base URL")
]
_TokenOption = Annotated[
    str, typer.Option("--token", envvar="UNIDIR_TOKEN", help="API token of the environment")
]
_AccountOption = Annotated[str, typer.Option("--account", help="Integrated account id")]
_FileOption = Annotated[
    Path,
    typer.Option(
        "--from-file", exists=True, dir_okay=False, help="User ids, one per line ('#' comments)"
    ),
]
_PollOption = Annotated[float, typer.Option("--poll-interval", help="Seconds between checks")]
_PatienceOption = Annotated[
    float,
    typer.Option(
        "--patience", min=0, help="Seconds to keep asking a server that is down while following"
    ),
]
# Answers that say "not now" rather than "no": the server restarting, or behind a proxy.
_RETRYABLE_STATUSES = frozenset({502, 503, 504})


class _ServerGone(Exception):
    """The server stayed unreachable longer than the patience allowed."""


def read_user_ids(path: Path) -> list[str]:
    """One id per line; blank lines and ``#`` comments are skipped, surrounding space trimmed."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            ids.append(value)
    return ids


def _command(method: str) -> Callable[..., None]:
    def command(
        account: _AccountOption,
        from_file: _FileOption,
        server: _ServerOption = "http://127.0.0.1:8000",
        token: _TokenOption = "",
        poll_interval: _PollOption = 0.5,
        patience: _PatienceOption = 300.0,
    ) -> None:
        run_bulk(method, account, from_file, server, token, poll_interval, patience)

    command.__doc__ = (
        f"{method.capitalize()} every user listed in a file; prints a result per user."
    )
    return command


for _method in ("suspend", "unsuspend", "deactivate"):
    users_app.command(name=_method)(_command(_method))


def run_bulk(
    method: str,
    account: str,
    from_file: Path,
    server: str,
    token: str,
    poll_interval: float,
    patience: float = 300.0,
) -> None:
    if not token:
        _err.print("an API token is required: --token or UNIDIR_TOKEN")
        raise typer.Exit(2)
    user_ids = read_user_ids(from_file)
    if not user_ids:
        _err.print(f"{from_file} lists no user ids")
        raise typer.Exit(2)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, headers=headers, timeout=60) as api:
        body = {"integrated_account_id": account, "method": method, "user_ids": user_ids}
        try:
            # Never repeated: a job created by a request whose answer was lost would run twice.
            created = _check(api.post("/bulk-jobs", json=body))
        except httpx.TransportError as exc:
            _err.print(f"[red]no answer from {server}[/red]: {str(exc) or type(exc).__name__}")
            _err.print("if the job was created, GET /bulk-jobs lists it")
            raise typer.Exit(2) from exc
        job_id = created["id"]
        _err.print(f"bulk job {job_id}: {method} {created['total']} user(s)")
        asker = _Asker(api, patience)
        try:
            job = _follow(asker, job_id, created["total"], poll_interval)
            items = _all_items(asker, job_id)
        except (_ServerGone, KeyboardInterrupt) as exc:
            why = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            _err.print(f"stopped following ({why}); the job goes on in the server:")
            _err.print(f"  GET {server.rstrip('/')}/bulk-jobs/{job_id}")
            raise typer.Exit(130 if isinstance(exc, KeyboardInterrupt) else 1) from exc
    Console().print(_result_table(items))
    counts = job["counts"]
    summary = f"{counts['succeeded']} succeeded, {counts['failed']} failed"
    if counts.get("cancelled"):
        summary += f", {counts['cancelled']} cancelled"
    _err.print(summary)
    if counts["failed"] or counts.get("cancelled"):
        raise typer.Exit(1)


class _Asker:
    """GETs from the server, asking again while it is unreachable or answers 502/503/504,
    until ``patience`` seconds have passed without an answer."""

    def __init__(self, api: httpx.Client, patience: float) -> None:
        self._api = api
        self._patience = patience
        self.waiting = False  # the last request found the server down

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + self._patience
        pause = 0.2
        while True:
            try:
                response = self._api.get(path, params=params)
            except httpx.TransportError as exc:
                problem = str(exc) or type(exc).__name__
            else:
                if response.status_code not in _RETRYABLE_STATUSES:
                    if self.waiting:
                        _err.print("[green]server answers again[/green]")
                        self.waiting = False
                    return _check(response)
                problem = f"{response.status_code} {response.reason_phrase}"
            if time.monotonic() >= deadline:
                raise _ServerGone(f"server unreachable for {self._patience:g} s: {problem}")
            if not self.waiting:
                _err.print(f"[yellow]server unreachable[/yellow] ({problem}); asking again")
                self.waiting = True
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _follow(asker: _Asker, job_id: str, total: int, poll_interval: float) -> dict[str, Any]:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_err, transient=False) as progress:
        task = progress.add_task("running", total=total)
        while True:
            job = asker.get(f"/bulk-jobs/{job_id}", params={"limit": 1})
            counts = job["counts"]
            done = counts["succeeded"] + counts["failed"] + counts.get("cancelled", 0)
            progress.update(task, completed=done, description=f"{counts['failed']} failed")
            if job["state"] == "finished":
                return job
            time.sleep(poll_interval)


def _all_items(asker: _Asker, job_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["next_cursor"] = cursor
        page = asker.get(f"/bulk-jobs/{job_id}", params=params)["items"]
        items += page["result"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _result_table(items: list[dict[str, Any]]) -> Table:
    table = Table("user id", "result", "status", "upstream request id", "error")
    for item in items:
        style = {"succeeded": "green", "cancelled": "yellow"}.get(item["state"], "red")
        result = item["state"]
        if item.get("outcome") == "already_in_state":
            result = "succeeded (already in that state)"
        table.add_row(
            item["user_id"],
            f"[{style}]{result}[/{style}]",
            str(item["status_code"] or ""),
            item["upstream_request_id"] or "",
            item["error"] or item.get("note") or "",
        )
    return table


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    _err.print(f"[red]{response.status_code}[/red] {message}")
    raise typer.Exit(1)
