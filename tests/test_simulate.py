"""`leadpolicy simulate` (issue 28): the worked example's stream on a throwaway state, its shares against the weights'
in JSON (parsed), held leads and the longest hold, the Markdown's Mermaid charts, and nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import shutil

import pytest

from leadpolicy.cli.main import main

from .assignment_states import NY, V3
from .test_assign_cli import ANA, BEN, CHLOE, TUESDAY_10, sql_lead, worked_stream, write_files

SIMULATE = ("simulate", "policy/teams.policy", "leads.csv", "--at-column", "created_at", "--id-column", "id",
            "--events", "events.csv")


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder of data with the v3 reference in a folder of its own."""
    (tmp_path / "policy").mkdir()
    shutil.copy(V3, tmp_path / "policy" / "teams.policy")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def simulate(capsys, *more: str) -> tuple[int, str, str]:
    code = main([*SIMULATE, *more])
    out = capsys.readouterr()
    return code, out.out, out.err


def as_json(capsys, *more: str) -> dict:
    code, out, err = simulate(capsys, "--format", "json", *more)
    assert code == 0, out + err
    return json.loads(out)


def members(report: dict, team: str) -> dict[str, dict]:
    found = next(t for t in report["teams"] if t["team"] == team)
    return {m["member"]: m for m in found["members"]}


def test_the_worked_example_s_shares_against_the_weights(work, capsys):
    write_files(worked_stream())
    report = as_json(capsys)
    assert report["leads"] == {"read": 11, "assigned": 11, "held": 0, "not_routed": 0, "rejected": 0, "released": 0,
                               "still_held": 0}
    sdr = members(report, "inbound-sdr")
    # Ben, Ana, Chloe, Ben, Ben, Ana, Chloe, Ben, Ben, Ana, Ben: 6, 3, 2 of 11; weights 2, 1, 1 of 4 (Dev paused)
    assert {m: (v["assigned"], v["share"], v["weight_share"]) for m, v in sdr.items() if v["weight"]} == {
        BEN: (6, round(6 / 11, 4), 0.5), ANA: (3, round(3 / 11, 4), 0.25), CHLOE: (2, round(2 / 11, 4), 0.25)}
    assert sdr[CHLOE]["cap_hits"] == 4 and sdr[CHLOE]["cap"] == "2 per day"  # leads 8 to 11 skip her
    assert sdr["Dev Iyer <dev@example.com>"]["assigned"] == 0
    assert sum(h["assigned"] for h in report["per_hour"]) == 11
    assert {h["hour"]: h["assigned"] for h in report["per_hour"] if h["assigned"]} == {"10": 6, "11": 5}
    assert report["per_day"] == [{"day": "2026-12-01", "assigned": 11, "held": 0}]


def test_with_everybody_available_by_weight_shares_are_exact(work, capsys):
    # Dev at weight 1 on New York hours, no cap: weights 1, 2, 1, 1; 20 leads from 12:00 (all at work): 4, 8, 4, 4
    policy = work / "policy" / "teams.policy"
    text = policy.read_text("utf-8").replace("weight 0  calendar sf", "weight 1").replace("  cap 2 per day", "")
    policy.write_text(text, "utf-8")
    write_files([sql_lead(f"L{i:02d}", TUESDAY_10.replace(hour=12) + dt.timedelta(minutes=5 * i))
                 for i in range(20)])
    sdr = members(as_json(capsys), "inbound-sdr")
    assert {m: v["assigned"] for m, v in sdr.items()} == {ANA: 4, BEN: 8, CHLOE: 4, "Dev Iyer <dev@example.com>": 4}
    assert {v["share"] - v["weight_share"] for v in sdr.values()} == {0.0}


def test_held_leads_are_released_as_members_come_to_work_and_the_longest_hold_is_said(work, capsys):
    at_night = [sql_lead(f"N{i}", dt.datetime(2026, 12, 1, 8, 0, tzinfo=NY) + dt.timedelta(minutes=10 * i),
                         employees=5000) for i in range(3)]  # enterprise-ae opens at 09:00 New York: held
    later = sql_lead("DAY", dt.datetime(2026, 12, 1, 9, 30, tzinfo=NY), employees=5000)
    write_files([*at_night, later])
    report = as_json(capsys)
    assert report["leads"]["held"] == 3 and report["leads"]["released"] == 3 and report["leads"]["still_held"] == 0
    ae = next(t for t in report["teams"] if t["team"] == "enterprise-ae")
    assert ae["held"] == 3 and ae["assigned"] == 4
    assert ae["longest_hold_minutes"] == 90.0  # N0 held at 08:00, released when DAY arrives at 09:30
    assert members(report, "enterprise-ae")["Erin Stone <erin@example.com>"]["outside_hours"] == 3


