"""A lead's inputs said alike by every reader: explain as score, the API and the service as the CLI, test as
explain (a blank lead id, a number too long, a case's `now` of another kind, `now` as written)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from leadpolicy import api, zones
from leadpolicy.cli.main import main
from leadpolicy.cli.shared import parse_now
from leadpolicy.semantics.now import case_now
from leadpolicy.service import bodies

from .conftest import POLICIES
from .test_serve import TOKEN, Server

ACTIVITY = POLICIES / "inbound-activity.policy"
NOW = "2026-11-20T12:00:00-05:00"
LEAD = {"email": "a@b.io", "employees": 300, "industry": "software", "source": "webinar"}
TOO_LONG = "a number too long: an integer of more than 4,300 digits"
HUGE = "1" + "0" * 5000  # a JSON integer of 5,001 digits


# ---------------------------------------------------------------- F3: a blank lead id in a lead column


def test_explain_refuses_a_blank_lead_in_a_lead_column_as_score_rejects_it(tmp_path, capsys):
    events = tmp_path / "mix.csv"
    events.write_text("lead,event,at\nL1,email_click,2026-11-10T10:00:00-05:00\n"
                      " L1 ,demo_request,2026-11-18T10:00:00-05:00\n,pricing_page_view,2026-11-18T10:00:00-05:00\n")
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email,employees,industry,source\nL1,a@b.io,300,software,webinar\n")
    rejects = tmp_path / "rejects.csv"
    assert main(["score", str(ACTIVITY), str(leads), "--events", str(events), "--now", NOW,
                 "-o", str(tmp_path / "out.csv"), "--events-rejects", str(rejects)]) == 0
    rejected = list(csv.DictReader(rejects.open()))
    assert [(r["row"], r["field"], r["problem"]) for r in rejected] == [("3", "lead", "missing lead id")]
    capsys.readouterr()
    assert main(["explain", str(ACTIVITY), "--lead", json.dumps(LEAD), "--events", str(events), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "lead: missing lead id" in err, err


def test_explain_reads_a_lead_column_of_one_lead_with_blanks_around_it(tmp_path, capsys):
    events = tmp_path / "one.csv"
    events.write_text("lead,event,at\nL1,email_click,2026-11-10T10:00:00-05:00\n"
                      " L1 ,demo_request,2026-11-18T10:00:00-05:00\n")
    assert main(["explain", str(ACTIVITY), "--lead", json.dumps(LEAD), "--events", str(events), "--now", NOW,
                 "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["events"]) == 2


# ---------------------------------------------------------------- F4: an integer past Python's limit


def test_the_api_refuses_an_event_time_too_long_as_a_lead_error_in_the_services_words():
    policy = api.load(ACTIVITY)
    with pytest.raises(api.LeadError) as caught:
        policy.evaluate(LEAD, NOW, [{"event": "email_click", "at": 10**5000}])
    assert any(TOO_LONG in e.message for e in caught.value.errors), caught.value.errors


def test_explain_refuses_an_event_time_too_long_in_the_same_words(capsys):
    events = f'[{{"event": "email_click", "at": {HUGE}}}]'
    assert main(["explain", str(ACTIVITY), "--lead", json.dumps(LEAD), "--events", events, "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert TOO_LONG in err and "int_max_str_digits" not in err, err


def test_explain_says_a_number_too_large_for_a_float_as_written_as_score_does(tmp_path, capsys):
    (tmp_path / "e.jsonl").write_text('{"lead": "L1", "event": "email_click", "at": 1e400}\n')
    (tmp_path / "l.csv").write_text("id,email\nL1,a@b.io\n")
    rejects = tmp_path / "r.csv"
    assert main(["score", str(ACTIVITY), str(tmp_path / "l.csv"), "--events", str(tmp_path / "e.jsonl"), "--now", NOW,
                 "-o", str(tmp_path / "o.csv"), "--events-rejects", str(rejects)]) == 0
    said_by_score = next(csv.DictReader(rejects.open()))["problem"]
    capsys.readouterr()
    events = '[{"event": "email_click", "at": 1e400}]'
    assert main(["explain", str(ACTIVITY), "--lead", json.dumps(LEAD), "--events", events, "--now", NOW]) == 2
    assert capsys.readouterr().err.strip().endswith(f"at: {said_by_score}")


def test_a_case_now_too_long_is_said_in_the_same_words():
    with pytest.raises(ValueError, match=TOO_LONG):
        case_now({"now": 10**5000}, zones.zone("UTC"))


def test_the_service_body_reader_says_the_same_words():
    with pytest.raises(bodies.NotJson, match=TOO_LONG):
        bodies.parse(f'{{"lead": {{"employees": {HUGE}}}}}'.encode())


# ---------------------------------------------------------------- F5: a case's now of another kind


@pytest.mark.parametrize("now", ["true", "{a: 1}", "5", "[1]"])
def test_test_says_a_bad_case_now_in_explains_words(now, tmp_path, capsys):
    lead = "{email: a@b.io, employees: 300, industry: software, source: webinar}"
    (tmp_path / "p.samples.yaml").write_text(
        f"policy: {ACTIVITY}\nleads:\n  - name: c\n    lead: {lead}\n    now: {now}\n    expect: {{engagement: 0}}\n")
    (tmp_path / "case.yaml").write_text(f"lead: {lead}\nnow: {now}\n")
    assert main(["explain", str(ACTIVITY), "--lead", str(tmp_path / "case.yaml")]) == 2
    explained = capsys.readouterr().err.split("now: ", 1)[1].strip()
    assert main(["test", str(tmp_path / "p.samples.yaml")]) == 1
    out = capsys.readouterr()
    assert f"now: {explained}" in out.out + out.err, (explained, out)
    assert "is not of type" not in out.out + out.err


# ---------------------------------------------------------------- F6: the service's now and times as the CLI's


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alike") / "policies"
    folder.mkdir()
    policy = folder / "inbound-activity.policy"
    shutil.copy(ACTIVITY, policy)
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    running = Server(folder, "--token-file", str(folder.parent / "token.txt"))
    yield running
    running.stop()


def _zone() -> str:
    return api.load(ACTIVITY).ir.timezone


def test_the_service_writes_now_as_the_cli_does(server):
    written = "2026-03-08T02:30"  # in New York's skipped hour
    status, out = server.decide("inbound-activity", {"lead": LEAD, "now": written})
    assert status == 200, out
    assert out["now"] == parse_now(written, _zone()).isoformat() == "2026-03-08T02:30:00-05:00"


def test_the_service_says_an_infinite_event_time_as_written(server):
    body = f'{{"lead": {json.dumps(LEAD)}, "now": "{NOW}", "events": [{{"event": "email_click", "at": 1e400}}]}}'
    status, out = server.call("POST", "/v1/policies/inbound-activity/decide", body)
    assert status == 400, out
    messages = [f["message"] for f in out["fields"]]  # type: ignore[index]
    assert any("'1e400' is not an ISO 8601 timestamp" in m for m in messages), messages


def test_the_service_says_a_now_outside_the_years_as_the_cli_does(server):
    written = "9999-01-01T00:00:00"
    with pytest.raises(ValueError) as cli:
        parse_now(written, _zone())
    status, out = server.decide("inbound-activity", {"lead": LEAD, "now": written})
    assert status == 400 and out["error"] == f"now: {cli.value}", out


# ---------------------------------------------------------------- F8: explain says a missing value as none


NO_STAGES = """policy "px" version 1.0.0 {
  title "t"
  timezone "America/New_York"
  owner marketing "m"
  owner sales "s"
  lead {
    email      text required
    employees  number
  }
  score b {
    +2.5 per employees up to 7.5
  }
  grade g from b {
    "A" when b >= 5
  }
}
"""


def test_explain_says_a_grade_that_matched_nothing_and_no_stages_as_none(tmp_path, capsys):
    policy = tmp_path / "px.policy"
    policy.write_text(NO_STAGES)
    assert main(["explain", str(policy), "--lead", '{"email": "a@b.io", "employees": 0.5}', "--now", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    scores = next(line for line in lines if line.startswith("scores:"))
    assert scores.endswith("grades: g none"), scores
    stage = next(line for line in lines if line.startswith("stage"))
    assert "owner )" not in stage and "no stages" in stage, stage


@pytest.mark.parametrize("field", ["email", "employees", "industry"])
def test_the_api_refuses_a_field_too_long_as_a_lead_error_in_the_services_words(field):
    """A lead's field holding a Python int past 4,300 digits (text, number or choice field) is a LeadError naming
    the field in the words every reader uses, never Python's hint to raise the limit."""
    policy = api.load(ACTIVITY)
    with pytest.raises(api.LeadError) as caught:
        policy.evaluate({**LEAD, field: 10**5000}, NOW)
    errors = [(e.field, e.message) for e in caught.value.errors]
    assert errors == [(field, TOO_LONG)], errors
