"""The SLA report from the SQL engine: the clocks judged and tallied in DuckDB, read back into the report that
sla/report.py builds from the Python engine (warehouse imports sla, never the other way)."""

from __future__ import annotations

import datetime as dt
from typing import IO

import duckdb

from leadpolicy.semantics import ir
from leadpolicy.sla.engine import ClockResult, SlaEngine
from leadpolicy.sla.report import SlaReport, Tally, first_period
from leadpolicy.warehouse import sla_run


def build_report_sql(policy: ir.Policy, con: duckdb.DuckDBPyConnection, now: dt.datetime, read: int, rejected: int,
                     date_from: dt.date | None = None, date_to: dt.date | None = None,
                     details: IO[str] | None = None, leads: str | None = None, breaches: int | None = None,
                     open_clocks: bool = True, seen_events: frozenset[str] | set[str] = frozenset(),
                     after_now: int = 0) -> SlaReport:
    """The report of `build_report` from the SQL engine, over the events staged in `con` (see
    `warehouse.sla_files`): tallied in SQL, with only the first `breaches` breaches (None: all) and (with
    `open_clocks`) the open clocks read back. `leads`: the table of the leads' records, for tiers.
    `seen_events`: the event names the log's rows hold; `after_now`: how many used rows are after `now`."""
    report = SlaReport(policy, now, date_from, date_to)
    engine = SlaEngine(policy)
    tally = Tally(report, engine, details)
    out = sla_run.judge(con, policy, now, leads, volumes_from=first_period(engine.tz, date_from))
    epoch = dt.date(1970, 1, 1)
    first_day = (date_from - epoch).days if date_from else None
    last_day = (date_to - epoch).days if date_to else None
    for sla, kind, day, tier, status, count in sla_run.tallies(con, first_day, last_day):
        local = epoch + dt.timedelta(days=int(day))
        report.per_sla[sla].add(status, count)
        report.per_team[tally.owners.get(sla, "")].add(status, count)
        report.per_month[(sla, f"{local.year}-{local.month:02d}")].add(status, count)
        if kind == "clock":
            report.per_tier[(sla, tier)].add(status, count)
    report.breach_total = sum(t.breached for t in report.per_sla.values())
    if breaches != 0:
        report.breach_results = list(sla_run.results(con, policy, first_day, last_day, "breached", breaches))
    if open_clocks:
        report.open_clocks = [report.shown(r) for r in sla_run.results(con, policy, first_day, last_day, "open")
                              if isinstance(r, ClockResult)]  # "open": clocks only
    if tally.writer is not None:
        for result in sla_run.results(con, policy, first_day, last_day, "all"):
            tally.write_detail(result)
    tally.add(out)
    tally.add_volumes(out.volumes)
    tally.write_answers()
    report.read, report.rejected, report.after_now = read, rejected, after_now
    report.absent_events = sorted(engine.sla_event_names() - seen_events)
    return report
