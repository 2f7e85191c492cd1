"""pytest plugin: a team's plain `pytest` checks every `*.policy` (one item: it has no errors and a
samples file) and runs every `*.samples.yaml`, one test item per case."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from leadpolicy.language.loader import SAMPLES_SUFFIX

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle  # the types of Node.repr_failure's signature

    from leadpolicy.testing.harness import CaseResult

POLICY_SUFFIX = ".policy"


class SampleCaseFailed(Exception):
    """A sample case whose outcome differs from what the teams agreed."""


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SamplesFile | PolicyFile | None:
    if file_path.name.endswith(SAMPLES_SUFFIX):
        return SamplesFile.from_parent(parent, path=file_path)
    if file_path.name.endswith(POLICY_SUFFIX):
        return PolicyFile.from_parent(parent, path=file_path)
    return None


def _policy_errors(path: Path) -> str | None:
    """The rendered errors of a policy file (with excerpts and hints), or None when it has none."""
    from leadpolicy.language.diagnostics import render_all
    from leadpolicy.semantics.loading import load_policy

    loaded = load_policy(path)
    errors = [d for d in loaded.diagnostics if d.is_error]
    return render_all(errors, {loaded.file: loaded.source}) if errors else None


class PolicyFile(pytest.File):
    def collect(self) -> Iterator[PolicyItem]:
        from leadpolicy.language.loader import samples_for

        problems = []
        errors = _policy_errors(self.path)
        if errors:
            problems.append(errors)
        samples = samples_for(self.path)
        if not samples.exists():
            problems.append(f"{self.path.name}: untested: no samples file: create {samples.name} next to it "
                            "(see docs/samples.md)")
        yield PolicyItem.from_parent(self, name="check", problem="\n".join(problems) or None)


class _TextFailureItem(pytest.Item):
    """An item whose failure (SampleCaseFailed) is reported as its text, without a traceback. It has no fixtures,
    and says so as a test function does (`funcargs`, empty): plugins that read a function's fixtures (pytest-lsp)
    otherwise fail every policy and case."""

    @property
    def funcargs(self) -> dict[str, Any]:
        return {}

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, SampleCaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class PolicyItem(_TextFailureItem):
    def __init__(self, *, problem: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        if self.problem is not None:
            raise SampleCaseFailed(self.problem)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"check {self.path.name}"


class SamplesFile(pytest.File):
    def collect(self) -> Iterator[SampleItem]:
        from leadpolicy.language.diagnostics import render
        from leadpolicy.testing.harness import run_samples

        run = run_samples(self.path)
        if run.diagnostics:
            text = "\n".join(render(d, None) for d in run.diagnostics)
            policy = run.policy_file
            if policy and Path(policy).exists() and (errors := _policy_errors(Path(policy))):
                text += "\n" + errors
            yield SampleItem.from_parent(self, name="load", case=None, problem=text)
        for case in run.cases:
            yield SampleItem.from_parent(self, name=f"{case.kind}: {case.name}", case=case, problem=None)


class SampleItem(_TextFailureItem):
    def __init__(self, *, case: CaseResult | None, problem: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.problem = problem

    def runtest(self) -> None:
        if self.problem is not None:
            raise SampleCaseFailed(self.problem)
        if self.case is not None and not self.case.passed:
            lines = [f"{self.case.status}: {self.case.name}"]
            lines += [f"  {f}" for f in self.case.failures]
            if self.case.explanation:
                lines.append("  because:")
                lines += [f"    {line}" for line in self.case.explanation]
            raise SampleCaseFailed("\n".join(lines))

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.case.line - 1 if self.case else 0
        # pytest turns dots into "::" in a location that ends the node id; this one does not end it,
        # so a case named "v2.1 rules" shows as written.
        return self.path, line, f"sample {self.name}"
