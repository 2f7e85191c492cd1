"""pytest plugin: a team's plain `pytest` collects `*.samples.yaml`, one test item per case."""

from __future__ import annotations

from pathlib import Path

import pytest

from .loader import SAMPLES_SUFFIX


class SampleCaseFailed(Exception):
    """A sample case whose outcome differs from what the teams agreed."""


def pytest_collect_file(file_path: Path, parent):
    if file_path.name.endswith(SAMPLES_SUFFIX):
        return SamplesFile.from_parent(parent, path=file_path)
    return None


class SamplesFile(pytest.File):
    def collect(self):
        from .diagnostics import render
        from .harness import run_samples

        run = run_samples(self.path)
        if run.diagnostics:
            text = "\n".join(render(d, None) for d in run.diagnostics)
            yield SampleItem.from_parent(self, name="load", case=None, problem=text)
        for case in run.cases:
            yield SampleItem.from_parent(self, name=f"{case.kind}: {case.name}", case=case, problem=None)


class SampleItem(pytest.Item):
    def __init__(self, *, case, problem, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.problem = problem

    def runtest(self) -> None:
        if self.problem is not None:
            raise SampleCaseFailed(self.problem)
        if not self.case.passed:
            lines = [f"{self.case.status}: {self.case.name}"]
            lines += [f"  {f}" for f in self.case.failures]
            if self.case.explanation:
                lines.append("  because:")
                lines += [f"    {line}" for line in self.case.explanation]
            raise SampleCaseFailed("\n".join(lines))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SampleCaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        line = self.case.line - 1 if self.case else 0
        return self.path, line, self.name
