"""The Guarantees section of a published page, as a reader sees it: a violated guarantee's counter-example said in
words (the lead's values, its events by label with dates, the decided values that break the claim), never as a
JSON dump, and each claim in plain words (a score by its name with its title, a negated text match as a verb)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import ROOT

EXAMPLES = ROOT / "examples"
DATE = r"[A-Z][a-z]{2} \d{1,2}, \d{4}"


def guarantee_rows(tmp_path: Path, policy: str, claims: dict[str, str]) -> dict[str, list[str]]:
    """`leadpolicy docs` on an example with `claims` added to its guarantees: name -> [claim, status]."""
    text = (EXAMPLES / policy).read_text("utf-8")
    end = text.rindex("}", 0, text.rindex("}"))
    text = text[:end] + "".join(f'  "{name}": {claim}\n  ' for name, claim in claims.items()) + text[end:]
    (tmp_path / policy).write_text(text, "utf-8")
    assert main(["docs", str(tmp_path / policy), "-o", str(tmp_path / "site")]) == 0
    [page] = (tmp_path / "site" / "docs" / "policies").glob("*.md")
    section = page.read_text("utf-8").split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in section.splitlines()
             if line.startswith("| ") and not line.startswith("| ---")]
    return {row[0]: row[1:] for row in cells[1:]}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    return guarantee_rows(tmp_path_factory.mktemp("page"), "demo.policy", {
        "Clicks": "engagement never decreases with email_click",
        "Good fit demo": 'demo_request in last 30 days and fit >= 40 and not email ends with "@competitor.com" '
                         "implies handoff"})


def test_a_violated_condition_claim_says_its_lead_events_and_decision_in_words(table: dict[str, list[str]]) -> None:
    status = table["Every demo request reaches Sales"][1]
    assert status.startswith("**violated**: for example")
    assert not re.search(r"[{}\[\]]|\\[{\[]|\"event\"|demo\\?_request", status), status  # no JSON, no inner names
    assert 'a lead with email "a"' in status
    assert re.search(rf"“Asked for a demo” on {DATE}", status), status
    assert re.search(rf"on {DATE} at \d\d:\d\d", status), status  # now
    assert "stage nurture" in status and "not handed off" in status


def test_a_violated_pair_says_the_one_more_event_and_the_values_it_changes(table: dict[str, list[str]]) -> None:
    status = table["Clicks"][1]
    assert not re.search(r"[{}\[\]]|\\[{\[]|\"event\"", status), status
    assert re.search(rf"with one more “Clicked a marketing email” on {DATE}", status)
    change = re.search(r"engagement goes from (\d+) to (\d+)", status)
    assert change is not None and int(change.group(2)) < int(change.group(1)), status


def test_a_claim_names_a_score_with_its_title_and_negates_a_text_match_as_a_verb(table: dict[str, list[str]]) -> None:
    assert table["Another pricing page view never lowers priority"][0].startswith(
        "Priority (Fit and engagement together) never goes down with one more")
    assert table["Clicks"][0].startswith("Engagement (Recent activity) never goes down")
    claim = table["Good fit demo"][0]
    assert 'email does not end with "@competitor.com"' in claim and "not email" not in claim



class _Decided:
    stage, owner, route = "nurture", "marketing", None
    scores = {"engagement": 0}
    grades: dict[str, str | None] = {}


def test_a_long_history_is_said_per_event_with_its_count_and_first_and_last_day() -> None:
    from leadpolicy.publish import english

    from .engines import policy_from_text

    policy = policy_from_text((EXAMPLES / "inbound-teams.policy").read_text("utf-8"))
    events = [{"event": "email_click", "at": f"2016-11-{day:02d}T09:30:00-05:00"} for day in range(1, 31)]
    shown = {"now": "2026-11-20T12:00:00-05:00", "lead": {"email": "a", "employees": 200}, "events": events}
    with english.wording({"email_click": "Clicked a marketing email"}):
        said = english.counterexample(policy.ir, shown, [(_Decided(), False)])
    assert said.startswith('on Nov 20, 2026 at 12:00, a lead with email "a" and employees 200 (its other fields')
    assert "“Clicked a marketing email” 30 times from Nov 1, 2016 to Nov 30, 2016" in said
    assert said.endswith("is decided stage nurture (owner marketing), no route, not handed off; engagement 0")
