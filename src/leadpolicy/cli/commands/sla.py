"""`leadpolicy sla`: check SLAs against an event log."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ContextManager, Iterator, TextIO

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import (
    add_columns,
    add_max_rejects,
    add_now,
    add_quiet,
    date_arg,
    help_formatter,
)
from leadpolicy.cli.shared import (
    column_mapping_problem,
    load_or_report,
    outputs_refused,
    parse_now,
    policy_inputs,
    progress_bar,
    say_rejects_loudly,
    too_many_rejects,
)

if TYPE_CHECKING:
    from leadpolicy.cli.shared import ProgressUpdate, Subcommands
    from leadpolicy.semantics import ir
    from leadpolicy.sla.engine import Event
    from leadpolicy.sla.events import Reject
    from leadpolicy.sla.report import SlaReport
    from leadpolicy.warehouse.event_log import EventLogReader


def register(sub: Subcommands) -> None:
    p = sub.add_parser("sla", formatter_class=help_formatter, help="check SLAs against an event log",
                       description="Evaluate every SLA of a policy over an event log (CSV, JSON Lines or Parquet "
                                   "with lead, event, at and optional reason) and report compliance.",
                       epilog="examples:\n  leadpolicy sla policies/inbound-b2b.policy events.csv\n"
                              "  leadpolicy sla policies/inbound-b2b.policy events.parquet --from 2026-11-01 "
                              "--to 2026-11-30 --format json\n"
                              "  leadpolicy sla policies/inbound-b2b.policy events.jsonl --report-only\n"
                              "  leadpolicy sla policies/inbound-activity.policy events.parquet --open --leads "
                              "leads.csv --format json\n"
                              "  leadpolicy sla policies/inbound-activity.policy big.parquet --engine duckdb\n\n"
                              "exit code 1 when an SLA is below its target or has no data (unless --report-only;\n"
                              "--allow-empty accepts no data)\n")
    p.add_argument("policy")
    p.add_argument("events", help="the event log: .csv, .jsonl or .parquet")
    add_now(p)
    p.add_argument("--from", dest="date_from", metavar="DATE", type=date_arg,
                   help="only clocks and periods starting on or after DATE")
    p.add_argument("--to", dest="date_to", metavar="DATE", type=date_arg,
                   help="only clocks and periods starting on or before DATE")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here (default: standard output)")
    p.add_argument("--rejects", metavar="FILE", help="where rejected rows go (default: EVENTS_NAME.rejects.csv beside "
                                                      "the log, unless its folder holds policies)")
    p.add_argument("--events-format", choices=("csv", "jsonl", "parquet"), help="override the extension")
    p.add_argument("--details", metavar="FILE", help="also write every lead's clocks and counts (start, stop, "
                                                      "deadline, status, time used) as CSV: every breach, where "
                                                      "the report lists the first 20")
    p.add_argument("--report-only", action="store_true", help="exit 0 even when an SLA is below its target")
    p.add_argument("--allow-empty", action="store_true",
                   help="an SLA with nothing to judge in the log and range is not a failure")
    p.add_argument("--open", action="store_true",
                   help="list the clocks open at now (lead, SLA, tier, deadline, time left, at risk, escalated "
                        "to), the most urgent first, instead of the compliance report")
    p.add_argument("--leads", metavar="FILE", help="the leads' records (.csv, .jsonl or .parquet), for SLA tiers; "
                                                   "a lead without one takes the otherwise tier")
    p.add_argument("--id-column", metavar="COLUMN",
                   help="the --leads file's column that the log's lead refers to (default: id)")
    add_columns(p, "the --leads file")
    add_max_rejects(p, rows="the --leads file")
    add_quiet(p)
    p.add_argument("--engine", choices=("auto", "python", "duckdb"), default="auto",
                   help="python: the reference engine, lead by lead; duckdb: the same SLAs in SQL, for large "
                        f"logs; auto (default): duckdb for a log of {AUTO_DUCKDB_BYTES // 1_000_000} MB or more")


AUTO_DUCKDB_BYTES = 20_000_000
SQL_ENGINE_MEMORY = "1.5GB"  # DuckDB's share, so the whole run stays under 2 GB


def engine_for(choice: str, events: Path) -> str:
    if choice != "auto":
        return choice
    try:
        return "duckdb" if events.stat().st_size >= AUTO_DUCKDB_BYTES else "python"
    except OSError:
        return "python"  # the reader names the missing file


def run(args: argparse.Namespace) -> int:
    target = _rejects_target(args)
    if _usage_refused(args, target):
        return EXIT_USAGE
    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    from leadpolicy.semantics.lowering import lower

    policy = lower(loaded.policy)
    if args.leads and column_mapping_problem("sla", args.columns, policy):
        return EXIT_USAGE
    now = parse_now(args.now, policy.timezone)
    judged = _judge_or_say_why_not(policy, args, now, target)
    if isinstance(judged, int):
        return judged
    over_limit = _tell_rejects(args, judged, target)
    report = judged.report
    report.allow_empty = args.allow_empty
    failing = [] if args.open else report.failing()
    _write_report(report, args, now, failing)
    if over_limit:
        return EXIT_PROBLEMS
    return EXIT_OK if args.open or args.report_only or not failing else EXIT_PROBLEMS


@dataclass
class _Judged:
    """What an engine found: the report, the log's rejected rows and the leads file's."""

    report: SlaReport
    rejects: list[Reject]
    lead_rejects: list[dict[str, Any]] = dataclass_field(default_factory=list)


def _rejects_target(args: argparse.Namespace) -> Path | None:
    """Where the log's rejected rows go: --rejects, else beside the log (None: its folder holds policies)."""
    from leadpolicy.outputs import default_rejects

    if args.rejects:
        return Path(args.rejects)
    return default_rejects(Path(args.events).stem + ".rejects.csv", args.events)


