"""Messages a new user met: each points at the mistake and says what was meant."""

from __future__ import annotations

import pytest

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


# ---------------------------------------------------------------- guarantees (issue 27)

def _with_guarantees(claims: list[str], text: str = ACTIVITY) -> str:
    end = text.rindex("}")
    return text[:end] + "\n  guarantees {\n" + "".join(f"    {claim}\n" for claim in claims) + "  }\n" + text[end:]


# (the claims of a guarantees block added to the v2 reference, code, message, hint, the text the caret is under)
GUARANTEE_MESSAGES = [
    (['"A": fit >= 0', '"A": fit >= 1'], "duplicate-name", 'guarantee "A" is given twice',
     "the first is on line {first}; its results are reported by name: rename one", '"A"'),
    (['"A": fit >= 0', '"a": fit >= 1'], "duplicate-name", 'guarantee "a" differs from "A" only in case',
     "the first is on line {first}; its results are reported by name: rename one", '"a"'),
    (['" ": fit >= 0'], "bad-value", "a guarantee needs a name",
     'say what both teams rely on, as in "Nurture leads wait in no queue": ...', '" "'),
    (['"x": fitt never decreases with employees'], "unknown-name", 'unknown score "fitt"', 'did you mean "fit"?',
     "fitt"),
    (['"x": tier never decreases with employees'], "type-mismatch",
     '"tier" is a grade, not a score: "never decreases" compares a score', "scores: fit, engagement, priority", "tier"),
    (['"x": fit never increases with employes'], "unknown-name", '"employes" is neither a lead field nor an event',
     'did you mean "employees"?', "employes"),
    (['"x": fit never decreases with industry'], "type-mismatch",
     '"never decreases with industry" needs a number, date or timestamp field, but "industry" is text (one of), '
     "which has no larger value",
     "name a number, date or timestamp field, or an event (the second lead has one more)", "industry"),
    (['"x": handoff never lost with email'], "type-mismatch",
     '"handoff never lost with email" needs a number, date or timestamp field, but "email" is text, which has no '
     "larger value", "name a number, date or timestamp field, or an event (the second lead has one more)", "email"),
    (['"x": priority never decreases with engagement'], "type-mismatch",
     '"engagement" is a score: a guarantee compares leads that differ in a lead field or an event',
     "name the field or event it grows with", "engagement"),
    (['"x": fit >= 40 implies stage = sqll'], "unknown-stage", '"sqll" is not a stage of this policy',
     'did you mean "sql"?', "sqll"),
    (['"x": stage in ("mql", "sqll")'], "unknown-stage", '"sqll" is not a stage of this policy',
     'did you mean "sql"?', '"sqll"'),
    (['"x": fit >= 40 implies route = "inbound-sdrr"'], "unknown-label",
     '"inbound-sdrr" is not a route label of this policy', 'did you mean "inbound-sdr"?', '"inbound-sdrr"'),
    (['"x": fit >= 40 implies route = inbound_sdr'], "type-mismatch",
     "a route label is a quoted text, not the name inbound_sdr", 'write route = "inbound_sdr"', "inbound_sdr"),
    (['"x": fit >= 40 implies owner = sale'], "unknown-team", 'team "sale" does not own this policy',
     'did you mean "sales"?', "sale"),
    (['"x": stage < sql'], "type-mismatch", "< compares order, but the decided stage (text) has none",
     "use = or != for text and yes/no", "stage < sql"),
    (['"x": handoff = 5'], "type-mismatch", "the decided handoff (yes/no) compared with a number",
     "a yes/no is a condition by itself: write handoff, or not handoff", "handoff = 5"),
    (['"x": handoff = "yes"'], "type-mismatch", "the decided handoff (yes/no) compared with text",
     "a yes/no is a condition by itself: write handoff, or not handoff", 'handoff = "yes"'),
    (['"x": stage'], "type-mismatch",
     "a bare condition must be a yes/no field, but the decided stage (text) is not",
     "use stage is present, or compare it with =", "stage"),
    (['"x": demo_requst in last 30 days implies stage = sql'], "unknown-event", 'unknown event "demo_requst"',
     'did you mean "demo_request"?', "demo_requst"),
    (['"x": handoff = true'], "unknown-name", 'unknown name "true"',
     "a yes/no value is written yes or no, not true or false; a yes/no is a condition by itself (as handoff, or "
     "not handoff)", "true"),
    (['"x": demo_request implies handoff'], "unknown-name", 'unknown name "demo_request"',
     "demo_request is an event: write demo_request in last N days (as demo_request in last 30 days)",
     "demo_request"),
]


@pytest.mark.parametrize("claims, code, message, hint, at", GUARANTEE_MESSAGES, ids=[r[2] for r in GUARANTEE_MESSAGES])
def test_a_guarantee_mistake_is_named_where_it_stands(claims, code, message, hint, at):
    text = _with_guarantees(claims)
    lines, diags = text.splitlines(), load_policy_text(text, "p.policy").diagnostics
    first = text[:text.index(claims[0])].count("\n") + 1  # where the block's first claim stands
    hint = hint.format(first=first) if hint else hint
    assert [(d.code, d.message, d.hint, _at(lines, d)) for d in diags] == [(code, message, hint, at)]


