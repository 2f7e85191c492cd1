"""`leadpolicy diff`: what changed between two versions of a policy, and its impact on whole leads."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_columns, add_max_rejects, add_now, add_quiet, help_formatter, positive_seconds
from leadpolicy.cli.shared import (
    column_mapping_problem,
    outputs_refused,
    parse_now,
    policy_from,
    policy_inputs,
    progress_bar,
    say_rejects_loudly,
    too_many_rejects,
)
from leadpolicy.outputs import shown

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.governance.diff import PolicyDiff
    from leadpolicy.language import ast


def register(sub: Subcommands) -> None:
    p = sub.add_parser("diff", formatter_class=help_formatter, help="what changed between two versions of a policy",
                       description="List the changes between two versions of a policy in domain words, and their "
                                   "impact on leads: how many change stage, route and grade, the stage transitions, "
                                   "and a few example leads before and after. Each lead is decided whole (its "
                                   "record, its events and now), as `test` decides a sample case and `score "
                                   "--events` a row.",
                       epilog="examples:\n"
                              "  leadpolicy diff main:policies/inbound-b2b.policy policies/inbound-b2b.policy\n"
                              "  leadpolicy diff old.policy new.policy --leads leads.parquet --format markdown\n"
                              "  leadpolicy diff main:policies/inbound-activity.policy "
                              "policies/inbound-activity.policy \\\n"
                              "      --leads leads.csv --events events.csv --id-column lead_id "
                              "--now 2026-11-20T12:00:00-05:00\n")
    p.add_argument("old", help="a policy file, or GIT_REF:path")
    p.add_argument("new", help="a policy file, or GIT_REF:path")
    p.add_argument("--leads", metavar="FILE", help="leads to measure the impact on (CSV, JSON Lines, Parquet), read "
                                                   "as `score` reads them; default: the lead cases of the samples "
                                                   "file next to the new policy, with their events")
    add_now(p, "evaluation time (default: each sample case's, else the current time)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when the versions differ, 0 when they do not "
                                                             "(as git diff --exit-code); with --prove, a possible "
                                                             "stage move is a difference")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    proof = p.add_argument_group("--prove: over every possible lead, not a sample")
    proof.add_argument("--prove", action="store_true",
                       help="for every pair (old stage, new stage), prove whether some lead moves so, with a lead "
                            "both versions decide so for each possible move, and say when the new version decides "
                            "every possible lead as the old one does")
    proof.add_argument("--prove-timeout", metavar="S", type=positive_seconds, default=20.0,
                       help="seconds for all the pairs (default 20); a pair not decided in time is said undecided")
    leads = p.add_argument_group("with --leads, as for `leadpolicy score`")
    leads.add_argument("--leads-format", choices=("csv", "jsonl", "parquet"), help="override the extension")
    leads.add_argument("--rejects", metavar="FILE", help="the leads' rejected rows (default: LEADS_NAME.rejects.csv "
                                                         "beside the leads, not written when its folder holds "
                                                         "policies)")
    leads.add_argument("--events", metavar="FILE",
                       help="what the leads did, for a policy that reads events: a .csv, .jsonl or .parquet file "
                            "with columns lead, event and at")
    leads.add_argument("--id-column", metavar="COLUMN",
                       help="the leads file's column that the events' lead refers to, and that example leads are "
                            "shown by (default: id; without it, an example is shown by its email, else its row)")
    leads.add_argument("--events-format", choices=("csv", "jsonl", "parquet"), help="override the events' extension")
    leads.add_argument("--events-rejects", metavar="FILE",
                       help="the events' rejected rows (default: EVENTS_NAME.rejects.csv beside the events, not "
                            "written when its folder holds policies)")
    add_max_rejects(leads)
    leads.add_argument("--engine", choices=("duckdb", "python"), default="duckdb", help="what decides the leads")
    add_columns(leads)
    add_quiet(leads)


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.governance.diff import PolicyDiff, changes, render_text
    from leadpolicy.semantics.lowering import lower

    rejects = _rejects_files(args) if args.leads else (None, None)
    if _bad_usage(args, rejects):
        return EXIT_USAGE
    with contextlib.redirect_stdout(sys.stderr if args.format == "json" else sys.stdout):  # stdout: JSON only
        old, new = policy_from(args.old), policy_from(args.new)
    if old is None or new is None:
        return EXIT_PROBLEMS
    result = PolicyDiff(old.policy, new.policy, changes(old.policy, new.policy))
    policies = Policy(old.policy, lower(old.policy)), Policy(new.policy, lower(new.policy))
    if args.leads:
        code = _file_impact(args, result, *policies, rejects)
        if code is not None:
            return code
    else:
        result.impact = _samples_impact(args, new.policy, *policies)
    if args.prove:
        result.proved = _proved(args, *policies)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        sys.stdout.write(shown(render_text(result, markdown=args.format == "markdown")))  # example lead ids
    if args.leads and result.impact and too_many_rejects("diff", args.max_rejects, _rejected_rows(result.impact)):
        return EXIT_PROBLEMS
    return EXIT_PROBLEMS if args.exit_code and (result.changes or result.moves_possible) else EXIT_OK


def _proved(args: argparse.Namespace, old: Policy, new: Policy) -> dict[str, Any]:
    """--prove: every stage pair, the route and grades, and each guarantee of the new version beside the old's."""
    from leadpolicy.proofs.guarantees import DEFAULT_TIMEOUT
    from leadpolicy.proofs.moves import moves, moves_json, outcomes
    from leadpolicy.proofs.report import compared_guarantees

    proved = moves_json(args.old, args.new, moves(old, new, args.prove_timeout),
                        outcomes(old, new, args.prove_timeout))
    return {**proved, "guarantees": compared_guarantees(old, new, min(args.prove_timeout, DEFAULT_TIMEOUT))}