def _usage_refused(args: argparse.Namespace, target: Path | None) -> bool:
    """An output over an input or a special file, or leads flags without --leads: said on stderr."""
    outputs = {"the rejects file (--rejects)" if args.rejects else "the default rejects file": target,
               "the details file (--details)": args.details, "the report (-o)": args.output}
    inputs = {**policy_inputs(args.policy), "the event log": args.events, "the leads file (--leads)": args.leads}
    if outputs_refused("sla", outputs, inputs):
        return True
    if problem := _leads_flags_problem(args):
        print(f"leadpolicy sla: {problem}", file=sys.stderr)
        return True
    return False


def _judge_or_say_why_not(policy: ir.Policy, args: argparse.Namespace, now: dt.datetime,
                          target: Path | None) -> _Judged | int:
    """The engine's findings, with the leads file's rejects and tier warnings said; or the exit code of a
    file that cannot be read (said on stderr)."""
    from leadpolicy.sla.events import EventFileError
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError
    from leadpolicy.warehouse.staging import DataFileError

    try:
        judged = _judge(policy, args, now)
        if isinstance(judged, int):
            return judged
        if args.leads:
            _report_leads(args, judged.report, judged.lead_rejects, target)
        else:
            _warn_tiers_without_leads(judged.report)
    except ColumnMapError as exc:
        print(f"leadpolicy sla: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (EventFileError, BatchError, DataFileError, OSError) as exc:
        print(f"leadpolicy sla: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    return judged


def _judge(policy: ir.Policy, args: argparse.Namespace, now: dt.datetime) -> _Judged | int:
    """The SQL engine's findings when it is chosen and evaluates the policy, else the reference engine's."""
    if engine_for(args.engine, Path(args.events)) == "duckdb":
        judged = _try_sql(policy, args, now)
        if judged is not None:
            return judged
    return _run_python(policy, args, now)


def _try_sql(policy: ir.Policy, args: argparse.Namespace, now: dt.datetime) -> _Judged | int | None:
    """The SQL engine's findings; None when it cannot evaluate the policy and --engine auto lets the
    reference engine (which evaluates every policy) do it; with --engine duckdb, the exit code."""
    from leadpolicy.warehouse.sla_run import SpanTooLong
    from leadpolicy.warehouse.sqlgen import UnsupportedError

    try:
        return _run_sql(policy, args, now, args.id_column or "id")
    except SpanTooLong as exc:
        if args.engine == "duckdb":
            print(f"leadpolicy sla: {exc}", file=sys.stderr)
            return EXIT_USAGE
    except UnsupportedError as exc:
        if args.engine == "duckdb":
            print(f"leadpolicy sla: the SQL engine cannot evaluate this policy: {exc} (--engine python can)",
                  file=sys.stderr)
            return EXIT_PROBLEMS
    return None


def _run_python(policy: ir.Policy, args: argparse.Namespace, now: dt.datetime) -> _Judged:
    """The reference engine's findings, lead by lead as the log streams."""
    from leadpolicy import zones
    from leadpolicy.sla.engine import SlaEngine
    from leadpolicy.sla.report import build_report
    from leadpolicy.warehouse.event_log import EventLogReader
    from leadpolicy.warehouse.lead_rows import lead_records

    records = lead_records(policy, Path(args.leads), args.id_column or "id", columns=args.columns) \
        if args.leads else None
    reader = EventLogReader(args.events, SlaEngine(policy).event_names(), zones.zone(policy.timezone), now,
                            args.events_format)
    with _details(args) as details, progress_bar(f"checking {args.events}", args.quiet) as progress:
        source = reader if progress is None else _Counted(reader, progress)
        report = build_report(policy, source, now, args.date_from, args.date_to, details, records)
    if records is None:
        return _Judged(report, reader.rejects)
    report.leads = _lead_counts(records.read, records.rejects)
    return _Judged(report, reader.rejects, records.rejects)


def _tell_rejects(args: argparse.Namespace, judged: _Judged, target: Path | None) -> bool:
    """Say (and write) the rejected rows; whether they are more than --max-rejects."""
    from leadpolicy.sla.events import write_rejects

    report, rejects = judged.report, judged.rejects
    say_rejects_loudly("sla", f"rows of {args.events}", report.read,
                       [{"row": r.row, "field": r.field or "", "problem": r.problem} for r in rejects])
    if args.leads and report.leads:
        say_rejects_loudly("sla", f"rows of {args.leads}", report.leads["read"], judged.lead_rejects)
    if rejects:
        if target is not None:
            write_rejects(target, rejects)
        _say_rejects(args.events, target, "rejected row(s)", "the event log's folder holds policies, where rows of "
                     "lead data do not belong (name a file with --rejects)",
                     [(r.row, r.field, r.problem) for r in sorted(rejects, key=lambda r: r.row)])
    rejected_rows = {"event rows": len({r.row for r in rejects}),
                     "rows": report.leads["rejected"] if args.leads and report.leads else 0}
    return too_many_rejects("sla", args.max_rejects, rejected_rows)


def _write_report(report: SlaReport, args: argparse.Namespace, now: dt.datetime, failing: list[str]) -> None:
    """The report (or the open clocks) to -o FILE or standard output."""
    from leadpolicy.outputs import shown, write_text

    buffer = io.StringIO()
    _render(report, args, now, buffer, failing)
    text = buffer.getvalue()
    if args.format == "table" or (args.open and args.format != "json"):  # lead ids, reasons: never raw
        text = shown(text)
    if args.output:
        write_text(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


class _Counted:
    """An event log read lead by lead, telling a progress bar how many of its rows are read."""

    def __init__(self, reader: EventLogReader, progress: ProgressUpdate):
        self.reader, self.progress = reader, progress
        self.stats, self.rejects = reader.stats, reader.rejects

    def reject(self, row: int, field_name: str, problem: str, values: dict[str, str | None]) -> None:
        self.reader.reject(row, field_name, problem, values)

    def groups(self) -> Iterator[tuple[str, list[Event]]]:
        for item in self.reader.groups():
            self.progress(self.stats.read, None)
            yield item
        self.progress(self.stats.read, self.stats.read)


def _render(report: SlaReport, args: argparse.Namespace, now: dt.datetime, out: TextIO, failing: list[str]) -> None:
    """The open clocks (--open) or the report, in the format asked for."""
    from leadpolicy.sla.report import render_csv, render_json, render_open, render_table

    if args.open:
        if args.format == "json":
            import json

            print(json.dumps({"now": now.isoformat(), "open": report.open_rows()}, indent=2), file=out)
        else:
            render_open(report, out)
        return
    if args.format == "json":
        print(render_json(report), file=out)
    elif args.format == "csv":
        out.write(render_csv(report))
    else:
        if args.now is None:
            print(f"(now = {now.isoformat()})", file=out)
        render_table(report, out)
    if failing and args.format == "table":  # the SLAs with no data are said once, in the report
        below = [name for name in failing if name not in report.no_data()]
        if below:
            print(f"below target: {', '.join(below)}", file=out)


def _details(args: argparse.Namespace) -> ContextManager[IO[str] | None]:
    """The details file to write (atomically), or nothing without --details."""
    from leadpolicy.outputs import text_output

    return text_output(Path(args.details)) if args.details else contextlib.nullcontext()


def _leads_flags_problem(args: argparse.Namespace) -> str | None:
    """Flags that read the leads file, given without it: they would be ignored."""
    given = [flag for flag, value in (("--id-column", args.id_column is not None),
                                      ("--column", getattr(args, "columns_flagged", False))) if value]
    if not given or args.leads:
        return None
    return (f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with --leads FILE, the leads' records the "
            "SLA tiers are decided on")


def _run_sql(policy: ir.Policy, args: argparse.Namespace, now: dt.datetime, id_column: str) -> _Judged:
    """The report and the rejects from the SQL engine, on DuckDB."""
    from leadpolicy.sla.report import LISTED_BREACHES
    from leadpolicy.warehouse import sla_files, staging
    from leadpolicy.warehouse.event_log import detect_format
    from leadpolicy.warehouse.sla_report import build_report_sql
    from leadpolicy.warehouse.sqlgen import UnsupportedError

    try:
        db = staging.Staging(policy.timezone, memory_limit=SQL_ENGINE_MEMORY, now=now)
    except staging.ZoneDataError as exc:  # as a policy SQL cannot evaluate: --engine auto uses Python
        raise UnsupportedError(str(exc)) from None
    try:
        stats, rejects = sla_files.stage_events(db.con, policy, Path(args.events),
                                                detect_format(Path(args.events), args.events_format), now)
        leads, lead_rows = None, None
        if args.leads:
            lead_rows = sla_files.stage_leads(db.con, policy, Path(args.leads), id_column,
                                              columns=args.columns)
            leads = sla_files.LEADS
        # Breaches the output lists: the table and JSON the first ones, CSV and --open none.
        breaches = LISTED_BREACHES if args.format != "csv" and not args.open else 0
        with _details(args) as details, progress_bar(f"checking {args.events}", args.quiet) as progress:
            if progress is not None:
                progress(0, stats.read)  # one query decides every clock: the bar moves when it is done
            report = build_report_sql(policy, db.con, now, stats.read, stats.rejected, args.date_from,
                                      args.date_to, details, leads, breaches, args.open, stats.events,
                                      stats.after_now)
            if progress is not None:
                progress(stats.read, stats.read)
        if lead_rows is not None:
            report.leads = _lead_counts(lead_rows.read, lead_rows.rejects)
            report.tier_fallbacks = sla_files.tier_fallbacks(db.con, policy)
        else:
            report.set_no_leads_fallbacks(sla_files.clocks_per_tiered_sla(db.con, policy))
    finally:
        db.close()
    return _Judged(report, rejects, lead_rows.rejects if lead_rows is not None else [])


def _say_rejects(source: str, target: Path | None, what: str, held_back: str,
                 problems: list[tuple[int, str | None, str]]) -> None:
    """Where a file's rejected rows went (or why they were not written), and the first five."""
    if target is not None:
        print(f"{len(problems):,} {what} written to {target}; the first:", file=sys.stderr)
    else:
        print(f"{len(problems):,} {what} not written: {held_back}; the first:", file=sys.stderr)
    for row, field, problem in problems[:5]:
        print(f"  {source}: row {row}: {field + ': ' if field else ''}{problem}", file=sys.stderr)


def _lead_counts(read: int, rejects: list[dict[str, Any]]) -> dict[str, int]:
    rejected = len({r["row"] for r in rejects})
    return {"read": read, "used": read - rejected, "rejected": rejected}


def _report_leads(args: argparse.Namespace, report: SlaReport, rejects: list[dict[str, Any]],
                  events_rejects: Path | None) -> None:
    """The leads file's rejected rows, written beside it (LEADS_NAME.rejects.csv), and a warning when clocks
    took the `otherwise` tier for want of a lead record."""
    from leadpolicy.outputs import default_rejects
    from leadpolicy.sla.report import tier_fallback_text
    from leadpolicy.warehouse.batch import write_rejects

    if rejects:
        leads = Path(args.leads)
        target = default_rejects(leads.stem + ".rejects.csv", leads)
        if target is not None and events_rejects is not None and target.resolve() == events_rejects.resolve():
            target = target.with_name(leads.stem + ".leads.rejects.csv")
        if target is not None:
            write_rejects(target, rejects)
        _say_rejects(args.leads, target, "rejected lead row problem(s)", "the leads file's folder holds policies",
                     [(r["row"], r["field"], r["problem"]) for r in rejects])
    fallbacks = report.tier_fallbacks
    if fallbacks and fallbacks["clocks"]:
        print(f"leadpolicy sla: warning: {tier_fallback_text(fallbacks)}", file=sys.stderr)


def _warn_tiers_without_leads(report: SlaReport) -> None:
    """One line when clocks of tiered SLAs took `otherwise` because no leads file was given."""
    from leadpolicy.sla.report import no_leads_warning

    warning = no_leads_warning(report)
    if warning:
        print(f"leadpolicy sla: warning: {warning}", file=sys.stderr)
