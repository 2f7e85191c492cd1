"""`compile --sla`: the business calendars are made by the query (a day series, with holidays and the zone's
offset changes as short literal lists), so the query stays small over any --since, and the tables it makes
are row for row those `calendar_tables.expand` makes in Python (the reference)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import leadpolicy
from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy
from leadpolicy.sla import calendar_tables
from leadpolicy.sla.calendars import BusinessCalendar
from leadpolicy.warehouse.sla_calendar import calendar_ctes
from leadpolicy.warehouse.sla_compile import compile_sla
from leadpolicy.warehouse.sla_run import calendar_plan, calendar_rows
from leadpolicy.warehouse.sqlgen import DIALECTS

from .conftest import POLICIES

EXAMPLES = Path("/work/shared/design/examples")
NOW = dt.datetime(2026, 11, 20, 17, tzinfo=dt.timezone.utc)
LIMIT_BYTES = 100_000


def _reference_slas() -> list[tuple[Path, str]]:
    paths = [*sorted(POLICIES.glob("*.policy")),
             *(p for p in sorted(EXAMPLES.glob("*.policy")) if not load_policy(p).has_errors)]
    return [(path, sla.name) for path in paths for sla in leadpolicy.load(path).ir.slas
            if sla.clock is not None or sla.counts]


REFERENCE_SLAS = _reference_slas()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_reference_sla_compiles_to_under_100_kb_with_the_default_since(dialect):
    sizes = {f"{path.name}:{name}": len(compile_sla(leadpolicy.load(path).ir, name, dialect, NOW, "events").encode())
             for path, name in REFERENCE_SLAS}
    assert len(sizes) >= 8
    assert {k: v for k, v in sizes.items() if v >= LIMIT_BYTES} == {}


def test_five_years_of_since_are_as_small_as_one():
    policy = leadpolicy.load(POLICIES / "inbound-activity.policy").ir
    one_year = compile_sla(policy, "speed_to_lead", "bigquery", NOW, "events")
    five = compile_sla(policy, "speed_to_lead", "bigquery", NOW, "events", since=dt.date(2021, 12, 1))
    assert len(five.encode()) < LIMIT_BYTES
    assert len(five) - len(one_year) < 4 * 2_500  # each year: its holidays and clock changes, not its days


def _made_by_sql(policy: ir.Policy, first: dt.datetime, only: ir.Sla | None) -> tuple[set, set]:
    ctes = calendar_ctes(calendar_plan(policy, first, NOW, only))
    con = duckdb.connect()
    tables = []
    for name in ("lp_segments", "lp_open_days"):
        query = exp.select("*").from_(name)
        for cte_name, cte in ctes:
            query = query.with_(cte_name, as_=cte)
        tables.append({tuple(row) for row in con.execute(query.sql("duckdb")).fetchall()})
    return tables[0], tables[1]


@pytest.mark.parametrize("policy_name", ["inbound-activity", "inbound-b2b", "product-led"])
@pytest.mark.parametrize("since", [dt.date(2021, 12, 1), dt.date(2025, 11, 20), dt.date(2026, 11, 19)])
def test_the_calendar_tables_the_query_makes_are_the_references(policy_name, since):
    policy = leadpolicy.load(POLICIES / f"{policy_name}.policy").ir
    first = dt.datetime.combine(since, dt.time(0), tzinfo=dt.timezone.utc)
    for only in [None, *policy.slas]:
        segments, days = calendar_rows(policy, first, NOW, only)
        assert _made_by_sql(policy, first, only) == (set(segments), set(days)), (policy_name, since, only)


def _calendar(name: str, zone: str, hours: dict[int, list[tuple[int, int]]], closed: set[dt.date],
              countries: tuple[str, ...] = ()) -> BusinessCalendar:
    import holidays

    return BusinessCalendar(name, calendar_tables.zones.zone(zone), {d: hours.get(d, []) for d in range(7)},
                            [holidays.country_holidays(c) for c in countries], closed)


# Zones whose clocks change by an hour at 02:00 or at midnight (Santiago, Beirut), by half an hour (Lord Howe),
# south of the equator, and a whole day (Apia skipped 2011-12-30); open hours that end at 24:00 or span it.
ODD_CALENDARS = [
    _calendar("ny", "America/New_York", {d: [(540, 1020)] for d in range(5)}, {dt.date(2026, 12, 24)}, ("US",)),
    _calendar("santiago", "America/Santiago", {d: [(0, 120), (1320, 1440)] for d in range(7)}, set(), ("CL",)),
    _calendar("beirut", "Asia/Beirut", {d: [(0, 1440)] for d in range(6)}, set()),
    _calendar("lord howe", "Australia/Lord_Howe", {d: [(90, 150), (600, 630)] for d in range(7)}, set()),
    _calendar("apia", "Pacific/Apia", {d: [(0, 1440)] for d in range(7)}, set()),
    _calendar("it's", "Europe/Berlin", {0: [(480, 720), (780, 1020)], 5: [(600, 840)]},
              {dt.date(2024, 3, 31), dt.date(2025, 10, 27)}, ("DE",)),
]


@pytest.mark.parametrize("calendar", ODD_CALENDARS, ids=[c.name for c in ODD_CALENDARS])
@pytest.mark.parametrize("buckets", [True, False])
def test_odd_calendars_made_by_the_query_are_the_references(calendar, buckets):
    first, last = (dt.date(2011, 12, 1), dt.date(2012, 2, 1)) if calendar.name == "apia" else (
        dt.date(2023, 12, 30), dt.date(2026, 11, 30))
    segments, days = calendar_tables.expand(calendar, first, last, buckets=buckets)
    ctes = calendar_ctes([(calendar, first, last, buckets)])
    con = duckdb.connect()
    found = []
    for name in ("lp_segments", "lp_open_days"):
        query = exp.select("*").from_(name)
        for cte_name, cte in ctes:
            query = query.with_(cte_name, as_=cte)
        found.append({tuple(row) for row in con.execute(query.sql("duckdb")).fetchall()})
    assert found[0] == {s.row() for s in segments}
    assert found[1] == {d.row() for d in days}


def test_calendar_names_reach_the_query_only_as_literals():
    calendar = ODD_CALENDARS[-1]  # named "it's"
    ctes = calendar_ctes([(calendar, dt.date(2026, 1, 1), dt.date(2026, 2, 1), True)])
    query = exp.select("*").from_("lp_segments")
    for cte_name, cte in ctes:
        query = query.with_(cte_name, as_=cte)
    for dialect in DIALECTS:
        tree = sqlglot.parse_one(query.sql(dialect), read=dialect)
        assert "it's" in {lit.this for lit in tree.find_all(exp.Literal) if lit.is_string}, dialect
        assert all("'" not in ident.name for ident in tree.find_all(exp.Identifier)), dialect
