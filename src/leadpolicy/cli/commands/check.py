"""`leadpolicy check`: parse, check and test policies."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import add_min_coverage, add_report_format, help_formatter, positive_seconds
from leadpolicy.cli.shared import (
    print_case_failures,
    print_diagnostics,
    print_summary,
    summary_dict,
)
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.testing.coverage_floor import coverage_diagnostics, untested

PROVE_TIMEOUT = 10.0  # seconds per guarantee (leadpolicy.proofs.DEFAULT_TIMEOUT, not imported to keep --help fast)

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands, SummaryRow
    from leadpolicy.language.loader import LoadedPolicy
    from leadpolicy.testing.harness import SamplesRun as SampleRun


def register(sub: Subcommands) -> None:
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
    p.add_argument("--prove-timeout", type=positive_seconds, default=PROVE_TIMEOUT, metavar="S",
                   help="the time the solver has for each guarantee before it is reported unknown (default: "
                        f"{PROVE_TIMEOUT:g} s)")


@dataclass
class _CheckRun:
    """What checking the policies found: diagnostics, sample runs and one summary row per policy."""

    diags: list[Diagnostic]
    sources: dict[str, str | None] = field(default_factory=dict)
    runs: list[SampleRun] = field(default_factory=list)
    rows: list[SummaryRow] = field(default_factory=list)
    used_samples: set[Path] = field(default_factory=set)


def run(args: argparse.Namespace, extra: list[Diagnostic] | None = None,
        sink: Callable[[list[Diagnostic], list[SampleRun]], None] | None = None) -> int:
    """`check`; `ci` passes more diagnostics in (`extra`) and gets the results out (`sink`)."""
    from leadpolicy.language.loader import discover

    policies, samples, problems = discover(args.paths)
    state = _CheckRun(diags=list(problems) + list(extra or []))
    against = _against_ref(args.against, state.diags)
    for path in policies:
        state.rows.append(_check_policy(path, args, against, state))
    _run_orphan_samples(samples, args.min_coverage, state)
    errors = [d for d in state.diags if d.is_error or (args.strict and d.severity == "warning")]
    failing_cases = [c for r in state.runs for c in r.cases if c.failing]
    ok = not errors and not failing_cases  # a coverage floor below its mark is an error (`low-coverage`)
    if sink is not None:
        sink(state.diags, state.runs)
    if args.format == "json":
        _print_json(ok, state)
        return EXIT_OK if ok else EXIT_PROBLEMS
    if args.format == "github":
        from leadpolicy.governance.ci import github_annotations

        for line in github_annotations(state.diags, state.runs):
            print(line)
    else:
        _print_text(state)
    _print_verdict(len(policies), ok, state)
    return EXIT_OK if ok else EXIT_PROBLEMS


def _against_ref(against: str | None, diags: list[Diagnostic]) -> str | None:
    """The git ref `--against` names; without a value, the merge base with main (a bad-ref error if none)."""
    from leadpolicy.governance.approvals import GitError, default_base

    if against != "":
        return against
    try:
        return default_base(Path.cwd())
    except GitError as exc:
        diags.append(Diagnostic("bad-ref", str(exc), "."))
        return None


def _check_policy(path: Path, args: argparse.Namespace, against: str | None, state: _CheckRun) -> SummaryRow:
    """Load one policy, check its governance and run its samples; its row of the summary."""
    from leadpolicy.semantics.loading import load_policy

    loaded = load_policy(path)
    state.sources[loaded.file] = loaded.source
    state.diags.extend(loaded.diagnostics)
    approval = _governance(loaded, args, against, state.diags)
    run, status = _policy_samples(path, loaded, args, state)
    state.diags.extend(_proofs(loaded, args.prove_timeout, run))
    if status == "ok" and any(d.is_error and d.file == loaded.file for d in state.diags):
        status = "errors"  # for example not approved, or a version that did not move
    return (loaded, run, status, approval)


def _governance(loaded: LoadedPolicy, args: argparse.Namespace, against: str | None,
                diags: list[Diagnostic]) -> str:
    """Approval and version diagnostics of a policy without errors; its approval state ("-" when not checked)."""
    from leadpolicy.governance.approvals import approval_diagnostics, version_diagnostics

    if loaded.policy is None or loaded.has_errors:
        return "-"
    approval, approval_diags = approval_diagnostics(loaded.file, loaded.policy, args.require_approvals)
    diags.extend(approval_diags)
    if against:
        diags.extend(version_diagnostics(loaded.file, loaded.policy, against))
    return approval


def _proofs(loaded: LoadedPolicy, timeout: float, run: SampleRun | None) -> list[Diagnostic]:
    """What the solver finds in a policy without errors: its guarantees proved, violated or unknown, route gaps,
    entries no lead reaches (what its sample cases reach needs no search)."""
    from leadpolicy.proofs.diagnostics import proof_diagnostics

    if loaded.policy is None or loaded.has_errors:
        return []
    seen = [case.actual for case in run.cases if case.kind == "lead"] if run is not None else []
    return proof_diagnostics(loaded.file, loaded.policy, timeout, seen)


def _policy_samples(path: Path, loaded: LoadedPolicy, args: argparse.Namespace,
                    state: _CheckRun) -> tuple[SampleRun | None, str]:
    """Run the samples file next to a policy: the run (None when not run) and the policy's status."""
    from leadpolicy.language.loader import samples_for
    from leadpolicy.testing.harness import run_samples

    sample_path = samples_for(path)
    if loaded.has_errors:
        return None, "errors"
    if not sample_path.exists():
        if not args.allow_untested:
            state.diags.append(untested(sample_path, loaded.file))
        return None, "untested"
    state.used_samples.add(sample_path.resolve())
    run = run_samples(sample_path, loaded.policy, loaded.file)
    state.runs.append(run)
    state.diags.extend(run.diagnostics)
    assert loaded.policy is not None  # a tree without errors
    state.diags.extend(coverage_diagnostics(run, args.min_coverage, loaded.file, loaded.policy.id_span))
    return run, "ok" if run.ok else "failing"


