"""`leadpolicy explain`: decide one whole lead (its record, its events and `now`) and say why.

The lead is read as `leadpolicy test` reads a sample case: the record by the policy's lead reader, the
events by its event reader, from `--lead` (a record, or the case shape `{lead, events, now}`) and
`--events` (a JSON/YAML list, or a CSV/JSON Lines/Parquet file staged as `score --events` stages one).
Anything given that cannot be used (an unknown key, an undeclared event, a bad time) is bad usage, never
ignored; a data file's columns other than event and at are not read, as in `score` and `sla`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_now, help_formatter
from leadpolicy.cli.shared import (
    load_or_report,
    parse_now,
    read_lead,
)
from leadpolicy.runtime import seen_at
from leadpolicy.testing.case_shape import CASE_EVENT_KEYS, LEAD_CASE_KEYS

if TYPE_CHECKING:
    from collections.abc import Iterable
    from zoneinfo import ZoneInfo

    from sqlglot import exp

    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.language import ast
    from leadpolicy.semantics import ir
    from leadpolicy.semantics.interpreter import Decision
    from leadpolicy.warehouse.staging import Staged

READS_NO_EVENTS = "this policy reads no events; they change nothing"
# events files read row by row, staged as `score --events` stages them
ROW_FILES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
TIME_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "DATE")  # a Parquet time read as its value, not its text


class UsageError(ValueError):
    """What was given cannot be used as one lead: bad usage, the message says why."""


@dataclass
class WholeLead:
    """One lead as given: its record, its events (raw items with where each came from), its own `now`."""

    record: Any
    events: list[Any] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # per event, where it was given: "--events: event 2"
    now: dt.datetime | None = None  # an instant at the offset written (`semantics.now.case_now`)
    name: str | None = None
    events_given: bool = False


def register(sub: Subcommands) -> None:
    p = sub.add_parser("explain", formatter_class=help_formatter, help="score one lead and say why",
                       description="Evaluate one lead (its record, what it did, and now) and explain every score, "
                                   "grade, stage and route.",
                       epilog="examples:\n  leadpolicy explain policies/inbound-b2b.policy --lead lead.json\n"
                              "  leadpolicy explain policies/inbound-b2b.policy --lead '{\"email\": \"x@y.io\"}' "
                              "--now 2026-11-20T12:00:00-05:00\n"
                              "  leadpolicy explain policies/inbound-activity.policy --lead lead.json "
                              "--events events.csv\n"
                              "  leadpolicy explain policies/inbound-activity.policy --lead '{\"lead\": {\"email\": "
                              "\"x@y.io\"}, \"events\": [{\"event\": \"demo_request\", \"at\": "
                              "\"2026-11-18T10:00:00-05:00\"}], \"now\": \"2026-11-20T12:00:00-05:00\"}'\n")
    p.add_argument("policy")
    p.add_argument("--lead", required=True,
                   help="a JSON object, or a .json / .yaml file holding one: the lead's record, or a samples "
                        "case {lead, events, now}")
    p.add_argument("--events", metavar="FILE_OR_JSON",
                   help="what the lead did: a JSON list of {event, at}, or a .json, .yaml, .csv, .jsonl or "
                        ".parquet file of them (a data file's other columns are not read)")
    add_now(p, "evaluation time (ISO 8601); default: the case's `now`, else the current time")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.semantics.activity import Activity
    from leadpolicy.semantics.interpreter import evaluate
    from leadpolicy.semantics.leads import LeadReader
    from leadpolicy.semantics.lowering import lower

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy_ir = lower(loaded.policy)
    try:
        lead = whole_lead(args.lead, args.events, policy_ir)
        now = lead.now if args.now is None and lead.now is not None else parse_now(args.now, policy_ir.timezone)
        events = read_events(lead, policy_ir, now)
    except (UsageError, ValueError, OSError) as exc:
        print(f"leadpolicy explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    values, errors = LeadReader(policy_ir).read(lead.record)
    if errors:
        for e in errors:
            print(f"lead: {e}", file=sys.stderr)
        return EXIT_PROBLEMS
    decision = evaluate(policy_ir, values, now, Activity(events))
    windows = activity_lines(policy_ir, decision)
    if args.format == "json":
        out = decision.as_dict()
        out["events"] = [{"event": name, "at": at.astimezone(now.tzinfo).isoformat(), "after_now": not seen_at(at, now)}
                         for name, at in sorted(events, key=lambda e: e[1])]
        out["activity"] = [{"what": what, "value": value} for what, value, _ in windows]
        out["notes"] = [READS_NO_EVENTS] if events and not policy_ir.activity else []
        if lead.name is not None:
            out["case"] = lead.name
        print(json.dumps(out, indent=2, default=str))
        return EXIT_OK
    print_text(loaded.policy, decision, lead, events, windows,
               explicit_now=args.now is not None or lead.now is not None, reads_events=bool(policy_ir.activity))
    return EXIT_OK


def print_text(policy: ast.Policy, decision: Decision, lead: WholeLead, events: list[tuple[str, dt.datetime]],
               windows: list[tuple[str, int | None, str]], explicit_now: bool, reads_events: bool) -> None:
    print("\n".join(text_lines(policy, decision, lead, events, windows, explicit_now, reads_events)))


def text_lines(policy: ast.Policy, decision: Decision, lead: WholeLead, events: list[tuple[str, dt.datetime]],
               windows: list[tuple[str, int | None, str]], explicit_now: bool, reads_events: bool) -> list[str]:
    """The explanation's lines (`prove` shows a counter-example with them). Every line escaped
    (`diagnostics.escaped`), as `test` shows a case: the why lines quote the lead's own text, whose escape
    sequences, bidi overrides and line breaks would otherwise reach the terminal."""
    from leadpolicy.language.diagnostics import escaped, printable

    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(escaped(line))

    now = decision.now
    say(f"{policy.id} {policy.version} at {now.isoformat()}" + ("" if explicit_now else " (now)"))
    if lead.name is not None:
        say(f"case: {printable(lead.name)}")
    summary = ", ".join(f"{k} {v.value}" for k, v in decision.scores.items())
    grades = ", ".join(f"{k} {'none' if v is None else v}" for k, v in decision.grades.items())
    say(f"scores: {summary}" + (f"; grades: {grades}" if grades else ""))
    if decision.stage:
        say(f"stage: {decision.stage} (owner {decision.owner}); route: {decision.route or '-'}")
    else:  # no stage: a policy without stages, or stages without an otherwise that none matched
        say("stage: none (" + ("no stage matched" if policy.stages else "this policy has no stages") + ")")
    later = sum(not seen_at(at, now) for _, at in events)
    if events:
        say(f"events: {len(events)} given" + (f" ({later} after now, never counted)" if later else "")
            + ("" if reads_events else f"; {READS_NO_EVENTS}"))
    elif windows:  # a policy that reads what leads did
        say("events: none given (the lead is explained as having done nothing; give them with --events)")
    if windows:
        say("activity:")
        for _, _, line in windows:
            say(f"  {line}")
    say("why:")
    for line in decision.explanation:
        say(f"  {line}")
    return lines


def activity_lines(policy_ir: ir.Policy, decision: Decision) -> list[tuple[str, int | None, str]]:
    """Each event window and `days since last` the policy reads, as this lead's events give it: (what,
    value, line), e.g. `demo_request 1 in the last 30 days (Nov 18)`; the values are the evaluator's own, and
    one without a value is said in its row's words (`days since last email_click: none (no email_click yet)`)."""
    from leadpolicy.language.formatter import number as number_text
    from leadpolicy.language.words import quantity
    from leadpolicy.semantics.interpreter import Evaluator
    from leadpolicy.semantics.primitives import operand_row, reads_events

    ev = Evaluator(policy_ir, decision.env, decision.now, decision.activity)
    lines: list[tuple[str, int | None, str]] = []
    for node in policy_ir.activity:
        value, missing = ev.value(node), operand_row(node).missing
        (event, days), = reads_events(node)
        if value is None and missing is not None:
            lines.append((node.text, None, f"{node.text}: none ({missing(node)})"))
        elif days is not None:  # a window: the count, and the days its events fell on
            line = f"{event} {number_text(value)} in the last {quantity(days, 'days')}"
            dates = ev.dates(cast("ir.EventCount", node))  # a read with a window is an event count's
            lines.append((node.text, int(value), line + (f" ({dates})" if value else "")))
        else:
            lines.append((node.text, int(value), f"{node.text}: {number_text(value)}"))
    return lines


