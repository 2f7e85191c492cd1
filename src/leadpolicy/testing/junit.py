"""JUnit XML reports of sample runs, for CI systems that display them.

The report follows the JUnit schema Jenkins validates with (tests/fixtures/standards): a testcase
has no file or line attribute there, so the place of a case starts its failure text. A samples
file that cannot be loaded is one testcase in error, so it counts as a test that did not pass.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadpolicy.testing.harness import SamplesRun


def junit_xml(runs: Iterable[SamplesRun]) -> ET.Element:
    suites = ET.Element("testsuites", name="leadpolicy samples")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for run in runs:
        suite = ET.SubElement(suites, "testsuite", name=run.file)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        load_errors = [d for d in run.diagnostics if d.is_error]
        if load_errors:
            case = ET.SubElement(suite, "testcase", classname=_classname(run.file), name=f"load {run.file}")
            text = "\n".join(f"{d.file}:{d.span.line}:{d.span.column}: {d.code}: {d.message}" for d in load_errors)
            ET.SubElement(case, "error", type="load", message=load_errors[0].message).text = text
            counts["tests"] += 1
            counts["errors"] += 1
        for c in run.cases:
            case = ET.SubElement(suite, "testcase", classname=f"{_classname(run.file)}.{c.kind}", name=c.name)
            counts["tests"] += 1
            if not c.passed:
                tag = "failure" if c.status == "failed" else "error"
                counts["failures" if tag == "failure" else "errors"] += 1
                body = "\n".join([f"{c.file}:{c.line}", *c.failures, "because:", *c.explanation])
                ET.SubElement(case, tag, type=c.status, message="; ".join(c.failures)).text = body
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    return suites


def _classname(file: str) -> str:
    """A samples file's name as a JUnit class name: without folders and extension, so a reader that
    splits class names at dots shows it whole."""
    return Path(file).name.removesuffix(".yaml").removesuffix(".samples").replace(".", "_")


def write_junit(path: str | Path, runs: Iterable[SamplesRun]) -> None:
    """The report, replacing `path` only once it is whole (see leadpolicy.outputs)."""
    from leadpolicy.outputs import replacing

    tree = ET.ElementTree(junit_xml(runs))
    ET.indent(tree)
    with replacing(path) as tmp:
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
