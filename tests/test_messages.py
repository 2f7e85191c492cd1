"""Messages a new user met: each points at the mistake and says what was meant."""

from __future__ import annotations

from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

ACTIVITY = (POLICIES / "inbound-activity.policy").read_text("utf-8")
B2B = (POLICIES / "inbound-b2b.policy").read_text("utf-8")


def _diagnostics(text: str, old: str, new: str):
    assert old in text
    changed = text.replace(old, new)
    return changed.splitlines(), load_policy_text(changed, "p.policy").diagnostics


def _at(lines: list[str], diag) -> str:
    """The text the diagnostic's span covers."""
    return lines[diag.span.line - 1][diag.span.column - 1:diag.span.end_column - 1]


def test_a_misspelt_business_says_did_you_mean_business():
    lines, diags = _diagnostics(ACTIVITY, "within 4 business hours on ny otherwise",
                                "within 4 bussiness hours on ny otherwise")
    [diag] = diags
    assert (diag.code, diag.message) == ("syntax-error", '"bussiness hours" is not a unit of time')
    assert _at(lines, diag) == "bussiness"
    assert diag.hint == 'did you mean "business"? for example: within 4 business hours on CALENDAR'


def test_a_misspelt_business_in_a_count_rule_too():
    lines, diags = _diagnostics(ACTIVITY, "within 5 business days on ny after", "within 5 busines days on ny after")
    assert [(d.code, _at(lines, d)) for d in diags] == [("syntax-error", "busines")]
    assert 'did you mean "business"?' in (diags[0].hint or "")


def test_a_target_without_percent_points_at_the_number():
    lines, diags = _diagnostics(ACTIVITY, "    target 90%\n    warn at 75%", "    target 90\n    warn at 75%")
    [diag] = diags
    assert (diag.code, diag.message, diag.hint) == ("syntax-error", "90 needs a % sign here", "write 90%")
    assert _at(lines, diag) == "90" and lines[diag.span.line - 1].strip() == "target 90"


def test_a_warn_at_without_percent_points_at_the_number():
    lines, diags = _diagnostics(ACTIVITY, "warn at 75%", "warn at 75")
    [diag] = diags
    assert _at(lines, diag) == "75" and (diag.message, diag.hint) == ("75 needs a % sign here", "write 75%")


def test_days_since_an_event_without_last_hints_last():
    lines, diags = _diagnostics(ACTIVITY, "days since last email_click", "days since email_click")
    [diag] = diags
    assert (diag.code, diag.message) == ("unknown-name", 'unknown lead field "email_click"')
    assert diag.hint == "email_click is an event: write days since last email_click"


def test_days_since_an_event_of_a_policy_without_events_block_hints_last():
    text = ACTIVITY.split("  events {")[0] + "  score" + ACTIVITY.split("  events {", 1)[1].split("  score", 1)[1]
    lines, diags = _diagnostics(text, "days since last email_click", "days since email_click")
    assert [d.hint for d in diags if d.code == "unknown-name"] == [
        "email_click is an event: write days since last email_click"]


def test_decay_since_an_event_without_last_hints_since_last():
    lines, diags = _diagnostics(ACTIVITY, "    clamp 0 to 100\n    +5  per email_click",
                                "    clamp 0 to 100\n    decay 10% every 30 days since webinar_attended\n"
                                "    +5  per email_click")
    assert [(d.code, d.hint) for d in diags] == [
        ("unknown-name", "webinar_attended is an event: write since last webinar_attended")]


def test_since_a_misspelt_field_still_says_did_you_mean():
    lines, diags = _diagnostics(B2B, "since last_activity", "since last_activty")
    assert [(d.code, d.hint) for d in diags] == [("unknown-name", 'did you mean "last_activity"?')]
