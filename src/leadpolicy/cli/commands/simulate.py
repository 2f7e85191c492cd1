"""`leadpolicy simulate`: assign a file of leads on a throwaway state and show how fair the rotation is."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadpolicy.cli.commands.assign import DATA_FORMATS, add_run_time_data, assigner_for, policy_with_teams
from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from leadpolicy.cli.flags import add_columns, add_max_rejects, add_quiet, help_formatter
from leadpolicy.cli.shared import MAX_REJECTS_HINT, outputs_refused, say_rejects_loudly, too_many_rejects

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.cli.shared import Subcommands

BAR_WIDTH = 40  # characters of the longest bar of the text chart


def register(sub: Subcommands) -> None:
    p = sub.add_parser("simulate", formatter_class=help_formatter,
                       help="assign a file of leads on a throwaway state and report the shares",
                       description="Decide and assign every lead of a CSV, JSON Lines or Parquet file in arrival "
                                   "order, as `assign` does, on a throwaway state in memory, and report per team "
                                   "and member: leads assigned, share against the weight's share, cap hits, leads "
                                   "that arrived outside the member's working hours, held leads and the longest "
                                   "hold; and the leads per day and per hour (a chart in Markdown). Held leads "
                                   "are tried again as each later lead arrives. Nothing is written but the "
                                   "rejected rows, with --rejects: each is said on stderr (the first five) and "
                                   "in the JSON report, by row and field.",
                       epilog="examples:\n"
                              "  leadpolicy simulate inbound-teams.policy december.csv --at-column created_at "
                              "--id-column id --events events.csv\n"
                              "  leadpolicy simulate inbound-teams.policy week.parquet --at-column at --format "
                              "markdown > fairness.md\n")
    p.add_argument("policy")
    p.add_argument("leads", help="a .csv, .jsonl or .parquet file")
    p.add_argument("--at-column", required=True, metavar="COLUMN",
                   help="the leads file's column holding each lead's arrival time")
    p.add_argument("--id-column", metavar="COLUMN",
                   help="the column holding each lead's id (needed with --events); default: each row is a lead")
    add_run_time_data(p)
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--leads-format", choices=DATA_FORMATS, help="override the extension")
    p.add_argument("--events-format", choices=DATA_FORMATS, help="override the events' extension")
    p.add_argument("--rejects", metavar="FILE",
                   help="write the rejected rows of the leads here, by row and field (default: none written)")
    add_columns(p)
    add_max_rejects(p)
    add_quiet(p)


def run(args: argparse.Namespace) -> int:
    from leadpolicy.assignment.memory import MemoryState
    from leadpolicy.warehouse.lead_rows import BatchError, ColumnMapError

    if args.events is not None and args.id_column is None:
        print("leadpolicy simulate: --events names leads by id: give the leads' id column with --id-column",
              file=sys.stderr)
        return EXIT_USAGE
    if args.rejects is not None and outputs_refused("simulate", {"the rejects file (--rejects)": Path(args.rejects)},
                                                    _inputs(args)):
        return EXIT_USAGE
    policy = policy_with_teams("simulate", args)
    if isinstance(policy, int):
        return policy
    state = MemoryState()  # a throwaway state: the engine's reads and writes on Python's own dicts
    try:
        report = _simulate(args, policy, state)
    except ColumnMapError as exc:
        print(f"leadpolicy simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BatchError as exc:
        print(f"leadpolicy simulate: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    finally:
        state.close()
    if isinstance(report, int):
        return report
    print({"json": _json, "markdown": markdown, "text": _terminal_text}[args.format](report))
    return _rejects_said(args, report)


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    from leadpolicy.cli.shared import policy_inputs

    return {**policy_inputs(args.policy), "the leads file": args.leads, "the events file (--events)": args.events,
            "the availability file (--availability)": args.availability,
            "the accounts file (--accounts)": args.accounts}


def _rejects_said(args: argparse.Namespace, report: dict[str, Any]) -> int:
    """The rejected rows (leads, then events) written with --rejects and the first said on stderr, their share
    warned as `score` warns, and the exit code --max-rejects makes of them."""
    from leadpolicy.warehouse.batch import write_rejects

    rejects, event_rejects = report["rejects"], report.get("event_rejects", [])
    if rejects:
        rows = report["leads"]["rejected"]
        if args.rejects is not None:
            write_rejects(Path(args.rejects), rejects)
            print(f"leadpolicy simulate: {rows} rejected row(s) written to {args.rejects}; the first:",
                  file=sys.stderr)
        else:
            print(f"leadpolicy simulate: {rows} rejected row(s), not assigned (all of them in the JSON report, or "
                  "written with --rejects FILE); the first:", file=sys.stderr)
        _first_rows(args.leads, rejects)
    if event_rejects:
        print(f"leadpolicy simulate: {report['events']['rejected']} rejected event row(s), not used (all of them "
              "in the JSON report); the first:", file=sys.stderr)
        _first_rows(args.events, event_rejects)
    hint = "" if args.max_rejects is not None else MAX_REJECTS_HINT
    say_rejects_loudly("simulate", f"rows of {args.leads}", report["leads"]["read"], rejects, hint)
    if "events" in report:
        say_rejects_loudly("simulate", f"event rows of {args.events}", report["events"]["read"], event_rejects, hint)
    event_rows = {"event rows": report["events"]["rejected"]} if "events" in report else {}
    if too_many_rejects("simulate", args.max_rejects, {"rows": report["leads"]["rejected"], **event_rows}):
        return EXIT_PROBLEMS
    return EXIT_OK


def _first_rows(source: str, rejects: list[dict[str, Any]]) -> None:
    from leadpolicy.outputs import shown

    for r in sorted(rejects, key=lambda r: (str(r["row"]).zfill(12), str(r["field"])))[:5]:
        field = f"{r['field']}: " if r["field"] else ""
        print(shown(f"  {source}: row {r['row']}: {field}{r['problem']}"), file=sys.stderr)


def _simulate(args: argparse.Namespace, policy: Policy, state: Any) -> dict[str, Any] | int:
    from leadpolicy import zones
    from leadpolicy.assignment.simulation import Simulation
    from leadpolicy.cli.assign_batch import AssignCounts, LeadsFile, LeadsInput
    from leadpolicy.cli.shared import progress_bar

    assigner = assigner_for("simulate", args, policy, state)
    if isinstance(assigner, int):
        return assigner
    given = LeadsInput(Path(args.leads), args.id_column, args.at_column, args.leads_format, args.columns,
                       Path(args.events) if args.events else None, args.events_format)
    with LeadsFile(policy, given) as leads:
        found = leads.read()
    counts = AssignCounts(read=found.read, rejected=len({r["row"] for r in found.rejects}))
    simulation = Simulation(assigner, zones.zone(policy.ir.timezone))
    with progress_bar(f"simulating {args.leads}", args.quiet, unit="leads") as progress:
        for done, lead in enumerate(found.decided, start=1):
            counts.add(simulation.arrive(lead.lead_id, lead.route, lead.email, lead.at))
            if progress is not None and done % 1000 == 0:
                progress(done, len(found.decided))
    simulation.finish()
    first, last = (found.decided[0].at, found.decided[-1].at) if found.decided else (None, None)
    return {"policy": policy.ir.id, "version": policy.ir.version, "timezone": policy.ir.timezone,
            "from": first.isoformat() if first else None, "until": last.isoformat() if last else None,
            "leads": {"read": counts.read, "assigned": counts.assigned, "held": counts.held,
                      "not_routed": counts.not_routed, "rejected": counts.rejected,
                      "released": sum(not still for _team, _minutes, still in simulation.holds),
                      "still_held": sum(still for _team, _minutes, still in simulation.holds)},
            **_events(found.events), "rejects": _plain(found.rejects), **simulation.summary(policy.ir)}


def _events(events: Any) -> dict[str, Any]:
    """The events' counts and rejected rows, with --events."""
    if events is None:
        return {}
    return {"events": {"read": events.read, "used": events.used, "rejected": events.rejected},
            "event_rejects": _plain(events.rejects)}


