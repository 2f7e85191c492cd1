"""Finding policy and samples files, and loading a policy through parse and check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lark import Token

from . import ast
from .checker import check
from .diagnostics import Diagnostic
from .parser import parse_file, parse_text

POLICY_SUFFIX = ".policy"
SAMPLES_SUFFIX = ".samples.yaml"


@dataclass
class LoadedPolicy:
    """A policy file after parsing and checking."""

    file: str
    source: str | None
    policy: ast.Policy | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    comments: list[Token] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return self.policy is None or any(d.is_error for d in self.diagnostics)


def load_policy(path: str | Path) -> LoadedPolicy:
    result = parse_file(path)
    diags = list(result.diagnostics)
    if result.policy is not None:
        diags.extend(check(result.policy, result.file))
    return LoadedPolicy(result.file, result.source, result.policy, diags, result.comments)


def load_policy_text(text: str, file: str = "<policy>") -> LoadedPolicy:
    result = parse_text(text, file)
    diags = list(result.diagnostics)
    if result.policy is not None:
        diags.extend(check(result.policy, file))
    return LoadedPolicy(file, text, result.policy, diags, result.comments)


def samples_for(policy_file: str | Path) -> Path:
    path = Path(policy_file)
    return path.with_name(path.name[: -len(POLICY_SUFFIX)] + SAMPLES_SUFFIX) if path.name.endswith(
        POLICY_SUFFIX) else path.with_name(path.name + SAMPLES_SUFFIX)


def discover(paths: list[str]) -> tuple[list[Path], list[Path], list[Diagnostic]]:
    """Policy files and samples files under the given paths (files or directories), sorted."""
    policies: list[Path] = []
    samples: list[Path] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            policies += sorted(p for p in path.rglob("*" + POLICY_SUFFIX) if p.is_file())
            samples += sorted(p for p in path.rglob("*" + SAMPLES_SUFFIX) if p.is_file())
        elif path.name.endswith(SAMPLES_SUFFIX):
            samples.append(path)
        elif path.exists() or path.name.endswith(POLICY_SUFFIX):
            policies.append(path)
        else:
            problems.append(Diagnostic("unreadable-file", "no such file or directory", raw))
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not any(p.is_relative_to(path) for p in policies):
            problems.append(Diagnostic("unreadable-file", f"no {POLICY_SUFFIX} files in this directory", raw))
    return list(dict.fromkeys(policies)), list(dict.fromkeys(samples)), problems
