"""The SLA terms of language v2 on the engine: each time, pauses, tiers, warn at and escalation."""

from __future__ import annotations

import datetime as dt

from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla.engine import Event, SlaEngine

HEAD = '''policy "v2" version 1.0.0 {
  title "V2"
  owner marketing "M"
  owner sales "S"
  timezone "America/New_York"
  lead {
    email text required
    employees number
  }
  events {
    handed_off
    accepted
    rejected
    waiting
    replied
    demo
  }
  score fit {
    +50 when employees >= 1000
    +50 when demo in last 7 days
  }
  stages {
    rest otherwise owner marketing
  }
  calendar ny {
    timezone "America/New_York"
    open mon-fri 09:00-17:00
  }
'''
NOW = dt.datetime.fromisoformat("2026-11-30T12:00:00-05:00")


def engine(sla: str, records: dict | None = None) -> SlaEngine:
    loaded = load_policy_text(HEAD + sla + "}\n", "v2.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    return SlaEngine(lower(loaded.policy), records)


def ev(name: str, when: str, lead: str = "L") -> Event:
    return Event(lead, name, dt.datetime.fromisoformat(when + "-05:00"))


EACH_TIME = '''  sla acceptance {
    owner sales
    target 90%
    from handed_off each time until accepted or rejected
    within 8 hours
    paused from waiting until replied
  }
'''


def test_each_time_opens_a_clock_only_while_none_is_open_and_judges_each():
    out = engine(EACH_TIME).evaluate([
        ev("handed_off", "2026-11-02T10:00:00"), ev("handed_off", "2026-11-02T12:00:00"),  # ignored: one is open
        ev("accepted", "2026-11-02T17:00:00"),  # 7 h after the first start: met
        ev("rejected", "2026-11-03T09:00:00"),  # no clock open: stops nothing
        ev("handed_off", "2026-11-10T10:00:00"), ev("accepted", "2026-11-10T19:00:00"),  # 9 h: breached
        ev("handed_off", "2026-11-30T09:00:00"),  # still open at now, 3 h in
    ], NOW)
    assert [(c.start.day, c.status) for c in out.in_order("acceptance")] == [(2, "met"), (10, "breached"),
                                                                          (30, "pending")]


def test_a_pause_moves_the_deadline_a_stop_ends_it_and_stray_pauses_are_counted():
    out = engine(EACH_TIME).evaluate([
        ev("replied", "2026-11-02T09:00:00"),  # no clock open: ignored
        ev("handed_off", "2026-11-02T10:00:00"),
        ev("waiting", "2026-11-02T12:00:00"), ev("waiting", "2026-11-02T13:00:00"),  # the second: already paused
        ev("replied", "2026-11-02T16:00:00"),  # 4 h paused: the deadline moves from 18:00 to 22:00
        ev("accepted", "2026-11-02T21:00:00"),
        ev("handed_off", "2026-11-03T10:00:00"), ev("waiting", "2026-11-03T11:00:00"),
        ev("rejected", "2026-11-03T20:00:00"),  # stops the clock while paused: 9 h paused, deadline 03:00
    ], NOW)
    first, second = out.in_order("acceptance")
    assert (first.status, first.deadline.hour, first.paused) == ("met", 22, dt.timedelta(hours=4))
    assert first.used == dt.timedelta(hours=7)
    assert (second.status, second.paused, second.used) == ("met", dt.timedelta(hours=9), dt.timedelta(hours=1))
    assert out.ignored_pauses == {"acceptance": 2}


def test_a_pause_after_the_limit_is_used_changes_nothing_and_a_clock_paused_in_time_is_pending():
    late = engine(EACH_TIME).evaluate([ev("handed_off", "2026-11-02T10:00:00"), ev("waiting", "2026-11-02T19:00:00")],
                                      NOW)
    assert late.clocks[0].status == "breached" and late.clocks[0].paused == dt.timedelta(0)
    waiting = engine(EACH_TIME).evaluate([ev("handed_off", "2026-11-02T10:00:00"),
                                          ev("waiting", "2026-11-02T17:00:00")], NOW)
    assert waiting.clocks[0].status == "pending" and waiting.clocks[0].used == dt.timedelta(hours=7)


BUSINESS_DAYS = '''  sla acceptance {
    owner sales
    target 90%
    from handed_off until accepted
    within 2 business days on ny
    paused from waiting until replied
  }
'''


def test_business_days_move_by_the_open_time_paused():
    out = engine(BUSINESS_DAYS).evaluate([
        ev("handed_off", "2026-11-16T10:00:00"),  # Monday: 2 business days end Wednesday 10:00
        ev("waiting", "2026-11-16T16:00:00"), ev("replied", "2026-11-17T10:00:00"),  # 1 h Monday, 1 h Tuesday
        ev("accepted", "2026-11-18T11:30:00"),
    ], NOW)
    clock = out.clocks[0]
    assert clock.paused == dt.timedelta(hours=2)
    assert clock.deadline == dt.datetime.fromisoformat("2026-11-18T12:00:00-05:00") and clock.status == "met"


TIERED = '''  sla speed {
    owner sales
    target 90%
    from handed_off until accepted
    within 1 hours when fit >= 100
    within 2 hours when fit >= 50
    within 4 hours otherwise
    warn at 50%
    escalate to "manager" at 100%
    escalate to "vp" at 300%
  }
'''


def test_tiers_are_decided_at_the_start_from_the_record_and_the_events_up_to_it():
    records = {"big": {"email": "a@b.io", "employees": 5000}, "small": {"email": "c@d.io", "employees": 5},
               "bad": {"employees": 5000}}  # no email: an invalid record takes otherwise
    events = [ev("demo", "2026-11-02T09:00:00", "big"), ev("handed_off", "2026-11-02T10:00:00", "big"),
              ev("handed_off", "2026-11-02T10:00:00", "small"),
              ev("demo", "2026-11-02T10:30:00", "small"),  # after the start: not part of the tier
              ev("handed_off", "2026-11-02T10:00:00", "bad"), ev("handed_off", "2026-11-02T10:00:00", "nobody")]
    out = engine(TIERED, records).evaluate(events, NOW)
    tiers = {c.lead: (c.tier, c.deadline.hour) for c in out.clocks}
    assert tiers == {"big": ("fit >= 100", 11), "small": ("otherwise", 14), "bad": ("otherwise", 14),
                     "nobody": ("otherwise", 14)}


def test_warn_and_escalation_follow_the_share_of_the_limit_used_by_open_clocks():
    now = dt.datetime.fromisoformat("2026-11-02T13:30:00-05:00")
    out = engine(TIERED).evaluate([
        ev("handed_off", "2026-11-02T12:00:00", "a"),  # 1.5 of 4 h: 37.5%
        ev("handed_off", "2026-11-02T11:00:00", "b"),  # 2.5 of 4 h: at risk
        ev("handed_off", "2026-11-02T09:00:00", "c"),  # 4.5 of 4 h: breached, escalated to the manager
        ev("handed_off", "2026-11-01T13:00:00", "d"),  # 24.5 h: past 300%, the VP
        ev("handed_off", "2026-11-02T05:00:00", "e"), ev("accepted", "2026-11-02T13:00:00", "e"),  # stopped
    ], now)
    state = {c.lead: (c.used_percent, c.at_risk, c.escalated_to) for c in out.clocks}
    assert state == {"a": (37.5, False, None), "b": (62.5, True, None), "c": (112.5, True, "manager"),
                     "d": (612.5, True, "vp"), "e": (None, False, None)}


# ---------------------------------------------------- `leadpolicy sla` over a log: tiers, open clocks, no data

def _log(tmp_path):
    """The v2 reference's timelines as one event log, and the records its tiers need."""
    import csv

    import yaml

    from .conftest import POLICIES

    doc = yaml.safe_load((POLICIES / "inbound-activity.samples.yaml").read_text())
    with open(tmp_path / "events.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at", "reason"])
        for timeline in doc["timelines"]:
            writer.writerows((e["lead"], e["event"], e["at"].isoformat(), e.get("reason", ""))
                             for e in timeline["events"])
    records = {lead: record for t in doc["timelines"] for lead, record in (t.get("leads") or {}).items()}
    with open(tmp_path / "leads.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead_id", "email", "employees", "industry", "source"])
        writer.writerows([lead, *record.values()] for lead, record in records.items())
    return str(POLICIES / "inbound-activity.policy")


