"""`leadpolicy compile`: compile a policy for other systems."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_now, date_arg, help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
    outputs_refused,
    parse_now,
    policy_inputs,
)
from leadpolicy.outputs import write_text


def register(sub) -> None:
    p = sub.add_parser("compile", formatter_class=help_formatter, help="compile a policy for other systems",
                       description="Compile a policy: a JSON artifact other systems load (default), or the "
                                   "generated Python source.",
                       epilog="examples:\n  leadpolicy compile policies/inbound-b2b.policy -o build/inbound-b2b.json\n"
                              "  leadpolicy compile policies/inbound-b2b.policy --target python\n"
                              "  leadpolicy compile policies/inbound-b2b.policy --target sql --dialect snowflake "
                              "--table crm.leads --now 2026-11-20T12:00:00Z\n"
                              "  leadpolicy compile policies/inbound-activity.policy --target sql --dialect spark "
                              "--sla speed_to_lead --events-table crm.events --table crm.leads --id-column lead_id\n")
    p.add_argument("policy")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--target", choices=("artifact", "python", "sql"), default="artifact")
    p.add_argument("--dialect", choices=("duckdb", "postgres", "spark", "snowflake", "bigquery"), default="duckdb",
                   help="SQL dialect for --target sql (default: duckdb)")
    p.add_argument("--table", default="leads", help="the leads table for --target sql (default: leads)")
    p.add_argument("--events-table", metavar="TABLE",
                   help="for --target sql: the events table (columns lead, event, at) a policy that scores activity "
                        "reads")
    p.add_argument("--id-column", default="id", metavar="COLUMN",
                   help="the leads table's column that events' lead refers to (default: id)")
    p.add_argument("--sla", metavar="NAME", help="for --target sql: instead of the decisions, one SLA's clocks (or "
                                                  "counts) over --events-table (lead, event, at, reason), tiers read "
                                                  "from --table")
    p.add_argument("--since", metavar="DATE", type=date_arg,
                   help="with --sla: report clocks starting on or after DATE (default: a year before now); the "
                        "business calendars the query makes start there")
    p.add_argument("--order-column", metavar="COLUMN",
                   help="with --sla: the events table's column that orders events at one instant (a file's row "
                        "order); default: by event name, then reason")
    add_now(p, "evaluation time written into the SQL (ISO 8601); default: the current time")


def _name_problem(args: argparse.Namespace) -> str | None:
    """Why a table or column name given for --target sql cannot be one quoted identifier, or None."""
    from leadpolicy.warehouse.sqlgen import BadName, check_name, table_sql

    try:
        for flag, table in (("--table", args.table), ("--events-table", args.events_table)):
            if table is not None:
                table_sql(table, flag)
        for flag, column in (("--id-column", args.id_column), ("--order-column", args.order_column)):
            if column is not None:
                check_name(column, flag)
    except BadName as exc:
        return str(exc)
    return None


def _folder_problem(out: Path) -> str | None:
    """Why the output's folder, when missing, could not be made (said before any work), or None."""
    folder = out.parent
    existing = next((f for f in [folder, *folder.parents] if f.exists()), Path("."))
    if existing == folder:
        return None
    why = (f"{existing} is not a folder" if not existing.is_dir() else
           f"no folder can be made in {existing}" if not os.access(existing, os.W_OK | os.X_OK) else None)
    return why and f"{out}: the folder of the output (-o) ({folder}) does not exist and cannot be made: {why}"


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower

    if problem := _name_problem(args):
        print(f"leadpolicy compile: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.output:
        if problem := _folder_problem(Path(args.output)):
            print(f"leadpolicy compile: {problem}", file=sys.stderr)
            return EXIT_USAGE
        if Path(args.output).parent.is_dir() and outputs_refused("compile", {"the output (-o)": args.output},
                                                                 policy_inputs(args.policy)):
            return EXIT_USAGE
    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = Policy(loaded.policy, lower(loaded.policy))
    if args.sla is not None or args.since is not None or args.order_column is not None:
        if args.target != "sql" or args.sla is None or args.events_table is None:
            print("leadpolicy compile: --sla needs --target sql and --events-table (--since and --order-column "
                  "go with --sla)", file=sys.stderr)
            return EXIT_USAGE
        from leadpolicy.warehouse.sla_compile import SlaChoiceError, compile_sla, since_problem
        from leadpolicy.warehouse.sla_sql import SlaSqlError
        from leadpolicy.warehouse.sqlgen import BadName

        now = parse_now(args.now, loaded.policy.timezone)
        problem = since_problem(policy.ir, now, args.since)
        if problem is not None:
            print(f"leadpolicy compile: {problem}", file=sys.stderr)
            return EXIT_USAGE
        try:
            text = compile_sla(policy.ir, args.sla, args.dialect, now,
                               args.events_table, args.table, args.id_column, args.since, args.order_column)
        except (BadName, SlaChoiceError) as exc:  # a name given on the command line
            print(f"leadpolicy compile: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (SlaSqlError, ValueError) as exc:
            print(f"leadpolicy compile: {exc}", file=sys.stderr)
            return EXIT_PROBLEMS
    elif args.target == "sql":
        from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

        try:
            text = compile_sql(policy.ir, args.dialect, args.table, parse_now(args.now, loaded.policy.timezone),
                               events_table=args.events_table, id_column=args.id_column)
        except (UnsupportedError, ValueError) as exc:
            print(f"leadpolicy compile: {exc}", file=sys.stderr)
            return EXIT_PROBLEMS
    elif args.target == "python":
        from leadpolicy.semantics.codegen import module_source

        text = module_source(policy.ir)  # standalone: the standard library only (docs/api.md)
    else:
        text = policy.artifact_json()
    if args.output:
        out = Path(args.output)
        try:  # -o build/x.json makes build/, once there is something to write
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"leadpolicy compile: {out}: the folder of the output (-o) ({out.parent}) does not exist and "
                  f"cannot be made: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        write_text(out, text)  # atomic: never a half-written artifact
        print(f"wrote {out} ({policy.id} {policy.version}, {policy.fingerprint[:19]}...)")
    else:
        sys.stdout.write(text)
    return EXIT_OK