# ---------------------------------------------------------------- reading the whole lead


def whole_lead(lead_text: str, events_text: str | None, policy_ir: ir.Policy) -> WholeLead:
    """The lead as given by --lead (a record, or a samples case) and --events."""
    from leadpolicy import zones
    from leadpolicy.semantics.events import value_kind

    raw = _given(lead_text, "--lead")
    if not isinstance(raw, dict):
        raise UsageError(f"--lead: a lead is a mapping of field names to values (a JSON object), not "
                         f"{value_kind(raw)}{_lead_hint(lead_text, raw)}")
    fields = {f.name for f in policy_ir.fields}
    if "lead" in raw and "lead" not in fields:
        lead = _case(raw, fields, zones.zone(policy_ir.timezone))
    else:
        _refuse_samples_file(raw, fields)
        _refuse_unknown_fields(raw, fields, "--lead")
        lead = WholeLead(raw)
    if events_text is not None:
        if lead.events_given:
            raise UsageError("the events are given twice: in --lead and with --events; give them once")
        lead.events, lead.places = _events_argument(events_text)
        lead.events_given = True
    return lead


def _given(text: str, flag: str) -> Any:
    """What --lead or --events holds: JSON text (a bare `null`, number or string too, so that it is said
    what it is), or a file read by `read_lead`."""
    from leadpolicy.semantics.leads import read_json

    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{flag}: the value is empty; give JSON text or a file")
    if not stripped.startswith(("{", "[")) and not Path(text).exists():
        try:
            return read_json(stripped)
        except ValueError:
            pass  # neither JSON nor a file: read_lead says so
    return read_lead(text, flag)