def test_the_report_judges_tiers_from_leads_and_counts_every_handoff(tmp_path, capsys):
    import json

    from leadpolicy.cli.main import main

    policy = _log(tmp_path)
    args = ["sla", policy, str(tmp_path / "events.csv"), "--now", NOW.isoformat(), "--format", "json"]
    assert main([*args, "--leads", str(tmp_path / "leads.csv"), "--id-column", "lead_id"]) == 1
    data = json.loads(capsys.readouterr().out)
    tiers = {(t["sla"], t["tier"]): (t["met"], t["breached"], t["pending"]) for t in data["tiers"]}
    assert tiers[("speed_to_lead", 'tier = "A"')] == (1, 1, 0)  # A1 met in 1 hour, A2 late
    assert (data["slas"]["mql_acceptance"]["met"], data["slas"]["mql_acceptance"]["breached"]) == (2, 1)
    assert data["no_data"] == [] and data["failing"]
    # Without the records every lead takes the otherwise tier of 4 hours, so A2's 90 minutes meet it.
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    assert {t["tier"] for t in data["tiers"] if t["sla"] == "speed_to_lead"} == {"otherwise"}


def test_open_lists_the_clocks_open_at_now_most_urgent_first(tmp_path, capsys):
    import json

    from leadpolicy.cli.main import main

    policy = _log(tmp_path)
    assert main(["sla", policy, str(tmp_path / "events.csv"), "--now", NOW.isoformat(), "--open",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["open"]
    by_lead = {r["lead"]: r for r in rows}
    assert [r["deadline"] for r in rows] == sorted(r["deadline"] for r in rows)
    assert (by_lead["E1"]["minutes_left"], by_lead["E1"]["at_risk"], by_lead["E1"]["escalated_to"]) == (60, True, None)
    assert by_lead["E2"]["escalated_to"] == "vp-sales" and by_lead["E2"]["minutes_left"] < 0
    assert by_lead["P2"]["sla"] == "mql_acceptance" and by_lead["P2"]["status"] == "pending"
    assert "A1" not in by_lead  # stopped clocks are not open
    assert main(["sla", policy, str(tmp_path / "events.csv"), "--now", NOW.isoformat(), "--open"]) == 0
    out = capsys.readouterr().out
    assert "6 open clock(s)" in out and "vp-sales" in out


def test_an_empty_log_is_no_data_and_fails_unless_allowed(tmp_path, capsys):
    import json

    from leadpolicy.cli.main import main

    from .conftest import POLICIES

    (tmp_path / "empty.csv").write_text("lead,event,at\n")
    args = ["sla", str(POLICIES / "inbound-activity.policy"), str(tmp_path / "empty.csv"), "--now", NOW.isoformat()]
    assert main(args) == 1
    assert "no data: speed_to_lead, mql_acceptance, follow_up, mql_volume" in capsys.readouterr().out
    assert main([*args, "--allow-empty"]) == 0
    capsys.readouterr()
    assert main([*args, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["no_data"] == ["speed_to_lead", "mql_acceptance", "follow_up", "mql_volume"]


def test_events_that_neither_stop_nor_pause_an_open_each_time_clock_are_not_counted_as_ignored_pauses():
    out = engine(EACH_TIME).evaluate([
        ev("handed_off", "2026-11-02T10:00:00"),
        ev("demo", "2026-11-02T11:00:00"),  # the lead's other activity: no part of this clock
        ev("handed_off", "2026-11-02T12:00:00"),  # a start while open: ignored, but it is no pause either
        ev("accepted", "2026-11-02T13:00:00"),
    ], NOW)
    assert out.clocks[0].status == "met"
    assert out.ignored_pauses == {}


BUSINESS_HOURS_PAUSED = '''  sla acceptance {
    owner sales
    target 90%
    from handed_off until accepted
    within 8 business hours on ny
    paused from waiting until replied
  }
'''


def test_a_pause_in_closed_hours_changes_no_deadline():
    # The limit ends at Monday 17:00, the close; a pause that measures no open time moves it by nothing, so the
    # deadline stays at 17:00 instead of moving on to Tuesday's opening.
    out = engine(BUSINESS_HOURS_PAUSED).evaluate([
        ev("handed_off", "2026-11-16T09:00:00"),
        ev("waiting", "2026-11-16T16:00:00"), ev("replied", "2026-11-16T16:00:00"),
    ], NOW)
    clock = out.clocks[0]
    assert clock.paused == dt.timedelta(0)
    assert clock.deadline == dt.datetime.fromisoformat("2026-11-16T17:00:00-05:00")


def test_an_event_plays_one_part_in_a_clock():
    sla = '''  sla acceptance {
    owner sales
    target 90%
    from handed_off each time until accepted or handed_off
    within 8 hours
    paused from waiting until accepted
  }
'''
    loaded = load_policy_text(HEAD + sla + "}\n", "v2.policy")
    problems = [(d.code, d.message) for d in loaded.diagnostics if d.severity == "error"]
    assert ("bad-value", 'event "handed_off" both starts and stops the clock of sla acceptance') in problems
    assert ("bad-value", 'event "accepted" both stops and resumes the clock of sla acceptance') in problems
    assert len(problems) == 2


def test_times_without_an_offset_are_instants_across_the_autumn_clock_change(tmp_path, capsys):
    """00:30 EDT to 03:45 EST on 1 November is 4 h 15 min of real time, not the 3 h 15 min the wall clock shows."""
    import json

    from leadpolicy.cli.main import main

    policy = tmp_path / "v2.policy"
    policy.write_text(HEAD + EACH_TIME.replace("within 8 hours", "within 4 hours") + "}\n")
    (tmp_path / "events.csv").write_text("lead,event,at\nL,handed_off,2026-11-01T00:30:00\n"
                                         "L,accepted,2026-11-01T03:45:00\n"
                                         "M,handed_off,2026-11-01T00:30:00\n")
    now = "2026-11-01T03:45:00"  # M's clock: 4 h 15 min open at now, so 15 minutes late
    assert main(["sla", str(policy), str(tmp_path / "events.csv"), "--now", now, "--format", "json",
                 "--report-only"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["slas"]["acceptance"]["met"], data["slas"]["acceptance"]["breached"]) == (0, 2)
    assert {b["lead"]: b["late_minutes"] for b in data["breaches"]} == {"L": 15.0, "M": 15.0}


def test_warn_at_is_reached_exactly_where_float_arithmetic_falls_short():
    # 29 of 100 minutes is 29%, but 29/100 * 100 is 28.999999999999996 in floating point.
    sla = EACH_TIME.replace("within 8 hours", "within 100 minutes").replace(
        "    paused from waiting until replied\n", "    warn at 29%\n    escalate to \"manager\" at 29%\n")
    clock = engine(sla).evaluate([ev("handed_off", "2026-11-30T11:31:00")], NOW).clocks[0]
    assert clock.used == dt.timedelta(minutes=29)
    assert clock.at_risk and clock.escalated_to == "manager"
    early = engine(sla).evaluate([ev("handed_off", "2026-11-30T11:31:01")], NOW).clocks[0]
    assert not early.at_risk and early.escalated_to is None
