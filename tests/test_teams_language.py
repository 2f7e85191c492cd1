"""The `team` block (issue 28's first part, LANGUAGE-v3 "Teams: who gets the lead") from its text to the artifact,
the published page and the diff: the parser, every check with its place and hint, the canonical text, the IR,
format 3.3, the page's Teams section, the highlighting and the semantic diff. Assignment itself (`leadpolicy
assign`) is not built yet: nothing here assigns a lead."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygments.token import Keyword, Name, Text

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.governance.diff import changes
from leadpolicy.language import ast
from leadpolicy.language.formatter import format_policy
from leadpolicy.language.parser import parse_text
from leadpolicy.publish.pygments_lexer import PolicyLexer
from leadpolicy.publish.site import render_site
from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy, load_policy_text

from .conftest import POLICIES
from .engines import policy_from_text

ACTIVITY = (POLICIES / "inbound-activity.policy").read_text("utf-8")
V3_REFERENCE = Path("/work/shared/design/examples/inbound-teams.policy")

# The v3 reference's calendar and teams, the calendar in LANGUAGE-v3's one-line form.
TEAMS = '''  calendar sf { timezone "America/Los_Angeles"  open mon-fri 09:00-17:00  holidays "US" }

  team inbound-sdr "Inbound SDRs" {
    calendar ny
    assign by weight
    member "Ana Ruiz <ana@example.com>"
    member "Ben Okafor <ben@example.com>"    weight 2
    member "Chloe Park <chloe@example.com>"  cap 2 per day
    member "Dev Iyer <dev@example.com>"      weight 0  calendar sf   # paused; works San Francisco hours
    match accounts by email domain
    when nobody is available to enterprise-ae
  }

  team enterprise-ae "Enterprise AEs" {
    calendar ny
    assign round robin
    member "Erin Stone <erin@example.com>"
    member "Femi Adeyemi <femi@example.com>"  cap 5 per week  calendar sf
    match accounts by email domain
    when nobody is available hold
  }
'''


def with_teams(teams: str = TEAMS, text: str = ACTIVITY) -> str:
    """The v2 reference with `teams` as its last items."""
    end = text.rindex("}")
    return text[:end] + "\n" + teams + text[end:]


def diagnostics(text: str) -> list[tuple[str, str, int, int, str | None]]:
    loaded = load_policy_text(text, "p.policy")
    return [(d.code, d.message, d.span.line, d.span.column, d.hint) for d in loaded.diagnostics]


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line holding `fragment`."""
    return next(n for n, line in enumerate(text.split("\n"), start=1) if fragment in line)


# ---------------------------------------------------------------- the reference and the parser


def test_the_v3_reference_loads_with_no_diagnostic_of_its_own():
    loaded = load_policy(V3_REFERENCE)
    assert loaded.diagnostics == [] and loaded.policy is not None
    teams = loaded.policy.team_blocks
    assert [(t.name, t.label, t.calendar, t.assign, t.fallback) for t in teams] == [
        ("inbound-sdr", "Inbound SDRs", "ny", ast.BY_WEIGHT, "enterprise-ae"),
        ("enterprise-ae", "Enterprise AEs", "ny", ast.ROUND_ROBIN, None)]
    dev = teams[0].members[3]
    assert (dev.person, dev.weight, dev.calendar, dev.cap) == ("Dev Iyer <dev@example.com>", 0, "sf", None)
    femi = teams[1].members[1]
    assert (femi.cap, femi.cap_period, femi.calendar, femi.weight) == (5, "week", "sf", None)


