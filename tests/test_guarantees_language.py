"""The `guarantees` block (issue 27, LANGUAGE-v3 "Guarantees") from its text to the artifact and the published page:
the parser, the checks (their messages are in tests/test_messages.py), the canonical text, the IR the proofs read,
the artifact of format 3.2, and the page's Guarantees section."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pygments.token import Keyword, Name, Operator, Punctuation, Text

import leadpolicy
from leadpolicy.language import ast
from leadpolicy.language.formatter import format_policy
from leadpolicy.language.parser import parse_text
from leadpolicy.language.symbols import DECIDED_NAMES
from leadpolicy.publish.pygments_lexer import PolicyLexer
from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower

from .conftest import POLICIES, now
from .engines import decide, policy_from_text

ACTIVITY = (POLICIES / "inbound-activity.policy").read_text("utf-8")

# The example block of LANGUAGE-v3.md, "Guarantees", as it is written there.
LANGUAGE_V3_BLOCK = '''  guarantees {
  "Demo requests from companies of 200+ reach Sales":
      demo_request in last 30 days and employees >= 200 and industry = "software" implies stage = sql
  "Free-mail leads are never handed to Sales":
      email ends with any ("@gmail.com", "@yahoo.com") implies stage != sql and stage != mql
  "Priority stays in range":          priority between 0 and 200
  "Every lead handed to Sales gets a queue":   handoff implies route is present
  "More employees never lower fit":    fit never decreases with employees
  "Another demo request never loses a handoff": handoff never lost with demo_request
}
'''
# The guarantees of the v3 reference (design examples/inbound-teams.policy), as written there: they read only what
# the v2 reference has.
TEAMS_BLOCK = '''  guarantees {
    "Nurture leads wait in no queue":                  stage = nurture implies route is missing
    "Sales only receives leads with a fit of 40 or more":   handoff implies fit >= 40
    "Tier A means a priority of 120 or more":         tier = "A" implies priority >= 120
    "A competitor never reaches a queue":             email ends with "@competitor.com" implies route is missing
    "Another demo request never lowers engagement":   engagement never decreases with demo_request
    "Another pricing page view never lowers priority":   priority never decreases with pricing_page_view
  }
'''


def with_block(block: str, text: str = ACTIVITY) -> str:
    """The policy with `block` as its last item."""
    end = text.rindex("}")
    return text[:end] + "\n" + block + text[end:]


def checked(text: str) -> ast.Policy:
    loaded = load_policy_text(text, "p.policy")
    assert [(d.code, d.message) for d in loaded.diagnostics if d.is_error] == []
    assert loaded.policy is not None
    return loaded.policy


@pytest.mark.parametrize("block", [LANGUAGE_V3_BLOCK, TEAMS_BLOCK], ids=["language-v3", "inbound-teams"])
def test_the_example_blocks_parse_and_check(block: str):
    policy = checked(with_block(block))
    claims = policy.guarantees
    assert len(claims) == 6 and len({g.name for g in claims}) == 6
    assert all(g.span.line > 0 and g.name_span.line == g.span.line for g in claims)
    for g in claims:
        for node in (n for c in g.conditions for n in c.walk()):
            assert node.span.line >= g.span.line, node


def test_each_kind_of_claim_is_read_with_its_parts():
    claims = {g.name: g for g in checked(with_block(LANGUAGE_V3_BLOCK)).guarantees}
    demo = claims["Demo requests from companies of 200+ reach Sales"]
    assert demo.kind == ast.IMPLIES and isinstance(demo.condition, ast.And)
    assert demo.then == ast.Compare(op="=", left=ast.NameRef(name="stage"), right=ast.BareName(name="sql"))
    assert claims["Priority stays in range"].kind == ast.HOLDS
    fit = claims["More employees never lower fit"]
    assert (fit.kind, fit.score, fit.along, fit.conditions) == (ast.NEVER_DECREASES, "fit", "employees", ())
    handoff = claims["Another demo request never loses a handoff"]
    assert (handoff.kind, handoff.score, handoff.along) == (ast.HANDOFF_KEPT, None, "demo_request")


def test_never_increases_and_owner_compared_bare():
    block = '''  guarantees {
    "Marketing's leads are not handed off": owner = marketing implies not handoff
    "Clicks never raise engagement": engagement never increases with email_click
  }
'''
    claims = checked(with_block(block)).guarantees
    assert claims[0].then == ast.Not(operand=ast.Truthy(operand=ast.NameRef(name="handoff")))
    assert claims[0].condition == ast.Compare(op="=", left=ast.NameRef(name="owner"),
                                              right=ast.BareName(name="marketing"))
    assert claims[1].kind == ast.NEVER_INCREASES


def test_only_handoff_is_never_lost():
    result = parse_text(with_block('  guarantees {\n    "x": fit never lost with employees\n  }\n'))
    [diag] = result.diagnostics
    assert (diag.code, diag.message) == ("syntax-error", "unexpected 'fit'")
    assert "handoff never lost with" in (diag.hint or "")


@pytest.mark.parametrize("use", ["+5 when handoff", "+5 when stage = sql", "+5 when route is missing"])
def test_the_decided_names_outside_guarantees_stay_unknown_names(use: str):
    text = ACTIVITY.replace("+15 when webinar_attended in last 90 days", use.replace("+5", "+15"))
    diags = load_policy_text(text, "p.policy").diagnostics
    name = use.split()[2]
    assert [(d.code, d.message) for d in diags if d.is_error][:1] == [("unknown-name", f'unknown name "{name}"')]


# ---------------------------------------------------------------- canonical text


def test_the_canonical_text_aligns_the_claims_and_puts_a_long_one_below_its_name():
    text = format_policy(checked(with_block(LANGUAGE_V3_BLOCK)))
    block = text[text.index("  guarantees {"):].splitlines()
    assert block[1:3] == [
        '    "Demo requests from companies of 200+ reach Sales":',
        '        demo_request in last 30 days and employees >= 200 and industry = "software" implies stage = sql']
    aligned = [line for line in block if line.startswith('    "') and not line.endswith(":")]
    claim_columns = {len(line) - len(line.split('":', 1)[1].lstrip()) for line in aligned}
    assert len(aligned) == 4 and len(claim_columns) == 1
    assert block[5].startswith('    "Priority stays in range":  ') and block[5].endswith("priority between 0 and 200")


@pytest.mark.parametrize("block", [LANGUAGE_V3_BLOCK, TEAMS_BLOCK], ids=["language-v3", "inbound-teams"])
def test_the_canonical_text_reads_back_as_the_same_tree_and_is_stable(block: str):
    result = parse_text(with_block(block.replace("guarantees {", "guarantees {  # agreed in May")))
    assert result.policy is not None
    text = format_policy(result.policy, result.comments)
    again = parse_text(text)
    assert again.policy == result.policy and format_policy(again.policy, again.comments) == text
    assert "guarantees {  # agreed in May" in text


def test_an_implies_keeps_the_parentheses_an_or_needs_and_none_else():
    block = '  guarantees {\n    "x": (fit >= 40 or engagement >= 30) and not handoff implies (route is missing)\n  }\n'
    text = format_policy(checked(with_block(block)))
    assert '"x":  (fit >= 40 or engagement >= 30) and not handoff implies route is missing' in text


# ---------------------------------------------------------------- the IR


def lowered(block: str) -> dict[str, ir.Guarantee]:
    return {g.name: g for g in lower(checked(with_block(block))).guarantees}


def test_a_stage_compared_bare_lowers_to_the_decided_stage_and_a_text_constant():
    claims = lowered(TEAMS_BLOCK)
    nurture = claims["Nurture leads wait in no queue"]
    assert nurture.kind is ir.ClaimKind.IMPLIES
    stage = ir.Ref("stage", ir.RefKind.DECIDED, ir.Type.TEXT, False, "stage")
    assert nurture.condition == ir.Compare(ir.Op.EQ, stage, ir.Const("nurture", ir.Type.TEXT, '"nurture"'),
                                           ir.Fold.CASE, True, "stage = nurture")
    route = ir.Ref("route", ir.RefKind.DECIDED, ir.Type.TEXT, True, "route")
    assert nurture.then == ir.IsMissing(route, False, "route is missing")
    assert nurture.text == "stage = nurture implies route is missing"


def test_handoff_and_owner_are_decided_values_never_missing():
    claims = lowered('  guarantees {\n    "o": owner = sales implies handoff\n  }\n')
    claim = claims["o"]
    assert isinstance(claim.condition, ir.Compare) and isinstance(claim.then, ir.Truthy)
    assert claim.condition.left == ir.Ref("owner", ir.RefKind.DECIDED, ir.Type.TEXT, False, "owner")
    assert claim.condition.right == ir.Const("sales", ir.Type.TEXT, '"sales"')
    assert claim.then.value == ir.Ref("handoff", ir.RefKind.DECIDED, ir.Type.YESNO, False, "handoff")


def test_a_monotone_claim_says_whether_it_grows_along_a_field_or_an_event():
    claims = lowered(LANGUAGE_V3_BLOCK)
    fit = claims["More employees never lower fit"]
    assert (fit.kind, fit.score, fit.along, fit.along_event, fit.condition, fit.then) == (
        ir.ClaimKind.NEVER_DECREASES, "fit", "employees", False, None, None)
    kept = claims["Another demo request never loses a handoff"]
    assert (kept.kind, kept.score, kept.along, kept.along_event) == (
        ir.ClaimKind.HANDOFF_KEPT, None, "demo_request", True)
    assert kept.text == "handoff never lost with demo_request"


def test_the_front_end_and_the_ir_name_the_same_kinds_and_decided_values():
    assert [k.value for k in ir.ClaimKind] == [ast.HOLDS, ast.IMPLIES, ast.NEVER_DECREASES, ast.NEVER_INCREASES,
                                              ast.HANDOFF_KEPT]
    assert ir.DECIDED_NAMES == DECIDED_NAMES == ("stage", "route", "owner", "handoff")


def test_the_decisions_read_no_guarantee_on_any_engine():
    without = policy_from_text(ACTIVITY)
    with_claims = policy_from_text(with_block(LANGUAGE_V3_BLOCK))
    assert len(with_claims.ir.guarantees) == 6 and with_claims.ir.activity == without.ir.activity
    leads = [{"email": "a@acme.com", "employees": 500, "industry": "software"},
             {"email": "b@gmail.com", "employees": 5}]
    events = [[{"event": "demo_request", "at": "2026-11-19T10:00:00-05:00"}], []]
    for engine in ("interpreter", "python", "duckdb"):
        assert decide(engine, with_claims, leads, now(), events=events) == \
            decide(engine, without, leads, now(), events=events), engine


# ---------------------------------------------------------------- the artifact


def test_the_artifact_keeps_the_guarantees_through_compile_and_load():
    policy = policy_from_text(with_block(LANGUAGE_V3_BLOCK))
    artifact = json.loads(policy.artifact_json())
    assert artifact["format_version"] == [3, 3]  # 3.3: teams
    assert [g["kind"] for g in artifact["guarantees"]] == ["implies", "implies", "holds", "implies",
                                                          "never decreases", "handoff never lost"]
    then = artifact["guarantees"][0]["then"]
    assert then["left"] == {"node": "Ref", "name": "stage", "kind": "decided", "type": "text", "nullable": False,
                            "text": "stage"}
    loaded = leadpolicy.load(artifact)
    assert loaded.ir.guarantees == policy.ir.guarantees


def test_an_artifact_of_format_3_1_without_guarantees_still_loads():
    artifact = policy_from_text(ACTIVITY).artifact()
    assert artifact.pop("guarantees") == []
    artifact["format_version"] = [3, 1]
    assert leadpolicy.load(artifact).ir.guarantees == ()


def test_a_changed_guarantee_changes_the_fingerprint_and_a_tampered_one_is_refused():
    first = policy_from_text(with_block(TEAMS_BLOCK))
    second = policy_from_text(with_block(TEAMS_BLOCK.replace("fit >= 40", "fit >= 50")))
    assert first.fingerprint != second.fingerprint
    artifact = copy.deepcopy(first.artifact())
    artifact["guarantees"][1]["condition"]["node"] = "Truthy"
    del artifact["guarantees"][1]["condition"]["text"]
    with pytest.raises(leadpolicy.PolicyError):
        leadpolicy.load(artifact)
    artifact = copy.deepcopy(first.artifact())
    artifact["guarantees"] = artifact["guarantees"][1:]
    with pytest.raises(leadpolicy.PolicyError, match="does not match its source"):
        leadpolicy.load(artifact)


# ---------------------------------------------------------------- the published page


def page(tmp_path: Path, block: str, statuses=None) -> str:
    from leadpolicy.publish.site import site_files

    source = tmp_path / "inbound.policy"
    source.write_text(with_block(block), "utf-8")
    files, pages, diags = site_files([str(source)], tmp_path / "site", statuses=statuses)
    assert diags == [] and len(pages) == 1
    text = files[pages[0]]
    return text[text.index("## Guarantees"):].split("\n## ", 1)[0]


def rows(section: str) -> dict[str, list[str]]:
    """The Guarantees table: name -> [claim, status], read as Markdown table cells."""
    lines = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    assert cells[0] == ["guarantee", "what holds", "status"]
    return {c[0]: c[1:] for c in cells[1:]}


def test_the_page_says_each_claim_in_english_not_proved_yet_without_results(tmp_path):
    table = rows(page(tmp_path, TEAMS_BLOCK))
    assert table["Nurture leads wait in no queue"] == ["Whenever the stage is nurture, the lead gets no route.",
                                                       "not proved yet"]
    assert table["Sales only receives leads with a fit of 40 or more"][0] == \
        "Whenever the lead is handed off, fit is at least 40."
    assert table["Another demo request never lowers engagement"][0] == (
        'Engagement (Recent activity) never goes down with one more <em title="demo_request">Asked for a demo</em>.')
    assert {status for _, status in table.values()} == {"not proved yet"}


def test_the_page_shows_each_status_given_with_its_detail(tmp_path):
    statuses = {"Priority stays in range": ("proved", ""),
                "More employees never lower fit": ("violated", "employees 200 -> 201 lowers fit from 60 to 40"),
                "Every lead handed to Sales gets a queue": ("unknown", "the solver ran out of time (10 s)")}
    asked = []

    def source(path, tree):
        asked.append((path.name, tree.id))
        return statuses

    table = rows(page(tmp_path, LANGUAGE_V3_BLOCK, source))
    assert asked == [("inbound.policy", "inbound-activity")]
    assert table["Priority stays in range"] == ["For every lead, priority is between 0 and 200.", "**proved**"]
    assert table["More employees never lower fit"] == [
        "Fit (Firmographic fit) never goes down as employees grows.",
        "**violated**: employees 200 -&gt; 201 lowers fit from 60 to 40"]
    assert table["Every lead handed to Sales gets a queue"][1] == "**unknown**: the solver ran out of time (10 s)"
    assert table["Another demo request never loses a handoff"] == [
        'A lead handed off stays handed off with one more <em title="demo_request">Asked for a demo</em>.',
        "not proved yet"]


def test_the_page_escapes_a_guarantee_name_and_its_detail(tmp_path):
    block = '  guarantees {\n    "<script>alert(1)</script> *never* | x": priority >= 0\n  }\n'
    section = page(tmp_path, block, lambda path, tree: {tree.guarantees[0].name: ("violated", "<b>| lead</b>")})
    assert "<script>" not in section and "<b>" not in section
    [(name, (claim, status))] = rows(section).items()
    assert name == "&lt;script&gt;alert(1)&lt;/script&gt; \\*never\\* \\| x"
    assert status == "**violated**: &lt;b&gt;\\| lead&lt;/b&gt;"


def test_a_page_without_guarantees_has_no_guarantees_section(tmp_path):
    from leadpolicy.publish.site import site_files

    source = tmp_path / "inbound.policy"
    source.write_text(ACTIVITY, "utf-8")
    files, pages, _ = site_files([str(source)], tmp_path / "site")
    assert "## Guarantees" not in files[pages[0]]


# ---------------------------------------------------------------- highlighting


def test_the_block_is_highlighted_with_nothing_left_unread():
    tokens = [(kind, text) for kind, text in PolicyLexer().get_tokens(TEAMS_BLOCK + LANGUAGE_V3_BLOCK)
              if text.strip()]
    assert [(kind, text) for kind, text in tokens if kind is Text] == []
    kinds = {text: kind for kind, text in tokens}
    assert kinds["guarantees"] in Keyword and kinds[":"] in Punctuation
    assert all(kinds[word] in Operator.Word for word in ("implies", "never", "decreases", "lost", "with"))
    assert kinds["handoff"] in Name.Builtin and kinds["stage"] in Name.Builtin


def test_numbers_in_a_claim_stay_exact():
    claim = lowered('  guarantees {\n    "x": priority <= 199.5\n  }\n')["x"]
    assert isinstance(claim.condition, ir.Compare) and claim.condition.right == ir.Const(
        Decimal("199.5"), ir.Type.NUMBER, "199.5")


# ---------------------------------------------------------------- the diff


def test_the_diff_names_each_guarantee_added_changed_or_removed():
    from leadpolicy.governance.diff import changes

    old = checked(with_block(TEAMS_BLOCK))
    new_block = TEAMS_BLOCK.replace("fit >= 40", "fit >= 50").replace(
        '    "Tier A means a priority of 120 or more":         tier = "A" implies priority >= 120\n', "")
    new = checked(with_block(new_block.replace("  }\n", '    "Fit stays in range": fit between 0 and 100\n  }\n')))
    found = [(c.kind, c.change, c.text) for c in changes(old, new)]
    assert found == [
        ("guarantee", "removed", 'guarantee "Tier A means a priority of 120 or more" removed'),
        ("guarantee", "changed", 'guarantee "Sales only receives leads with a fit of 40 or more": '
                                 "handoff implies fit >= 40 → handoff implies fit >= 50"),
        ("guarantee", "added", 'guarantee "Fit stays in range" added (fit between 0 and 100)')]


def test_the_cases_page_reads_the_windows_of_the_decisions_not_of_the_guarantees():
    from leadpolicy.publish.cases import event_windows

    block = '  guarantees {\n    "x": webinar_attended in last 365 days and count touch in last 7 days > 2 ' \
            'implies priority >= 0\n  }\n'
    assert event_windows(lower(checked(with_block(block)))) == event_windows(lower(checked(ACTIVITY)))


# ---------------------------------------------------------------- generated guarantees: fmt keeps them


def _decided_atoms():
    from hypothesis import strategies as st

    from .test_formatter import NAMES, TEXT

    return st.one_of(
        st.builds(lambda who, op, name: ast.Compare(op=op, left=ast.NameRef(name=who), right=ast.BareName(name=name)),
                  st.sampled_from(["stage", "owner"]), st.sampled_from(["=", "!="]), NAMES),
        st.builds(lambda label: ast.Compare(op="=", left=ast.NameRef(name="route"),
                                            right=ast.Literal(kind=ir.Type.TEXT, value=label)), TEXT),
        st.booleans().map(lambda n: ast.IsMissing(operand=ast.NameRef(name="route"), negated=n)),
        st.just(ast.Truthy(operand=ast.NameRef(name="handoff"))))


def _claims():
    from hypothesis import strategies as st

    from .test_formatter import CONDITIONS, NAMES, TEXT, _flat

    decided = _decided_atoms()
    conditions = st.one_of(CONDITIONS, decided,
                           st.builds(lambda d, c: ast.And(items=_flat(ast.And, [d, c])), decided, CONDITIONS),
                           st.builds(lambda c, d: ast.Or(items=_flat(ast.Or, [c, d])), CONDITIONS, decided))
    return st.one_of(
        st.builds(lambda n, c: ast.Guarantee(name=n, kind=ast.HOLDS, condition=c), TEXT, conditions),
        st.builds(lambda n, c, t: ast.Guarantee(name=n, kind=ast.IMPLIES, condition=c, then=t), TEXT, conditions,
                  conditions),
        st.builds(lambda n, k, s, x: ast.Guarantee(name=n, kind=k, score=s, along=x), TEXT,
                  st.sampled_from([ast.NEVER_DECREASES, ast.NEVER_INCREASES]), NAMES, NAMES),
        st.builds(lambda n, x: ast.Guarantee(name=n, kind=ast.HANDOFF_KEPT, along=x), TEXT, NAMES))


def test_parse_of_fmt_of_generated_guarantees_is_the_same_policy():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .test_formatter import policies

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(policies(), st.lists(_claims(), max_size=4))
    def round_trip(policy, claims):
        policy = ast.Policy(id=policy.id, version=policy.version,
                            items=(*policy.items, ast.Guarantees(guarantees=tuple(claims))))
        out = format_policy(policy)
        parsed = parse_text(out)
        assert parsed.diagnostics == [] and parsed.policy == policy
        assert format_policy(parsed.policy, parsed.comments) == out

    round_trip()


def test_the_page_names_a_stage_or_team_as_its_tables_do_and_a_route_label_quoted(tmp_path):
    block = ('  guarantees {\n    "a": owner != marketing implies stage = sql or stage = mql\n'
             '    "b": nurture != stage implies route = "inbound-sdr"\n  }\n')
    table = rows(page(tmp_path, block))
    assert table["a"][0] == "Whenever the owning team is not marketing, the stage is sql or the stage is mql."
    assert table["b"][0] == 'Whenever the stage is not nurture, the route is "inbound-sdr".'
