"""The checker, table-driven: each snippet of a policy and the diagnostic it must produce."""

from __future__ import annotations

import pytest

from leadpolicy.semantics.loading import load_policy_text

HEAD = '''policy "t" version 1.0.0 {
  title "T"
  owner marketing "M"
  owner sales "S"
  lead {
    email text required
    employees number
    plan one of ("free", "pro")
    vip yes/no
    born date
    seen timestamp
  }
'''
STAGES = '''
  stages {
    sql when vip owner sales
    nurture otherwise owner marketing
  }
'''


def diagnostics(body: str, stages: str = STAGES):
    loaded = load_policy_text(HEAD + body + stages + "}\n", "t.policy")
    assert loaded.policy is not None, loaded.diagnostics
    return [(d.code, d.message) for d in loaded.diagnostics]


def score(rule: str) -> str:
    return f"  score s {{\n    {rule}\n  }}\n"


CASES = [
    (score('+1 per email up to 5'), "type-mismatch", 'per needs a number field, but "email" is text'),
    (score('+1 when days since employees > 3'), "type-mismatch",
     'days since needs a date or a timestamp field, but "employees" is a number'),
    (score('+1 when email > "a"'), "type-mismatch", "> compares order, but field \"email\" (text) has none"),
    (score('+1 when vip = 3'), "type-mismatch", 'field "vip" (yes/no) compared with a number'),
    (score('+1 when plan in ("free", "gold")'), "not-a-choice", '"gold" is not one of plan\'s choices'),
    (score('+1 when employees'), "type-mismatch",
     'a bare condition must be a yes/no field, but field "employees" (a number) is not'),
    (score('+1 when email contains any ("a") and employees contains "3"'), "type-mismatch",
     "contains works on text, not field \"employees\" (a number)"),
    (score('+1 when born between 2020-01-01 and 2019-01-01'), "bad-value",
     "the low end of between is above the high end"),
    (score('+1 when born < 2026-02-30'), "bad-value", "2026-02-30 is not a real date"),
    (score('+1 when s > 1'), "used-before-defined",
     'score "s" reads itself: a score\'s rules cannot use the score they add up to'),
    (score('+1 per employees up to 5') + '  grade g from nope {\n    "A" otherwise\n  }\n', "unknown-name",
     'grade g is from "nope", which is not a score'),
    (score('decay 120% every 0 days since email'), "bad-value", "decay of 120% is outside 0-100%"),
    (score('decay 20% every 0 days since seen'), "bad-value", "decay needs a period of at least one day"),
    (score('+1 when vip') + score('+2 when vip'), "duplicate-name", 'score or grade "s" is defined twice'),
    ('  score email {\n    +1 when vip\n  }\n', "duplicate-name", '"email" is both a lead field and a score'),
    ('  route for sql {\n    "a" otherwise\n  }\n  route for sql {\n    "b" otherwise\n  }\n', "duplicate-name",
     'stage "sql" has two routes'),
    ('  route for sql {\n    "a" when employees > 10\n    "b" when employees > 100\n    "c" otherwise\n  }\n',
     "unreachable", 'route "b" can never be chosen: earlier entries always match first'),
    ('  calendar c {\n    timezone "UTC"\n    open mon-fry 17:00-09:00\n  }\n', "bad-value", '"fry" is not a day'),
    ('  calendar c {\n    timezone "UTC"\n    open mon-fri 17:00-09:00\n  }\n', "bad-value",
     "17:00-09:00 ends before it starts"),
    ('  calendar c {\n    timezone "UTC"\n    open mon-fri 09:00-17:00\n    holidays "US" "XY"\n  }\n',
     "unknown-holidays", '"XY" is not a subdivision of US'),
    ('  sla x {\n    owner support\n    at least 3 touch within 2 days after start\n    target 90%\n  }\n',
     "unknown-team", 'team "support" does not own this policy'),
    ('  sla x {\n    owner sales\n    from a until b\n    within 3 business hours\n    target 90%\n  }\n',
     "incomplete-sla", "business hours need a calendar"),
    ('  sla x {\n    owner sales\n    from a until b\n    within 3 fortnights\n    target 90%\n  }\n',
     "bad-value", '"fortnights" is not a unit of time'),
    ('  sla x {\n    owner sales\n    at least 3 touch per year\n  }\n', "bad-value", '"year" is not a period'),
    ('  sla x {\n    owner sales\n    from a until b\n    within 3 hours\n  }\n', "incomplete-sla",
     "sla x has no target"),
    ('  sla x {\n    owner sales\n    from a until b\n    within 3 hours\n    target 90%\n'
     '    c needs reason ("r")\n  }\n', "unknown-name", '"c" is not an event of sla x'),
    ('  sla x {\n    owner sales\n    from a until rejected\n    within 3 hours\n    target 90%\n'
     '    rejected needs reason ("r")\n  }\n  recycle {\n    rejected because "q" to nurtur after 3 days\n  }\n',
     "not-a-choice", '"q" is not an agreed reason for rejected'),
    ('  recycle {\n    rejected because "q" to nurtur after 3 days\n  }\n', "unknown-stage",
     'recycle to unknown stage "nurtur"'),
]


