"""CI output: format checks as diagnostics, GitHub Actions annotations, and SARIF 2.1.0."""

from __future__ import annotations

from typing import Iterable

from .diagnostics import CODES, Diagnostic


def fmt_diagnostics(paths: list[str]) -> list[Diagnostic]:
    """A `not-formatted` error for every policy whose text is not in canonical form."""
    from .formatter import format_policy
    from .loader import discover
    from .parser import parse_file

    policies, _, _ = discover(paths)
    out = []
    for path in policies:
        parsed = parse_file(path)
        if parsed.policy is not None and format_policy(parsed.policy, parsed.comments) != parsed.source:
            out.append(Diagnostic("not-formatted", "the policy is not in canonical form", str(path),
                                  hint=f"run: leadpolicy fmt {path}"))
    return out


def _escape(text: str, property_: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_ else text


def annotations(diags: Iterable[Diagnostic], runs) -> list[str]:
    """GitHub Actions workflow commands, one per problem and per failing sample case."""
    lines = []
    for d in diags:
        level = "error" if d.is_error else "warning"
        where = f"file={_escape(d.file, True)}"
        if d.span.line:
            where += f",line={d.span.line},col={d.span.column}"
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(f"::{level} {where},title={_escape(d.code, True)}::{_escape(message)}")
    for run in runs:
        for case in run.cases:
            if not case.passed:
                message = "; ".join(case.failures)
                lines.append(f"::error file={_escape(case.file, True)},line={case.line},"
                             f"title={_escape('sample ' + case.status, True)}::{_escape(case.name + ': ' + message)}")
    return lines


def sarif(diags: Iterable[Diagnostic], runs) -> dict:
    """A SARIF 2.1.0 log of the problems and failing sample cases."""
    results = []
    for d in diags:
        result = {"ruleId": d.code, "level": "error" if d.is_error else "warning",
                  "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
                  "locations": [{"physicalLocation": {"artifactLocation": {"uri": d.file}}}]}
        if d.span.line:
            result["locations"][0]["physicalLocation"]["region"] = {"startLine": d.span.line,
                                                                    "startColumn": max(d.span.column, 1)}
        results.append(result)
    for run in runs:
        for case in run.cases:
            if not case.passed:
                results.append({"ruleId": "sample-failed", "level": "error",
                                "message": {"text": f"{case.name}: {'; '.join(case.failures)}"},
                                "locations": [{"physicalLocation": {"artifactLocation": {"uri": case.file},
                                                                    "region": {"startLine": case.line}}}]})
    rules = [{"id": code, "shortDescription": {"text": text},
              "defaultConfiguration": {"level": "error" if severity == "error" else "warning"}}
             for code, (severity, text) in CODES.items()]
    rules.append({"id": "sample-failed", "shortDescription": {"text": "A sample case's outcome differs from the "
                                                                      "agreed one."}})
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "leadpolicy", "informationUri": "https://example.invalid/leadpolicy",
                                          "rules": rules}}, "results": results}]}
