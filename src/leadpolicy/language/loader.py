"""Finding policy and samples files, and checking a parsed policy."""

from __future__ import annotations

from pathlib import Path

from leadpolicy.language.checks import check
from leadpolicy.language.checks.context import Reasoning
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.parser import ParseResult

POLICY_SUFFIX = ".policy"
SAMPLES_SUFFIX = ".samples.yaml"


# A loaded policy is a parse result whose diagnostics also hold the checker's (semantics.loading loads one).
LoadedPolicy = ParseResult


def checked(result: ParseResult, reasoning: Reasoning) -> LoadedPolicy:
    """The parse result with the checker's diagnostics added, when the source parsed."""
    if result.policy is not None:
        result.diagnostics.extend(check(result.policy, result.file, reasoning))
    return result


def samples_for(policy_file: str | Path) -> Path:
    path = Path(policy_file)
    return path.with_name(path.name[: -len(POLICY_SUFFIX)] + SAMPLES_SUFFIX) if path.name.endswith(
        POLICY_SUFFIX) else path.with_name(path.name + SAMPLES_SUFFIX)


MISSING_FOLDER_HINT = ("give the policy files or folders to read (as in: leadpolicy check policies/); without "
                       "them a command reads policies/ of the project, the folder of the nearest pyproject.toml "
                       "with [tool.leadpolicy]")


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
            problems.append(Diagnostic("unreadable-file", "no such file or directory", raw, hint=MISSING_FOLDER_HINT
                                       if not path.suffix else None))
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not any(p.is_relative_to(path) for p in policies):
            problems.append(Diagnostic("unreadable-file", f"no {POLICY_SUFFIX} files in this directory", raw))
    return list(dict.fromkeys(policies)), list(dict.fromkeys(samples)), problems
