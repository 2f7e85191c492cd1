"""`leadpolicy diff`: what changed between two versions of a policy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import add_now, help_formatter
from leadpolicy.cli.shared import (
    parse_now,
    policy_from,
)


def register(sub) -> None:
    p = sub.add_parser("diff", formatter_class=help_formatter, help="what changed between two versions of a policy",
                       description="List the changes between two versions of a policy in domain words, and their "
                                   "impact on leads: how many change stage, route and grade, the stage transitions, "
                                   "and a few example leads before and after.",
                       epilog="examples:\n"
                              "  leadpolicy diff main:policies/inbound-b2b.policy policies/inbound-b2b.policy\n"
                              "  leadpolicy diff old.policy new.policy --leads leads.parquet --format markdown\n")
    p.add_argument("old", help="a policy file, or GIT_REF:path")
    p.add_argument("new", help="a policy file, or GIT_REF:path")
    p.add_argument("--leads", metavar="FILE", help="leads to measure the impact on (CSV, JSON Lines, Parquet); "
                                                   "default: the samples file next to the new policy")
    add_now(p, "evaluation time (default: the samples file's, else the current time)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the versions differ, 0 when they do not "
                                                             "(as git diff --exit-code)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.governance.diff import PolicyDiff, changes, impact, read_leads, render_text
    from leadpolicy.language.loader import samples_for
    from leadpolicy.semantics.leads import read_text_cell
    from leadpolicy.semantics.lowering import lower
    from leadpolicy.testing.harness import load_samples

    old, new = policy_from(args.old), policy_from(args.new)
    if old is None or new is None:
        return EXIT_PROBLEMS
    result = PolicyDiff(old.policy, new.policy, changes(old.policy, new.policy))
    now_text = args.now
    leads: list[dict] = []
    if args.leads:
        kinds = {f.name: f.type.name for f in old.policy.fields} | {f.name: f.type.name for f in new.policy.fields}
        try:
            rows = read_leads(Path(args.leads))
        except Exception as exc:  # a clear message for any unreadable file
            print(f"leadpolicy diff: {args.leads}: cannot read leads: {str(exc).splitlines()[0]}", file=sys.stderr)
            return EXIT_PROBLEMS
        leads = [{k: (read_text_cell(kinds[k], v) if k in kinds and isinstance(v, str) else v) for k, v in r.items()}
                 for r in rows]
    elif Path(args.new).exists() and samples_for(args.new).exists():
        doc, _ = load_samples(samples_for(args.new))
        if doc is not None:
            leads = [c["lead"] for c in doc.data.get("leads") or [] if "invalid" not in c["expect"]]
            now_text = now_text or doc.data.get("now")
    if leads:
        old_policy, new_policy = Policy(old.policy, lower(old.policy)), Policy(new.policy, lower(new.policy))
        result.impact = impact(old_policy, new_policy, leads, parse_now(now_text, new.policy.timezone))
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        sys.stdout.write(render_text(result, markdown=args.format == "markdown"))
    return EXIT_PROBLEMS if args.exit_code and result.changes else EXIT_OK
