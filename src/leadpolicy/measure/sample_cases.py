"""The sample cases a proposal decides otherwise.

The teams agreed the cases of the samples file beside the policy (NAME.samples.yaml, found as `test` and `check`
find it); a proposal that moves points and thresholds may decide some of them otherwise, and `check` would fail
on it once it is copied over the policy. Every case is decided by the testing harness, with the current policy
and with the proposed one; each expectation the current policy meets and the proposed one does not is listed
for a reviewer to update. The samples file is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadpolicy.language import ast
from leadpolicy.language.loader import samples_for
from leadpolicy.testing.harness import CaseResult, run_samples


@dataclass(frozen=True)
class SampleCheck:
    """What the proposal does to the samples file's cases: `updates`, each expectation it breaks
    ({"case", "line", "field", "expected", "proposed"}); `problem`, why the cases could not be decided."""

    file: Path | None = None  # None: the policy has no samples file
    cases: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None

    @property
    def lines(self) -> list[int]:
        """The line of each case to update, in the file's order."""
        return list(dict.fromkeys(u["line"] for u in self.updates))


def samples_of(policy_file: Path | None) -> Path | None:
    """The samples file beside the policy, as `test` and `check` find it; None when there is none."""
    if policy_file is None:
        return None
    path = samples_for(policy_file)
    return path if path.is_file() else None


def check_samples(policy_file: Path | None, current: ast.Policy, proposed: ast.Policy) -> SampleCheck:
    """Decide every case of the policy's samples file with `current` and `proposed` (the same structure, other
    numbers): the expectations the proposal breaks. An expectation the current policy already misses is not
    the proposal's doing and is not listed."""
    path = samples_of(policy_file)
    if path is None or policy_file is None:
        return SampleCheck()
    now = run_samples(path, current, str(policy_file))
    errors = [d for d in now.diagnostics if d.is_error]
    if errors:
        return SampleCheck(path, problem=f"the cases of {path.name} were not decided ({errors[0].message})")
    after = run_samples(path, proposed, str(policy_file))
    updates = [update for before, case in zip(now.cases, after.cases, strict=True)
               for update in _broken(before, case)]
    return SampleCheck(path, len(after.cases), updates)


def _broken(before: CaseResult, after: CaseResult) -> list[dict[str, Any]]:
    """The expectations of one case that held with the current policy and do not with the proposed one."""
    missed = {what for what, _, _ in before.mismatches}
    return [{"case": after.name, "line": after.line, "field": what, "expected": want, "proposed": got}
            for what, want, got in after.mismatches if what not in missed]


def header_line(check: SampleCheck) -> str | None:
    """The proposal's header line on its sample cases; None without a samples file."""
    if check.file is None or check.problem is not None:
        return None
    lines = check.lines
    if not lines:
        return f"Sample cases: none of the {check.cases:,} in {check.file.name} needs an update."
    one = len(lines) == 1
    where = f"line{'' if one else 's'} {', '.join(map(str, lines))}"
    return (f"Sample cases: {len(lines):,} of {check.cases:,} in {check.file.name} decide{'s' if one else ''} "
            f"otherwise ({where}): a reviewer updates {'its' if one else 'their'} expectations.")
