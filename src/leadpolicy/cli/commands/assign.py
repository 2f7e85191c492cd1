"""`leadpolicy assign`: decide a file of leads and give each routed one to a member of its team, against a state."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_columns, add_max_rejects, add_quiet, help_formatter, timestamp_arg
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

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.assignment import Assigner, State
    from leadpolicy.assignment.memory import MemoryState
    from leadpolicy.cli.assign_batch import AssignCounts, ReadLeads
    from leadpolicy.cli.shared import Subcommands
    from leadpolicy.warehouse.event_files import EventStats

DATA_FORMATS = ("csv", "jsonl", "parquet")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("assign", formatter_class=help_formatter, help="give each routed lead to a member of its team",
                       description="Decide every lead of a CSV, JSON Lines or Parquet file at its arrival time (as "
                                   "`score` decides, events included) and give each lead routed to a team to one "
                                   "of its members, in arrival order, against a state (a SQLite file or a "
                                   "PostgreSQL URL) that keeps the rotation and every assignment. The output is "
                                   "the leads with stage, route, assignee, assigned_how and skipped. A lead id is "
                                   "assigned once: a second run on the same state changes nothing.",
                       epilog="examples:\n"
                              "  leadpolicy assign inbound-teams.policy leads.csv --id-column id --at-column "
                              "created_at --state state.db --events events.csv\n"
                              "  leadpolicy assign inbound-teams.policy leads.parquet --id-column id --at-column at "
                              "--state postgresql://app@db/leads --availability ooo.csv --accounts accounts.csv\n"
                              "  leadpolicy assign inbound-teams.policy --state state.db --release-held "
                              "--now 2026-12-02T09:00\n\n"
                              "the run ends with: read N: assigned A, held H, not routed R, rejected K "
                              "(always N = A + H + R + K)\n")
    p.add_argument("policy")
    p.add_argument("leads", nargs="?", help="a .csv, .jsonl or .parquet file (optional with --release-held)")
    p.add_argument("--id-column", metavar="COLUMN", help="the leads file's column holding each lead's id")
    p.add_argument("--at-column", metavar="COLUMN", help="the leads file's column holding each lead's arrival time")
    p.add_argument("--state", required=True, metavar="DB",
                   help="where the rotation and assignments are kept: a SQLite file (made when missing) or a "
                        "postgresql://user@host/db URL (needs the postgresql extra: pip install "
                        "'leadpolicy[postgresql]')")
    add_run_time_data(p)
    p.add_argument("-o", "--output", metavar="FILE", help="default: LEADS_NAME.assigned.<same format> here")
    p.add_argument("--rejects", metavar="FILE", help="default: LEADS_NAME.rejects.csv beside the output")
    p.add_argument("--events-rejects", metavar="FILE",
                   help="the event rows that cannot be used; default: EVENTS_NAME.rejects.csv beside the output")
    p.add_argument("--release-held", action="store_true",
                   help="first try every held lead again at --now, in arrival order, as members are available")
    p.add_argument("--now", type=timestamp_arg, help="with --release-held: the time held leads are tried again "
                                                     "(ISO 8601); default: the current time")
    p.add_argument("--leads-format", choices=DATA_FORMATS, help="override the extension")
    p.add_argument("--events-format", choices=DATA_FORMATS, help="override the events' extension")
    add_columns(p)
    add_max_rejects(p, still="the output is still written")
    add_quiet(p)


def add_run_time_data(p: argparse.ArgumentParser) -> None:
    """--availability, --accounts and --events: what `assign` and `simulate` read beside the leads."""
    p.add_argument("--availability", metavar="FILE",
                   help="out-of-office periods: a .csv, .jsonl or .parquet file with columns member, from, until")
    p.add_argument("--accounts", metavar="FILE",
                   help="account owners: a .csv, .jsonl or .parquet file with columns domain, owner")
    p.add_argument("--events", metavar="FILE",
                   help="what leads did: a .csv, .jsonl or .parquet file with columns lead, event and at")


def run(args: argparse.Namespace) -> int:
    from leadpolicy.assignment import StateError

    if _usage_problem(args):
        return EXIT_USAGE
    ready = policy_with_teams("assign", args)
    if isinstance(ready, int):
        return ready
    policy = ready
    try:
        state = open_state_for("assign", args.state)
    except StateError as exc:
        print(f"leadpolicy assign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _assign(args, policy, state)
    finally:
        state.close()


def _output(args: argparse.Namespace) -> Path | None:
    if args.leads is None:
        return None
    leads = Path(args.leads)
    return Path(args.output) if args.output else Path(leads.stem + ".assigned" + leads.suffix)


def _rejects_path(args: argparse.Namespace) -> Path | None:
    from leadpolicy.outputs import default_rejects, written_in_place

    if args.leads is None:
        return None
    if args.rejects:
        return Path(args.rejects)
    out, leads = _output(args), Path(args.leads)
    beside = [] if out is None or written_in_place(out) else [out]
    return default_rejects(leads.stem + ".rejects.csv", *beside, leads)


def _events_rejects_path(args: argparse.Namespace) -> Path | None:
    """Where the event rows that cannot be used go (as `score --events` puts them); None: no events, or no
    place that holds no policies."""
    from leadpolicy.outputs import default_rejects, written_in_place

    if args.events is None or args.leads is None:
        return None
    if args.events_rejects:
        return Path(args.events_rejects)
    out, events = _output(args), Path(args.events)
    beside = [] if out is None or written_in_place(out) else [out]
    path = default_rejects(events.stem + ".rejects.csv", *beside, events)
    leads_rejects = _rejects_path(args)
    if path is not None and leads_rejects is not None and path.resolve() == leads_rejects.resolve():
        path = path.with_name(events.stem + ".events.rejects.csv")
    return path


def _usage_problem(args: argparse.Namespace) -> bool:
    """Whether the flags cannot go together, or a file cannot be written (said on stderr): bad usage."""
    problem = None
    if args.leads is None and not args.release_held:
        problem = "name a leads file, or --release-held to try the held leads again"
    elif args.leads is not None and (args.id_column is None or args.at_column is None):
        problem = "a leads file needs --id-column and --at-column (the lead's id and its arrival time)"
    elif args.now is not None and not args.release_held:
        problem = "--now is the time held leads are tried again: give it with --release-held"
    if problem is None and outputs_refused("assign", {
            "the output (-o)": _output(args), "the rejects file (--rejects)": _rejects_path(args),
            "the events rejects file (--events-rejects)": _events_rejects_path(args),
            "the state (--state)": sqlite_state_file(args.state)}, _inputs(args)):
        return True
    problem = problem or _format_problem(args)
    if problem:
        print(f"leadpolicy assign: {problem}", file=sys.stderr)
        return True
    return False


def _output_format(out: Path, leads_format: str) -> str:
    """The output's format by its extension; a device or FIFO without one (-o /dev/null) is the leads'."""
    from leadpolicy.outputs import written_in_place
    from leadpolicy.warehouse.lead_rows import file_format

    return leads_format if written_in_place(out) and not out.suffix else file_format(out)


def _format_problem(args: argparse.Namespace) -> str | None:
    """Why a file's format cannot be told from its name (bad usage, said before anything is assigned), or None."""
    from leadpolicy.warehouse.lead_rows import BatchError, file_format

    if args.leads is None:
        return None
    try:
        for path, given in ((args.leads, args.leads_format), (args.events, args.events_format),
                            (args.availability, None), (args.accounts, None)):
            if path is not None:
                file_format(Path(path), given)
        out = _output(args)
        if out is not None:
            _output_format(out, file_format(Path(args.leads), args.leads_format))
    except (BatchError, ValueError) as exc:
        return str(exc)
    return None


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    return {**policy_inputs(args.policy), "the leads file": args.leads, "the events file (--events)": args.events,
            "the availability file (--availability)": args.availability,
            "the accounts file (--accounts)": args.accounts}


