"""`leadpolicy calibrate`: rule by rule, whether the outcomes support the policy, and a proposed next version."""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from leadpolicy.cli.commands.feedback import check_files, common_arguments, emit, feedback_input, outputs_allowed
from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import help_formatter
from leadpolicy.language.checks.context import MAX_PLACES
from leadpolicy.language.checks.names import LARGEST
from leadpolicy.language.checks.warnings import short_number, within_limits

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.measure.calibration import CalibrateOptions, Proposal

EPILOG = """examples:
  leadpolicy calibrate policies/inbound-activity.policy --leads leads.parquet --events events.parquet \\
      --as-of 2026-09-01 --now 2026-11-30
  leadpolicy calibrate policies/inbound-activity.policy --leads leads.csv --events events.csv \\
      --as-of 2026-09-01 --propose proposed.policy --format markdown -o pull-request.md

the worked example's data: python examples/calibration/generate.py DIR (from the repository's root)
see docs/feedback.md ("Calibrate from outcomes")
"""


def handoffs_arg(text: str) -> int | Literal["same"]:
    """--handoffs: `same` (no more leads handed off than now) or the most leads the proposal may hand off."""
    if text == "same":
        return "same"
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'same' nor a whole number of leads (1 or more)")
    return int(text)


def band_arg(text: str) -> Decimal:
    """--band: the width of "just above" and "just below" a threshold, in the score's points."""
    try:
        band = Decimal(text)
    except InvalidOperation:
        band = Decimal("NaN")
    if not band.is_finite() or band <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of points above 0")
    if not within_limits(band):  # as every number in a policy: a wider band overflows, a finer one reads as 0
        raise argparse.ArgumentTypeError(f"{short_number(band)} is out of range: a band, as every number in a "
                                         f"policy, is at most {LARGEST} points with at most {MAX_PLACES} decimals")
    return band


def register(sub: Subcommands) -> None:
    p = sub.add_parser("calibrate", formatter_class=help_formatter,
                       help="which rules the outcomes support, and a proposed next version",
                       description="Decide every lead as the policy would have at --as-of and read what became "
                                   "of it by --now, as feedback does; then say rule by rule (every points and per "
                                   "rule of every score, and each score's decay, read as -1 point per point it takes) "
                                   "whether the outcomes support its points: the leads it "
                                   "fired for, the won rates where it fired and where it did not, the lift and "
                                   "the rule's coefficient in a logistic regression over its score's rules, each "
                                   "with its interval, and a verdict (supported, contradicted, no evidence: the "
                                   "regression's, within each score); the won rates around every stage and grade "
                                   "threshold. With --propose, write the next minor version with the points the "
                                   "evidence asks for and backtest it (a decay is measured, never changed).",
                       epilog=EPILOG)
    p.add_argument("policy")
    common_arguments(p)
    p.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="the rules' evidence for each value of this lead field too (repeatable)")
    p.add_argument("--propose", metavar="OUT.policy",
                   help="write the proposed next version here (nothing is written when the evidence asks for no "
                        "change) and backtest it against the policy")
    p.add_argument("--handoffs", type=handoffs_arg, default="same", metavar="same|N",
                   help="the most leads the proposal may hand off: same (no more than now; the default) or N")
    p.add_argument("--band", type=band_arg, metavar="POINTS",
                   help="the width of 'just above' and 'just below' a threshold, in points (default: the score's "
                        "step, or a tenth of its largest total rounded up to the step when that is wider)")


def _proposal_refused(args: argparse.Namespace) -> bool:
    """--propose names something other than a policy file to write (a device, a FIFO, a socket): said on
    stderr. Inputs, folders and missing folders are refused with every other output (`outputs_allowed`)."""
    if args.propose is None:
        return False
    try:
        mode = os.stat(args.propose).st_mode
    except OSError:
        return False  # a new file (or one `outputs_allowed` refuses, saying why)
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return False
    print(f"leadpolicy calibrate: {args.propose}: the proposal (--propose) is a policy file; this is a special "
          "file (a device, a FIFO or a socket): name a file such as proposed.policy", file=sys.stderr)
    return True


def _options(args: argparse.Namespace) -> CalibrateOptions:
    from leadpolicy.measure.calibration import CalibrateOptions

    return CalibrateOptions(band=args.band, handoffs=args.handoffs,
                            propose=Path(args.propose) if args.propose else None, by=tuple(args.by),
                            policy_file=Path(args.policy))


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import from_tree
    from leadpolicy.cli.shared import column_mapping_problem, policy_from, too_many_rejects
    from leadpolicy.measure.calibration import calibrate
    from leadpolicy.measure.calibration_render import render_calibration
    from leadpolicy.measure.feedback import FeedbackError, FeedbackUsage
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError

    if not check_files(args) or _proposal_refused(args):
        return EXIT_USAGE
    proposal = {"the proposal (--propose)": Path(args.propose) if args.propose else None}
    if not outputs_allowed(args, [args.policy], proposal):
        return EXIT_USAGE
    loaded = policy_from(args.policy, args.command)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = from_tree(loaded.policy)
    if column_mapping_problem(args.command, args.columns, policy.ir):
        return EXIT_USAGE
    try:
        with tempfile.TemporaryDirectory(prefix="leadpolicy-calibrate-") as tmp:
            data = feedback_input(args, policy, tuple(args.by), default_groups=False)  # groups only by --by
            cal = calibrate(policy, loaded.source, data, Path(tmp), _options(args))
    except (FeedbackUsage, ColumnMapError) as exc:
        print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FeedbackError, BatchError) as exc:
        print(f"leadpolicy {args.command}: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    emit(render_calibration(cal, args.format), args.output)
    _say_proposal(args, cal.proposal)
    return EXIT_PROBLEMS if too_many_rejects(args.command, args.max_rejects, getattr(args, "rejected", {})) else EXIT_OK


def _say_proposal(args: argparse.Namespace, proposal: Proposal | None) -> None:
    if args.propose is None or proposal is None:
        return
    if proposal.written:
        print(f"wrote {args.propose} (version {proposal.version}, {len(proposal.changes)} change(s))",
              file=sys.stderr)
    elif proposal.changes:
        print(f"leadpolicy calibrate: the proposed version would not check; {args.propose} is not written "
              "(the report lists its changes and says why)", file=sys.stderr)
    else:
        print(f"leadpolicy calibrate: the evidence asks for no change; {args.propose} is not written",
              file=sys.stderr)