def test_a_misspelt_decided_name_says_did_you_mean():
    text = _with_guarantees(['"x": stge = sql'])
    lines, diags = text.splitlines(), load_policy_text(text, "p.policy").diagnostics
    assert [(d.code, d.message, d.hint, _at(lines, d)) for d in diags][0] == (
        "unknown-name", 'unknown name "stge"', 'did you mean "stage"?', "stge")


def test_a_field_named_handoff_is_refused_only_where_guarantees_read_the_decided_one():
    named = ACTIVITY.replace("    source     one of", "    handoff    yes/no\n    source     one of")
    assert [d for d in load_policy_text(named, "p.policy").diagnostics if d.is_error] == []
    diags = load_policy_text(_with_guarantees(['"x": handoff'], named), "p.policy").diagnostics
    assert [(d.code, d.message, d.hint) for d in diags] == [
        ("reserved-name", '"handoff" names whether a lead is handed off in a policy with guarantees, so it cannot name '
         'a lead field', 'rename it, for example "handoff_value"')]


def test_a_second_guarantees_block_is_refused():
    text = _with_guarantees(['"x": handoff'], ACTIVITY.replace("  outcomes {", "  guarantees {\n  }\n\n  outcomes {"))
    diags = load_policy_text(text, "p.policy").diagnostics
    assert [(d.code, d.message, d.span.line) for d in diags] == [
        ("duplicate-block", "a second guarantees", text[:text.rindex("  guarantees {")].count("\n") + 1)]


def test_a_claim_on_the_decision_of_a_policy_without_stages_is_refused():
    text = ACTIVITY
    for block in ("  stages {", "  route for", "  recycle {"):
        start = text.index(block)
        text = text[:start] + text[text.index("\n  }\n", start) + 5:]
    text = _with_guarantees(['"x": handoff implies fit >= 40', '"y": handoff never lost with employees',
                             '"z": fit >= 0'], text)
    diags = load_policy_text(text, "p.policy").diagnostics
    assert [(d.code, d.message, d.hint) for d in diags] == [
        ("unknown-name", "the claim reads the decided handoff, but the policy has no stages",
         "add a stages block, ending with: nurture otherwise owner marketing")] * 2


# (what the v2 reference's text is changed from and to, code, message, hint): every error has a hint
HINTED = [
    ("+40 when demo_request in last 30 days ", "bad-value", "an activity window of 99999 days is longer than ten years",
     "an activity window is at most 3650 days", "+40 when demo_request in last 99999 days "),
    ("+40 when employees >= 200 ", "bad-value", "2026-02-30 is not a real date",
     "write a date as YYYY-MM-DD, a day the calendar has", '+40 when employees >= 200 and 2026-01-01 > 2026-02-30 '),
    ("+40 when employees >= 200 ", "bad-value",
     "1000000000000 is out of range: numbers in a policy have at most 9 digits before the point and 9 after",
     "a policy's numbers are at most 999999999.999999999 (and as small as -999999999.999999999)",
     "+40 when employees >= 1000000000000 "),
    ('    "inbound-sdr"    otherwise\n', "no-route-otherwise", "route for mql, sql has no otherwise",
     'end with an entry like: "inbound-sdr" otherwise (a lead no entry matches gets no queue)', ""),
]


@pytest.mark.parametrize("old, code, message, hint, new", HINTED, ids=[r[2] for r in HINTED])
def test_every_error_and_warning_of_a_value_has_a_hint(old, code, message, hint, new):
    _, diags = _diagnostics(ACTIVITY, old, new)
    assert [(d.code, d.message, d.hint) for d in diags if d.code == code] == [(code, message, hint)]


# (a claim added to the v2 reference, the hint its syntax error gives, the text the caret is under): a route
# label or a stage written bare where the grammar cannot read it says the form that is meant
BARE_WORDS = [
    ('"x": route = inbound-sdr implies handoff', 'a route label is a quoted text: write route = "inbound-sdr"', "-"),
    ('"x": route != enterprise-ae implies handoff',
     'a route label is a quoted text: write route != "enterprise-ae"', "-"),
    ('"x": stage in (mql, sql) implies fit >= 40',
     'a list after in holds quoted texts: write stage in ("mql", "sql"), or stage = mql or stage = sql', "mql"),
    ('"x": route in ("inbound-sdr", enterprise-ae) implies handoff',
     'a list after in holds quoted texts: write route in ("inbound-sdr", "enterprise-ae")', "enterprise"),
]


@pytest.mark.parametrize("claim, hint, caret", BARE_WORDS, ids=[row[0] for row in BARE_WORDS])
def test_a_bare_label_or_stage_list_hints_the_form_meant(claim, hint, caret):
    text = _with_guarantees([claim])
    lines = text.splitlines()
    [diag] = load_policy_text(text, "p.policy").diagnostics
    assert (diag.code, diag.hint, _at(lines, diag)) == ("syntax-error", hint, caret)