def sqlite_state_file(where: str) -> Path | None:
    """The file a SQLite state is kept in (None for a database URL or a state in memory)."""
    return None if "://" in where or where in ("", ":memory:") else Path(where)


def policy_with_teams(command: str, args: argparse.Namespace) -> Policy | int:
    """The policy, ready to decide; or the exit code when it cannot be used to assign."""
    from leadpolicy.api import Policy
    from leadpolicy.semantics.lowering import lower

    loaded = load_or_report(args.policy)
    if loaded is None:
        return EXIT_PROBLEMS
    policy = Policy(loaded.policy, lower(loaded.policy))
    if not policy.ir.teams:
        print(f"leadpolicy {command}: {args.policy} has no team: its routes are queue names, and no lead is "
              "assigned to a person (see docs/assignment.md)", file=sys.stderr)
        return EXIT_USAGE
    if column_mapping_problem(command, args.columns, policy.ir):
        return EXIT_USAGE
    if policy.ir.activity and args.leads is not None and args.events is None:
        print(f"leadpolicy {command}: the policy scores what leads did ({policy.ir.activity[0].text}); give the "
              "events file with --events FILE", file=sys.stderr)
        return EXIT_USAGE
    return policy


def open_state_for(command: str, where: str) -> State:
    """The state named by --state; StateError (one line) when it cannot be used."""
    import stat

    from leadpolicy.assignment import StateError, open_state

    file = sqlite_state_file(where)
    if file is not None and file.exists() and not stat.S_ISREG(file.stat().st_mode):
        raise StateError(f"cannot open the state {where}: not a file (a SQLite state is a file, made when missing)")
    return open_state(where)


