"""CI output: format checks as diagnostics, GitHub Actions annotations, and SARIF 2.1.0."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence
from urllib.parse import quote

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import CODES, Diagnostic, source_lines


class Case(Protocol):
    """What CI output reads of a sample case (testing.harness.CaseResult; governance does not import testing)."""

    file: str
    line: int
    name: str
    status: str
    failures: list[str]

    @property
    def failing(self) -> bool: ...


class Run(Protocol):
    """What CI output reads of a samples run (testing.harness.SamplesRun)."""

    @property
    def cases(self) -> Sequence[Case]: ...


def fmt_diagnostics(paths: list[str]) -> list[Diagnostic]:
    """A `not-formatted` error for every policy whose text is not in canonical form."""
    from leadpolicy.language.formatter import format_policy
    from leadpolicy.language.loader import discover
    from leadpolicy.language.parser import parse_file

    policies, _, _ = discover(paths)
    out = []
    for path in policies:
        parsed = parse_file(path)
        if parsed.policy is None:
            continue
        formatted = format_policy(parsed.policy, parsed.comments)
        if formatted != parsed.source:
            line = first_difference(parsed.source, formatted)
            out.append(Diagnostic("not-formatted", f"the policy is not in canonical form (from line {line})",
                                  str(path), ast.Span(line, 1, line, 2), hint=f"run: leadpolicy fmt {path}"))
    return out


def first_difference(now: str, formatted: str) -> int:
    """The first line (1-based) where a file and its canonical form differ."""
    for number, (a, b) in enumerate(zip(source_lines(now), source_lines(formatted)), start=1):
        if a != b:
            return number
    return min(len(source_lines(now)), len(source_lines(formatted))) + 1


def _escape(text: str, property_: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_ else text


def github_annotations(diags: Iterable[Diagnostic], runs: Iterable[Run]) -> list[str]:
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
            if case.failing:
                message = "; ".join(case.failures)
                lines.append(f"::error file={_escape(case.file, True)},line={case.line},"
                             f"title={_escape('sample ' + case.status, True)}::{_escape(case.name + ': ' + message)}")
    return lines


SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def docs_url() -> str:
    """Where the diagnostics page is published: the package's Documentation URL."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        for entry in metadata("leadpolicy").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() == "documentation":
                return str(url).strip().rstrip("/")
    except PackageNotFoundError:
        pass
    return "https://github.com/leadpolicy/leadpolicy/blob/main/docs"


def _rule(code: str, severity: str, text: str, base: str) -> dict[str, Any]:
    return {"id": code, "name": "".join(w.capitalize() for w in code.split("-")),
            "shortDescription": {"text": text}, "fullDescription": {"text": text},
            "help": {"text": f"{text} See {base}/diagnostics.md#{code}",
                     "markdown": f"{text} See [{code}]({base}/diagnostics.md#{code})."},
            "helpUri": f"{base}/diagnostics.md#{code}",
            "defaultConfiguration": {"level": "error" if severity == "error" else "warning"}}


def _location(file: str, line: int, column: int, root: Path) -> dict[str, Any]:
    path = Path(file)
    try:
        relative = path.resolve().relative_to(root).as_posix()
    except ValueError:
        relative = path.as_posix()
    return {"physicalLocation": {"artifactLocation": {"uri": quote(relative), "uriBaseId": "%SRCROOT%"},
                                 "region": {"startLine": max(line, 1), "startColumn": max(column, 1)}}}


def sarif(diags: Iterable[Diagnostic], runs: Iterable[Run], root: Path | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log of the problems and failing sample cases, as GitHub code scanning ingests it:
    every rule described with help and a link, every result with a repository-relative location and
    a region, the tool's version. Columns count Unicode code points."""
    from leadpolicy import __version__

    root = (root or repository_root()).resolve()
    results: list[dict[str, Any]] = []
    for d in diags:
        results.append({"ruleId": d.code, "level": "error" if d.is_error else "warning",
                        "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
                        "locations": [_location(d.file, d.span.line, d.span.column, root)]})
    for run in runs:
        for case in run.cases:
            if case.failing:
                results.append({"ruleId": "sample-failed", "level": "error",
                                "message": {"text": f"{case.name}: {'; '.join(case.failures)}"},
                                "locations": [_location(case.file, case.line, 1, root)]})
    base = docs_url()
    rules = [_rule(code, severity, text, base) for code, (severity, text) in CODES.items()]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "leadpolicy", "version": __version__,
                                          "semanticVersion": __version__, "informationUri": base,
                                          "rules": rules}},
                      "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                      "columnKind": "unicodeCodePoints", "results": results}]}


def repository_root() -> Path:
    """The top of the git work tree around the current folder, else the current folder."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False)
    except OSError:
        return Path.cwd()
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else Path.cwd()


def add_to_job_summary(text: str) -> None:
    """Append a report to the GitHub Actions job summary ($GITHUB_STEP_SUMMARY), when the job has one."""
    import os

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