def _lead_hint(text: str, raw: Any) -> str:
    if isinstance(raw, str) and (Path(text).suffix == ".policy" or raw.lstrip().startswith("policy ")):
        return f" ({text} is a policy file; give a lead: a JSON object, or a .json or .yaml file of one)"
    return ""


def _refuse_samples_file(raw: dict[str, Any], fields: set[str]) -> None:
    if "leads" in raw and "leads" not in fields and ("policy" in raw or "timelines" in raw):
        raise UsageError("--lead: this is a samples file, not one lead: run it with `leadpolicy test`, or give "
                         "one case of it ({lead, events, now}) to --lead")


def _case(raw: dict[str, Any], fields: set[str], tz: ZoneInfo) -> WholeLead:
    from leadpolicy.language.diagnostics import did_you_mean

    for key in raw:
        if key not in LEAD_CASE_KEYS:
            hint = ("explain does not check expectations; `leadpolicy test` does" if key == "expect" else
                    did_you_mean(str(key), LEAD_CASE_KEYS))
            raise UsageError(f"--lead: unknown key {key!r} in a lead case"
                             + (f" ({hint})" if hint else "") + "; a lead case has " + ", ".join(LEAD_CASE_KEYS))
    if not isinstance(raw["lead"], dict):
        raise UsageError("--lead: `lead` is the lead's record, a mapping of field names to values")
    _refuse_unknown_fields(raw["lead"], fields, "--lead: lead")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise UsageError("--lead: `name` is text")
    lead = WholeLead(raw["lead"], now=_case_now(raw, tz), name=name)
    if "events" in raw:
        lead.events, lead.places = _event_list(raw["events"], "--lead: events")
        lead.events_given = True
    return lead


def _case_now(raw: dict[str, Any], tz: ZoneInfo) -> dt.datetime | None:
    """The case's `now` as `leadpolicy test` and the published cases read a samples case's (one reader)."""
    from leadpolicy.semantics.now import case_now

    try:
        return case_now(raw, tz)
    except ValueError as exc:
        raise UsageError(f"--lead: now: {exc}") from None


def _refuse_unknown_fields(raw: dict[str, Any], fields: set[str], where: str) -> None:
    """A record's keys are the policy's fields: another key is a mistake to say, not a value to drop."""
    from leadpolicy.language.diagnostics import did_you_mean

    for key in raw:
        if key in fields:
            continue
        if str(key).casefold() == "events" and where != "--lead":  # inside a case's `lead`
            hint = ('what the lead did goes beside its record, not in it: {"lead": {...}, "events": [...]}'
                    + ("" if key == "events" else '; the key is "events"'))
        elif str(key).casefold() == "events":
            hint = ('give what the lead did as {"lead": {...}, "events": [...]}, or with --events'
                    + ("" if key == "events" else '; the key is "events"'))
        else:
            hint = did_you_mean(str(key), sorted(fields)) or "the fields are " + ", ".join(sorted(fields))
        raise UsageError(f"{where}: {key!r} is not a field of this policy ({hint})")


def _event_list(items: Any, where: str) -> tuple[list[Any], list[str]]:
    """A samples case's `events:` list, each item {event, at} and nothing else."""
    from leadpolicy.semantics.events import value_kind

    if not isinstance(items, list):
        raise UsageError(f"{where}: events are a list of {{event, at}} items, not {value_kind(items)}"
                         f"{_list_hint(items)}")
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            _refuse_unknown_event_keys(item.keys(), f"{where}: event {i}")
    return items, [f"{where}: event {i}" for i in range(1, len(items) + 1)]


def _list_hint(items: Any) -> str:
    if isinstance(items, dict):
        return " (give the list itself: [{...}], even for one event)"
    if isinstance(items, str):
        return (" (an events file is read by its extension, .json, .yaml, .csv, .jsonl or .parquet: a file "
                "of comma-separated rows is read when it ends in .csv)")
    return ""