def test_check_on_the_v3_reference_finds_nothing_wrong_with_the_policy(tmp_path, capsys):
    """Alone (its samples file's `assignments:` is for `leadpolicy assign`), the reference checks clean: its
    guarantees are proved and no error or warning is the policy's."""
    (tmp_path / "inbound-teams.policy").write_text(V3_REFERENCE.read_text("utf-8"))
    code = main(["check", str(tmp_path / "inbound-teams.policy"), "--allow-untested", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and _diagnostics_of(report) == [], report
    (tmp_path / "inbound-teams.policy").write_text(V3_REFERENCE.read_text("utf-8").replace("calendar ny\n    assign",
                                                                                        "calendar nyc\n    assign"))
    assert main(["check", str(tmp_path / "inbound-teams.policy"), "--allow-untested", "--format", "json"]) == 1
    codes = [d["code"] for d in _diagnostics_of(json.loads(capsys.readouterr().out))]
    assert codes == ["unknown-calendar", "unknown-calendar"]


def _diagnostics_of(report: object) -> list[dict[str, object]]:
    """Every diagnostic object anywhere in check's JSON report."""
    if isinstance(report, dict):
        here = [report] if {"code", "severity", "line"} <= set(report) else []
        return here + [d for value in report.values() for d in _diagnostics_of(value)]
    if isinstance(report, list):
        return [d for value in report for d in _diagnostics_of(value)]
    return []


def test_the_one_line_calendar_and_both_teams_parse_with_their_places():
    text = with_teams()
    policy = parse_text(text).policy
    assert policy is not None
    sf = next(c for c in policy.calendars if c.name == "sf")
    assert sf.timezone is not None and sf.timezone.name == "America/Los_Angeles"
    team = policy.team_blocks[0]
    assert team.name_span.line == line_of(text, "team inbound-sdr") and team.name_span.column == 8
    chloe = team.members[2]
    assert chloe.span.line == line_of(text, "Chloe Park") and chloe.person_span.column == 12
    assert (chloe.cap, chloe.cap_period) == (2, "day")
    fallback = team.first(ast.Fallback)
    assert fallback is not None and fallback.team_span.line == line_of(text, "to enterprise-ae")


def test_a_calendar_line_below_a_member_is_the_teams_and_on_its_line_the_members():
    below = TEAMS.replace('    calendar ny\n    assign by weight\n', '    assign by weight\n').replace(
        '    match accounts by email domain\n    when nobody is available to',
        '    calendar ny\n    match accounts by email domain\n    when nobody is available to')
    policy = parse_text(with_teams(below)).policy
    assert policy is not None
    team = policy.team_blocks[0]
    assert team.calendar == "ny" and team.members[3].calendar == "sf"
    assert [type(i).__name__ for i in team.items][-3:] == ["TeamCalendar", "MatchAccounts", "Fallback"]


def test_a_members_options_may_go_on_to_the_next_line_and_keep_their_calendar():
    wrapped = TEAMS.replace('"Dev Iyer <dev@example.com>"      weight 0  calendar sf',
                            '"Dev Iyer <dev@example.com>"\n      weight 0  calendar sf')
    policy = parse_text(with_teams(wrapped)).policy
    assert policy is not None
    team = policy.team_blocks[0]
    assert (team.calendar, team.members[3].calendar, team.members[3].weight) == ("ny", "sf", 0)
    assert len(team.all(ast.TeamCalendar)) == 1


def test_comments_between_and_after_members_are_kept_by_fmt():
    text = with_teams(TEAMS.replace('    member "Ben Okafor', '    # Ben covers EMEA mornings\n    member "Ben Okafor'))
    parsed = parse_text(text)
    assert parsed.policy is not None
    lines = format_policy(parsed.policy, parsed.comments).split("\n")
    ben = next(i for i, line in enumerate(lines) if "Ben Okafor" in line)
    assert lines[ben - 1] == "    # Ben covers EMEA mornings"
    assert any(line.endswith("calendar sf  # paused; works San Francisco hours") for line in lines)


@pytest.mark.parametrize(("line", "message"), [
    ('member "Ana Ruiz <ana@example.com>"  weight 1  weight 2', "weight is given twice for this member"),
    ("assign by turns", "unexpected 'turns'"),
    ("when nobody is available wait", "unexpected 'wait'"),
])
def test_a_team_line_the_grammar_does_not_read_is_a_syntax_error_at_its_place(line: str, message: str):
    text = with_teams(TEAMS.replace('    member "Ana Ruiz <ana@example.com>"\n', f"    {line}\n")
                      if line.startswith("member") else TEAMS.replace("    assign round robin\n", f"    {line}\n"))
    found = diagnostics(text)
    assert [(code, msg) for code, msg, *_ in found] == [("syntax-error", message)]
    assert found[0][2] == line_of(text, line)


# ---------------------------------------------------------------- checks


def _one(text: str, code: str) -> tuple[str, int, int, str | None]:
    found = [(msg, line, column, hint) for c, msg, line, column, hint in diagnostics(text) if c == code]
    assert len(found) == 1, diagnostics(text)
    return found[0]


CHECKS = [
    # (name, old text, new text, code, the message, the line's fragment, the hint's fragment)
    ("unknown team calendar", "    calendar ny\n    assign by weight", "    calendar nyc\n    assign by weight",
     "unknown-calendar", 'unknown calendar "nyc"', "calendar nyc", 'did you mean "ny"?'),
    ("unknown member calendar", "weight 0  calendar sf", "weight 0  calendar sfo", "unknown-calendar",
     'unknown calendar "sfo"', "calendar sfo", 'did you mean "sf"?'),
    ("unknown fallback", "available to enterprise-ae", "available to enterprise-aes", "unknown-team",
     'no team is called "enterprise-aes"', "to enterprise-aes", 'did you mean "enterprise-ae"?'),
    ("a member twice by email", '"Ben Okafor <ben@example.com>"', '"Benjamin Okafor <ANA@example.com>"',
     "duplicate-member", '"Benjamin Okafor <ANA@example.com>" is already a member of team inbound-sdr',
     "Benjamin Okafor", "the first is on line"),
    ("a member twice by name", '"Chloe Park <chloe@example.com>"', '"ana ruiz <ana.r@example.com>"',
     "duplicate-member", "is already a member of team inbound-sdr", "ana ruiz", "keep one line per person"),
    ("a weight below 0", "weight 2", "weight -1", "bad-value", "weight -1 is not a whole number of 0 or more",
     "weight -1", "weight 0 pauses"),
    ("a weight not whole", "weight 2", "weight 1.5", "bad-value", "weight 1.5 is not a whole number",
     "weight 1.5", "the default is 1"),
    ("a weight as written, never in exponent form", "weight 2", "weight 0.00000001", "bad-value",
     "weight 0.00000001 is not a whole number", "weight 0.00000001", "the default is 1"),
    ("a cap below 1", "cap 2 per day", "cap 0 per day", "bad-value", "cap 0 is not a whole number of 1 or more",
     "cap 0 per day", "weight 0"),
    ("a cap per month", "cap 5 per week", "cap 5 per weeks", "bad-value", 'not per "weeks"', "cap 5 per weeks",
     'did you mean "week"?'),
    ("no assign line", "    assign round robin\n", "", "incomplete-team",
     "team enterprise-ae does not say how it assigns leads", "team enterprise-ae", "assign least loaded today"),
    ("two assign lines", "    assign round robin\n", "    assign round robin\n    assign least loaded today\n",
     "duplicate-block", 'team enterprise-ae gives its "assign" line twice', "assign least loaded", "keep one"),
    ("two fallbacks", "    when nobody is available hold\n",
     "    when nobody is available hold\n    when nobody is available to inbound-sdr\n", "duplicate-block",
     'gives its "when nobody is available" line twice', "available to inbound-sdr", "keep one"),
    ("a team name that is not a slug", "team enterprise-ae", "team Enterprise_AE", "bad-id",
     'team name "Enterprise_AE" is not a slug', "team Enterprise_AE", '"enterprise-ae"'),
    ("a team defined twice", 'team enterprise-ae "Enterprise AEs"', 'team inbound-sdr "Enterprise AEs"',
     "duplicate-name", 'team "inbound-sdr" is defined twice', 'team inbound-sdr "Enterprise AEs"',
     "the first is on line"),
    ("a member not written Name <email>", '"Erin Stone <erin@example.com>"', '"Erin Stone"', "bad-value",
     'member "Erin Stone" is not written as "Name <email>"', '"Erin Stone"', "Ana Ruiz <ana@example.com>"),
]


@pytest.mark.parametrize(("old", "new", "code", "message", "where", "hint"), [c[1:] for c in CHECKS],
                         ids=[c[0] for c in CHECKS])
def test_each_check_of_a_team_at_its_place_with_a_hint(old, new, code, message, where, hint):
    assert old in TEAMS
    text = with_teams(TEAMS.replace(old, new, 1))
    said, line, column, hint_said = _one(text, code)
    assert message in said and hint in (hint_said or "")
    assert line == line_of(text, where) and column > 0


def test_a_team_without_members_says_so():
    text = with_teams(TEAMS.replace('    member "Erin Stone <erin@example.com>"\n', "").replace(
        '    member "Femi Adeyemi <femi@example.com>"  cap 5 per week  calendar sf\n', ""))
    said, line, _, hint = _one(text, "incomplete-team")
    assert said == "team enterprise-ae has no members" and line == line_of(text, "team enterprise-ae")
    assert hint is not None and 'member "Name <email>"' in hint


@pytest.mark.parametrize(("fallbacks", "cycle"), [
    ({"inbound-sdr": "enterprise-ae", "enterprise-ae": "inbound-sdr"}, "inbound-sdr -> enterprise-ae -> inbound-sdr"),
    ({"inbound-sdr": "inbound-sdr", "enterprise-ae": None}, "inbound-sdr -> inbound-sdr"),
    ({"inbound-sdr": "enterprise-ae", "enterprise-ae": "inbound-sdr-2", "inbound-sdr-2": "enterprise-ae"},
     "enterprise-ae -> inbound-sdr-2 -> enterprise-ae"),
])
def test_a_cycle_of_fallbacks_is_named_once_at_its_first_team(fallbacks: dict[str, str | None], cycle: str):
    blocks = "\n".join(
        f'  team {name} {{\n    assign round robin\n    member "P{n} <p{n}@example.com>"\n'
        f'    when nobody is available {"to " + to if to else "hold"}\n  }}\n'
        for n, (name, to) in enumerate(fallbacks.items()))
    text = with_teams(blocks)
    found = [(msg, line) for code, msg, line, *_ in diagnostics(text) if code == "fallback-cycle"]
    first = cycle.split(" -> ")[0]
    assert found == [(f"the fallbacks of teams form a cycle: {cycle}", line_of(text, f"team {first} ") + 3)]


def test_a_route_label_like_a_team_is_a_warning_and_other_labels_stay_queues():
    text = with_teams().replace('"inbound-sdr"    otherwise', '"inbound-sdrs"   otherwise').replace(
        '"enterprise-ae"  when employees >= 1000', '"sales-manager" when employees >= 1000')
    found = [(code, msg, line, hint) for code, msg, line, _, hint in diagnostics(text)]
    assert found == [("label-like-team", 'route label "inbound-sdrs" is not a team, so it stays a queue name',
                      line_of(text, '"inbound-sdrs"'), 'did you mean "inbound-sdr"? (a label equal to a team\'s '
                      "name assigns its leads to that team's members)")]


def test_every_error_of_the_teams_in_one_run_and_check_exits_1_never_3(tmp_path, capsys):
    bad = (TEAMS.replace("calendar ny\n    assign by weight", "calendar nyc\n    assign by weight")
           .replace("weight 2", "weight -2").replace("available to enterprise-ae", "available to nobody-here")
           .replace("    assign round robin\n", ""))
    path = tmp_path / "bad.policy"
    path.write_text(with_teams(bad))
    code = main(["check", str(path), "--allow-untested"])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err + out.out
    said = re.findall(r"bad\.policy:(\d+):(\d+): ([a-z-]+):", out.out + out.err)
    assert {c for _, _, c in said} == {"unknown-calendar", "bad-value", "unknown-team", "incomplete-team"}


# ---------------------------------------------------------------- canonical text


def test_the_canonical_text_of_the_teams_is_the_references_and_keeps_their_meaning():
    text = with_teams()
    first = parse_text(text)
    assert first.policy is not None
    formatted = format_policy(first.policy, first.comments)
    again = parse_text(formatted)
    assert again.policy == first.policy and format_policy(again.policy, again.comments) == formatted
    team_lines = formatted[formatted.index("  team inbound-sdr"):].rstrip().split("\n")
    assert team_lines[:8] == ['  team inbound-sdr "Inbound SDRs" {', "    calendar ny", "    assign by weight",
                              '    member "Ana Ruiz <ana@example.com>"',
                              '    member "Ben Okafor <ben@example.com>"    weight 2',
                              '    member "Chloe Park <chloe@example.com>"  cap 2 per day',
                              '    member "Dev Iyer <dev@example.com>"      weight 0  calendar sf  '
                              "# paused; works San Francisco hours",
                              "    match accounts by email domain"]
    assert '    member "Femi Adeyemi <femi@example.com>"  cap 5 per week  calendar sf' in team_lines


def test_the_v3_reference_formats_to_the_same_meaning():
    source = V3_REFERENCE.read_text("utf-8")
    parsed = parse_text(source)
    assert parsed.policy is not None
    formatted = format_policy(parsed.policy, parsed.comments)
    assert parse_text(formatted).policy == parsed.policy
    assert leadpolicy.load(V3_REFERENCE).fingerprint == policy_from_text(formatted).fingerprint


# ---------------------------------------------------------------- IR and artifact


def test_the_teams_lower_to_their_ir_with_weights_names_and_emails():
    teams = policy_from_text(with_teams()).ir.teams
    assert teams[0] == ir.Team("inbound-sdr", "Inbound SDRs", "ny", ir.AssignHow.BY_WEIGHT, (
        ir.Member("Ana Ruiz <ana@example.com>", "Ana Ruiz", "ana@example.com", 1, None, None, None),
        ir.Member("Ben Okafor <ben@example.com>", "Ben Okafor", "ben@example.com", 2, None, None, None),
        ir.Member("Chloe Park <chloe@example.com>", "Chloe Park", "chloe@example.com", 1, 2, "day", None),
        ir.Member("Dev Iyer <dev@example.com>", "Dev Iyer", "dev@example.com", 0, None, None, "sf")),
        True, "enterprise-ae")
    assert (teams[1].assign, teams[1].fallback, teams[1].members[1].cap_per) == (ir.AssignHow.ROUND_ROBIN, None,
                                                                                 "week")


def test_the_artifact_of_format_3_3_keeps_the_teams_and_refuses_a_changed_weight():
    policy = policy_from_text(with_teams())
    artifact = json.loads(policy.artifact_json())
    assert artifact["format_version"] == [3, 3]
    assert artifact["teams"][0]["members"][1] == {"person": "Ben Okafor <ben@example.com>", "name": "Ben Okafor",
                                                  "email": "ben@example.com", "weight": 2, "cap": None,
                                                  "cap_per": None, "calendar": None}
    assert artifact["teams"][0]["assign"] == "by weight" and artifact["teams"][1]["fallback"] is None
    assert leadpolicy.load(artifact).ir.teams == policy.ir.teams
    tampered = copy.deepcopy(artifact)
    tampered["teams"][0]["members"][1]["weight"] = 3
    with pytest.raises(leadpolicy.PolicyError, match="does not match its source"):
        leadpolicy.load(tampered)
    dropped = copy.deepcopy(artifact)
    dropped["teams"] = []
    with pytest.raises(leadpolicy.PolicyError):
        leadpolicy.load(dropped)


def test_an_artifact_of_format_3_2_without_teams_still_loads():
    artifact = policy_from_text(ACTIVITY).artifact()
    assert artifact.pop("teams") == []
    artifact["format_version"] = [3, 2]
    assert leadpolicy.load(artifact).ir.teams == ()


def test_a_weight_a_cap_or_a_member_changes_the_fingerprint():
    base = policy_from_text(with_teams()).fingerprint
    for old, new in (("weight 2", "weight 3"), ("cap 2 per day", "cap 2 per week"),
                     ('    member "Ana Ruiz <ana@example.com>"\n', "")):
        assert policy_from_text(with_teams(TEAMS.replace(old, new))).fingerprint != base, new


# ---------------------------------------------------------------- the page, highlighting and the diff


def test_the_page_says_each_teams_rotation_members_weights_caps_and_hours(tmp_path):
    path = tmp_path / "inbound-teams.policy"
    path.write_text(V3_REFERENCE.read_text("utf-8"))
    written, diags = render_site([str(path)], tmp_path / "site")
    assert not [d for d in diags if d.is_error]
    page = written[0].read_text("utf-8")
    section = page[page.index("## Teams"):page.index("## Guarantees")]
    assert "### Inbound SDRs (inbound-sdr)" in section and "are assigned by weight" in section
    assert 'the lead goes to the team "enterprise-ae"' in section
    assert "are assigned in turn" in section and "the lead is held until someone is" in section
    routing = page[page.index("## Routing"):page.index("## Teams")]
    assert "| enterprise-ae (team Enterprise AEs, below) | employees is at least 1000 |" in routing
    assert "| inbound-sdr (team Inbound SDRs, below) | otherwise |" in routing
    rows = {cells[0]: cells[1:] for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in section.split("\n")
        if line.startswith("| ") and "&lt;" in line)}
    assert rows["Ben Okafor &lt;ben@example.com&gt;"][:2] == ["2 (50% of the leads)", "no cap"]
    assert rows["Chloe Park &lt;chloe@example.com&gt;"][1] == "at most 2 leads a day"
    assert rows["Dev Iyer &lt;dev@example.com&gt;"][0] == "paused (weight 0)"
    assert rows["Dev Iyer &lt;dev@example.com&gt;"][2].startswith("Mon-Fri 09:00-17:00 America/Los\\_Angeles")
    assert rows["Femi Adeyemi &lt;femi@example.com&gt;"][1] == "at most 5 leads a week"


def test_the_page_escapes_every_text_of_a_team(tmp_path):
    hostile = (TEAMS.replace('"Inbound SDRs"', '"<script>alert(1)</script> *SDRs* | x"')
               .replace('"Ana Ruiz <ana@example.com>"', '"*Ana* [x](http://e.test) & `Co` <ana@example.com>"'))
    path = tmp_path / "hostile.policy"
    path.write_text(with_teams(hostile).replace('policy "inbound-activity"', 'policy "hostile"'))
    written, diags = render_site([str(path)], tmp_path / "site")
    assert not [d for d in diags if d.is_error], diags
    page = written[0].read_text("utf-8")
    section = page[page.index("## Teams"):page.index("## Service-level agreements")]
    pictures = re.findall(r'<figure class="leadpolicy-diagram leadpolicy-team-picture">\n(.*?)\n</figure>', section,
                          re.S)
    assert len(pictures) == 2 and all(ET.fromstring(p).find(".//{http://www.w3.org/2000/svg}script") is None
                                      for p in pictures)  # drawn escaped (tests/test_team_picture.py)
    section = re.sub(r"<figure .*?</figure>", "", section, flags=re.S)
    assert "<" not in section and "`Co`" not in section and re.search(r"(?<!\\)\]\(http", section) is None
    assert "&lt;script&gt;" in section and "\\*SDRs\\*" in section and "\\|" in section
    assert "\\*Ana\\*" in section and "&amp;" in section


def test_the_team_block_is_highlighted_and_a_field_called_email_stays_a_name():
    tokens = [(kind, text) for kind, text in PolicyLexer().get_tokens(TEAMS)]
    assert not [text for kind, text in tokens if kind is Text and text.strip()]
    words = {text: kind for kind, text in tokens}
    for word in ("team", "assign", "weight", "member", "cap", "match", "nobody", "available", "hold", "robin"):
        assert words[word] is Keyword, word
    assert ("by email domain" in words and words["by email domain"] is Keyword)
    field = [(kind, text) for kind, text in PolicyLexer().get_tokens("email text required") if text == "email"]
    assert field == [(Name, "email")]


def _changes(old_teams: str, new_teams: str) -> list[tuple[str, str, str, str | None, str | None]]:
    old, new = parse_text(with_teams(old_teams)).policy, parse_text(with_teams(new_teams)).policy
    assert old is not None and new is not None
    return [(c.kind, c.name, c.change, c.old, c.new) for c in changes(old, new)]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("weight 2", "weight 3", ("member weight", 'inbound-sdr "Ben Okafor <ben@example.com>"', "changed",
                              "weight 2", "weight 3")),
    ("cap 2 per day", "cap 3 per day", ("member cap", 'inbound-sdr "Chloe Park <chloe@example.com>"', "changed",
                                        "cap 2 per day", "cap 3 per day")),
    ("cap 5 per week  calendar sf", "cap 5 per week", ("member calendar",
                                                       'enterprise-ae "Femi Adeyemi <femi@example.com>"',
                                                       "changed", "calendar sf", "the team's calendar")),
    ('    member "Erin Stone <erin@example.com>"\n', "",
     ("team member", 'enterprise-ae "Erin Stone <erin@example.com>"', "removed", "weight 1", None)),
    ("assign round robin", "assign least loaded today", ("team rotation", "enterprise-ae", "changed",
                                                         "round robin", "least loaded today")),
    ("available to enterprise-ae", "available hold", ("team fallback", "inbound-sdr", "changed", "to enterprise-ae",
                                                      "hold")),
    ("    calendar ny\n    assign round robin", "    calendar sf\n    assign round robin",
     ("team calendar", "enterprise-ae", "changed", "ny", "sf")),
])
def test_the_diff_names_each_change_of_a_team(old: str, new: str, expected: tuple[str, ...]):
    assert old in TEAMS
    assert _changes(TEAMS, TEAMS.replace(old, new, 1)) == [expected]


