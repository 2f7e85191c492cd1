"""`leadpolicy diff` lists each rule's change once: a per rule whose points and cap both change is one change."""

from __future__ import annotations

from leadpolicy.governance.diff import changes
from leadpolicy.language.parser import parse_text

from .conftest import POLICIES

RULE = '+10 per pricing_page_view in last 14 days up to 30  "Pricing page views, last 14 days"'


def _changed(old_rule: str, new_rule: str) -> list[tuple[str, str, str | None, str | None]]:
    text = (POLICIES / "inbound-activity.policy").read_text("utf-8")
    assert RULE in text
    old, new = parse_text(text.replace(RULE, old_rule)).policy, parse_text(text.replace(RULE, new_rule)).policy
    assert old is not None and new is not None
    return [(c.kind, c.name, c.old, c.new) for c in changes(old, new)]


def test_a_per_rule_whose_points_and_cap_change_is_one_change():
    found = _changed(RULE, RULE.replace("+10 per", "+15 per").replace("up to 30", "up to 45"))
    assert len(found) == 1
    kind, name, old, new = found[0]
    assert (kind, name) == ("rule", "engagement, Pricing page views, last 14 days")
    assert old is not None and new is not None and "+10" in old and "30" in old and "+15" in new and "45" in new


def test_a_per_rule_whose_points_alone_change_says_its_points():
    found = _changed(RULE, RULE.replace("+10 per", "+15 per"))
    assert len(found) == 1 and "45" not in str(found[0]) and "+15" in str(found[0][3])


def test_a_per_rule_whose_cap_alone_changes_is_one_change_with_its_text():
    found = _changed(RULE, RULE.replace("up to 30", "up to 45"))
    assert len(found) == 1 and "up to 45" in str(found[0][3]) and "up to 30" in str(found[0][2])
