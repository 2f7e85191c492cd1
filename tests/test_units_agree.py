"""A unit agrees with its number in every sentence leadpolicy writes: `1 day` / `2 days`, `up to 1 point` /
`up to 2 points`, through explain's text, the published page's rules table, the diff and the version bump's
reasons."""

from __future__ import annotations

import json
import re

import pytest

from leadpolicy.cli.main import main
from leadpolicy.governance.approvals import required_bump
from leadpolicy.governance.diff import changes
from leadpolicy.publish.site import render_site
from leadpolicy.semantics.loading import load_policy_text

from .conftest import FIXTURES, POLICIES

REFERENCE = (POLICIES / "inbound-activity.policy").read_text("utf-8")
QUANTITY = re.compile(r"\b(\d+(?:\.\d+)?) (point|day|business day|business hour)(s?)\b")
NOW = "2026-11-20T12:00:00-05:00"


def _policy(n: int) -> str:
    """The reference with a window, a cap, a recycle delay and an SLA's count window of n."""
    edits = {"+5  per email_click in last 30 days up to 20": f"+5  per email_click in last {n} days up to {n}",
             "webinar_attended in last 90 days": f"webinar_attended in last {n} days",
             "to nurture after 30 days": f"to nurture after {n} days",
             "at least 5 touch within 5 business days": f"at least 5 touch within {n} business days",
             "within 1 business hours on ny when": f"within {n} business hours on ny when"}
    text = REFERENCE
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _agrees(text: str, n: int) -> None:
    """Every count in the text agrees with its number, and the number n is said with its unit."""
    found = QUANTITY.findall(text)
    assert all((plural == "s") == (amount != "1") for amount, _, plural in found), found
    assert any(amount == str(n) for amount, _, _ in found), found


@pytest.mark.parametrize("n", [1, 2])
def test_explain_says_a_window_and_a_cap_with_their_number(tmp_path, capsys, n):
    path = tmp_path / "p.policy"
    path.write_text(_policy(n))
    lead = {"email": "a@b.io", "employees": 300, "industry": "software", "source": "webinar"}
    events = [{"event": "email_click", "at": "2026-11-20T10:00:00-05:00"},
              {"event": "email_click", "at": "2026-11-20T11:00:00-05:00"},
              {"event": "webinar_attended", "at": "2026-11-10T12:00:00-05:00"}]
    code = main(["explain", str(path), "--lead", json.dumps(lead), "--events", json.dumps(events), "--now", NOW])
    out = capsys.readouterr().out
    assert code == 0, out
    said = [line for line in out.splitlines() if f"in the last {n} day" in line]
    assert len(said) >= 2, out  # the per rule's count and the webinar not seen in its window
    _agrees("\n".join(said), n)


@pytest.mark.parametrize("n", [1, 2])
def test_the_published_rules_table_says_a_cap_and_a_window_with_their_number(tmp_path, n):
    path = tmp_path / "p.policy"
    path.write_text(_policy(n))
    pages, diags = render_site([str(path)], tmp_path / "site")
    assert not diags, diags
    page = pages[0].read_text("utf-8")
    before_source = page[:page.index("## Source")]  # the source is as written
    rules = [line for line in before_source.splitlines() if "email click" in line.lower() and "up to" in line]
    assert rules, before_source
    _agrees("\n".join(rules), n)
    assert f"up to {n} point" + ("" if n == 1 else "s") in "\n".join(rules), rules


@pytest.mark.parametrize("n", [1, 2])
def test_the_diff_says_a_recycle_delay_with_its_number(n):
    old = load_policy_text(REFERENCE).policy
    new = load_policy_text(_policy(n)).policy
    recycled = [c.text for c in changes(old, new) if "recycle" in c.kind or "nurture after" in c.text]
    assert recycled, [c.text for c in changes(old, new)]
    _agrees("\n".join(recycled), n)


@pytest.mark.parametrize("n", [1, 2])
def test_the_version_bump_says_a_shorter_window_and_limit_with_their_number(n):
    longer = REFERENCE.replace("within 1 business hours on ny when", "within 5 business hours on ny when")
    bump, reasons = required_bump(load_policy_text(longer).policy, load_policy_text(_policy(n)).policy)
    assert bump == "major", reasons
    window = [r for r in reasons if "follow_up" in r and "window" in r]
    limit = [r for r in reasons if "speed_to_lead" in r and "within" in r]
    assert window and limit, reasons
    _agrees("\n".join(window + limit), n)
    assert f"{n} business day" + ("" if n == 1 else "s") in window[0], window
    assert f"{n} business hour" + ("" if n == 1 else "s") in limit[0], limit