def test_a_lead_still_held_at_the_end_counts_its_hold_to_the_last_arrival(work, capsys):
    write_files([sql_lead("N0", dt.datetime(2026, 12, 1, 1, 0, tzinfo=NY), employees=5000),
                 sql_lead("N1", dt.datetime(2026, 12, 1, 3, 30, tzinfo=NY), employees=5000)])
    report = as_json(capsys)
    ae = next(t for t in report["teams"] if t["team"] == "enterprise-ae")
    assert (ae["held"], ae["still_held"], ae["longest_hold_minutes"]) == (2, 2, 150.0)


def test_markdown_has_a_table_per_team_and_mermaid_charts(work, capsys):
    write_files(worked_stream())
    code, out, err = simulate(capsys, "--format", "markdown")
    assert code == 0, out + err
    assert "## Team inbound-sdr (by weight)" in out
    charts = re.findall(r"```mermaid\n(.*?)```", out, re.S)
    assert len(charts) == 2 and all(c.startswith("xychart-beta\n") for c in charts)
    hours = re.search(r"bar \[(.*?)\]", charts[0])
    assert hours is not None and [int(n) for n in hours.group(1).split(", ")] == [0] * 10 + [6, 5] + [0] * 12
    row = next(line for line in out.splitlines() if line.startswith("| Ben Okafor"))
    cells = [html.unescape(c.strip()) for c in row.strip("|").split("|")]  # the policy's text escaped for Markdown
    assert cells[:5] == ["Ben Okafor <ben@example.com>", "2", "6", "54.5%", "50.0%"]


def test_text_shows_each_member_and_a_bar_per_hour(work, capsys):
    write_files(worked_stream())
    code, out, err = simulate(capsys)
    assert code == 0, out + err
    assert re.search(r"Ben Okafor <ben@example.com>\s+2\s+6\s+54.5%\s+50.0%", out), out
    assert re.search(r"^  10:00 #+ 6$", out, re.M) and re.search(r"^  11:00 #+ 5$", out, re.M), out


def test_simulate_writes_nothing(work, capsys):
    write_files(worked_stream())
    before = sorted(p.name for p in work.iterdir())
    assert simulate(capsys)[0] == 0
    assert sorted(p.name for p in work.iterdir()) == before


@pytest.mark.parametrize(("argv", "says"), [
    (["simulate", "policy/teams.policy", "leads.csv", "--at-column", "created_at", "--events", "events.csv"],
     "--id-column"),
    (["simulate", "policy/teams.policy", "leads.csv", "--at-column", "arrived", "--id-column", "id", "--events",
      "events.csv"], "no column 'arrived'"),
])
def test_bad_usage_is_exit_2(work, capsys, argv, says):
    write_files(worked_stream())
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and says in err, err


def test_the_state_in_memory_gives_the_same_assignments_as_sqlite():
    """simulate's state on Python's dicts against the SQL state: a week of leads to both teams, with account owners,
    an out-of-office week, caps and holds, through the same Simulation (releases included): the same outcomes."""
    import random

    from leadpolicy.assignment import Assigner, People, open_state, read_accounts, read_availability
    from leadpolicy.assignment.memory import MemoryState
    from leadpolicy.assignment.simulation import Simulation

    from .assignment_states import policy_ir

    policy = policy_ir(V3.read_text("utf-8"))
    people = People(policy)
    away, _ = read_availability([{"member": "Ana Ruiz", "from": "2026-12-02T12:00", "until": "2026-12-04T09:00"}],
                                people, NY)
    owners, _ = read_accounts([{"domain": "bigco.com", "owner": "erin@example.com"},
                               {"domain": "shop.io", "owner": "Chloe Park"}], people)
    rng = random.Random(28)
    stream = sorted((TUESDAY_10 + dt.timedelta(minutes=rng.randrange(7 * 24 * 60)), f"L{i}",
                     rng.choice(["inbound-sdr", "enterprise-ae", "queue"]),
                     f"p{i}@" + rng.choice(["bigco.com", "shop.io", "else.dev"])) for i in range(600))

    def outcomes(state) -> tuple[list, list]:
        simulation = Simulation(Assigner(policy, state, away, owners), NY)
        got = [simulation.arrive(lead_id, route, email, at) for at, lead_id, route, email in stream]
        simulation.finish()
        return [o and (o.lead_id, o.team, o.assignee, o.how, o.skipped, o.at) for o in got], simulation.holds

    in_memory, in_sqlite = outcomes(MemoryState()), outcomes(open_state(":memory:"))
    assert in_memory == in_sqlite
    hows = {o[3] for o in in_memory[0] if o}
    assert {"rotation", "account owner", "held", "fallback"} <= hows  # every way was taken


def _with_bad_rows() -> list[dict[str, str]]:
    """Two good leads and three a reader cannot use (an attacker's repro): year 0001, an `at` that is no time, a
    size that is no number."""
    return worked_stream()[:2] + [{**sql_lead("OLD", TUESDAY_10), "created_at": "0001-01-01T10:00:00+00:00"},
                                  {**sql_lead("WHEN", TUESDAY_10), "created_at": "nonsense"},
                                  {**sql_lead("SIZE", TUESDAY_10), "employees": "abc"}]


