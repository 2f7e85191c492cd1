"""The SQL SLA engine against the Python reference over generated SLAs and logs: random calendars (open
hours, holidays, closed dates) in zones with clock changes, DST weeks, each-time clocks, pauses, tiers,
count windows, ties at one instant and events after now."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla.engine import Event, SlaEngine
from leadpolicy.warehouse import sla_files, sla_run

from .test_sla_sql import differences, write_records

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]
# Weeks around clock changes (and one without), as local dates of the first event
WEEKS = [dt.date(2026, 3, 5), dt.date(2026, 3, 26), dt.date(2026, 4, 1), dt.date(2026, 9, 3), dt.date(2026, 10, 22),
         dt.date(2026, 10, 30), dt.date(2026, 6, 10)]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EVENTS = ["start_a", "start_b", "stop_a", "stop_b", "hold", "resume", "touch", "signal"]


@st.composite
def hours(draw) -> str:
    """One or two ranges of a day, HH:MM-HH:MM, any minute, up to 24:00."""
    count = draw(st.integers(1, 2))
    cuts = sorted(draw(st.lists(st.integers(0, 24 * 4), min_size=2 * count, max_size=2 * count, unique=True)))
    ranges = []
    for i in range(count):
        start, end = cuts[2 * i] * 15, cuts[2 * i + 1] * 15
        ranges.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    return ", ".join(ranges)


@st.composite
def calendars(draw, week: dt.date) -> str:
    first, last = draw(st.integers(0, 6)), draw(st.integers(0, 6))
    lines = [f'    timezone "{draw(st.sampled_from(ZONES))}"', f"    open {DAYS[first]}-{DAYS[last]} {draw(hours())}"]
    if draw(st.booleans()):
        lines.append(f"    open {draw(st.sampled_from(DAYS))} {draw(hours())}")
    if draw(st.booleans()):
        lines.append('    holidays "US"')
    for offset in draw(st.lists(st.integers(0, 12), max_size=2, unique=True)):
        lines.append(f"    closed {(week + dt.timedelta(days=offset)).isoformat()}")
    return "  calendar office {\n" + "\n".join(lines) + "\n  }\n"


# Singular units too ("1 hour"): lowering normalises them once, and both engines read the measure of `sla.rules`
LIMITS = st.sampled_from(["45 minutes", "3 hours", "1.5 hours", "2 days", "1 business hours on office",
                          "2.5 business hours on office", "8 business hours on office", "1 business days on office",
                          "3 business days on office", "1 hour", "1 day", "1 business day on office",
                          "1 business hour on office", "90 minute"])


@st.composite
def slas(draw) -> str:
    each = " each time" if draw(st.booleans()) else ""
    starts = " or ".join(draw(st.lists(st.sampled_from(["start_a", "start_b"]), min_size=1, unique=True)))
    stops = " or ".join(draw(st.lists(st.sampled_from(["stop_a", "stop_b"]), min_size=1, unique=True)))
    lines = ["    owner sales", "    target 90%", f"    from {starts}{each} until {stops}"]
    if draw(st.booleans()):
        lines.append(f"    within {draw(LIMITS)} when fit >= 50")
        lines.append(f"    within {draw(LIMITS)} otherwise")
    else:
        lines.append(f"    within {draw(LIMITS)}")
    if draw(st.booleans()):
        lines.append("    paused from hold until resume")
    if draw(st.booleans()):
        lines.append(f"    warn at {draw(st.sampled_from(['50', '75', '33.3']))}%")
        lines.append('    escalate to "manager" at 100%')
        lines.append('    escalate to "vp" at 250%')
    clock = "  sla clock {\n" + "\n".join(lines) + "\n  }\n"
    window = draw(st.sampled_from(["2 days", "30 hours", "1 business days on office", "6 business hours on office",
                                   "1 day", "1 business day on office"]))
    count = (f"  sla follow {{\n    owner sales\n    target 80%\n    at least {draw(st.integers(1, 3))} touch within "
             f"{window} after start_a\n  }}\n")
    return clock + count


def policy_text(calendar: str, sla: str, zone: str) -> str:
    return (f'policy "gen" version 1.0.0 {{\n  title "Generated"\n  owner marketing "M"\n  owner sales "S"\n'
            f'  timezone "{zone}"\n  lead {{\n    email text required\n    employees number\n  }}\n'
            "  events {\n" + "".join(f"    {e}\n" for e in EVENTS) + "  }\n"
            "  score fit {\n    +50 when employees >= 100\n    +50 when signal in last 2 days\n  }\n"
            "  stages {\n    rest otherwise owner marketing\n  }\n" + calendar + sla + "}\n")


@st.composite
def cases(draw):
    week = draw(st.sampled_from(WEEKS))
    zone = draw(st.sampled_from(ZONES))
    text = policy_text(draw(calendars(week)), draw(slas()), zone)
    tz = ZoneInfo(zone)
    origin = dt.datetime.combine(week, dt.time(0), tzinfo=tz)
    instants = st.integers(0, 14 * 24 * 4).map(lambda q: (origin + dt.timedelta(minutes=15 * q)).astimezone(
        dt.timezone.utc))
    events = []
    for lead in draw(st.lists(st.sampled_from(["L1", "L2", "L3", "Ω"]), min_size=1, max_size=3, unique=True)):
        for _ in range(draw(st.integers(1, 10))):
            events.append(Event(lead, draw(st.sampled_from(EVENTS)), draw(instants)))
        if draw(st.booleans()) and events:  # a tie: another event at an instant already used
            events.append(Event(lead, draw(st.sampled_from(EVENTS)), events[-1].at))
    events = [Event(e.lead, e.event, e.at, None, i + 1) for i, e in enumerate(events)]
    now = draw(instants) + dt.timedelta(days=draw(st.sampled_from([0, 1, 20])))
    records = {lead: {"email": "a@b.c", "employees": draw(st.sampled_from([5, 500]))}
               for lead in draw(st.lists(st.sampled_from(["L1", "L2", "Ω"]), unique=True))}
    return text, events, now, records


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_sql_engine_matches_python_on_generated_slas(tmp_path_factory, case):
    text, events, now, records = case
    loaded = load_policy_text(text, "gen.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics if d.severity == "error"]
    policy = lower(loaded.policy)
    python = SlaEngine(policy, records).evaluate(events, now)
    folder = tmp_path_factory.mktemp("leads")
    con = duckdb.connect()
    try:
        sla_run.load_events(con, events, now)
        write_records(folder / "leads.csv", policy, records)
        sla_files.stage_leads(con, policy, folder / "leads.csv", "lead_id")
        sql = sla_run.evaluate(con, policy, now, sla_files.LEADS)
    finally:
        con.close()
    assert differences(python, sql) == {}, text
