"""The README works for someone who follows it to the letter in a fresh clone."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()


def _shell_blocks() -> list[str]:
    return re.findall(r"```(?:sh|bash|shell)\n(.*?)```", README, re.DOTALL)


def test_every_curl_with_brackets_in_its_url_turns_off_curl_globbing() -> None:
    commands = [line for block in _shell_blocks() for line in block.splitlines() if "curl " in line]
    bracketed = [c for c in commands if re.search(r"[\"'][^\"']*\[[^\"']*[\"']", c)]

    assert bracketed, "the README shows a bracket-notation query"
    for command in bracketed:
        assert re.search(r"curl (-\S+ )*-g\b|--globoff", command), command


def test_the_readme_says_where_the_commands_are_and_that_serve_stays_in_front() -> None:
    uses_bare_command = any(re.search(r"^unidir ", line, re.MULTILINE) for line in _shell_blocks())
    if uses_bare_command:
        assert ".venv/bin/unidir" in README
        assert "source .venv/bin/activate" in README
    assert "`unidir serve` stays in the\nforeground" in README or re.search(
        r"`unidir serve`[^.]*stays? in the\s+foreground", README
    )


def test_the_demo_s_hidden_deactivated_users_are_explained() -> None:
    assert "Okta hides deactivated users" in README


def test_the_readme_is_a_front_page_with_one_short_benchmark_table() -> None:
    section = README.split("## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]

    # Method and history live in bench/*/README.md; the front page keeps the latest figures.
    assert len(section) < 2_000
    assert all(len(row) < 300 for row in rows), max(rows, key=len)
    for name in ("mapping", "list", "overhead", "bulk"):
        assert f"bench.{name}.run" in section
        assert (Path(__file__).parents[1] / "bench" / name / "README.md").exists()
