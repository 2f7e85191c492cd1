"""`leadpolicy explain`: score one lead and say why."""

from __future__ import annotations

import argparse
import json
import sys

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import add_now, help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
    parse_now,
    read_lead,
)


def register(sub) -> None:
    p = sub.add_parser("explain", formatter_class=help_formatter, help="score one lead and say why",
                       description="Evaluate one lead and explain every score, grade, stage and route.",
                       epilog="examples:\n  leadpolicy explain policies/inbound-b2b.policy --lead lead.json\n"
                              "  leadpolicy explain policies/inbound-b2b.policy --lead '{\"email\": \"x@y.io\"}' "
                              "--now 2026-11-20T12:00:00-05:00\n")
    p.add_argument("policy")
    p.add_argument("--lead", required=True, help="a JSON object, or a .json / .yaml file holding one")
    add_now(p)
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.semantics.interpreter import evaluate
    from leadpolicy.semantics.leads import LeadReader
    from leadpolicy.semantics.lowering import lower

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    try:
        raw = read_lead(args.lead)
        now = parse_now(args.now, loaded.policy.timezone)
    except (ValueError, OSError) as exc:
        print(f"leadpolicy explain: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    policy_ir = lower(loaded.policy)
    values, errors = LeadReader(policy_ir).read(raw)
    if errors:
        for e in errors:
            print(f"lead: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    decision = evaluate(policy_ir, values, now)
    if args.format == "json":
        print(json.dumps(decision.as_dict(), indent=2))
        return EXIT_OK
    print(f"{loaded.policy.id} {loaded.policy.version} at {now.isoformat()}" + ("" if args.now else " (now)"))
    summary = ", ".join(f"{k} {v.value}" for k, v in decision.scores.items())
    grades = ", ".join(f"{k} {v}" for k, v in decision.grades.items())
    print(f"scores: {summary}" + (f"; grades: {grades}" if grades else ""))
    print(f"stage: {decision.stage} (owner {decision.owner}); route: {decision.route or '-'}")
    print("why:")
    for line in decision.explanation:
        print(f"  {line}")
    return EXIT_OK