@pytest.mark.parametrize("body,code,message", CASES, ids=[c[1] + ":" + c[2][:30] for c in CASES])
def test_check(body, code, message):
    found = diagnostics(body)
    assert (code, message) in found, found


def test_never_true_is_a_warning_and_sometimes_true_is_silent():
    assert diagnostics(score('+1 when employees > 5 and employees < 3')) == [
        ("never-true", "this condition can never be true, so the rule never fires")]
    assert diagnostics(score('+1 when employees > 5 and employees < 30')) == []
    assert diagnostics(score('+1 when plan = "free" and plan = "pro"'))[0][0] == "never-true"
    assert diagnostics(score('+1 when vip and not vip'))[0][0] == "never-true"
    # A text match overlapping another is not decided: no false warning.
    assert diagnostics(score('+1 when email ends with "@a.io" and email contains "a.io"')) == []


def test_always_true():
    assert diagnostics(score('+1 when employees >= 5 or employees < 5 or employees is missing')) == [
        ("always-true", "this condition is always true, so every lead gets these points")]
    # Without the missing case it is not always true: missing makes it unknown.
    assert diagnostics(score('+1 when employees >= 5 or employees < 5')) == []


def test_unreachable_uses_score_ranges_and_defaults():
    stages = '''
  stages {
    low when s <= 100 owner marketing
    high when s > 100 owner sales
    nurture otherwise owner marketing
  }
'''
    body = '  score s {\n    clamp 0 to 100\n    +1 when vip\n  }\n'
    found = diagnostics(body, stages)
    assert ("never-true", 'the condition of stage "high" can never be true') in found


def test_stage_after_a_covering_union_is_unreachable():
    stages = '''
  stages {
    a when employees >= 10 owner sales
    b when employees < 10 owner sales
    c when employees > 50 owner sales
    nurture otherwise owner marketing
  }
'''
    found = diagnostics("", stages)
    assert ("unreachable", 'stage "c" can never be chosen: earlier entries always match first') in found


def policy_diagnostics(lead: str, body: str = "", owners: str = '  owner marketing "M"\n  owner sales "S"\n'):
    text = (f'policy "t" version 1.0.0 {{\n  title "T"\n{owners}  lead {{\n{lead}  }}\n{body}'
            '  stages {\n    nurture otherwise owner marketing\n  }\n}\n')
    loaded = load_policy_text(text, "t.policy")
    assert loaded.policy is not None, loaded.diagnostics
    return [(d.code, d.message) for d in loaded.diagnostics]


def test_names_that_differ_only_in_case_are_one_name():
    assert ("duplicate-name", 'lead field "Email" differs from "email" only in case') in policy_diagnostics(
        "    email text\n    Email text\n")
    assert ("duplicate-name", '"Fit" is both a lead field and a score') in policy_diagnostics(
        "    fit number\n", "  score Fit {\n    +1 when fit > 1\n  }\n")


@pytest.mark.parametrize("lead,body,name,kind", [
    ("    stage text\n", "", "stage", "lead field"),
    ("    Route text\n", "", "Route", "lead field"),
    ("    n number\n", "  score stage {\n    +1 when n > 1\n  }\n", "stage", "score"),
    ("    n number\n", '  score s {\n    +1 when n > 1\n  }\n  grade route from s {\n    "A" otherwise\n  }\n',
     "route", "grade"),
])
def test_computed_column_names_cannot_name_fields_scores_or_grades(lead, body, name, kind):
    assert ("reserved-name", f'"{name}" is the name of a computed column, so it cannot name a {kind}') in \
        policy_diagnostics(lead, body)


