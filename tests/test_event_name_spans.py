"""A diagnostic about an event name (or a stage, calendar or team named beside events) puts its place and
caret under the name itself, not under the whole SLA, outcome, recycle, route or score line: FILE:LINE:COL
is where the name starts and the caret is as wide as the name, in every construct that names events."""

from __future__ import annotations

import re

import pytest

from leadpolicy.cli.main import main
from leadpolicy.language.diagnostics import render
from leadpolicy.semantics.loading import load_policy_text

from .conftest import POLICIES

ACTIVITY = (POLICIES / "inbound-activity.policy").read_text("utf-8")
WITHOUT_EVENTS = re.sub(r"\n  events \{.*?\n  \}\n", "\n", ACTIVITY, flags=re.S)
HEAD = re.compile(r"^p\.policy:(\d+):(\d+): ")

DECAY = '  score engagement "Recent activity" {\n    clamp 0 to 100\n'

CASES = [
    # (what, old text, new text, code, the name the caret is under)
    ("sla from", "from became_sql or", "from became_sqk or", "unknown-event", "became_sqk"),
    ("sla from, second", "or became_mql until", "or became_mqk until", "unknown-event", "became_mqk"),
    ("sla until", "until accepted or", "until acepted or", "unknown-event", "acepted"),
    ("sla until, second", "until first_touch", "until handed_off or first_tuch", "unknown-event", "first_tuch"),
    ("pause from", "paused from waiting_on_lead", "paused from waiting_on_led", "unknown-event", "waiting_on_led"),
    ("pause until", "until lead_replied", "until lead_replyed", "unknown-event", "lead_replyed"),
    ("at least N EVENT", "at least 5 touch within", "at least 5 touches within", "unknown-event", "touches"),
    ("count after", "after became_sql\n", "after became_sqk\n", "unknown-event", "became_sqk"),
    ("volume", "at least 300 became_mql per", "at least 300 became_mqk per", "unknown-event", "became_mqk"),
    ("needs reason", "rejected needs reason", "rejectd needs reason", "unknown-event", "rejectd"),
    ("needs reason, not the sla's", "rejected needs reason", "rejectd needs reason", "unknown-name", "rejectd"),
    ("outcome", "won   when closed_won", "won   when closed_wan", "unknown-event", "closed_wan"),
    ("outcome, second", "lost  when closed_lost", "lost  when closed_lost or lost_deal", "unknown-event",
     "lost_deal"),
    ("won and lost", "lost  when closed_lost", "lost  when closed_lost or closed_won", "bad-value", "closed_won"),
    ("clock roles", "paused from waiting_on_lead", "paused from accepted", "bad-value", "accepted"),
    ("recycle event", 'rejected because "not_now"', 'rejectd because "not_now"', "unknown-event", "rejectd"),
    ("recycle stage", "to nurture after", "to nurtur after", "unknown-stage", "nurtur"),
    ("EVENT in last N days", "+15 when webinar_attended in", "+15 when webinar_atended in", "unknown-event",
     "webinar_atended"),
    ("per EVENT in last N days", "per email_click in", "per email_clik in", "unknown-event", "email_clik"),
    ("days since last EVENT", "days since last email_click", "days since last email_clik", "unknown-event",
     "email_clik"),
    ("count EVENT in last N days", "days since last email_click > 60", "count email_clik in last 60 days > 3",
     "unknown-event", "email_clik"),
    ("decay since last EVENT", DECAY, DECAY + "    decay 10% every 30 days since last email_clik\n",
     "unknown-event", "email_clik"),
    # other names in the same constructs
    ("clock calendar", "hours on ny otherwise", "hours on nyc otherwise", "unknown-calendar", "nyc"),
    ("count calendar", "days on ny after", "days on nyc after", "unknown-calendar", "nyc"),
    ("sla owner", 'volume" {\n    owner marketing', 'volume" {\n    owner marketting', "unknown-team",
     "marketting"),
    ("stage owner", "otherwise                                        owner marketing",
     "otherwise                                        owner marketin", "unknown-team", "marketin"),
    ("route stage", "route for mql, sql {", "route for mql, sqll {", "unknown-stage", "sqll"),
]


def _placed(text: str, code: str) -> tuple[int, int, int, str]:
    """(line, column, caret width, the line's text) of the one diagnostic with `code`, as rendered."""
    loaded = load_policy_text(text, "p.policy")
    [diag] = [d for d in loaded.diagnostics if d.code == code]
    head, shown, caret = render(diag, text).split("\n")[:3]
    line, column = map(int, HEAD.match(head).groups())  # type: ignore[union-attr]
    assert caret.strip(" ") == "^" * caret.count("^")
    assert caret.index("^") - 4 == column - 1
    return line, column, caret.count("^"), text.split("\n")[line - 1]


def _starts_at(line: str, name: str) -> int:
    [found] = list(re.finditer(rf"\b{name}\b", line))
    return found.start() + 1


@pytest.mark.parametrize(("what", "old", "new", "code", "name"), CASES, ids=[c[0] for c in CASES])
def test_the_caret_is_under_the_name(what, old, new, code, name):
    assert ACTIVITY.count(old) == 1
    text = ACTIVITY.replace(old, new)
    line, column, width, source = _placed(text, code)
    assert name in source and new.strip().split("\n")[-1] in source
    assert (column, width) == (_starts_at(source, name), len(name))


def test_without_an_events_block_a_stage_spelt_event_is_warned_under_its_name():
    text = WITHOUT_EVENTS.replace("from became_sql or became_mql until", "from became_mql or sql until")
    line, column, width, source = _placed(text, "event-named-like-stage")
    assert source.strip().startswith("from became_mql or sql until")
    assert (column, width) == (_starts_at(source, "sql"), 3)


def test_without_an_events_block_a_second_spelling_is_placed_at_it():
    text = WITHOUT_EVENTS.replace("at least 5 touch within", "at least 5 Email_Click within")
    [diag] = [d for d in load_policy_text(text, "p.policy").diagnostics if d.code == "duplicate-name"]
    second = diag.message.split('"')[1]
    assert {second, diag.message.split('"')[3]} == {"email_click", "Email_Click"}
    line, column, width, source = _placed(text, "duplicate-name")
    assert (column, width) == (_starts_at(source, second), len(second))


def test_check_prints_file_line_and_column_of_the_name(tmp_path, capsys):
    path = tmp_path / "p.policy"
    text = ACTIVITY.replace("won   when closed_won", "won   when closed_wan")
    path.write_text(text, "utf-8")
    assert main(["check", "--allow-untested", str(path)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    line = next(i for i, s in enumerate(text.split("\n"), 1) if "closed_wan" in s)
    column = text.split("\n")[line - 1].index("closed_wan") + 1
    assert first.startswith(f"{path}:{line}:{column}: unknown-event: ")
