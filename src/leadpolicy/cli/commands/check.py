"""`leadpolicy check`: parse, check and test policies."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import add_min_coverage, add_report_format, help_formatter
from leadpolicy.cli.shared import (
    coverage_diagnostics,
    print_case_failures,
    print_diagnostics,
    print_summary,
    summary_dict,
)


def register(sub) -> None:
    p = sub.add_parser("check", formatter_class=help_formatter, help="parse, check and test policies",
                       description="Parse and check every policy, and run its samples file.",
                       epilog="examples:\n  leadpolicy check\n"
                              "  leadpolicy check policies/inbound-b2b.policy --format json\n"
                              "  leadpolicy check --min-coverage 80\n")
    p.add_argument("paths", nargs="*", default=None, help="policy files or directories (default: policies/)")
    add_report_format(p)
    add_min_coverage(p, "fail when a policy's sample coverage is below N percent")
    p.add_argument("--allow-untested", action="store_true", help="do not fail for a policy without samples")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--require-approvals", action="store_true",
                   help="fail when an owning team has not approved the current content (NAME.approvals.yaml)")
    p.add_argument("--against", metavar="GIT_REF", nargs="?", const="",
                   help="fail when a policy changed since GIT_REF but its version did not move enough "
                        "(without a value: the merge base with main)")


def run(args: argparse.Namespace, extra: list | None = None, sink=None) -> int:
    """`check`; `ci` passes more diagnostics in (`extra`) and gets the results out (`sink`)."""
    from leadpolicy.governance.approvals import GitError, approval_diagnostics, default_base, version_diagnostics
    from leadpolicy.language import ast
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.language.loader import discover, load_policy, samples_for
    from leadpolicy.testing.harness import run_samples

    policies, samples, problems = discover(args.paths)
    diags = list(problems) + list(extra or [])
    sources: dict[str, str | None] = {}
    runs = []
    rows = []
    used_samples: set[Path] = set()
    against = args.against
    if against == "":
        try:
            against = default_base(Path.cwd())
        except GitError as exc:
            diags.append(Diagnostic("bad-ref", str(exc), "."))
            against = None
    for path in policies:
        loaded = load_policy(path)
        sources[loaded.file] = loaded.source
        diags.extend(loaded.diagnostics)
        approval = "-"
        if loaded.policy is not None and not loaded.has_errors:
            approval, approval_diags = approval_diagnostics(loaded.file, loaded.policy, args.require_approvals)
            diags.extend(approval_diags)
            if against:
                diags.extend(version_diagnostics(loaded.file, loaded.policy, against))
        sample_path = samples_for(path)
        run = None
        if loaded.has_errors:
            status = "errors"
        elif sample_path.exists():
            used_samples.add(sample_path.resolve())
            run = run_samples(sample_path, loaded.policy, loaded.file)
            runs.append(run)
            diags.extend(run.diagnostics)
            assert loaded.policy is not None  # a tree without errors
            diags.extend(coverage_diagnostics(run, args.min_coverage, loaded.file, loaded.policy.id_span))
            status = "ok" if run.ok else "failing"
        else:
            status = "untested"
            if not args.allow_untested:
                diags.append(Diagnostic("untested", f"no samples file: create {sample_path.name} next to it",
                                        loaded.file, hint="see docs/samples.md for the format"))
        if status == "ok" and any(d.is_error and d.file == loaded.file for d in diags):
            status = "errors"  # for example not approved, or a version that did not move
        rows.append((loaded, run, status, approval))
    for sample_path in samples:
        if sample_path.resolve() not in used_samples:
            run = run_samples(sample_path)
            runs.append(run)
            diags.extend(run.diagnostics)
            diags.extend(coverage_diagnostics(run, args.min_coverage, run.file, ast.NO_SPAN))
    errors = [d for d in diags if d.is_error or (args.strict and d.severity == "warning")]
    failing_cases = [c for r in runs for c in r.cases if c.failing]
    ok = not errors and not failing_cases  # a coverage floor below its mark is an error (`low-coverage`)
    if sink is not None:
        sink(diags, runs)
    if args.format == "json":
        print(json.dumps({
            "ok": ok,
            "diagnostics": [d.as_dict() for d in sorted(diags, key=lambda d: d.sort_key())],
            "cases": [c.as_dict() for r in runs for c in r.cases],
            "policies": [summary_dict(loaded, run, status, approval, diags) for loaded, run, status, approval in rows],
        }, indent=2, default=str))
        return EXIT_OK if ok else EXIT_PROBLEMS
    if args.format == "github":
        from leadpolicy.governance.ci import github_annotations

        for line in github_annotations(diags, runs):
            print(line)
    else:
        print_diagnostics(diags, sources)
        for run in runs:
            print_case_failures(run)
        print_summary(rows, runs, diags)
    n_err = len([d for d in diags if d.is_error])
    n_warn = len([d for d in diags if not d.is_error])
    verdict = "all is well" if ok else "problems found"
    print(f"\n{len(policies)} polic{'y' if len(policies) == 1 else 'ies'}, {n_err} error(s), {n_warn} warning(s), "
          f"{sum(c.passed for r in runs for c in r.cases)}/{sum(len(r.cases) for r in runs)} cases passed: {verdict}")
    return EXIT_OK if ok else EXIT_PROBLEMS
