"""`leadpolicy score`: score a file of leads."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_columns, add_max_rejects, add_now, add_quiet, help_formatter
from leadpolicy.cli.shared import (
    MAX_REJECTS_HINT,
    column_mapping_problem,
    load_or_report,
    outputs_refused,
    parse_now,
    policy_inputs,
    progress_bar,
    say_rejects_loudly,
    too_many_rejects,
)
from leadpolicy.outputs import shown

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.warehouse.batch import BatchResult, EventInput, OutputFiles, Progress


def register(sub: Subcommands) -> None:
    p = sub.add_parser("score", formatter_class=help_formatter, help="score a file of leads",
                       description="Score every lead of a CSV, JSON Lines or Parquet file and write the leads with "
                                   "their scores, grades, stage, owner and route. Rows that do not fit the lead "
                                   "schema go to a rejects file with their row, field and reason.",
                       epilog="examples:\n"
                              "  leadpolicy score policies/inbound-b2b.policy leads.parquet -o scored.parquet\n"
                              "  leadpolicy score policies/inbound-b2b.policy leads.csv -o scored.jsonl "
                              "--engine python "
                              "--now 2026-11-20T12:00:00Z\n"
                              "  leadpolicy score policies/inbound-activity.policy leads.csv --events events.jsonl "
                              "--id-column lead_id\n\n"
                              "the run ends with: read N, scored M, rejected K (always N = M + K); with --events also\n"
                              "events: read E, used U, rejected R (always E = U + R); A used after now, never counted\n"
                              "(the used rows after now, which no window counts; said when there are some)\n")
    p.add_argument("policy")
    p.add_argument("leads", help="a .csv, .jsonl or .parquet file")
    p.add_argument("-o", "--output", metavar="FILE", help="default: LEADS_NAME.scored.<same format> here")
    p.add_argument("--engine", choices=("duckdb", "python"), default="duckdb")
    add_now(p)
    p.add_argument("--rejects", metavar="FILE", help="default: LEADS_NAME.rejects.csv beside the output (beside the "
                                                      "leads when the output's folder holds policies)")
    p.add_argument("--excel-safe", action="store_true",
                   help="for a CSV output only: text from the leads that a spreadsheet would run as a formula "
                        "(starting with = + - @, a tab or a carriage return) gets a leading ' (computed scores stay "
                        "numbers); without it values are kept as given. JSON Lines and Parquet are never changed")
    add_max_rejects(p, still="the output is still written")
    p.add_argument("--strict-columns", action="store_true",
                   help="fail when a policy field is not a column of the file, or a column looks like a "
                        "misspelled field (without it, both are warnings)")
    p.add_argument("--leads-format", choices=("csv", "jsonl", "parquet"), help="override the extension")
    add_columns(p)
    add_quiet(p)
    p.add_argument("--events", metavar="FILE",
                   help="what leads did, for a policy that scores activity: a .csv, .jsonl or .parquet file with "
                        "columns lead, event and at")
    p.add_argument("--id-column", default="id", metavar="COLUMN",
                   help="the leads file's column that the events' lead refers to (default: id)")
    p.add_argument("--events-format", choices=("csv", "jsonl", "parquet"), help="override the events' extension")
    p.add_argument("--events-rejects", metavar="FILE",
                   help="default: EVENTS_NAME.rejects.csv beside the output (beside the events when the output's "
                        "folder holds policies)")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.warehouse.batch import EventInput, output_files
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError

    events = None if args.events is None else EventInput(
        Path(args.events), args.id_column, args.events_format,
        Path(args.events_rejects) if args.events_rejects else None)
    files = output_files(Path(args.leads), args.output, args.rejects, events)
    if _usage_refused(args, files):
        return EXIT_USAGE
    ready = _policy_ready(args)
    if isinstance(ready, int):
        return ready
    policy, now = ready
    try:
        with progress_bar(f"scoring {args.leads}", args.quiet) as progress:
            result, out, rejects = _score(args, policy, now, events, progress)
    except ColumnMapError as exc:
        print(f"leadpolicy score: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BatchError as exc:
        print(f"leadpolicy score: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.now is None:
        print(f"(now = {now.isoformat()})")
    print(f"wrote {out}")
    return _report(args, result, rejects)


def _usage_refused(args: argparse.Namespace, files: OutputFiles) -> bool:
    """Whether the files named cannot be used (said on stderr): bad usage."""
    if args.excel_safe and files.output.suffix.lower() != ".csv":
        print(f"leadpolicy score: --excel-safe is for a CSV output, not {files.output}", file=sys.stderr)
        return True
    if outputs_refused("score", files.named(), {**policy_inputs(args.policy), "the leads file": args.leads,
                                                "the events file (--events)": args.events}):
        return True
    if problem := _output_format_problem(files.output):
        print(f"leadpolicy score: {problem}", file=sys.stderr)
        return True
    return False


def _policy_ready(args: argparse.Namespace) -> tuple[Policy, dt.datetime] | int:
    """The policy and the time to score at; or the exit code when the policy cannot score these leads."""
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = Policy(loaded.policy, lower(loaded.policy))
    if column_mapping_problem("score", args.columns, policy.ir):
        return EXIT_USAGE
    now = parse_now(args.now, loaded.policy.timezone)
    if policy.ir.activity and args.events is None:
        print(f"leadpolicy score: the policy scores what leads did ({policy.ir.activity[0].text}); give the "
              "events file with --events FILE", file=sys.stderr)
        return EXIT_USAGE
    if args.engine == "duckdb" and (problem := _no_sql_form(policy, now)):
        print(f"leadpolicy score: this policy has no SQL form ({problem}); score it with --engine python",
              file=sys.stderr)
        return EXIT_PROBLEMS
    return policy, now


def _no_sql_form(policy: Policy, now: dt.datetime) -> str | None:
    """Why the policy cannot be scored in SQL, or None."""
    from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

    try:
        compile_sql(policy.ir, "duckdb", "leads", now, events_table="events")
    except UnsupportedError as exc:
        return str(exc)
    return None


def _score(args: argparse.Namespace, policy: Policy, now: dt.datetime, events: EventInput | None,
           progress: Progress | None) -> tuple[BatchResult, Path, Path | None]:
    from leadpolicy.warehouse.batch import BatchOptions, run

    def warn(text: str) -> None:
        print(f"leadpolicy score: warning: {shown(text)}", file=sys.stderr)

    return run(policy, BatchOptions(source=args.leads, now=now, output=args.output, engine=args.engine,
                                    rejects=args.rejects, in_format=args.leads_format,
                                    strict_columns=args.strict_columns, events=events, excel_safe=args.excel_safe,
                                    columns=args.columns, progress=progress, on_warning=warn))


def _report(args: argparse.Namespace, result: BatchResult, rejects: Path | None) -> int:
    """Where the rejected rows went, the counts, and the exit code they make."""
    if result.rejected:
        _say_rejects("rejected row(s)", result.rejects, rejects, args.leads, "--rejects")
    if result.events is not None and result.events.rejected:
        _say_rejects("rejected event row(s)", result.events.rejects, result.events.rejects_path, args.events,
                     "--events-rejects")
    print(result.summary())
    hint = "" if args.max_rejects is not None else MAX_REJECTS_HINT
    say_rejects_loudly("score", f"rows of {args.leads}", result.read, result.rejects, hint)
    if result.events is not None:
        say_rejects_loudly("score", f"event rows of {args.events}", result.events.read, result.events.rejects, hint)
    event_rows = {} if result.events is None else {"event rows": result.events.rejected}
    if too_many_rejects("score", args.max_rejects, {"rows": result.rejected, **event_rows}):
        return EXIT_PROBLEMS
    return EXIT_OK


def _output_format_problem(output: Path) -> str | None:
    """Why the output's format cannot be told from its name (bad usage), or None. A device or FIFO without
    an extension (/dev/null, a pipe) is written in the input's format."""
    from leadpolicy.outputs import written_in_place
    from leadpolicy.warehouse.staging import DataFileError, data_format

    if written_in_place(output) and not output.suffix:
        return None
    try:
        data_format(output)
    except DataFileError as exc:
        return str(exc)
    return None


def _say_rejects(what: str, rows: list[dict[str, Any]], path: Path | None, source: str, flag: str) -> None:
    """Where the rejected rows went (or that no place without policies was found for them), and the first."""
    if path is not None:
        print(f"{len({r['row'] for r in rows})} {what} written to {path}; the first:")
    else:
        print(f"leadpolicy score: {len({r['row'] for r in rows})} {what} not written: the folders of the output and "
              f"of {source} hold policies, where rows of lead data do not belong (name a file with {flag}); the first:",
              file=sys.stderr)
    for r in sorted(rows, key=lambda r: (r["row"], r["field"]))[:5]:
        print(f"  {source}: row {r['row']}: {r['field'] + ': ' if r['field'] else ''}{r['problem']}",
              file=sys.stdout if path is not None else sys.stderr)
