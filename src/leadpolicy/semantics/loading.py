"""Loading a policy: language parses and checks it; semantics.analysis answers the checker's questions about
what its conditions mean (which can never be true, which entries can never be reached)."""

from __future__ import annotations

from pathlib import Path

from leadpolicy.language.loader import LoadedPolicy, checked
from leadpolicy.language.parser import parse_file, parse_text
from leadpolicy.semantics import analysis


def load_policy(path: str | Path) -> LoadedPolicy:
    """Parse and check a policy file."""
    return checked(parse_file(path), analysis)


def load_policy_text(text: str, file: str = "<policy>") -> LoadedPolicy:
    """Parse and check policy source."""
    return checked(parse_text(text, file), analysis)