def _bad_usage(args: argparse.Namespace, rejects: tuple[Path | None, Path | None]) -> bool:
    """Flags of --leads given without it, or an output that would replace an input (said on stderr)."""
    given = [flag for flag, value in (("--events", args.events), ("--rejects", args.rejects),
                                      ("--events-rejects", args.events_rejects), ("--max-rejects", args.max_rejects),
                                      ("--id-column", args.id_column))
             if value is not None]
    if given and not args.leads:
        print(f"leadpolicy diff: {', '.join(given)} go{'es' if len(given) == 1 else ''} with --leads FILE, the leads "
              "to measure the impact on", file=sys.stderr)
        return True
    if not args.leads:
        return False
    inputs = {**policy_inputs(args.old if Path(args.old).exists() else None, "the old policy"),
              **policy_inputs(args.new if Path(args.new).exists() else None, "the new policy"),
              "the leads file (--leads)": args.leads,
              "the events file (--events)": args.events}
    return outputs_refused("diff", {"the rejects file": rejects[0], "the events rejects file": rejects[1]},
                           inputs)


def _rejected_rows(impact: dict[str, Any]) -> dict[str, int]:
    """How many rows of the leads and of the events were rejected, for --max-rejects (each on its own)."""
    events = impact.get("events")
    return {"rows": impact["rows"]["rejected"], **({"event rows": events["rejected"]} if events else {})}


def _samples_impact(args: argparse.Namespace, tree: ast.Policy, old_policy: Policy,
                    new_policy: Policy) -> dict[str, Any] | None:
    """The impact on the lead cases of the samples file beside the new policy, each with its events and
    its `now` (as `leadpolicy test` reads them; --now for every case when given); None without one."""
    from leadpolicy.governance.diff import WholeLead, impact
    from leadpolicy.language.loader import samples_for
    from leadpolicy.testing.harness import CaseRunner, load_samples

    if not Path(args.new).exists() or not samples_for(args.new).exists():
        return None
    doc, _ = load_samples(samples_for(args.new))
    if doc is None:
        return None
    runner = CaseRunner(tree, doc)
    fixed = parse_now(args.now, tree.timezone) if args.now else None
    leads = []
    rejected = 0
    for case in doc.data.get("leads") or []:
        if "invalid" in case["expect"]:
            continue
        if runner.reader.read(case["lead"], strict=True)[1]:  # a case `leadpolicy test` cannot run
            rejected += 1
            continue
        try:
            now = fixed or runner.now_for(case) or parse_now(None, tree.timezone)
        except ValueError:  # a `now` `leadpolicy test` reports as an error
            rejected += 1
            continue
        leads.append(WholeLead(case["lead"], case.get("events") or [], now, case["name"]))
    if not leads and not rejected:
        return None
    out = impact(old_policy, new_policy, leads)
    out["rejected"] += rejected
    return out