def test_a_team_may_list_several_owners_but_not_the_same_one_twice():
    two = '  owner marketing "M"\n  owner marketing "N"\n  owner sales "S"\n'
    assert policy_diagnostics("    n number\n", owners=two) == []
    again = '  owner marketing "M"\n  owner marketing "M"\n  owner sales "S"\n'
    assert ("duplicate-name", 'owner "marketing M" is defined twice') in policy_diagnostics("    n number\n",
                                                                                           owners=again)


@pytest.mark.parametrize("body,message", [
    ("  score s {\n    +10000000000000000000000000000 when n > 1\n  }\n",
     "1000000000...0000 (29 characters) is out of range"),
    ("  score s {\n    +1 when n > " + "9" * 4400 + "\n  }\n", "9999999999...9999 (4400 characters) is out of range"),
    ("  score s {\n    +1 when n > 0.0000000001\n  }\n", "1E-10 is out of range"),
    ("  score s {\n    +1 per n up to 1000000000\n  }\n", "1000000000 is out of range"),
    ('  sla x {\n    owner sales\n    from a until b\n    within 100000 days\n    target 90%\n  }\n',
     "100000 days is longer than an SLA can promise (3650 days at most)"),
])
def test_numbers_out_of_range_are_errors_not_crashes(body, message):
    found = policy_diagnostics("    n number\n", body)
    assert any(code == "bad-value" and text.startswith(message) for code, text in found), found


@pytest.mark.parametrize("default", ['" "', '""', '"\\t"'])
def test_a_blank_text_default_is_refused(default):
    found = policy_diagnostics(f"    note text default {default}\n    n number\n")
    assert ("bad-value", 'the default of "note" is blank, and a blank text counts as missing') in found


@pytest.mark.parametrize("word", ["between", "in", "is", "contains", "starts", "ends", "clamp", "decay", "owner",
                                  "not", "and", "or", "days", "when"])
def test_keywords_name_fields_where_the_grammar_expects_a_name(word):
    from leadpolicy.language.parser import parse_text

    for lead in (f"    {word}_x number\n    x number default 5\n    {word} number\n",
                 f"    x text required\n    {word} text\n"):
        text = f'policy "t" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n  lead {{\n{lead}  }}\n' \
               '  stages {\n    rest otherwise owner a\n  }\n}\n'
        parsed = parse_text(text)
        assert parsed.policy is not None, (word, parsed.diagnostics)
        assert word in [f.name for f in parsed.policy.fields]


@pytest.mark.parametrize("word", ["required", "default"])
def test_required_and_default_cannot_name_a_field_and_say_so(word):
    from leadpolicy.language.parser import parse_text

    text = ('policy "t" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n    x text\n'
            f'    {word} number\n  }}\n  stages {{\n    rest otherwise owner a\n  }}\n}}\n')
    [diag] = parse_text(text).diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("reserved-name", 6, 5)
    assert diag.message == f"\"{word}\" cannot name a lead field: after a field it is read as that field's option"


def test_activity_is_reasoned_about_counts_are_never_negative_and_never_missing():
    events = "  events {\n    demo\n    click\n  }\n"
    assert diagnostics(events + score("+1 when count demo in last 30 days < 0")) == [
        ("never-true", "this condition can never be true, so the rule never fires")]
    assert diagnostics(events + score("+1 when days since last click < 0")) == [
        ("never-true", "this condition can never be true, so the rule never fires")]
    assert diagnostics(events + score("+1 when demo in last 30 days and count demo in last 30 days = 0")) == [
        ("never-true", "this condition can never be true, so the rule never fires")]
    assert diagnostics(events + score(
        "+1 when count demo in last 30 days >= 0 or count demo in last 7 days > 3")) == [
        ("always-true", "this condition is always true, so every lead gets these points")]
    # `days since last` is missing when there is none, so this is not always true
    assert diagnostics(events + score("+1 when days since last click >= 0")) == []
    # windows of different lengths are free of each other here: no warning, never a false one
    assert diagnostics(events + score("+1 when count demo in last 7 days > 2 and count demo in last 30 days < 1")) == []
    stages = '''
  stages {
    hot when demo in last 30 days owner sales
    warm when count demo in last 30 days > 1 owner sales
    nurture otherwise owner marketing
  }
'''
    assert ("unreachable", 'stage "warm" can never be chosen: earlier entries always match first') in \
        diagnostics(events, stages)