def test_rejected_rows_are_reported_by_row_and_field_and_their_share_warned(work, capsys):
    write_files(_with_bad_rows())
    code, out, err = simulate(capsys, "--format", "json")
    assert code == 0, out + err  # as score exits for the same rows without --max-rejects
    report = json.loads(out)
    assert report["leads"]["rejected"] == 3 and report["leads"]["assigned"] == 2
    assert {(r["row"], r["field"]) for r in report["rejects"]} == {(3, "created_at"), (4, "created_at"),
                                                                   (5, "employees")}
    said = re.findall(r"leads\.csv: row (\d+): (\w+): ", err)
    assert sorted((int(row), field) for row, field in said) == [(3, "created_at"), (4, "created_at"),
                                                                (5, "employees")]
    assert re.search(r"warning: rejected 3 of 5 rows of leads\.csv \(60%\)", err), err
    assert "--rejects" in err  # how to keep them all


def test_max_rejects_fails_a_simulation_that_rejects_more_rows(work, capsys):
    write_files(_with_bad_rows())
    code, out, err = simulate(capsys, "--format", "json", "--max-rejects", "2")
    assert code == 1 and "3 rejected rows, more than --max-rejects 2" in err, err
    assert json.loads(out)["leads"]["rejected"] == 3  # the report is still given
    assert simulate(capsys, "--max-rejects", "3")[0] == 0


def test_the_rejects_file_holds_every_rejected_row_and_nothing_else_is_written(work, capsys):
    write_files(_with_bad_rows())
    before = sorted(p.name for p in work.iterdir())
    code, out, err = simulate(capsys, "--rejects", "rejected.csv")
    assert code == 0, out + err
    assert sorted(p.name for p in work.iterdir()) == sorted([*before, "rejected.csv"])
    with open("rejected.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(int(r["row"]), r["field"]) for r in rows} == {(3, "created_at"), (4, "created_at"), (5, "employees")}
    assert "3 rejected row(s) written to rejected.csv" in out + err
    code, _out, err = simulate(capsys, "--rejects", "leads.csv")
    assert code == 2 and "same file" in err, err


def test_a_held_lead_decided_again_to_no_team_is_not_released_by_a_later_arrival():
    from leadpolicy.assignment import Assigner
    from leadpolicy.assignment.memory import MemoryState
    from leadpolicy.assignment.simulation import Simulation

    from .assignment_states import policy_ir

    simulation = Simulation(Assigner(policy_ir(V3.read_text("utf-8")), MemoryState()), NY)
    evening = dt.datetime(2026, 12, 2, 18, 30, tzinfo=NY)
    simulation.arrive("B7", "inbound-sdr", "t@late.io", evening)
    assert simulation.arrive("B8", "inbound-sdr", "s@late.io", evening.replace(hour=20)).how == "held"
    assert simulation.arrive("B8", None, "s@competitor.com", evening.replace(hour=21)) is None
    morning = simulation.arrive("M1", "inbound-sdr", "m@shop.io", dt.datetime(2026, 12, 3, 9, 0, tzinfo=NY))
    assert morning.how == "rotation"
    simulation.finish()
    assert "B8" not in [o.lead_id for o in simulation.outcomes if o.how != "held"]
    assert simulation.holds == []


def _assign_counts(capsys) -> dict[str, int]:
    from collections import Counter

    code = main(["assign", "policy/teams.policy", "leads.csv", "--id-column", "id", "--at-column", "created_at",
                 "--events", "events.csv", "--state", "state.db", "-o", "assigned.csv"])
    capsys.readouterr()
    assert code == 0
    with open("assigned.csv", newline="", encoding="utf-8") as handle:
        return dict(Counter(row["assignee"] or "held" for row in csv.DictReader(handle)))


def _simulate_counts(report: dict) -> dict[str, int]:
    found = {m["member"]: m["assigned"] for team in report["teams"] for m in team["members"] if m["assigned"]}
    held = report["leads"]["still_held"]
    return {**found, "held": held} if held else found


def test_without_a_hold_simulate_assigns_as_assign_does_and_with_one_only_simulate_releases_it(work, capsys):
    """docs/cli.md and docs/assignment.md: the same assignments as assign when no lead is held; a held lead is
    tried again by simulate as later leads arrive, by assign only with --release-held."""
    write_files(worked_stream())
    assert _simulate_counts(as_json(capsys)) == _assign_counts(capsys) == {BEN: 6, ANA: 3, CHLOE: 2}
    night = sql_lead("N0", dt.datetime(2026, 12, 1, 8, 0, tzinfo=NY), employees=5000)
    day = sql_lead("DAY", dt.datetime(2026, 12, 1, 9, 30, tzinfo=NY), employees=5000)
    write_files([night, day])
    erin = "Erin Stone <erin@example.com>"
    assert _simulate_counts(as_json(capsys)) == {erin: 2}
    assert _assign_counts(capsys) == {"held": 1, erin: 1}
