"""The assignment engine (issue 28; LANGUAGE-v3.md, "Teams: who gets the lead") against real SQLite and a real
PostgreSQL: the worked example's eleven assignments, availability and its explanations, account owners, round robin,
least loaded today, fallback and hold, a lead id assigned once, the state's migrations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadpolicy.assignment import (
    SCHEMA_VERSION,
    Assigner,
    Availability,
    People,
    StateError,
    open_state,
    read_accounts,
    read_availability,
)
from leadpolicy.assignment.state import State

from .assignment_states import NY, V3, fresh_postgres_url, policy_ir, teams_policy


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request, tmp_path):
    """A fresh state: a SQLite file, or a new database on the suite's throwaway PostgreSQL."""
    where = str(tmp_path / "state.db")
    if request.param == "postgresql":
        where = fresh_postgres_url(request.getfixturevalue("postgres"))
    opened = open_state(where)
    yield opened
    opened.close()

BEN, ANA, CHLOE, DEV = ("Ben Okafor <ben@example.com>", "Ana Ruiz <ana@example.com>",
                        "Chloe Park <chloe@example.com>", "Dev Iyer <dev@example.com>")
ERIN, FEMI = "Erin Stone <erin@example.com>", "Femi Adeyemi <femi@example.com>"
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NY)


def every_ten_minutes(assigner: Assigner, count: int, start: dt.datetime = TUESDAY_10, route: str = "inbound-sdr",
                      prefix: str = "L") -> list:
    return [assigner.assign(f"{prefix}{i}", route, f"buyer{i}@workshop.io", start + dt.timedelta(minutes=10 * i))
            for i in range(count)]


# ---------------------------------------------------------------- the worked example


