"""JUnit XML reports of sample runs, for CI systems that display them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def junit_xml(runs) -> ET.Element:
    suites = ET.Element("testsuites")
    for run in runs:
        failures = sum(c.status == "failed" for c in run.cases)
        errors = sum(c.status == "error" for c in run.cases) + sum(d.is_error for d in run.diagnostics)
        suite = ET.SubElement(suites, "testsuite", name=run.file, tests=str(len(run.cases)),
                              failures=str(failures), errors=str(errors))
        for d in run.diagnostics:
            case = ET.SubElement(suite, "testcase", classname=run.file, name=f"load {run.file}")
            ET.SubElement(case, "error", message=d.message).text = f"{d.file}:{d.span.line}: {d.code}: {d.message}"
        for c in run.cases:
            case = ET.SubElement(suite, "testcase", classname=f"{run.file}.{c.kind}", name=c.name,
                                 file=c.file, line=str(c.line))
            if not c.passed:
                tag = "failure" if c.status == "failed" else "error"
                body = "\n".join(c.failures + ["because:"] + c.explanation)
                ET.SubElement(case, tag, message="; ".join(c.failures)).text = body
    return suites


def write_junit(path: str | Path, runs) -> None:
    tree = ET.ElementTree(junit_xml(runs))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
