"""`leadpolicy diff OLD NEW --prove` (issue 27, LANGUAGE-v3 "Proofs without a declared guarantee"): every pair
(old stage, new stage) possible with a lead both compiled evaluators decide so, or proved impossible, and the
verdict line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leadpolicy.cli.main import main
from leadpolicy.proofs.moves import moves

from .conftest import POLICIES
from .engines import policy_from_text
from .strategies import NOWS, event_logs, valid_leads
from .test_random_policies import _policy_or_skip, policies

REFERENCE_TEXT = (POLICIES / "inbound-activity.policy").read_text("utf-8")
SQL_BAR = "demo_request in last 30 days and fit >= 40"
RAISED_TEXT = REFERENCE_TEXT.replace(SQL_BAR, "demo_request in last 30 days and fit >= 60")
OLD, NEW = policy_from_text(REFERENCE_TEXT), policy_from_text(RAISED_TEXT)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


def diff(capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["diff", *args])
    return code, capsys.readouterr().out


def decided(policy: Any, witness: dict[str, Any]) -> Any:
    known = {e.name for e in policy.ir.events}
    events = [e for e in witness["events"] if e["event"] in known or not policy.ir.declares_events]
    return policy.evaluate(witness["lead"], witness["now"], events)


def test_a_raised_sql_bar_moves_only_sql_to_mql_with_a_lead_both_versions_decide_so(tmp_path, capsys):
    assert SQL_BAR in REFERENCE_TEXT
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", RAISED_TEXT)
    code, out = diff(capsys, old, new, "--prove", "--format", "json", "--exit-code")
    proved = json.loads(out)["prove"]
    stages = [s.name for s in OLD.ir.stages]
    assert {(m["from"], m["to"]) for m in proved["moves"]} == {(a, b) for a in stages for b in stages}
    possible = {(m["from"], m["to"]) for m in proved["moves"] if m["status"] == "possible"}
    assert possible - {(s, s) for s in stages} == {("sql", "mql")}
    assert {m["status"] for m in proved["moves"]} <= {"possible", "impossible"}
    for move in proved["moves"]:
        if move["status"] == "possible":
            assert decided(OLD, move["witness"]).stage == move["from"]
            assert decided(NEW, move["witness"]).stage == move["to"]
        else:
            assert "witness" not in move
    assert proved["verdict"] == (f"1 possible stage move from {old} to {new}; every possible lead keeps its route "
                                 "(for the same stage) and its tier")
    assert proved["same_decisions"] is False
    assert code == 1  # --exit-code: the versions differ (and a lead moves)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_sampled_lead_moves_in_a_pair_proved_impossible(data):
    """Soundness by sampling: the only move a lead makes under the raised bar is sql -> mql."""
    now = data.draw(NOWS)
    lead = data.draw(valid_leads(OLD))
    events = data.draw(event_logs(OLD, now))
    before, after = OLD.evaluate(lead, now, events).stage, NEW.evaluate(lead, now, events).stage
    assert before == after or (before, after) == ("sql", "mql")


def test_two_identical_policies_give_the_verdict_line(tmp_path, capsys):
    old, new = write(tmp_path, "a.policy", REFERENCE_TEXT), write(tmp_path, "b.policy", REFERENCE_TEXT)
    code, out = diff(capsys, old, new, "--prove", "--exit-code")
    assert f"verdict: {new} decides every possible lead as {old} does" in out.splitlines()[-1]
    assert "possible, e.g." not in out and code == 0
    code, out = diff(capsys, old, new, "--prove", "--format", "json")
    proved = json.loads(out)["prove"]
    assert proved["same_decisions"] is True and proved["verdict"] == f"{new} decides every possible lead as {old} does"
    assert all(m["status"] == "possible" for m in proved["moves"] if m["from"] == m["to"])


def test_the_text_and_markdown_show_each_possible_move_with_a_lead_that_reproduces_it(tmp_path, capsys):
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", RAISED_TEXT)
    _, out = diff(capsys, old, new, "--prove")
    [line] = [line for line in out.splitlines() if "possible, e.g." in line]
    assert line.strip().startswith("sql → mql: possible")
    lead = json.loads(re.search(r"lead (\{.*?\}), events", line)[1])
    now = re.search(r"now (\S+),", line)[1]
    events = [{"event": e, "at": at} for e, at in re.findall(r"(\w+) at (\S+?)(?:,|$)", line.split("events: ")[1])]
    assert OLD.evaluate(lead, now, events).stage == "sql" and NEW.evaluate(lead, now, events).stage == "mql"
    assert any(line.startswith("  impossible (proved): ") and "mql → sql" in line for line in out.splitlines())
    _, md = diff(capsys, old, new, "--prove", "--format", "markdown")
    assert "#### Proved over every possible lead" in md and "- sql → mql: possible" in md


def test_a_field_only_the_new_version_has_is_in_the_witness(tmp_path, capsys):
    with_seats = REFERENCE_TEXT.replace("    employees  number\n", "    employees  number\n    seats      number\n")
    with_seats = with_seats.replace(SQL_BAR, f"{SQL_BAR} and seats >= 5")
    new_policy = policy_from_text(with_seats)
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", with_seats)
    _, out = diff(capsys, old, new, "--prove", "--format", "json")
    [move] = [m for m in json.loads(out)["prove"]["moves"] if (m["from"], m["to"]) == ("sql", "mql")]
    lead = move["witness"]["lead"]
    assert "seats" not in lead or lead["seats"] < 5  # the new version's bar is what keeps it from sql
    assert decided(OLD, move["witness"]).stage == "sql" and decided(new_policy, move["witness"]).stage == "mql"
    [stays] = [m for m in json.loads(out)["prove"]["moves"] if (m["from"], m["to"]) == ("sql", "sql")]
    assert stays["witness"]["lead"]["seats"] >= 5


def test_prove_and_leads_give_both_sections(tmp_path, capsys):
    b2b = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    raised = b2b.replace("demo_requested and fit >= 50", "demo_requested and fit >= 60")
    assert raised != b2b
    old, new = write(tmp_path, "old.policy", b2b), write(tmp_path, "new.policy", raised)
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email,employees,industry,demo_requested\n1,a@x.com,300,software,yes\n", "utf-8")
    code, out = diff(capsys, old, new, "--prove", "--leads", str(leads), "--engine", "python", "--format", "json")
    report = json.loads(out)
    assert report["impact"]["leads"] == 1 and report["prove"]["moves"] and code == 0
    assert ("sql", "mql") in {(m["from"], m["to"]) for m in report["prove"]["moves"] if m["status"] == "possible"}


def test_a_bad_prove_timeout_is_bad_usage(tmp_path, capsys):
    old = write(tmp_path, "old.policy", REFERENCE_TEXT)
    for value in ("soon", "0", "-1"):
        with pytest.raises(SystemExit) as stop:
            main(["diff", old, old, "--prove", "--prove-timeout", value])
        assert stop.value.code == 2, value
        assert "--prove-timeout" in capsys.readouterr().err


def test_a_choice_added_decides_every_lead_both_versions_admit_alike(tmp_path, capsys):
    """A lead holds one value of a field for both versions: "healthcare" is no lead of the old version, so
    scoring it in the new one moves no lead both admit."""
    wider = REFERENCE_TEXT.replace('"retail", "other")', '"retail", "healthcare", "other")')
    wider = wider.replace('industry in ("software", "fintech")', 'industry in ("software", "fintech", "healthcare")')
    assert wider.count("healthcare") == 2
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", wider)
    code, out = diff(capsys, old, new, "--prove", "--format", "json")
    proved = json.loads(out)["prove"]
    assert proved["same_decisions"] is True and proved["verdict"] == f"{new} decides every possible lead as {old} does"


def test_a_field_whose_type_changed_leaves_every_pair_undecided_with_the_reason(tmp_path, capsys):
    typed = REFERENCE_TEXT.replace("    employees  number\n", "    employees  text\n")
    typed = typed.replace("employees >= 200", 'employees = "big"').replace("employees >= 1000", 'employees = "huge"')
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", typed)
    code, out = diff(capsys, old, new, "--prove", "--exit-code")
    [line] = [line for line in out.splitlines() if line.startswith("  undecided: ")]
    assert "(field employees has a different type in each version" in line
    assert "16 pair(s) are undecided" in out.splitlines()[-1] and code == 1  # the changes, not a move
    code, out = diff(capsys, old, new, "--prove", "--format", "json")
    assert {m["status"] for m in json.loads(out)["prove"]["moves"]} == {"unknown"} and code == 0


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_two_generated_policies_no_sampled_lead_moves_in_a_pair_proved_impossible(data):
    """Soundness over generated policies (one lead block, one set of events): every witness moves as said, and no
    sampled lead, history and now moves between two stages the proof calls impossible."""
    activity = data.draw(st.booleans())
    old = _policy_or_skip(data.draw(policies(activity=activity), label="old"))
    new = _policy_or_skip(data.draw(policies(activity=activity), label="new"))
    found = moves(old, new, timeout=60)
    for move in found:
        if move.status == "possible":
            w = move.witness.as_json()
            assert (decided(old, w).stage, decided(new, w).stage) == (move.old, move.new)
    impossible = {(m.old, m.new) for m in found if m.status == "impossible"}
    for _ in range(25):
        now = data.draw(NOWS)
        lead = data.draw(valid_leads(old))
        events = data.draw(event_logs(old, now)) if activity else []
        pair = (old.evaluate(lead, now, events).stage, new.evaluate(lead, now, events).stage)
        assert pair not in impossible, (pair, lead, events, now)


def proved_json(tmp_path: Path, capsys: Any, new_text: str) -> tuple[str, str, dict[str, Any]]:
    old, new = write(tmp_path, "old.policy", REFERENCE_TEXT), write(tmp_path, "new.policy", new_text)
    code, out = diff(capsys, old, new, "--prove", "--format", "json")
    assert code == 0
    return old, new, json.loads(out)["prove"]


def test_a_raised_grade_bar_keeps_every_stage_but_not_the_verdict_of_the_same_decisions(tmp_path, capsys):
    """New user A2: raising tier "B" from 70 to 90 said "decides every possible lead as OLD does"."""
    raised = REFERENCE_TEXT.replace('"B"  when priority >= 70', '"B"  when priority >= 90')
    assert raised != REFERENCE_TEXT
    old, new, proved = proved_json(tmp_path, capsys, raised)
    assert not [m for m in proved["moves"] if m["from"] != m["to"] and m["status"] != "impossible"]
    tier = {g["name"]: g for g in proved["grades"]}["tier"]
    assert tier["status"] == "possible"
    assert decided(OLD, tier["witness"]).grades["tier"] == "B"
    assert decided(policy_from_text(raised), tier["witness"]).grades["tier"] == "C"
    assert proved["routes"]["status"] == "impossible"
    assert proved["same_decisions"] is False
    assert "as" not in proved["verdict"].split()  # not "NEW decides every possible lead as OLD does"
    assert proved["verdict"].startswith("every possible lead keeps its stage and its route")
    assert "its tier can change" in proved["verdict"]


def test_a_raised_route_bar_says_routes_can_change_with_a_lead(tmp_path, capsys):
    raised = REFERENCE_TEXT.replace("employees >= 1000", "employees >= 2000")
    assert raised != REFERENCE_TEXT
    old, new, proved = proved_json(tmp_path, capsys, raised)
    routes = proved["routes"]
    assert routes["status"] == "possible"
    before, after = decided(OLD, routes["witness"]), decided(policy_from_text(raised), routes["witness"])
    assert (before.stage, before.route, after.route) == (after.stage, "enterprise-ae", "inbound-sdr")
    assert {g["name"]: g["status"] for g in proved["grades"]} == {"tier": "impossible"}
    assert proved["same_decisions"] is False
    assert proved["verdict"].startswith("every possible lead keeps its stage and its tier; its route can change")
    code, out = diff(capsys, old, new, "--prove")
    route_line = next(line for line in out.splitlines() if line.strip().startswith("route:"))
    assert "can change" in route_line and '"employees": 1' in route_line
    assert "decides every possible lead as" not in out
    code, out = diff(capsys, old, new, "--prove", "--exit-code")
    assert code == 1  # a route can change


def test_identical_policies_prove_route_and_grades_equal(tmp_path, capsys):
    old, new, proved = proved_json(tmp_path, capsys, REFERENCE_TEXT)
    assert proved["routes"]["status"] == "impossible"
    assert [(g["name"], g["status"]) for g in proved["grades"]] == [("tier", "impossible")]
    assert proved["same_decisions"] is True
    assert proved["verdict"] == f"{new} decides every possible lead as {old} does"


TEAMS_TEXT = (Path(__file__).resolve().parent.parent / "examples" / "inbound-teams.policy").read_text("utf-8")
SALES_FIT = "Sales only receives leads with a fit of 40 or more"


def test_diff_prove_says_each_guarantee_of_new_and_whether_it_held_in_old(tmp_path, capsys):
    """New user A2: diff --prove said nothing of guarantees; a lowered mql fit breaks one that held."""
    lowered = TEAMS_TEXT.replace("mql           when fit >= 40", "mql           when fit >= 20")
    assert lowered != TEAMS_TEXT
    old, new = write(tmp_path, "old.policy", TEAMS_TEXT), write(tmp_path, "new.policy", lowered)
    code, out = diff(capsys, old, new, "--prove", "--format", "json")
    guarantees = {g["name"]: g for g in json.loads(out)["prove"]["guarantees"]}
    assert len(guarantees) == 6
    broken = guarantees[SALES_FIT]
    assert (broken["status"], broken["old_status"]) == ("violated", "proved")
    assert broken["counterexample"]["lead"] and "fit" in broken["example"]
    assert decided(policy_from_text(lowered), broken["counterexample"]).stage == "mql"
    kept = [g for name, g in guarantees.items() if name != SALES_FIT]
    assert {(g["status"], g["old_status"]) for g in kept} == {("proved", "proved")}
    code, out = diff(capsys, old, new, "--prove")
    lines = [line.strip() for line in out.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("guarantee "))
    assert SALES_FIT in lines[first] and "held before, broken now" in lines[first]
    assert "violated" in lines[first] and "e.g." in lines[first]
    code, out = diff(capsys, old, new, "--prove", "--format", "markdown")
    assert "held before, broken now" in out