def test_the_diff_names_a_team_added_and_members_reordered():
    ana, ben = '    member "Ana Ruiz <ana@example.com>"\n', '    member "Ben Okafor <ben@example.com>"    weight 2\n'
    swapped = TEAMS.replace(ana + ben, ben + ana)
    assert _changes(TEAMS, swapped) == [("team members", "inbound-sdr", "reordered",
                                         "Ana Ruiz <ana@example.com>, Ben Okafor <ben@example.com>, "
                                         "Chloe Park <chloe@example.com>, Dev Iyer <dev@example.com>",
                                         "Ben Okafor <ben@example.com>, Ana Ruiz <ana@example.com>, "
                                         "Chloe Park <chloe@example.com>, Dev Iyer <dev@example.com>")]
    extra = TEAMS + '\n  team outbound "Outbound" {\n    assign round robin\n    member "Q <q@example.com>"\n  }\n'
    assert _changes(TEAMS, extra) == [("team", "outbound", "added", None, "outbound")]


# ---------------------------------------------------------------- edited teams never crash


SMALL = '''policy "small" version 1.0.0 {
  title "Small"
  owner marketing "Mia <mia@example.com>"
  owner sales "Sam <sam@example.com>"
  lead { email text required  employees number }
  stages {
    sql when employees >= 100 owner sales
    nurture otherwise owner marketing
  }
  route for sql {
    "enterprise-ae"  when employees >= 1000
    "inbound-sdr"    otherwise
  }
  calendar ny { timezone "America/New_York"  open mon-fri 09:00-17:00 }
'''
TEAM_TOKENS = re.findall(r'"[^"\n]*"|#[^\n]*|\S+|\n', TEAMS)
TEAM_WORDS = sorted({t for t in TEAM_TOKENS if re.fullmatch(r"[a-z_-]+", t)} | {"0", "-1", "2.5", "per", "week"})
TEAM_EDITS = st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "swap", "replace"]),
                                st.integers(min_value=0, max_value=len(TEAM_TOKENS) - 1),
                                st.integers(min_value=0, max_value=len(TEAM_TOKENS) - 1)), min_size=1, max_size=3)