def test_the_worked_example_gives_the_eleven_assignments_computed_by_hand(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    outcomes = every_ten_minutes(assigner, 11)
    assert [o.assignee for o in outcomes] == [BEN, ANA, CHLOE, BEN, BEN, ANA, CHLOE, BEN, BEN, ANA, BEN]
    assert {o.how for o in outcomes} == {"rotation"}
    assert all("Dev Iyer: weight 0 (paused)" in o.skipped for o in outcomes)
    # Chloe's second lead is the 7th, so from the 8th she has had 2 today (the example's prose counts her from the
    # 9th; the rule, "fewer than the cap", from the 8th: the same members, other values).
    assert [("Chloe Park: cap 2 per day reached" in o.skipped) for o in outcomes] == [False] * 7 + [True] * 4
    # 7: A-1 B2 C3 -> Chloe (C -1). 8: A0 B4 -> Ben (B 1). 9: A1 B3 -> Ben (B 0). 10: A2 B2 -> Ana (A -1).
    # 11: A0 B4 -> Ben (B 1); Chloe keeps her -1
    with state.transaction() as conn:
        assert state.weight_values(conn, "inbound-teams", "inbound-sdr") == {ANA: 0, BEN: 1, CHLOE: -1}
    tomorrow = assigner.assign("next-day", "inbound-sdr", "x@workshop.io", TUESDAY_10 + dt.timedelta(days=1))
    assert not any("Chloe" in why for why in tomorrow.skipped)


def test_dev_at_weight_1_is_outside_his_working_hours_in_san_francisco_until_noon_in_new_york(state):
    text = V3.read_text("utf-8").replace("weight 0  calendar sf", "weight 1  calendar sf")
    assigner = Assigner(policy_ir(text), state)
    early = every_ten_minutes(assigner, 12)  # 10:00 to 11:50 New York: 07:00 to 08:50 in San Francisco
    assert all("Dev Iyer: outside working hours (sf)" in o.skipped for o in early)
    assert DEV not in {o.assignee for o in early}
    noon = [assigner.assign(f"N{i}", "inbound-sdr", "a@b.io", TUESDAY_10.replace(hour=12) + dt.timedelta(minutes=i))
            for i in range(6)]
    assert DEV in {o.assignee for o in noon}
    assert not any("Dev Iyer" in why for o in noon for why in o.skipped)


def test_the_weight_values_survive_reopening_a_sqlite_file(tmp_path):
    policy = policy_ir(V3.read_text("utf-8"))
    path = str(tmp_path / "state.db")
    first = open_state(path)
    got = [o.assignee for o in every_ten_minutes(Assigner(policy, first), 3)]
    first.close()
    again = open_state(path)
    got += [o.assignee for o in every_ten_minutes(Assigner(policy, again), 8, TUESDAY_10 + dt.timedelta(minutes=30),
                                                  prefix="M")]
    again.close()
    assert got == [BEN, ANA, CHLOE, BEN, BEN, ANA, CHLOE, BEN, BEN, ANA, BEN]


# ---------------------------------------------------------------- a lead id is assigned once


def test_a_lead_id_asked_again_gets_the_same_member_and_changes_nothing(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    first = assigner.assign("C1", "inbound-sdr", "one@workshop.io", TUESDAY_10)
    before = state.all_assignments("inbound-teams")
    again = assigner.assign("C1", "inbound-sdr", "one@workshop.io", TUESDAY_10 + dt.timedelta(minutes=5))
    assert (first.assignee, first.how) == (BEN, "rotation")
    assert (again.assignee, again.how, again.at) == (BEN, "already assigned", first.at)
    assert state.all_assignments("inbound-teams") == before
    assert assigner.assign("C2", "inbound-sdr", "two@workshop.io", TUESDAY_10).assignee == ANA


def test_a_route_that_names_no_team_assigns_nobody(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    assert assigner.assign("Q1", "some-queue", "a@b.io", TUESDAY_10) is None
    assert assigner.assign("Q2", None, "a@b.io", TUESDAY_10) is None
    assert state.all_assignments("inbound-teams") == []


# ---------------------------------------------------------------- availability and its explanations


def test_out_of_office_says_until_when_in_the_members_zone(state):
    policy = policy_ir(V3.read_text("utf-8"))
    away, rejects = read_availability([{"member": "Ben Okafor", "from": "2026-12-01T00:00:00-05:00",
                                        "until": "2026-12-08T09:00:00-05:00"}], People(policy), NY)
    assert rejects == []
    outcome = Assigner(policy, state, away).assign("O1", "inbound-sdr", "a@b.io", TUESDAY_10)
    assert "Ben Okafor: out of office until Dec 8 09:00" in outcome.skipped
    assert outcome.assignee == ANA  # A1 C1 (sum 2): a tie, listed first


def test_an_out_of_office_period_ends_at_until(state):
    policy = policy_ir(V3.read_text("utf-8"))
    away = Availability()
    away.add("ben@example.com", TUESDAY_10 - dt.timedelta(hours=1), TUESDAY_10)
    assert Assigner(policy, state, away).assign("O2", "inbound-sdr", "a@b.io", TUESDAY_10).assignee == BEN


def test_a_holiday_of_the_calendar_is_a_day_off(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    christmas = dt.datetime(2026, 12, 25, 11, 0, tzinfo=NY)  # a Friday, a US holiday
    outcome = assigner.assign("H1", "inbound-sdr", "a@late.io", christmas)
    assert (outcome.assignee, outcome.how, outcome.team) == (None, "held", "enterprise-ae")
    assert "Ana Ruiz: a day off (ny)" in outcome.skipped and "Femi Adeyemi: a day off (sf)" in outcome.skipped


def test_run_time_data_names_a_member_by_email_name_or_as_written_and_rejects_an_unknown_one():
    people = People(policy_ir(V3.read_text("utf-8")))
    rows = [{"member": "ANA@example.com", "from": "2026-12-01", "until": "2026-12-02"},
            {"member": "Ben Okafor", "from": "2026-12-01", "until": "2026-12-02"},
            {"member": CHLOE, "from": "2026-12-01", "until": "2026-12-02"},
            {"member": "Chloe Parker", "from": "2026-12-01", "until": "2026-12-02"},
            {"member": "ben@example.com", "from": "2026-12-03", "until": "2026-12-02"},
            {"member": "ben@example.com", "from": "soon", "until": "2026-12-02"},
            {"from": "2026-12-01", "until": "2026-12-02"}]
    away, rejects = read_availability(rows, people, NY)
    assert sorted(away.away) == ["ana@example.com", "ben@example.com", "chloe@example.com"]
    assert [(r.row, r.field) for r in rejects] == [(4, "member"), (5, "until"), (6, "from"), (7, "member")]
    assert "did you mean" in rejects[0].message and "Chloe Park" in rejects[0].message
    assert len(rows) == sum(len(periods) for periods in away.away.values()) + len(rejects)
    owners, bad = read_accounts([{"domain": "@BigCo.com", "owner": "Erin Stone"}, {"domain": "x.io", "owner": "Zed"},
                                 {"domain": "bigco.com", "owner": "ana@example.com"}], people)
    assert owners == {"bigco.com": "erin@example.com"}
    assert [(r.row, r.field) for r in bad] == [(2, "owner"), (3, "domain")]


# ---------------------------------------------------------------- account owners, fallback, hold


def test_an_account_owner_counts_toward_caps_and_does_not_move_the_rotation(state):
    policy = policy_ir(V3.read_text("utf-8"))
    owners, _ = read_accounts([{"domain": "chloeco.com", "owner": "chloe@example.com"}], People(policy))
    assigner = Assigner(policy, state, accounts=owners)
    mine = [assigner.assign(f"A{i}", "inbound-sdr", f"p{i}@ChloeCo.COM", TUESDAY_10 + dt.timedelta(minutes=i))
            for i in range(3)]
    assert [(o.assignee, o.how) for o in mine[:2]] == [(CHLOE, "account owner")] * 2
    assert mine[2].how == "rotation" and mine[2].assignee == BEN  # the rotation starts as if nothing happened
    assert "Chloe Park (account owner of chloeco.com): cap 2 per day reached" in mine[2].skipped
    assert "Chloe Park: cap 2 per day reached" in mine[2].skipped


def test_fallback_then_hold_then_release_when_members_are_back(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    evening = dt.datetime(2026, 12, 2, 18, 30, tzinfo=NY)  # New York closed, 15:30 in San Francisco
    fell = assigner.assign("B7", "inbound-sdr", "t@late.io", evening)
    assert (fell.assignee, fell.how, fell.team) == (FEMI, "fallback", "enterprise-ae")
    assert {"Ana Ruiz: outside working hours (ny)", "Erin Stone: outside working hours (ny)"} <= set(fell.skipped)
    held = assigner.assign("B8", "inbound-sdr", "s@late.io", evening.replace(hour=20))
    assert (held.assignee, held.how, held.team) == (None, "held", "enterprise-ae")
    still = assigner.release_held(evening.replace(hour=21))
    assert [(o.lead_id, o.how) for o in still] == [("B8", "held")]
    morning = assigner.release_held(dt.datetime(2026, 12, 3, 9, 0, tzinfo=NY))
    assert [(o.lead_id, o.assignee, o.how) for o in morning] == [("B8", BEN, "rotation")]
    assert state.held_leads("inbound-teams") == []
    assert assigner.release_held(dt.datetime(2026, 12, 3, 9, 5, tzinfo=NY)) == []


def test_round_robin_with_a_weekly_cap_in_the_members_zone(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    monday = dt.datetime(2026, 12, 7, 13, 0, tzinfo=NY)
    week = every_ten_minutes(assigner, 12, monday, "enterprise-ae")
    assert [o.assignee for o in week] == [ERIN, FEMI] * 5 + [ERIN, ERIN]
    assert "Femi Adeyemi: cap 5 per week reached" in week[11].skipped
    next_week = assigner.assign("R13", "enterprise-ae", "x@bigcorp.com", dt.datetime(2026, 12, 14, 13, 0, tzinfo=NY))
    assert next_week.assignee == FEMI


# ---------------------------------------------------------------- what the reference leaves out


def test_least_loaded_today_takes_the_fewest_then_the_earliest_last_then_listed_order(state):
    assigner = Assigner(policy_ir(teams_policy("least loaded today")), state)
    start = dt.datetime(2027, 3, 2, 10, 0, tzinfo=NY)
    got = [assigner.assign(f"L{i}", "sdr", "a@b.io", start + dt.timedelta(minutes=i)).assignee for i in range(7)]
    assert [name.split()[0] for name in got] == ["Ann", "Bob", "Cal", "Ann", "Bob", "Cal", "Ann"]
    # a new day: everybody has 0; Bob's and Cal's last are earlier than Ann's, Bob's the earliest
    tomorrow = assigner.assign("T1", "sdr", "a@b.io", start + dt.timedelta(days=1))
    assert tomorrow.assignee.startswith("Bob")


def test_least_loaded_today_counts_the_day_in_the_members_zone(state):
    assigner = Assigner(policy_ir(teams_policy("least loaded today")), state)
    late = dt.datetime(2027, 3, 2, 23, 30, tzinfo=NY)  # 04:30 on Wednesday in London, where Cal works
    for i, want in enumerate(["Ann", "Bob", "Cal", "Ann", "Bob", "Cal"]):
        assert assigner.assign(f"E{i}", "sdr", "a@b.io", late + dt.timedelta(minutes=i)).assignee.startswith(want)
    # 00:10 New York on Wednesday: Ann and Bob start a new day; Cal's day in London began at 19:00 New York
    after_midnight = dt.datetime(2027, 3, 3, 0, 10, tzinfo=NY)
    assert assigner.assign("E9", "sdr", "a@b.io", after_midnight).assignee.startswith("Ann")
    assert assigner.assign("E10", "sdr", "a@b.io", after_midnight).assignee.startswith("Bob")
    assert assigner.assign("E11", "sdr", "a@b.io", after_midnight).assignee.startswith("Ann")


def test_a_member_calendar_across_a_dst_change(state):
    """Cal works London hours (09:00-17:00); the team New York's. New York moves its clocks on 14 March 2027,
    London on 28 March: between them London is four hours ahead, not five."""
    assigner = Assigner(policy_ir(teams_policy("round robin", cal_calendar="uk")), state)
    before = dt.datetime(2027, 3, 8, 12, 30, tzinfo=NY)  # 17:30 in London: closed
    between = dt.datetime(2027, 3, 15, 12, 30, tzinfo=NY)  # 16:30 in London: open
    after = dt.datetime(2027, 3, 29, 12, 30, tzinfo=NY)  # 17:30 in London again: closed
    for when in (before, between, after):
        outcomes = [assigner.assign(f"{when:%d}-{i}", "sdr", "a@b.io", when + dt.timedelta(seconds=i))
                    for i in range(3)]
        cal = [o for o in outcomes if o.assignee.startswith("Cal")]
        skipped = [why for o in outcomes for why in o.skipped]
        if when is between:
            assert len(cal) == 1 and skipped == []
        else:
            assert cal == [] and "Cal Ode: outside working hours (uk)" in skipped


# ---------------------------------------------------------------- the state: migrations


def test_a_new_state_is_migrated_to_the_current_schema_and_a_newer_one_is_refused(tmp_path):
    path = str(tmp_path / "state.db")
    state = open_state(path)
    assert state.version() == SCHEMA_VERSION
    state.close()
    engine = sa.create_engine("sqlite:///" + path)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE leadpolicy_schema SET version = :v"), {"v": SCHEMA_VERSION + 1})
    engine.dispose()
    with pytest.raises(StateError, match=rf"version {SCHEMA_VERSION + 1}, newer than this leadpolicy knows"):
        open_state(path)


def test_a_state_that_cannot_be_opened_is_a_state_error(tmp_path):
    with pytest.raises(StateError, match="cannot open the state"):
        open_state(str(tmp_path / "no-such-folder" / "state.db"))
    with pytest.raises(StateError, match="cannot open the state"):
        open_state("nosuchdialect://x")


def test_opening_a_migrated_state_again_changes_nothing(tmp_path):
    path = str(tmp_path / "state.db")
    open_state(path).close()
    again: State = open_state(path)
    assert again.version() == SCHEMA_VERSION
    again.close()


def test_an_instant_without_an_offset_is_in_the_policys_zone(state):
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    naive = assigner.assign("Z1", "inbound-sdr", "a@b.io", dt.datetime(2026, 12, 1, 18, 30))  # 18:30 New York
    assert naive.how == "fallback" and naive.at == dt.datetime(2026, 12, 1, 18, 30, tzinfo=NY)


def test_a_sqlite_file_state_writes_ahead_so_a_commit_does_not_wait_for_the_disk(tmp_path):
    state = open_state(str(tmp_path / "state.db"))
    with state.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    state.close()


def test_a_plain_postgresql_url_is_read_with_psycopg_3():
    from leadpolicy.assignment.state import database_url

    assert database_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("state.db") == "sqlite:///state.db" and database_url(":memory:") == "sqlite://"


# ---------------------------------------------------------------- a held lead decided again, released early


def _held_b8(state) -> tuple[Assigner, dt.datetime]:
    """B8 held at 20:00 on Wednesday evening (New York closed, Femi's San Francisco hours over)."""
    assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
    arrival = dt.datetime(2026, 12, 2, 20, 0, tzinfo=NY)
    assigner.assign("B7", "inbound-sdr", "t@late.io", arrival.replace(hour=18, minute=30))
    assert assigner.assign("B8", "inbound-sdr", "s@late.io", arrival).how == "held"
    return assigner, arrival


@pytest.mark.parametrize("route", [None, "nurture-queue"])
def test_a_held_lead_decided_again_to_no_team_is_held_no_more_and_never_released(state, route):
    assigner, arrival = _held_b8(state)
    assert assigner.assign("B8", route, "s@competitor.com", arrival + dt.timedelta(minutes=30)) is None
    assert state.held_leads("inbound-teams") == []
    assert assigner.release_held(dt.datetime(2026, 12, 3, 9, 0, tzinfo=NY)) == []
    assert state.all_assignments("inbound-teams")[-1].lead_id == "B7"


def test_a_held_lead_decided_again_to_another_team_is_held_for_that_team(state):
    assigner, arrival = _held_b8(state)
    again = assigner.assign("B8", "enterprise-ae", "s@late.io", arrival + dt.timedelta(minutes=30))
    assert (again.how, again.team) == ("held", "enterprise-ae")
    assert [(lead, route) for lead, route, _email, _at in state.held_leads("inbound-teams")] == \
        [("B8", "enterprise-ae")]
    released = assigner.release_held(dt.datetime(2026, 12, 3, 9, 0, tzinfo=NY))
    assert [(o.lead_id, o.team) for o in released] == [("B8", "enterprise-ae")]


def test_a_release_before_a_held_leads_arrival_leaves_it_held(state):
    assigner, arrival = _held_b8(state)
    assert assigner.release_held(arrival - dt.timedelta(hours=10)) == []
    assert [(lead, at) for lead, _route, _email, at in state.held_leads("inbound-teams")] == [("B8", arrival)]


def test_a_held_lead_asked_again_before_its_arrival_is_still_held_and_not_assigned(state):
    assigner, arrival = _held_b8(state)
    earlier = assigner.assign("B8", "inbound-sdr", "s@late.io", arrival - dt.timedelta(hours=10))
    assert (earlier.how, earlier.assignee, earlier.at) == ("held", None, arrival)
    assert [lead for lead, *_rest in state.held_leads("inbound-teams")] == ["B8"]
    assert [s.lead_id for s in state.all_assignments("inbound-teams")] == ["B7"]


def test_check_warns_of_a_team_of_paused_members_only_when_it_falls_back_to_no_team():
    from leadpolicy.semantics.loading import load_policy_text

    paused = teams_policy("by weight", weights=(0, 0, 0))
    assert "team-all-paused" in [d.code for d in load_policy_text(paused).diagnostics]
    one_working = teams_policy("by weight", weights=(0, 1, 0))
    assert "team-all-paused" not in [d.code for d in load_policy_text(one_working).diagnostics]


def test_a_paused_team_that_falls_back_to_another_team_is_not_warned_of():
    from leadpolicy.semantics.loading import load_policy_text

    text = V3.read_text("utf-8")
    sdr = text.replace('member "Ana Ruiz <ana@example.com>"\n', 'member "Ana Ruiz <ana@example.com>" weight 0\n')
    sdr = sdr.replace("weight 2", "weight 0").replace("cap 2 per day", "weight 0 cap 2 per day")
    assert "team-all-paused" not in [d.code for d in load_policy_text(sdr).diagnostics]  # to enterprise-ae
    held = sdr.replace("when nobody is available to enterprise-ae", "when nobody is available hold")
    found = [d for d in load_policy_text(held).diagnostics if d.code == "team-all-paused"]
    assert [d.message.split(":")[0] for d in found] == ["every member of team inbound-sdr has weight 0 (paused)"]


@pytest.mark.parametrize(("until", "said"), [("9800-01-01T00:00:00-05:00", "until Jan 1 9800 00:00"),
                                             ("2027-01-04T09:00:00-05:00", "until Jan 4 2027 09:00"),
                                             ("2026-12-31T09:00:00-05:00", "until Dec 31 09:00")])
def test_an_out_of_office_end_in_another_year_is_said_with_its_year(state, until, said):
    policy = policy_ir(V3.read_text("utf-8"))
    away, rejects = read_availability([{"member": "Ben Okafor", "from": "2026-12-01T00:00:00-05:00",
                                        "until": until}], People(policy), NY)
    assert rejects == []
    outcome = Assigner(policy, state, away).assign("Y1", "inbound-sdr", "a@b.io", TUESDAY_10)
    assert f"Ben Okafor: out of office {said}" in outcome.skipped