def _plain(rejects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected rows as JSON holds them: row, field, problem and what else was kept of each, in row order."""
    return [{k: v if isinstance(v, (int, float, str, type(None))) else str(v) for k, v in r.items()}
            for r in sorted(rejects, key=lambda r: (str(r["row"]).zfill(12), str(r["field"])))]


def _terminal_text(report: dict[str, Any]) -> str:
    from leadpolicy.outputs import shown

    return shown(text(report))


def _json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def _percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def _member_rows(team: dict[str, Any]) -> list[list[str]]:
    return [[m["member"], str(m["weight"]), str(m["assigned"]), _percent(m["share"]), _percent(m["weight_share"]),
             str(m["cap_hits"]), str(m["outside_hours"]), str(m["out_of_office"])] for m in team["members"]]


MEMBER_HEADER = ["member", "weight", "assigned", "share", "weight's share", "cap hits", "outside hours",
                 "out of office"]


def _hold_line(team: dict[str, Any]) -> str:
    longest = team["longest_hold_minutes"]
    held = f"held {team['held']}, still held {team['still_held']}"
    return held + (f", longest hold {_duration(longest)}" if longest is not None else "")


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _leads_line(report: dict[str, Any]) -> str:
    c = report["leads"]
    span = f" from {report['from']} until {report['until']}" if report["from"] else ""
    return (f"read {c['read']}: assigned {c['assigned']}, held {c['held']} (later assigned {c['released']}, still "
            f"held {c['still_held']}), not routed {c['not_routed']}, rejected {c['rejected']}{span}")


def text(report: dict[str, Any]) -> str:
    """Plain text: the counts, each team's members as a table, and a bar chart of the leads per hour."""
    lines = [f"simulated {report['policy']} {report['version']}: {_leads_line(report)}"]
    for team in report["teams"]:
        lines += ["", f"team {team['team']} ({team['assign']}): assigned {team['assigned']}, {_hold_line(team)}"]
        lines += _aligned([MEMBER_HEADER, *_member_rows(team)])
    lines += ["", f"per day ({report['timezone']}): " + ", ".join(
        f"{d['day']} {d['assigned']}" + (f" (+{d['held']} held)" if d["held"] else "") for d in report["per_day"])]
    lines += ["", f"per hour ({report['timezone']}; assigned, held):"]
    top = max((h["assigned"] + h["held"] for h in report["per_hour"]), default=0) or 1
    for hour in report["per_hour"]:
        bar = "#" * round(BAR_WIDTH * hour["assigned"] / top) + "." * round(BAR_WIDTH * hour["held"] / top)
        lines.append(f"  {hour['hour']}:00 {bar} {hour['assigned']}" + (f", {hour['held']}" if hour["held"] else ""))
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def markdown(report: dict[str, Any]) -> str:
    """Markdown as GitHub renders it: a table per team and Mermaid bar charts of the leads per hour and day."""
    from leadpolicy.outputs import md as markdown_cell

    lines = [f"# Simulated assignment: {markdown_cell(report['policy'])} {markdown_cell(report['version'])}", "",
             markdown_cell(_leads_line(report)) + "."]
    for team in report["teams"]:
        lines += ["", f"## Team {markdown_cell(team['team'])} ({team['assign']})", "",
                  f"Assigned {team['assigned']}; {_hold_line(team)}.", "",
                  "| " + " | ".join(MEMBER_HEADER) + " |", "|" + "---|" * len(MEMBER_HEADER)]
        lines += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in _member_rows(team)]
    lines += ["", f"## Leads per hour ({markdown_cell(report['timezone'])})", "",
              *_mermaid_bars("Leads assigned per hour of the day", [h["hour"] for h in report["per_hour"]],
                             [h["assigned"] for h in report["per_hour"]], [h["held"] for h in report["per_hour"]])]
    lines += ["", "## Leads per day", "",
              *_mermaid_bars("Leads assigned per day", [d["day"][5:] for d in report["per_day"]],
                             [d["assigned"] for d in report["per_day"]], [d["held"] for d in report["per_day"]])]
    return "\n".join(lines)


def _mermaid_bars(title: str, labels: list[str], assigned: list[int], held: list[int]) -> list[str]:
    """A Mermaid xychart (GitHub renders it): assigned as bars, held as a line. Labels and title are ours."""
    top = max([*assigned, *held, 1])
    return ["```mermaid", "xychart-beta", f'    title "{title}"',
            "    x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]",
            f'    y-axis "leads" 0 --> {top}', "    bar [" + ", ".join(map(str, assigned)) + "]",
            "    line [" + ", ".join(map(str, held)) + "]", "```"]