@pytest.mark.parametrize("n", [1, 2])
def test_the_diff_says_its_impact_on_one_lead_and_on_two(tmp_path, capsys, n):
    old, new = tmp_path / "old.policy", tmp_path / "new.policy"
    old.write_text(REFERENCE)
    new.write_text(REFERENCE.replace("+40 when employees >= 200", "+45 when employees >= 200"))
    leads = tmp_path / "leads.csv"
    emails = [f"{i}@big.io" for i in range(n)]
    leads.write_text("email,employees,industry,source\n" + "".join(f"{e},300,software,webinar\n" for e in emails))
    events = tmp_path / "events.csv"
    events.write_text("lead,event,at\n" + "".join(f"{e},email_click,2026-11-19T10:00:00Z\n" for e in emails))
    code = main(["diff", str(old), str(new), "--leads", str(leads), "--events", str(events), "--id-column", "email",
                 "--now", NOW])
    out = capsys.readouterr().out
    assert code == 0, out
    impact = [line for line in out.splitlines() if line.startswith("impact on")]
    assert impact == [f"impact on {n} lead" + ("" if n == 1 else "s")], out


@pytest.mark.parametrize("n", [1, 2])
def test_coverage_says_a_window_edge_with_its_number(tmp_path, capsys, n):
    (tmp_path / "p.policy").write_text(_policy(n))
    samples = tmp_path / "p.samples.yaml"
    samples.write_text("policy: p.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n  - name: one lead\n"
                       "    lead: {email: a@b.io, employees: 10, industry: other, source: organic}\n"
                       "    expect: {stage: nurture}\n")
    main(["test", str(samples), "--coverage"])
    edges = [line for line in capsys.readouterr().out.splitlines() if "before now" in line]
    assert edges, edges
    _agrees("\n".join(edges), n)


@pytest.mark.parametrize("n", [1, 2])
def test_feedback_says_its_leads_with_their_number(tmp_path, capsys, monkeypatch, n):
    monkeypatch.chdir(tmp_path)
    leads = [(str(i), f"{i}@bigsoft.io", 1500, "software", "webinar") for i in range(n)]
    events = [(str(i), "closed_won", "2026-11-20T10:00:00-05:00") for i in range(n)]
    (tmp_path / "leads.csv").write_text("id,email,employees,industry,source\n"
                                        + "".join(",".join(map(str, row)) + "\n" for row in leads))
    (tmp_path / "events.csv").write_text("lead,event,at\n" + "".join(",".join(row) + "\n" for row in events))
    assert main(["feedback", str(POLICIES / "inbound-activity.policy"), "--leads", "leads.csv", "--events",
                 "events.csv", "--as-of", "2026-11-01T00:00:00-04:00", "--now", "2026-11-30T12:00:00-05:00"]) == 0
    out = capsys.readouterr().out
    overall = [line for line in out.splitlines() if "handed off to" in line and line.startswith(str(n))]
    assert overall and overall[0].startswith(f"{n} lead" + (", " if n == 1 else "s, ")), out


@pytest.mark.parametrize("n", [1, 2])
def test_a_backtest_verdict_says_its_leads_with_their_number(tmp_path, capsys, monkeypatch, n):
    monkeypatch.chdir(tmp_path)
    none = REFERENCE.replace("demo_request in last 30 days and fit >= 40", "demo_request in last 30 days and fit >= 999"
                             ).replace("fit >= 40 and engagement >= 30", "fit >= 999 and engagement >= 30")
    (tmp_path / "none.policy").write_text(none)
    (tmp_path / "some.policy").write_text(REFERENCE.replace("version 3.0.0", "version 3.1.0"))
    (tmp_path / "leads.csv").write_text("id,email,employees,industry,source\n"
                                        + "".join(f"{i},{i}@bigsoft.io,1500,software,webinar\n" for i in range(n)))
    (tmp_path / "events.csv").write_text("lead,event,at\n" + "".join(
        f"{i},demo_request,2026-10-25T10:00:00-04:00\n{i},closed_won,2026-11-20T10:00:00-05:00\n" for i in range(n)))
    assert main(["backtest", "none.policy", "some.policy", "--leads", "leads.csv", "--events", "events.csv",
                 "--as-of", "2026-11-01T00:00:00-04:00", "--now", "2026-11-30T12:00:00-05:00",
                 "--format", "json"]) == 0
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict.startswith(f"3.1.0 hands {n} lead" + (" " if n == 1 else "s ") + "(none before)"), verdict


@pytest.mark.parametrize("only,errors", [("typo", "1 error"), ("", "3 errors")])
def test_the_samples_summary_says_its_errors_with_their_number(capsys, only, errors):
    samples = FIXTURES / "samples" / "wrong.samples.yaml"
    assert main(["test", str(samples), *(["-k", only] if only else [])]) == 1
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(r"\d+ passed, \d+ failed, (\d+ errors?) in ", summary).group(1) == errors, summary