def _edited(edits: list[tuple[str, int, int]]) -> str:
    tokens = list(TEAM_TOKENS)
    for op, i, j in edits:
        i, j = i % len(tokens), j % len(tokens)
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = TEAM_WORDS[j % len(TEAM_WORDS)]
        tokens = tokens or ["x"]
    return SMALL + " ".join(tokens) + "\n}\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEAM_EDITS)
def test_edited_teams_are_diagnosed_never_crash_and_a_clean_one_formats_to_its_meaning(edits):
    text = _edited(edits)
    loaded = load_policy_text(text, "fuzz.policy")
    assert loaded.policy is not None or loaded.diagnostics
    assert all(d.file == "fuzz.policy" and d.span.line > 0 for d in loaded.diagnostics if d.code != "empty-file")
    if loaded.policy is not None and not loaded.has_errors:
        parsed = parse_text(text)
        assert parsed.policy is not None
        formatted = format_policy(parsed.policy, parsed.comments)
        assert parse_text(formatted).policy == parsed.policy
        assert policy_from_text(formatted).ir.teams == policy_from_text(text).ir.teams


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEAM_EDITS)
def test_check_never_exits_3_on_edited_teams(edits):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.policy"
        path.write_text(_edited(edits), "utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "--allow-untested", str(path)])
    assert code in (0, 1) and "Traceback" not in err.getvalue(), err.getvalue()
