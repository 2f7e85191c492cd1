"""docs/prove.md runs as written: every `$ leadpolicy ...` command on the page is run from the repository's root on
the policies in examples/, and its output is compared with the page's by what it says (the summary and table lines,
each guarantee's status and claim, why it is unknown, which stages, entries and rules are reached, the stage moves
and the verdict, the diagnostics' codes and places, the exit code), not by seconds or a counter-example's values.
A `...` line on the page stands for lines left out."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import ROOT

PAGE = ROOT / "docs" / "prove.md"
EXAMPLES = ROOT / "examples"
DESIGN_REFERENCE = ROOT.parent / "shared" / "design" / "examples" / "inbound-teams.policy"  # beside the project
ELLIPSIS = "..."


@dataclass(frozen=True)
class Shown:
    """One command on the page, the output shown under it and the exit code the page gives."""

    argv: list[str]
    output: list[str]
    exit_code: int | None
    json_output: str | None


def _blocks(page: str) -> list[tuple[str, list[str]]]:
    return [(kind, body.splitlines()) for kind, body in re.findall(r"```(\w+)\n(.*?)```", page, re.S)]


def _commands(lines: list[str]) -> list[tuple[list[str], list[str], int | None]]:
    """(argv, output lines, exit code) for each `$ leadpolicy` line of a console block; `$ echo $?` gives the code."""
    found: list[tuple[list[str], list[str], int | None]] = []
    index = 0
    while index < len(lines):
        argv = shlex.split(lines[index].removeprefix("$ "))
        end = index + 1
        while end < len(lines) and not lines[end].startswith("$ "):
            end += 1
        code = None
        if end < len(lines) and lines[end] == "$ echo $?":
            code = int(lines[end + 1])
            end += 2
        found.append((argv[1:], lines[index + 1 : end if code is None else end - 2], code))
        index = end
    return found


def shown_commands() -> list[Shown]:
    blocks = _blocks(PAGE.read_text("utf-8"))
    shown = []
    for position, (kind, lines) in enumerate(blocks):
        if kind != "console":
            continue
        for argv, output, code in _commands(lines):
            following = blocks[position + 1] if position + 1 < len(blocks) else None
            json_output = "\n".join(following[1]) if not output and following and following[0] == "json" else None
            shown.append(Shown(argv, output, code, json_output))
    return shown


SECONDS = re.compile(r"^(proved|violated|unknown)\s+[\d.]+ s\s+")
PLACE = re.compile(r"^(\S+:\d+:\d+): ([a-z-]+):")


def _meaning(line: str) -> str | None:
    """What a line of output says that may not vary, or None for a detail (a counter-example's values, seconds)."""
    if line.strip() == ELLIPSIS:
        return ELLIPSIS
    if status := SECONDS.match(line):
        return f"{status.group(1)} {line[status.end():]}"
    if place := PLACE.match(line):
        return f"{place.group(1)}: {place.group(2)}"
    if ": reached by " in line or line.startswith("stage ") and ": no lead" in line:
        return line.split(": reached by ")[0] + ": reached"
    if ": possible, e.g. " in line:
        return line.split(", e.g. ")[0]
    stripped = line.strip()
    if not stripped or line.startswith("    ") and not stripped.startswith(("why unknown:", "counter-example")):
        return None  # a counter-example's values and decisions, a source excerpt, a hint naming the lead
    if stripped.startswith("counter-example") or stripped.startswith("why unknown:"):
        return stripped
    return " ".join(line.split())


def _said(lines: list[str]) -> list[str]:
    return [meaning for line in lines if (meaning := _meaning(line)) is not None]


def _agrees(page: list[str], tool: list[str]) -> bool:
    """Equal, or with `...` on the page: the page's lines in the tool's order, each run of them in a row."""
    if ELLIPSIS not in page:
        return page == tool
    at = 0
    for line in page:
        if line == ELLIPSIS:
            continue
        if line not in tool[at:]:
            return False
        at = tool.index(line, at) + 1
    return True


def _guarantees(text: str) -> list[dict[str, object]]:
    document = json.loads("\n".join(line for line in text.splitlines() if line.strip() != ELLIPSIS))
    return [
        {key: entry.get(key) for key in ("name", "claim", "status")}
        | {"counterexample": sorted(entry.get("counterexample", {}))}
        for entry in document["guarantees"]
    ]


SHOWN = shown_commands()


def test_the_page_shows_a_command_for_every_policy_of_the_examples() -> None:
    named = {Path(arg).name for shown in SHOWN for arg in shown.argv if arg.endswith(".policy")}
    assert named == {path.name for path in EXAMPLES.glob("*.policy")}


@pytest.mark.parametrize("shown", SHOWN, ids=[shlex.join(shown.argv) for shown in SHOWN])
def test_each_command_on_the_page_says_what_the_page_shows(
    shown: Shown, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert shown.exit_code is not None, "the page gives no exit code (a `$ echo $?` line) for the command"
    code = main(shown.argv)
    out = capsys.readouterr().out
    assert code == shown.exit_code
    if shown.json_output is not None:
        page, tool = _guarantees(shown.json_output), _guarantees(out)
        assert all(entry in tool for entry in page) and [e["name"] for e in page] == [
            e["name"] for e in tool if e in page
        ]
        return
    page_lines, tool_lines = _said(shown.output), _said(out.splitlines())
    assert page_lines, "the page shows no output for the command"
    assert _agrees(page_lines, tool_lines), "\n".join(difflib.unified_diff(page_lines, tool_lines, "page", "tool"))


def test_the_reference_in_examples_is_a_copy_of_the_design_reference() -> None:
    assert (EXAMPLES / "inbound-teams.policy").read_bytes() == DESIGN_REFERENCE.read_bytes()


@pytest.mark.parametrize(
    ("variant", "added", "removed"),
    [
        ("demo", ['"Every demo request reaches Sales":'], []),
        ("clicks", ["engagement never decreases with email_click"], []),
        ("slow", ["decay 0.01% every 1 days since last email_click"], []),
        ("gap", ['"inbound-sdr" when employees < 500'], ['"inbound-sdr"    otherwise']),
        ("inbound-teams-next", ["mql           when fit >= 60"], ["mql           when fit >= 40"]),
    ],
)
def test_each_variant_is_the_reference_with_the_change_the_page_says(
    variant: str, added: list[str], removed: list[str]
) -> None:
    reference = (EXAMPLES / "inbound-teams.policy").read_text("utf-8").splitlines()
    changed = (EXAMPLES / f"{variant}.policy").read_text("utf-8").splitlines()
    delta = [line for line in difflib.ndiff(reference, changed) if line.startswith(("+ ", "- "))]
    assert [line[2:] for line in delta if line.startswith("+ ")] and len(delta) == len(added) + len(removed)
    assert all(any(text in line for line in delta if line.startswith("+ ")) for text in added)
    assert all(any(text in line for line in delta if line.startswith("- ")) for text in removed)
