"""`leadpolicy test` says a failing expectation in words, as the terminal and the JUnit report show it: no
Python dict, list, True, False or None (issue 24)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

PYTHON_REPRS = ("{'", "['", "True", "False", "None")

SAMPLES = """\
policy: inbound-activity.policy
now: 2026-11-20T12:00:00-05:00
leads:
  - name: wrong stage route scores and fired
    lead: {email: ana@bigsoft.io, employees: 1200, industry: software, source: webinar}
    events:
      - {event: demo_request, at: 2026-11-18T10:00:00-05:00}
    expect:
      stage: nurture
      route: null
      fit: 5
      tier: C
      fired: {engagement: ["Gone quiet", "Webinar, last 90 days"]}
  - name: wrong route when there is none
    lead: {email: sam@yahoo.com, employees: 5000, industry: software, source: paid_search}
    expect: {route: enterprise-ae}
  - name: wrong invalid fields
    lead: {email: sam@yahoo.com, employees: 5000, industry: software, source: paid_search}
    expect: {invalid: [email]}
timelines:
  - name: wrong at risk and escalation
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: E1, event: became_sql, at: 2026-11-30T09:00:00-05:00}
    expect:
      speed_to_lead: met
      at_risk: {speed_to_lead: no}
      escalation: {speed_to_lead: vp-sales}
  - name: wrong escalation when nobody is escalated
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: E3, event: became_sql, at: 2026-11-25T10:00:00-05:00}
    expect:
      escalation: {speed_to_lead: null}
  - name: wrong recycle and each-time statuses
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: R1, event: handed_off, at: 2026-11-02T10:00:00-05:00}
      - {lead: R1, event: rejected, at: 2026-11-03T10:00:00-05:00, reason: not_now}
      - {lead: R1, event: handed_off, at: 2026-11-23T10:00:00-05:00}
      - {lead: R1, event: accepted, at: 2026-11-27T10:00:00-05:00}
    expect:
      mql_acceptance: [met, met]
      recycle: null
  - name: a recycle expected where there is none
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: R2, event: handed_off, at: 2026-11-23T10:00:00-05:00}
    expect:
      recycle: {stage: nurture, at: 2026-12-03T10:00:00-05:00}
  - name: wrong volume
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: V2, event: became_mql, at: 2026-11-02T10:00:00-05:00}
    expect:
      mql_volume: {2026-10: met, 2026-11: breached}
"""


@pytest.fixture
def samples(tmp_path, monkeypatch):
    shutil.copy(POLICIES / "inbound-activity.policy", tmp_path)
    (tmp_path / "inbound-activity.samples.yaml").write_text(SAMPLES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_failures_are_said_in_words_on_the_terminal_and_in_junit(samples, capsys):
    code = main(["test", "inbound-activity.samples.yaml", "--junit", "report.xml"])
    out = capsys.readouterr().out
    assert code == 1
    tree = ET.parse(samples / "report.xml")
    cases = {c.get("name"): c for c in tree.iter("testcase")}
    failing = {name for name, c in cases.items() if c.find("failure") is not None}
    assert len(failing) == 8, (failing, out)
    messages = " ".join((f.get("message") or "") + " " + (f.text or "") for f in tree.iter("failure"))
    for shown in (out, messages):
        for repr_ in PYTHON_REPRS:
            assert repr_ not in shown, (repr_, shown)
    said = out
    assert "at_risk speed_to_lead: expected no, got yes" in said
    assert "escalation speed_to_lead: expected vp-sales, got nobody" in said
    assert "escalation speed_to_lead: expected nobody, got vp-sales" in said
    assert "route: expected no route, got" in said and "route: expected \"enterprise-ae\", got no route" in said
    assert "recycle: expected none, got nurture at 2026-12-03T10:00:00-05:00" in said
    assert "recycle: expected nurture at 2026-12-03T10:00:00-05:00, got none" in said
    assert "mql_acceptance: expected met, met, got met, breached" in said
    assert "mql_volume 2026-10: expected met, got none" in said
    assert "mql_volume 2026-11: expected breached, got pending" in said
    assert "invalid: expected email, got none" in said
    assert 'fired engagement: expected "Gone quiet", "Webinar, last 90 days", got "Demo request, last 30 days"' \
        in said


def test_the_published_page_still_reads_the_mismatches(samples):
    from leadpolicy.testing.harness import run_samples

    run = run_samples(samples / "inbound-activity.samples.yaml")
    case = next(r for r in run.cases if r.name == "wrong at risk and escalation")
    assert ("at_risk", {"speed_to_lead": False}, {"speed_to_lead": True}) in case.mismatches