def _rejects_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Where the rejected rows of the leads and of the events go: as named, else beside each data file
    unless its folder holds policies (then nowhere: None); two defaults never share a name."""
    from leadpolicy.outputs import default_rejects

    leads = Path(args.leads)
    lead_rejects = Path(args.rejects) if args.rejects else default_rejects(f"{leads.stem}.rejects.csv", leads)
    if args.events is None:
        return lead_rejects, None
    events = Path(args.events)
    if args.events_rejects:
        return lead_rejects, Path(args.events_rejects)
    event_rejects = default_rejects(f"{events.stem}.rejects.csv", events)
    if event_rejects is not None and lead_rejects is not None and event_rejects.resolve() == lead_rejects.resolve():
        event_rejects = event_rejects.with_name(f"{events.stem}.events.rejects.csv")
    return lead_rejects, event_rejects


def _file_impact(args: argparse.Namespace, result: PolicyDiff, old_policy: Policy, new_policy: Policy,
                 rejects: tuple[Path | None, Path | None]) -> int | None:
    """The impact on --leads (with --events), decided as `score` decides; an exit code when it cannot be."""
    from leadpolicy.governance.diff import LeadsFile, file_impact
    from leadpolicy.warehouse.batch import (
        EVENT_REJECT_COLUMNS,
        LEAD_REJECT_COLUMNS,
        EventInput,
        write_rejects,
    )
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError
    from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

    reading = [p for p in (old_policy, new_policy) if p.ir.activity]
    if reading and args.events is None:
        print(f"leadpolicy diff: {reading[0].id} {reading[0].version} scores what leads did "
              f"({reading[0].ir.activity[0].text}); give the events file with --events FILE", file=sys.stderr)
        return EXIT_USAGE
    if column_mapping_problem("diff", args.columns, old_policy.ir, new_policy.ir):
        return EXIT_USAGE
    now = parse_now(args.now, new_policy.ir.timezone)
    if args.engine == "duckdb":
        for policy in (old_policy, new_policy):
            try:
                compile_sql(policy.ir, "duckdb", "leads", now, events_table="events")
            except UnsupportedError as exc:
                print(f"leadpolicy diff: {policy.id} {policy.version} has no SQL form ({exc}); decide the leads "
                      "with --engine python", file=sys.stderr)
                return EXIT_PROBLEMS
    id_column = args.id_column or "id"
    events = None if args.events is None else EventInput(Path(args.events), id_column, args.events_format)
    data = LeadsFile(Path(args.leads), args.leads_format, events, args.engine, args.columns, id_column)
    said: set[str] = set()

    def warn(text: str) -> None:  # each version's run warns of the same columns: once is enough
        said_so = _diff_warning(text)
        if said_so and said_so not in said:
            said.add(said_so)
            print(f"leadpolicy diff: warning: {shown(said_so)}", file=sys.stderr)  # echoes the file's headers

    try:
        with tempfile.TemporaryDirectory(prefix="leadpolicy-diff-") as tmp:
            found = file_impact(old_policy, new_policy, data, now, Path(tmp), warn, progress=lambda policy:
                                progress_bar(f"deciding {args.leads} with {policy.id} {policy.version}", args.quiet))
    except ColumnMapError as exc:
        print(f"leadpolicy diff: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BatchError as exc:
        print(f"leadpolicy diff: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    for rows, path, source, flag, what, layout in (
            (found.rejects, rejects[0], args.leads, "--rejects", "rows", LEAD_REJECT_COLUMNS),
            (found.event_rejects, rejects[1], args.events, "--events-rejects", "event rows", EVENT_REJECT_COLUMNS)):
        if rows:
            if path is not None:
                write_rejects(path, rows, layout)
            _say_rejects(rows, path, source, flag, what)
    rows_read = found.impact["rows"]["read"]
    say_rejects_loudly("diff", f"rows of {args.leads}", rows_read, found.rejects)
    if "events" in found.impact:
        say_rejects_loudly("diff", f"event rows of {args.events}", found.impact["events"]["read"], found.event_rejects)
    result.impact = found.impact
    return None


# score's column warnings as they read for diff, which writes no output: a column replaced in score's output
# is nothing to warn of here, and a field read from no column may be under another header (--column)
REPLACED_IN_OUTPUT = re.compile(r"column .* is replaced in the output by the computed \w+$")
NOT_A_COLUMN = re.compile(r"field (\w+) is not a column of the file, so every lead is read without it$")


def _diff_warning(text: str) -> str | None:
    if REPLACED_IN_OUTPUT.search(text):
        return None
    missing = NOT_A_COLUMN.search(text)
    if missing:
        return f"{text} (if the file has it under another header, map it with --column {missing[1]}=HEADER)"
    return text


def _say_rejects(rows: list[dict[str, Any]], path: Path | None, source: str, flag: str, what: str) -> None:
    """On stderr (the report is standard output): where the rejected rows went, or that they were not
    written, and the first of them."""
    count = len({r["row"] for r in rows})
    if path is not None:
        print(f"leadpolicy diff: {count} rejected {what} written to {path}; the first:", file=sys.stderr)
    else:
        print(f"leadpolicy diff: {count} rejected {what} not written: the folder of {source} holds policies, where "
              f"rows of lead data do not belong (name a file with {flag}); the first:", file=sys.stderr)
    for r in rows[:5]:
        print(f"  {source}: row {r['row']}: {r['field'] + ': ' if r['field'] else ''}{r['problem']}",
              file=sys.stderr)
