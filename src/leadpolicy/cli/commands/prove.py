"""`leadpolicy prove`: prove a policy's guarantees for every possible lead, or refute each with a counter-example
(re-decided by the compiled evaluator and shown as `leadpolicy explain` shows a lead)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS
from leadpolicy.cli.flags import help_formatter, positive_seconds

if TYPE_CHECKING:
    from leadpolicy import api
    from leadpolicy.cli.shared import CheckedPolicy, Subcommands
    from leadpolicy.language import ast
    from leadpolicy.proofs import GuaranteeResult

TIMEOUT = 10.0  # seconds per guarantee, as check's --prove-timeout


def register(sub: Subcommands) -> None:
    p = sub.add_parser("prove", formatter_class=help_formatter, help="prove a policy's guarantees for every lead",
                       description="Prove each guarantee of the policy for every lead its lead block admits, every "
                                   "history of events and every now, or refute it with a counter-example (decided "
                                   "by the compiled policy, shown as `explain` shows a lead). Exit 0 when no "
                                   "guarantee is violated (an unknown one fails only with --strict), 1 when one is "
                                   "violated (or, with --strict, unknown) or the policy has errors, 2 for bad usage.",
                       epilog="examples:\n  leadpolicy prove policies/inbound-activity.policy\n"
                              "  leadpolicy prove policies/inbound-activity.policy --format json --timeout 30\n")
    p.add_argument("policy", help="a .policy file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--timeout", type=positive_seconds, default=TIMEOUT, metavar="S",
                   help=f"seconds the solver has for each guarantee before it is unknown (default: {TIMEOUT:g})")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 1) when a guarantee is unknown, not only when one is violated")
    p.add_argument("--witnesses", action="store_true",
                   help="also a lead reaching each stage, grade entry, route entry and points rule (decided so by "
                        "the compiled policy), or that none can (proved); --timeout S for each search")


def run(args: argparse.Namespace) -> int:
    from leadpolicy import api
    from leadpolicy.cli.shared import load_or_report
    from leadpolicy.proofs import prove, results_json
    from leadpolicy.proofs.exhaustive import reachability, witnesses_json, witnesses_text

    loaded = load_or_report(args.policy) if args.format == "text" else loaded_or_json(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = api.from_tree(loaded.policy, loaded.file)
    results = prove(policy, args.timeout)
    reached = reachability(policy, float("inf"), args.timeout) if args.witnesses else None
    if args.format == "json":
        found = results_json(policy, results)
        print(json.dumps(found if reached is None else {**found, "witnesses": witnesses_json(reached)}, indent=2))
    else:
        lines = text_report(loaded.policy, policy, results, args.timeout)
        print("\n".join(lines if reached is None else [*lines, "witnesses:", *witnesses_text(reached)]))
    failed = {"violated", "unknown"} if args.strict else {"violated"}
    return EXIT_PROBLEMS if any(r.status in failed for r in results) else EXIT_OK


def loaded_or_json(path: str) -> CheckedPolicy | None:
    """The checked policy, or None after printing its diagnostics as JSON (as `check --format json` does)."""
    from leadpolicy.cli.shared import CheckedPolicy
    from leadpolicy.semantics.loading import load_policy

    loaded = load_policy(path)
    if loaded.policy is None or loaded.has_errors:
        diagnostics = [d.as_dict() for d in sorted(loaded.diagnostics, key=lambda d: d.sort_key())]
        print(json.dumps({"ok": False, "policy": None, "guarantees": [], "diagnostics": diagnostics}, indent=2))
        return None
    return CheckedPolicy(loaded.file, loaded.source, loaded.policy, loaded.diagnostics)


def text_report(tree: ast.Policy, policy: api.Policy, results: list[GuaranteeResult], timeout: float | None = None
                ) -> list[str]:
    """A line per guarantee (status, seconds, name, claim); a counter-example as `explain` shows each lead; for
    an unknown, why and what helps (as check's hint says)."""
    from leadpolicy.proofs.diagnostics import unknown_hint

    if not results:
        return [f"{policy.id} {policy.version}: no guarantees to prove (add a `guarantees` block; see "
                "docs/language.md)"]
    counts = {status: sum(r.status == status for r in results) for status in ("proved", "violated", "unknown")}
    lines = [f"{policy.id} {policy.version}: {len(results)} guarantee(s): "
             + ", ".join(f"{n} {status}" for status, n in counts.items())]
    for result in results:
        lines.append(f"{result.status:<9} {result.seconds:6.2f} s  \"{result.name}\": {result.claim}")
        if result.reason is not None:
            lines += [f"  why unknown: {result.reason}", f"  what helps: {unknown_hint(result, timeout)}"]
        lines += [f"  {line}" for line in counterexample_lines(tree, policy, result)]
    return lines


def counterexample_lines(tree: ast.Policy, policy: api.Policy, result: GuaranteeResult) -> list[str]:
    """Each lead of a counter-example: its record and events, then its explanation."""
    from leadpolicy.proofs.report import cases, events_said, unknown_said

    decisions = [d for d in (result.before, result.after) if d is not None]
    unknown = unknown_said(policy, result) if result.status == "violated" else None
    lines: list[str] = [f"why it does not hold: {unknown}"] if unknown else []
    for (side, case), decision in zip(cases(result), decisions):
        title = "counter-example" + (f", {side}" if side else "")
        lines += [f"{title}:", f"  lead: {json.dumps(case['lead'])}",
                  f"  events: {events_said(case['events']) if case['events'] else 'none'}"]
        lines += [f"  {line}" for line in explained(tree, policy, decision)]
    return lines


def explained(tree: ast.Policy, policy: api.Policy, decision: api.Decision) -> list[str]:
    """One decided lead as `leadpolicy explain` shows it."""
    from leadpolicy.cli.commands.explain import WholeLead, activity_lines, text_lines
    from leadpolicy.semantics.activity import Activity
    from leadpolicy.semantics.interpreter import evaluate
    from leadpolicy.semantics.leads import LeadReader

    values, _ = LeadReader(policy.ir).read(decision.values or {})
    events = list(decision.events)
    interpreted = evaluate(policy.ir, values, decision.now, Activity(events))
    return text_lines(tree, interpreted, WholeLead(decision.values), events,
                      activity_lines(policy.ir, interpreted), explicit_now=True, reads_events=bool(policy.ir.activity))