def _run_orphan_samples(samples: list[Path], min_coverage: float | None, state: _CheckRun) -> None:
    """Run the samples files no checked policy claimed (each names its policy itself)."""
    from leadpolicy.language import ast
    from leadpolicy.testing.harness import run_samples

    for sample_path in samples:
        if sample_path.resolve() not in state.used_samples:
            run = run_samples(sample_path)
            state.runs.append(run)
            state.diags.extend(run.diagnostics)
            state.diags.extend(coverage_diagnostics(run, min_coverage, run.file, ast.NO_SPAN))


def _print_json(ok: bool, state: _CheckRun) -> None:
    print(json.dumps({
        "ok": ok,
        "diagnostics": [d.as_dict() for d in sorted(state.diags, key=lambda d: d.sort_key())],
        "cases": [c.as_dict() for r in state.runs for c in r.cases],
        "policies": [summary_dict(loaded, run, status, approval, state.diags)
                     for loaded, run, status, approval in state.rows],
    }, indent=2, default=str))


def _print_text(state: _CheckRun) -> None:
    print_diagnostics(state.diags, state.sources)
    for run in state.runs:
        print_case_failures(run)
    print_summary(state.rows, state.runs, state.diags)


def _print_verdict(n_policies: int, ok: bool, state: _CheckRun) -> None:
    n_err = len([d for d in state.diags if d.is_error])
    n_warn = len([d for d in state.diags if not d.is_error])
    passed = sum(c.passed for r in state.runs for c in r.cases)
    total = sum(len(r.cases) for r in state.runs)
    verdict = "all is well" if ok else "problems found"
    print(f"\n{n_policies} polic{'y' if n_policies == 1 else 'ies'}, {n_err} error(s), {n_warn} warning(s), "
          f"{passed}/{total} cases passed: {verdict}")
