"""`leadpolicy test`: run sample cases."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_min_coverage, add_report_format, help_formatter
from leadpolicy.cli.shared import (
    outputs_refused,
    print_case_failures,
    print_coverage,
    print_diagnostics,
    samples_paths,
)
from leadpolicy.language.words import quantity
from leadpolicy.testing.coverage_floor import coverage_diagnostics

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.testing.harness import CaseResult, SamplesRun


def register(sub: Subcommands) -> None:
    p = sub.add_parser("test", formatter_class=help_formatter, help="run sample cases",
                       description="Run the cases of samples files (NAME.samples.yaml next to NAME.policy).",
                       epilog="examples:\n  leadpolicy test\n"
                              "  leadpolicy test policies/inbound-b2b.samples.yaml -k demo\n"
                              "  leadpolicy test --coverage --min-coverage 90\n  leadpolicy test --junit report.xml\n")
    p.add_argument("paths", nargs="*", default=None, help="samples files, policy files or directories")
    add_report_format(p)
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    p.add_argument("--coverage", action="store_true", help="list rules, stages, routes and boundaries no case covers")
    add_min_coverage(p, "fail below N percent coverage")
    p.add_argument("-k", dest="pattern", metavar="TEXT", help="only cases whose name contains TEXT")


def repository_files(paths: list[str]) -> dict[str, Path]:
    """The files a run over `paths` reads (policies, samples, approvals, and the policy each samples file
    names, wherever it is), which no output may replace."""
    from leadpolicy.cli.shared import named_policy, policy_files
    from leadpolicy.language.loader import discover

    policies, samples, _ = discover(paths)
    files = [*samples, *(f for p in policies for f in policy_files(p))]
    for sample in [*samples, *(f for f in files if f.name.endswith(".samples.yaml"))]:
        target = named_policy(sample)
        if target is not None:
            files += policy_files(target)
    return {f"the input {path}": path for path in dict.fromkeys(files)}


def run(args: argparse.Namespace) -> int:
    if outputs_refused("test", {"the JUnit report (--junit)": args.junit}, repository_files(args.paths)):
        return EXIT_USAGE
    paths, problems = samples_paths(args.paths)
    runs = _run_samples(paths, args.pattern)
    diags = problems + _run_diagnostics(runs, args.min_coverage)
    cases = [c for r in runs for c in r.cases]
    failed = [c for c in cases if c.failing]
    ok = not any(d.is_error for d in diags) and not failed and bool(cases or not paths)
    if args.junit:
        from leadpolicy.testing.junit import write_junit

        write_junit(args.junit, runs)
    if args.format == "json":
        _print_json(ok, diags, runs)
        return EXIT_OK if ok else EXIT_PROBLEMS
    if args.format == "github":
        from leadpolicy.governance.ci import github_annotations

        for line in github_annotations(diags, runs):
            print(line)
    else:
        _print_text(diags, runs, args.coverage or args.min_coverage is not None)
    print(_summary_line(ok, diags, runs, paths))
    return EXIT_OK if ok else EXIT_PROBLEMS


def _run_samples(paths: list[Path], pattern: str | None) -> list[SamplesRun]:
    """Run each samples file, keeping only the cases whose name holds `pattern` (any case of letters)."""
    from leadpolicy.testing.harness import run_samples

    runs = [run_samples(p) for p in paths]
    if pattern:
        for run in runs:
            run.cases = [c for c in run.cases if pattern.lower() in c.name.lower()]
    return runs


def _run_diagnostics(runs: list[SamplesRun], min_coverage: float | None) -> list[Diagnostic]:
    """The runs' own diagnostics, then a low-coverage error for each run below the floor."""
    from leadpolicy.language import ast

    diags = [d for r in runs for d in r.diagnostics]
    for run in runs:
        diags += coverage_diagnostics(run, min_coverage, run.file, ast.NO_SPAN)
    return diags


def _print_json(ok: bool, diags: list[Diagnostic], runs: list[SamplesRun]) -> None:
    print(json.dumps({
        "ok": ok,
        "diagnostics": [d.as_dict() for d in diags],
        "cases": [c.as_dict() for r in runs for c in r.cases],
        "coverage": {r.file: {"percent": r.coverage_percent,
                              "uncovered": [vars(i) for i in r.coverage if not i.covered]} for r in runs},
    }, indent=2, default=str))


def _print_text(diags: list[Diagnostic], runs: list[SamplesRun], with_coverage: bool) -> None:
    print_diagnostics(diags, {})
    for run in runs:
        print_case_failures(run)
    if with_coverage:
        for run in runs:
            print_coverage(run)


def _summary_line(ok: bool, diags: list[Diagnostic], runs: list[SamplesRun], paths: list[Path]) -> str:
    cases = [c for r in runs for c in r.cases]
    counts = {s: sum(c.status == s for c in cases) for s in ("passed", "failed", "error")}
    summary = f"{counts['passed']} passed, {counts['failed']} failed, {quantity(counts['error'], 'errors')} " \
              f"in {len(runs)} samples file(s)"
    failed = [c for c in cases if c.failing]
    return summary if ok else f"{summary}: problems found ({_why_failed(diags, failed, cases, paths)})"


def _why_failed(diags: list[Diagnostic], failed: list[CaseResult], cases: list[CaseResult],
                paths: list[Path]) -> str:
    """What made a run fail, for its last line: the codes of its errors, failing cases, no case at all."""
    reasons = []
    codes = sorted({d.code for d in diags if d.is_error})
    if codes:
        reasons.append(f"{sum(d.is_error for d in diags)} error(s): {', '.join(codes)}")
    if failed:
        reasons.append(f"{len(failed)} case(s) failing")
    if paths and not cases:
        reasons.append("no sample case ran")
    return "; ".join(reasons)
