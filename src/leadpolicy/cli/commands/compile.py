"""`leadpolicy compile`: compile a policy for other systems."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_now, date_arg, help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
    outputs_refused,
    parse_now,
    policy_inputs,
)
from leadpolicy.outputs import write_text

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import Subcommands


def register(sub: Subcommands) -> None:
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


class _Stop(Exception):
    """Compiling stops with this exit code; the message (when any) goes to stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code


def run(args: argparse.Namespace) -> int:
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower

    try:
        _check_usage(args)
        loaded = load_or_report(args.policy)
        if loaded is None:
            return EXIT_PROBLEMS
        policy = Policy(loaded.policy, lower(loaded.policy))
        text = _compiled_text(args, policy)
        if not args.output:
            sys.stdout.write(text)
            return EXIT_OK
        _write_output(Path(args.output), text)
    except _Stop as stop:
        if str(stop):
            print(f"leadpolicy compile: {stop}", file=sys.stderr)
        return stop.code
    print(f"wrote {args.output} ({policy.id} {policy.version}, {policy.fingerprint[:19]}...)")
    return EXIT_OK


def _check_usage(args: argparse.Namespace) -> None:
    """Bad names and an output that cannot be written stop before any work."""
    if problem := _name_problem(args):
        raise _Stop(EXIT_USAGE, problem)
    if not args.output:
        return
    if problem := _folder_problem(Path(args.output)):
        raise _Stop(EXIT_USAGE, problem)
    if Path(args.output).parent.is_dir() and outputs_refused("compile", {"the output (-o)": args.output},
                                                             policy_inputs(args.policy)):
        raise _Stop(EXIT_USAGE)


def _compiled_text(args: argparse.Namespace, policy: Policy) -> str:
    """The policy compiled for the chosen target: one SLA's SQL, the decisions' SQL, Python or the artifact."""
    if args.sla is not None or args.since is not None or args.order_column is not None:
        return _sla_sql(args, policy)
    if args.target == "sql":
        from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

        try:
            return compile_sql(policy.ir, args.dialect, args.table, parse_now(args.now, policy.ir.timezone),
                               events_table=args.events_table, id_column=args.id_column)
        except (UnsupportedError, ValueError) as exc:
            raise _Stop(EXIT_PROBLEMS, str(exc)) from None
    if args.target == "python":
        from leadpolicy.semantics.codegen import module_source
        from leadpolicy.semantics.linemap import places

        # standalone: the standard library only (docs/api.md); its LINE_MAP names the policy's lines
        return module_source(policy.ir, places(policy.tree), args.policy)
    return policy.artifact_json()


def _sla_sql(args: argparse.Namespace, policy: Policy) -> str:
    """--sla: one SLA's clocks (or counts) as SQL over --events-table."""
    from leadpolicy.warehouse.sla_compile import SlaChoiceError, compile_sla, since_problem
    from leadpolicy.warehouse.sla_sql import SlaSqlError
    from leadpolicy.warehouse.sqlgen import BadName

    if args.target != "sql" or args.sla is None or args.events_table is None:
        raise _Stop(EXIT_USAGE, "--sla needs --target sql and --events-table (--since and --order-column "
                                "go with --sla)")
    now = parse_now(args.now, policy.ir.timezone)
    problem = since_problem(policy.ir, now, args.since)
    if problem is not None:
        raise _Stop(EXIT_USAGE, problem)
    try:
        return compile_sla(policy.ir, args.sla, args.dialect, now,
                           args.events_table, args.table, args.id_column, args.since, args.order_column)
    except (BadName, SlaChoiceError) as exc:  # a name given on the command line
        raise _Stop(EXIT_USAGE, str(exc)) from None
    except (SlaSqlError, ValueError) as exc:
        raise _Stop(EXIT_PROBLEMS, str(exc)) from None


def _write_output(out: Path, text: str) -> None:
    try:  # -o build/x.json makes build/, once there is something to write
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _Stop(EXIT_USAGE, f"{out}: the folder of the output (-o) ({out.parent}) does not exist and "
                                f"cannot be made: {exc.strerror or exc}") from None
    write_text(out, text)  # atomic: never a half-written artifact
