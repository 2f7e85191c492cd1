"""docs/language.md says only what is true of this repository: the files it names exist, and every
`leadpolicy COMMAND --flag` it mentions is a flag of that command."""

from __future__ import annotations

import argparse
import re

from leadpolicy.cli.main import build_parser

from .conftest import ROOT

DOC = (ROOT / "docs" / "language.md").read_text("utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_markdown_file_named_exists():
    named = set(re.findall(r"[\w./-]+\.md\b", DOC))
    missing = sorted(n for n in named if not (ROOT / "docs" / n).exists() and not (ROOT / n).exists())
    assert named and not missing, f"docs/language.md names files not in the repository: {missing}"


def test_every_command_flag_named_exists():
    commands = _subcommands()
    mentions = re.findall(r"`leadpolicy (\w+)([^`]*)`", DOC.replace("\n  ", " "))
    assert mentions
    for command, rest in mentions:
        assert command in commands, command
        known = {s for a in commands[command]._actions for s in a.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest):
            assert flag in known, f"docs/language.md: `leadpolicy {command}` has no {flag}"


def test_nothing_built_is_called_unbuilt():
    assert "`leadpolicy score POLICY LEADS --events EVENTS`" in DOC
    assert "--events" in {s for a in _subcommands()["score"]._actions for s in a.option_strings}
    assert not re.search(r"not (yet )?built|is not built", DOC)