def _refuse_unknown_event_keys(keys: Iterable[str], where: str) -> None:
    extra = [k for k in keys if k not in CASE_EVENT_KEYS]
    if extra:
        raise UsageError(f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; "
                         "one lead's event is {event, at}")


def _events_argument(text: str) -> tuple[list[Any], list[str]]:
    """--events: JSON text, a .json or .yaml file of a list, or a .csv, .jsonl or .parquet file of rows."""
    stripped = text.strip()
    fmt = None if stripped.startswith(("[", "{")) else ROW_FILES.get(Path(text).suffix.lower())
    if fmt is None:
        return _event_list(_given(text, "--events"), "--events")
    return _event_rows(Path(text), fmt)


def _event_rows(path: Path, fmt: str) -> tuple[list[Any], list[str]]:
    """The rows of a CSV, JSON Lines or Parquet file of events, staged as `score --events` stages its file.
    Columns other than event and at are not read, as `score` and `sla` read none they do not need; a
    `lead` column naming several leads is a whole event log, refused rather than read as one lead's."""
    from leadpolicy.warehouse import staging

    db = staging.Staging()
    try:
        try:
            staged = staging.stage(db.con, path, fmt)
        except staging.DataFileError as exc:
            raise UsageError(f"--events: {exc}") from None
        if staged.problems:
            first = staged.problems[0]
            raise UsageError(f"--events: {path}: row {first['row']}: {first['problem']}")
        if not staged.columns:  # JSON Lines without a line: no events
            return [], []
        _check_event_columns(path, staged.columns)
        rows = db.con.execute(_event_query(staged).sql("duckdb")).fetchall()
    finally:
        db.close()
    if "lead" in staged.columns:
        _refuse_blank_lead(path, rows)
        _refuse_several_leads(path, [row[3] for row in rows])
    return ([{"event": event, "at": at} for _, event, at, _ in rows],
            [f"--events: {path}: row {row[0]}" for row in rows])


def _check_event_columns(path: Path, columns: list[str]) -> None:
    from leadpolicy.warehouse.event_log import repeated_columns

    repeated = repeated_columns(path, columns, (*CASE_EVENT_KEYS, "lead"))
    if repeated:
        raise UsageError(f"--events: {repeated}")
    missing = [k for k in CASE_EVENT_KEYS if k not in columns]
    if missing:
        raise UsageError(f"--events: {path}: no column {', '.join(missing)}; one lead's events are rows of event "
                         "and at (other columns are not read)")


def _event_query(staged: Staged) -> exp.Select:
    """(row, event, at, lead) of every staged row in file order: text as written, a typed Parquet time as
    its value (read as `score` reads it); lead NULL without a `lead` column."""
    from sqlglot import exp

    from leadpolicy.warehouse import staging
    from leadpolicy.warehouse.conversion import trimmed

    def cell(name: str, typed: bool = False) -> exp.Expr:
        if name not in staged.columns:
            return exp.Null()
        i = staged.columns.index(name)
        original = typed and staged.column_types.get(i) in TIME_TYPES
        return exp.column(staging.original_column(i) if original else staging.text_column(i), quoted=True)

    row = exp.column(staging.ROW_NAME, quoted=True)
    lead = cell("lead")  # compared as `score` compares ids: as text without surrounding blanks
    return exp.select(row, cell("event"), cell("at", typed=True),
                      trimmed(lead) if isinstance(lead, exp.Column) else lead).from_("raw").order_by(row.copy())


def _refuse_blank_lead(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """A row of a `lead` column without an id is a bad row, as `score --events` rejects it."""
    from leadpolicy.semantics.events import problem_words

    blank = next((row[0] for row in rows if not row[3]), None)
    if blank is not None:
        raise UsageError(f"--events: {path}: row {blank}: lead: {problem_words('lead', 'required', None)}")


def _refuse_several_leads(path: Path, leads: list[str]) -> None:
    ids = sorted(set(leads))
    if len(ids) > 1:
        shown = ", ".join(map(repr, ids[:3])) + (", ..." if len(ids) > 3 else "")
        raise UsageError(f"--events: {path}: the events of {len(ids)} leads (column lead: {shown}); explain reads "
                         "one lead's events: give the rows of that lead")


def read_events(lead: WholeLead, policy_ir: ir.Policy, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The lead's events read by the policy's event reader, as `leadpolicy test` reads a case's (a row
    repeating an earlier one at or before `now` included); the first that cannot be used is a UsageError
    naming where it is."""
    from leadpolicy.semantics.events import EventReader

    events, errors = EventReader(policy_ir).read(lead.events, now)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        where = lead.places[first.row - 1]
        raise UsageError(f"{where}: {first.field + ': ' if first.field else ''}{first.message}{more}")
    return events
