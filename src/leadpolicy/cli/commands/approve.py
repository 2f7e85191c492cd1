"""`leadpolicy approve`: approve a policy's current content for a team."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
)

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands


def register(sub: Subcommands) -> None:
    p = sub.add_parser("approve", formatter_class=help_formatter, help="approve a policy's current content for a team",
                       description="Record, in NAME.approvals.yaml next to the policy, that a person approves the "
                                   "policy's current content for one owning team. The approval is bound to the "
                                   "content fingerprint: any later change of meaning or wording voids it.",
                       epilog='example:\n  leadpolicy approve policies/inbound-b2b.policy --team sales '
                              '--by "Raj Patel <raj@example.com>"\n')
    p.add_argument("policy")
    p.add_argument("--team", required=True)
    p.add_argument("--by", required=True, help='who approves, e.g. "Raj Patel <raj@example.com>"')


def run(args: argparse.Namespace) -> int:
    from leadpolicy.governance.approvals import approve, load_approvals, samples_fingerprint, status
    from leadpolicy.outputs import OutputError

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    try:
        path, record = approve(loaded.file, loaded.policy, args.team, args.by)
    except OutputError as exc:
        print(f"leadpolicy approve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"leadpolicy approve: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    state, _, missing = status(loaded.policy, load_approvals(path)[0], samples_fingerprint(loaded.file))
    print(f"{record.by} approved {loaded.policy.id} {record.version} for {record.team} ({record.fingerprint[:19]}...)")
    print(f"recorded in {path}; status: {state}" + (f" (still to approve: {', '.join(missing)})" if missing else ""))
    return EXIT_OK