def assigner_for(command: str, args: argparse.Namespace, policy: Policy, state: State | MemoryState
                 ) -> Assigner | int:
    """The assigner with the run-time data of --availability and --accounts; the exit code when a row of them
    cannot be used (each said by row and field: assigning with a guess of who is away would be wrong)."""
    from leadpolicy.assignment import Assigner, People, read_accounts, read_availability
    from leadpolicy.assignment.data import NO_AVAILABILITY
    from leadpolicy.warehouse.lead_rows import BatchError

    people = People(policy.ir)
    try:
        away_rows = data_rows(args.availability)
        owner_rows = data_rows(args.accounts)
    except BatchError as exc:
        print(f"leadpolicy {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from leadpolicy import zones

    availability, away_rejects = read_availability(away_rows, people, zones.zone(policy.ir.timezone)) \
        if away_rows else (NO_AVAILABILITY, [])
    accounts, owner_rejects = read_accounts(owner_rows, people)
    for path, found in ((args.availability, away_rejects), (args.accounts, owner_rejects)):
        for reject in found:
            print(f"leadpolicy {command}: {path}: {reject}", file=sys.stderr)
    if away_rejects or owner_rejects:
        print(f"leadpolicy {command}: nothing assigned: a row of run-time data that cannot be used would make "
              "assignments on a guess; correct the rows above", file=sys.stderr)
        return EXIT_PROBLEMS
    return Assigner(policy.ir, state, availability, accounts)


def data_rows(path: str | None) -> list[dict[str, Any]]:
    """The rows of a small data file (CSV, JSON Lines or Parquet) as text by column name; none without a file.
    A row that cannot be read at all is None (a rejected row, by its number)."""
    from leadpolicy.warehouse import staging
    from leadpolicy.warehouse.lead_rows import BatchError, file_format, stage

    if path is None:
        return []
    db = staging.Staging()
    try:
        staged = stage(db.con, Path(path), file_format(Path(path)))
        from sqlglot import exp

        columns = [exp.column(staging.text_column(i), quoted=True) for i in range(len(staged.columns))]
        query = exp.select(exp.column(staging.ROW_NAME, quoted=True), *columns).from_("raw")
        found: dict[int, Any] = {int(p["row"]): None for p in staged.problems}
        for row, *cells in db.con.execute(query.sql("duckdb")).fetchall():
            found[int(row)] = dict(zip(staged.columns, cells))
        return [found[row] for row in sorted(found)]
    except staging.DataFileError as exc:
        raise BatchError(str(exc)) from None
    finally:
        db.close()


def _assign(args: argparse.Namespace, policy: Policy, state: State) -> int:
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError

    assigner = assigner_for("assign", args, policy, state)
    if isinstance(assigner, int):
        return assigner
    if args.release_held:
        _warn_without_data(args, policy)
        _release(assigner, parse_now(args.now, policy.ir.timezone), args.now is None)
    if args.leads is None:
        return EXIT_OK
    try:
        return _assign_file(args, policy, assigner)
    except ColumnMapError as exc:
        print(f"leadpolicy assign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BatchError as exc:
        print(f"leadpolicy assign: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS


def _warn_without_data(args: argparse.Namespace, policy: Policy) -> None:
    """Releasing held leads without the run-time data assumes things that may not hold: said on stderr."""
    assumed = []
    if args.availability is None:
        assumed.append("no --availability, so nobody is out of office")
    if args.accounts is None and any(team.match_accounts for team in policy.ir.teams):
        assumed.append("no --accounts, so no account has an owner")
    if assumed:
        print(f"leadpolicy assign: warning: releasing held leads with {' and '.join(assumed)}", file=sys.stderr)


def _release(assigner: Assigner, now: Any, said_now: bool) -> None:
    outcomes = assigner.release_held(now)
    if said_now:
        print(f"(now = {now.isoformat()})")
    given = [o for o in outcomes if o.assignee is not None]
    print(f"released held leads at {now.isoformat()}: tried {len(outcomes)}, assigned {len(given)}, "
          f"still held {len(outcomes) - len(given)}")
    for outcome in given:
        print(f"  {outcome.lead_id}: {outcome.assignee} ({outcome.how}, team {outcome.team})")


def _assign_file(args: argparse.Namespace, policy: Policy, assigner: Assigner) -> int:
    from leadpolicy.cli.assign_batch import AssignCounts, LeadsFile, LeadsInput, assign_in_order

    given = LeadsInput(Path(args.leads), args.id_column, args.at_column, args.leads_format, args.columns,
                       Path(args.events) if args.events else None, args.events_format)
    out = _output(args)
    assert out is not None
    with LeadsFile(policy, given) as leads:
        found = leads.read()
        counts = AssignCounts(read=found.read, rejected=len({r["row"] for r in found.rejects}))
        with progress_bar(f"assigning {args.leads}", args.quiet, unit="leads") as progress:
            rows = {lead.row: (lead.stage, lead.route, outcome)
                    for lead, outcome in assign_in_order(assigner, found.decided, counts, progress)}
        leads.write(out, rows, _output_format(out, leads.format))
    print(f"wrote {out}")
    if not counts.balanced():
        raise AssertionError(f"internal count mismatch: {counts.summary()}")
    return _report(args, counts, found)


def _report(args: argparse.Namespace, counts: AssignCounts, found: ReadLeads) -> int:
    """The rejected rows written and the first said, the counts, and the exit code they make."""
    from leadpolicy.warehouse.batch import write_rejects

    rejects_path = _rejects_path(args)
    if found.rejects:
        if rejects_path is not None:
            write_rejects(rejects_path, found.rejects)
            print(f"{counts.rejected} rejected row(s) written to {rejects_path}; the first:")
        else:
            print(f"leadpolicy assign: {counts.rejected} rejected row(s) not written: the folders of the output and "
                  f"of {args.leads} hold policies, where rows of lead data do not belong (name a file with "
                  "--rejects); the first:", file=sys.stderr)
        for r in sorted(found.rejects, key=lambda r: (r["row"], r["field"]))[:5]:
            print(f"  {args.leads}: row {r['row']}: {r['field'] + ': ' if r['field'] else ''}{r['problem']}",
                  file=sys.stdout if rejects_path is not None else sys.stderr)
    if found.events is not None:
        _event_rejects(args, found.events)
        print(found.events.summary())
    print(counts.summary())
    hint = "" if args.max_rejects is not None else MAX_REJECTS_HINT
    say_rejects_loudly("assign", f"rows of {args.leads}", found.read, found.rejects, hint)
    if too_many_rejects("assign", args.max_rejects, {"rows": counts.rejected}):
        return EXIT_PROBLEMS
    return EXIT_OK


def _event_rejects(args: argparse.Namespace, events: EventStats) -> None:
    """The event rows that cannot be used, written by row and field, and the first of them said."""
    from leadpolicy.warehouse.batch import EVENT_REJECT_COLUMNS, write_rejects

    path = _events_rejects_path(args)
    if not events.rejects:
        return
    rows: list[dict[str, Any]] = sorted(events.rejects, key=lambda r: (str(r["row"]).zfill(12), str(r["field"])))
    if path is not None:
        write_rejects(path, rows, EVENT_REJECT_COLUMNS)
        print(f"{events.rejected} rejected event row(s) written to {path}; the first:")
    else:
        print(f"leadpolicy assign: {events.rejected} rejected event row(s) not written: the folders of the output "
              f"and of {args.events} hold policies (name a file with --events-rejects); the first:", file=sys.stderr)
    for r in rows[:5]:
        print(f"  {args.events}: row {r['row']}: {r['field'] + ': ' if r['field'] else ''}{r['problem']}",
              file=sys.stdout if path is not None else sys.stderr)
