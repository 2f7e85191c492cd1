"""`leadpolicy ci`: everything a policy repository's CI needs, in one step."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadpolicy.cli.exit_codes import EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_columns, add_min_coverage, help_formatter, timestamp_arg

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.language.diagnostics import Diagnostic
    from leadpolicy.measure.feedback import FeedbackInput
    from leadpolicy.testing.harness import SamplesRun


def register(sub: Subcommands) -> None:
    p = sub.add_parser("ci", formatter_class=help_formatter,
                       help="everything a policy repository's CI needs, in one step",
                       description="Format check, check, sample tests, coverage floor, approvals by every owning "
                                   "team, and version rules against the base branch. Writes GitHub annotations when "
                                   "run in GitHub Actions, and SARIF for code-scanning tools with --sarif.",
                       epilog="examples:\n  leadpolicy ci\n  leadpolicy ci policies/ --min-coverage 80 --sarif "
                              "leadpolicy.sarif\n  leadpolicy ci --against origin/main --skip-fmt\n")
    p.add_argument("paths", nargs="*", default=None)
    add_min_coverage(p)
    p.add_argument("--against", metavar="GIT_REF", default="",
                   help="base for the version rules (default: the merge base with main)")
    p.add_argument("--skip-fmt", action="store_true", help="do not require canonical formatting")
    p.add_argument("--skip-approvals", action="store_true", help="do not require approvals")
    p.add_argument("--skip-versions", action="store_true", help="do not check version bumps")
    p.add_argument("--sarif", metavar="FILE", help="also write the problems as SARIF 2.1.0")
    p.add_argument("--backtest", metavar="DIR",
                   help="backtest every changed policy with outcomes against its --against version on DIR's "
                        "leads.* and events.*, and add the reports to the job summary ($GITHUB_STEP_SUMMARY)")
    p.add_argument("--backtest-as-of", metavar="T", type=timestamp_arg,
                   help="decide the leads as of T (required with --backtest)")
    p.add_argument("--backtest-now", metavar="T", type=timestamp_arg, help="outcomes up to T (default: now)")
    p.add_argument("--calibrate", metavar="DIR",
                   help="calibrate every policy with outcomes on DIR's leads.* and events.* (rule by rule, whether "
                        "the outcomes support its points), and add the reports to the job summary; a report, "
                        "it never fails the job by itself")
    p.add_argument("--calibrate-as-of", metavar="T", type=timestamp_arg,
                   help="decide the leads as of T (default: --backtest-as-of; one of them is required)")
    p.add_argument("--calibrate-now", metavar="T", type=timestamp_arg,
                   help="outcomes up to T (default: --backtest-now, else now)")
    p.add_argument("--id-column", default="id", metavar="COLUMN",
                   help="the id column of the leads of --backtest and --calibrate (default: id)")
    add_columns(p, "the leads of --backtest and --calibrate")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.cli.commands.check import PROVE_TIMEOUT
    from leadpolicy.cli.commands.test import repository_files
    from leadpolicy.cli.shared import outputs_refused
    from leadpolicy.governance.ci import fmt_diagnostics, github_annotations, sarif
    from leadpolicy.outputs import write_text

    if outputs_refused("ci", {"the SARIF log (--sarif)": args.sarif}, {**repository_files(args.paths),
                                                                       **_data_files(args.backtest, "backtest"),
                                                                       **_data_files(args.calibrate, "calibrate")}):
        return EXIT_USAGE
    extra = [] if args.skip_fmt else fmt_diagnostics(args.paths)
    check_args = argparse.Namespace(paths=args.paths, format="text", min_coverage=args.min_coverage,
                                    allow_untested=False, strict=False, require_approvals=not args.skip_approvals,
                                    against=None if args.skip_versions else args.against,
                                    prove_timeout=PROVE_TIMEOUT)
    collected: dict[str, Any] = {}

    def sink(diags: list[Diagnostic], runs: list[SamplesRun]) -> None:
        collected.update(diags=diags, runs=runs)
    from leadpolicy.cli.commands.check import run as run_check

    status = run_check(check_args, extra, sink)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(collected["diags"], collected["runs"]):
            print(line)
    if args.sarif:
        write_text(args.sarif, json.dumps(sarif(collected["diags"], collected["runs"]), indent=2))
        print(f"wrote {args.sarif}")
    for flag, measure_data in (("backtest", _backtests), ("calibrate", _calibrations)):
        reported = measure_data(args) if getattr(args, flag) else 0
        if reported != 0:
            return reported
    return status


def _data_files(folder: str | None, flag: str) -> dict[str, Path]:
    """The data files --backtest or --calibrate reads (none when it finds none: the report then says why)."""
    from leadpolicy.measure.backtest import data_files
    from leadpolicy.measure.feedback import FeedbackError

    if folder is None:
        return {}
    try:
        leads, events = data_files(Path(folder))
    except FeedbackError:
        return {}
    return {f"the {flag}'s leads (--{flag})": leads, f"the {flag}'s events (--{flag})": events}


def _backtests(args: argparse.Namespace) -> int:
    """Backtest each changed policy that has outcomes; print the reports and add them to the job summary."""
    import sys
    import tempfile

    from leadpolicy.api import from_tree
    from leadpolicy.governance.approvals import GitError, default_base
    from leadpolicy.governance.ci import add_to_job_summary
    from leadpolicy.measure.backtest import backtest, changed_policies, data_files
    from leadpolicy.measure.feedback import FeedbackError
    from leadpolicy.measure.render import render_backtest
    from leadpolicy.semantics.loading import load_policy, load_policy_text
    from leadpolicy.warehouse.lead_rows import BatchError

    if not args.backtest_as_of:
        print("leadpolicy ci: --backtest needs --backtest-as-of", file=sys.stderr)
        return EXIT_USAGE
    from leadpolicy.language.loader import discover

    try:
        ref = args.against or default_base(Path.cwd())
        leads, events = data_files(Path(args.backtest))
        files = [Path(p) for p in discover(args.paths)[0]]
        pairs = []
        for path, old_text in changed_policies(files, ref):
            old, new = load_policy_text(old_text, f"{ref}:{path}"), load_policy(path)
            if old.has_errors or new.has_errors or new.policy is None or old.policy is None:
                continue  # the check above reports the new one's errors
            if (new_policy := from_tree(new.policy)).ir.outcomes:
                pairs.append((from_tree(old.policy), new_policy))
        if _mapping_problem(args, [policy for pair in pairs for policy in pair]):
            return EXIT_USAGE
        pages = []
        for old_policy, new_policy in pairs:
            with tempfile.TemporaryDirectory(prefix="leadpolicy-backtest-") as tmp:
                data = _feedback_input(args, new_policy, (leads, events), (args.backtest_as_of, args.backtest_now),
                                       Path(tmp))
                report = backtest(old_policy, new_policy, data, Path(tmp))
            pages.append(render_backtest(report, "markdown"))
    except (GitError, FeedbackError, BatchError) as exc:
        print(f"leadpolicy ci: --backtest: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    text = "\n".join(pages) if pages else f"No changed policy with outcomes to backtest against {ref}.\n"
    print(text, end="")
    add_to_job_summary(text)
    return 0


def _calibrations(args: argparse.Namespace) -> int:
    """Calibrate each policy that has outcomes (the evidence, no proposal); print the Markdown reports and add
    them to the job summary. A report never fails the job; data it cannot read does (exit 1)."""
    import sys

    from leadpolicy.governance.ci import add_to_job_summary
    from leadpolicy.language.loader import discover
    from leadpolicy.measure.backtest import data_files
    from leadpolicy.measure.feedback import FeedbackError, FeedbackUsage
    from leadpolicy.warehouse.lead_rows import BatchError

    as_of, now = args.calibrate_as_of or args.backtest_as_of, args.calibrate_now or args.backtest_now
    if not as_of:
        print("leadpolicy ci: --calibrate needs --calibrate-as-of (or --backtest-as-of)", file=sys.stderr)
        return EXIT_USAGE
    try:
        leads, events = data_files(Path(args.calibrate))
        policies = [found for path in discover(args.paths)[0] if (found := _with_outcomes(Path(path))) is not None]
        if _mapping_problem(args, [policy for policy, _ in policies]):
            return EXIT_USAGE
        pages = [_calibration(args, policy, source, (leads, events), (as_of, now)) for policy, source in policies]
    except FeedbackUsage as exc:  # an as-of after now; data ci cannot read is exit 1, as for --backtest
        print(f"leadpolicy ci: --calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FeedbackError, BatchError) as exc:
        print(f"leadpolicy ci: --calibrate: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    text = "\n".join(page for page in pages if page) or "No policy with outcomes to calibrate.\n"
    print(text, end="")
    add_to_job_summary(text)
    return 0


def _with_outcomes(path: Path) -> tuple[Policy, str] | None:
    """A policy with an outcomes block and its text (None for one without, or with errors: check says them)."""
    from leadpolicy.api import from_tree
    from leadpolicy.semantics.loading import load_policy

    loaded = load_policy(path)
    if loaded.has_errors or loaded.policy is None:
        return None
    policy = from_tree(loaded.policy, str(path))
    return (policy, loaded.source) if policy.ir.outcomes else None


def _mapping_problem(args: argparse.Namespace, policies: list[Policy]) -> bool:
    """A --column naming a field none of the policies has (bad usage, said on stderr); project settings for
    fields they lack are left out, as calibrate leaves them out."""
    from leadpolicy.cli.shared import column_mapping_problem

    return bool(policies) and column_mapping_problem("ci", dict(args.columns), *(p.ir for p in policies))


def _feedback_input(args: argparse.Namespace, policy: Policy, files: tuple[Path, Path],
                    when: tuple[str, str | None], folder: Path) -> FeedbackInput:
    """The leads and events of --backtest or --calibrate as `policy` reads them, as calibrate reads its
    inputs: --id-column, and --column over [tool.leadpolicy.columns] for the policy's own fields; grouped by
    nothing (no group columns are needed); the rejects into the working `folder`."""
    from leadpolicy.measure.feedback import FeedbackInput

    fields = {f.name for f in policy.ir.fields}
    columns = tuple((name, header) for name, header in args.columns.items() if name in fields)
    return FeedbackInput(files[0], files[1], policy.instant(when[0]), policy.instant(when[1]), args.id_column,
                         rejects_folder=folder, columns=columns, default_groups=False)


def _calibration(args: argparse.Namespace, policy: Policy, source: str, files: tuple[Path, Path],
                 when: tuple[str, str | None]) -> str:
    """One policy's calibration in Markdown."""
    import tempfile

    from leadpolicy.measure.calibration import CalibrateOptions, calibrate
    from leadpolicy.measure.calibration_render import render_calibration

    with tempfile.TemporaryDirectory(prefix="leadpolicy-calibrate-") as tmp:
        data = _feedback_input(args, policy, files, when, Path(tmp))
        return render_calibration(calibrate(policy, source, data, Path(tmp), CalibrateOptions()), "markdown")
