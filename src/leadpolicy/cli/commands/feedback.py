"""`leadpolicy feedback` and `leadpolicy backtest`: the agreement measured against what happened to leads."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import (
    add_columns,
    add_max_rejects,
    add_quiet,
    help_formatter,
    timestamp_arg,
)
from leadpolicy.outputs import shown

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Callable

    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import ProgressUpdate, Subcommands
    from leadpolicy.measure.feedback import FeedbackInput
    from leadpolicy.warehouse.batch import BatchResult

FEEDBACK_EPILOG = """examples:
  leadpolicy feedback policies/inbound-activity.policy --leads leads.parquet --events events.parquet \\
      --as-of 2026-09-01 --now 2026-11-30 --by source
  leadpolicy feedback policies/inbound-activity.policy --leads leads.csv --events events.csv \\
      --as-of 2026-09-01T00:00:00-04:00 --format markdown -o feedback.md

see docs/feedback.md
"""
BACKTEST_EPILOG = """examples:
  leadpolicy backtest main:policies/inbound-activity.policy policies/inbound-activity.policy \\
      --leads leads.parquet --events events.parquet --as-of 2026-09-01 --format markdown

OLD and NEW are files or GIT_REF:path, as for `leadpolicy diff`. see docs/feedback.md
"""


def common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--leads", required=True, metavar="FILE", help="the leads (.csv, .jsonl or .parquet)")
    p.add_argument("--events", required=True, metavar="FILE",
                   help="what leads did, outcomes included (columns lead, event, at and optional reason)")
    p.add_argument("--id-column", default="id", metavar="COLUMN", help="the leads' id column (default: id)")
    p.add_argument("--as-of", required=True, type=timestamp_arg, metavar="T",
                   help="decide every lead as the policy would have then (a date is its local midnight)")
    p.add_argument("--now", type=timestamp_arg, metavar="T", help="count outcomes up to T (default: now)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: standard output)")
    p.add_argument("--engine", choices=("duckdb", "python"), default="duckdb", help="what decides the leads")
    p.add_argument("--rejects-folder", metavar="DIR",
                   help="where LEADS_NAME.rejects.csv and EVENTS_NAME.rejects.csv go (default: beside each data "
                        "file, whatever else its folder holds)")
    add_max_rejects(p, still="by either policy; the report is still written")
    add_columns(p, "the --leads file")
    add_quiet(p)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("feedback", formatter_class=help_formatter, help="measure decisions against outcomes",
                       description="Decide every lead as the policy would have at --as-of (its record and its "
                                   "events up to then), and report what became of them after: per stage, grade, "
                                   "score band and group, handoffs, won and lost, won rates, precision and recall "
                                   "of each handoff stage, Sales' answers and recycling.",
                       epilog=FEEDBACK_EPILOG)
    p.add_argument("policy")
    common_arguments(p)
    p.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="group by this column of the leads, never a computed value (repeatable; default: "
                        "every `one of` field)")


def feedback_input(args: argparse.Namespace, policy: Policy, by: tuple[str, ...] = (),
                   default_groups: bool = True) -> FeedbackInput:
    from leadpolicy.measure.feedback import FeedbackInput

    as_of = policy.instant(args.as_of)
    now = policy.instant(args.now)
    return FeedbackInput(Path(args.leads), Path(args.events), as_of, now, args.id_column, by, args.engine,
                         Path(args.rejects_folder) if args.rejects_folder else None, tuple(args.columns.items()),
                         on_read=lambda policy, result: _say_rejects_loudly(args, policy, result),
                         progress=lambda policy: _progress(args, policy), on_warning=_warner(args),
                         default_groups=default_groups)


def _warner(args: argparse.Namespace) -> Callable[[str], None]:
    """Score's warnings on reading the leads (a field that is no column, ...), each said once (backtest reads
    the file once per version)."""
    said: set[str] = set()

    def warn(text: str) -> None:
        if text not in said:
            said.add(text)
            print(f"leadpolicy {args.command}: warning: {shown(text)}", file=sys.stderr)  # echoes headers
    return warn


def _progress(args: argparse.Namespace, policy: Policy) -> AbstractContextManager[ProgressUpdate | None]:
    from leadpolicy.cli.shared import progress_bar

    by = f" with {policy.id} {policy.version}" if args.command == "backtest" else ""
    return progress_bar(f"deciding {args.leads}{by}", args.quiet)


def _say_rejects_loudly(args: argparse.Namespace, policy: Policy, result: BatchResult) -> None:
    """The reject summary of the leads and the events, when a policy rejected more than a small share; the
    most rows any policy rejected are kept in `args.rejected` for --max-rejects."""
    from leadpolicy.cli.shared import MAX_REJECTS_HINT, say_rejects_loudly

    by = f" by {policy.id} {policy.version}" if args.command == "backtest" else ""
    hint = "" if args.max_rejects is not None else MAX_REJECTS_HINT
    say_rejects_loudly(args.command, f"rows of {args.leads}{by}", result.read, result.rejects, hint)
    counts = {"rows": result.rejected}
    if result.events is not None:
        say_rejects_loudly(args.command, f"event rows of {args.events}{by}", result.events.read, result.events.rejects,
                           hint)
        counts["event rows"] = result.events.rejected
    rejected = getattr(args, "rejected", {})
    args.rejected = {what: max(count, rejected.get(what, 0)) for what, count in counts.items()}


def emit(text: str, output: str | None) -> None:
    if output:
        from leadpolicy.outputs import write_text

        write_text(output, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def check_files(args: argparse.Namespace) -> bool:
    missing = [f for f in (args.leads, args.events) if not Path(f).exists()]
    no_folder = args.rejects_folder is not None and not Path(args.rejects_folder).is_dir()
    if missing or no_folder:
        for f in missing:
            print(f"leadpolicy {args.command}: {f}: no such file", file=sys.stderr)
        if no_folder:
            print(f"leadpolicy {args.command}: {args.rejects_folder}: no such folder", file=sys.stderr)
        return False
    return True


def data_outputs(args: argparse.Namespace) -> dict[str, Path | None]:
    """The report and the rejects files (for leads and for events, in the rejects folder)."""
    from leadpolicy.measure.feedback import rejects_files

    leads, events = rejects_files(Path(args.leads), Path(args.events),
                                  Path(args.rejects_folder) if args.rejects_folder else None)
    return {"the report (-o)": Path(args.output) if args.output else None, "the leads' rejects file": leads,
            "the events' rejects file": events}


def outputs_allowed(args: argparse.Namespace, specs: list[str], more: dict[str, Path | None] | None = None) -> bool:
    """Whether the report, the rejects files and `more` outputs can be written without touching an input (the
    policies `specs` and their files, the leads, the events) or one another; says why not on stderr."""
    from leadpolicy.cli.shared import outputs_refused, policy_inputs

    policy_files = {what: path for spec in specs for what, path in policy_inputs(spec, f"the policy {spec}").items()}
    return not outputs_refused(args.command, {**data_outputs(args), **(more or {})},
                               {**policy_files, "the leads file (--leads)": args.leads,
                                "the events file (--events)": args.events})


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import from_tree
    from leadpolicy.cli.shared import column_mapping_problem, policy_from
    from leadpolicy.measure.feedback import FeedbackError, FeedbackUsage
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError

    specs = [args.policy] if args.command == "feedback" else [args.old, args.new]
    if not check_files(args) or not outputs_allowed(args, specs):
        return EXIT_USAGE
    loaded = [policy_from(spec, args.command) for spec in specs]
    if any(item is None for item in loaded):
        return EXIT_PROBLEMS
    policies = [from_tree(item.policy) for item in loaded if item is not None]
    if column_mapping_problem(args.command, args.columns, *(policy.ir for policy in policies)):
        return EXIT_USAGE
    try:
        with tempfile.TemporaryDirectory(prefix="leadpolicy-feedback-") as tmp:
            data = feedback_input(args, policies[-1], tuple(getattr(args, "by", [])))
            if args.command == "feedback":
                from leadpolicy.measure.feedback import feedback_report, measure
                from leadpolicy.measure.render import render_feedback

                report = feedback_report(measure(policies[0], data, Path(tmp)), data)
                text = render_feedback(report, args.format)
            else:
                from leadpolicy.measure.backtest import backtest
                from leadpolicy.measure.render import render_backtest

                text = render_backtest(backtest(policies[0], policies[1], data, Path(tmp)), args.format)
    except (FeedbackUsage, ColumnMapError) as exc:
        print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FeedbackError, BatchError) as exc:
        print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    emit(text, args.output)
    from leadpolicy.cli.shared import too_many_rejects

    if too_many_rejects(args.command, args.max_rejects, getattr(args, "rejected", {})):
        return EXIT_PROBLEMS
    return EXIT_OK
