"""`fmt`: canonical, idempotent, keeps comments, and never changes what a policy means."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpolicy.language import ast
from leadpolicy.language.formatter import condition, format_policy
from leadpolicy.language.parser import parse_file, parse_text
from leadpolicy.language.types import Type

from . import constructs
from .conftest import FIXTURES, POLICIES, golden


def fmt_text(text: str) -> str:
    result = parse_text(text)
    assert result.policy is not None, result.diagnostics
    return format_policy(result.policy, result.comments)


@pytest.mark.parametrize("name", ["inbound-b2b.policy", "product-led.policy"])
def test_policies_format_to_golden_and_keep_meaning(name):
    parsed = parse_file(POLICIES / name)
    out = format_policy(parsed.policy, parsed.comments)
    golden(FIXTURES / "formatted" / f"{name}.formatted", out)
    assert parse_text(out).policy == parsed.policy
    assert fmt_text(out) == out


def test_comments_are_kept_in_place():
    out = fmt_text((FIXTURES / "commented.policy").read_text())
    golden(FIXTURES / "formatted" / "commented.policy.formatted", out)
    for comment in ("# A file comment.", "# after the header", "# Before the lead block.",
                    "# the only required field", "# before a rule", "# the catch-all",
                    "# At the end of the policy.", "# After the policy."):
        assert comment in out
    assert "    email      text required  # the only required field\n" in out
    assert fmt_text(out) == out


def test_parentheses_are_kept_only_where_needed():
    text = ('policy "p" version 1.0.0 {\n score s {\n  +1 when ((a > 1 or b > 1) and (c > 1))\n'
            '  +1 when not (a > 1 and b > 1)\n  +1 when (not a > 1) or (b > 1 and c > 1)\n }\n}\n')
    out = fmt_text(text)
    assert "+1 when (a > 1 or b > 1) and c > 1" in out
    assert "+1 when not (a > 1 and b > 1)" in out
    assert "+1 when not a > 1 or (b > 1 and c > 1)" in out


def test_parentheses_grouping_and_inside_or_are_kept():
    text = ('policy "p" version 1.0.0 {\n score s {\n  +1 when a > 1 or (b > 1 and c > 1)\n'
            '  +1 when (a > 1 and b > 1) or c > 1 or not (d > 1 and e > 1)\n'
            '  +1 when a > 1 or b > 1 and c > 1\n }\n}\n')
    out = fmt_text(text)
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("+1")]
    assert lines == ["+1 when a > 1 or (b > 1 and c > 1)",
                     "+1 when (a > 1 and b > 1) or c > 1 or not (d > 1 and e > 1)",
                     "+1 when a > 1 or (b > 1 and c > 1)"]
    assert parse_text(out).policy == parse_text(text).policy
    assert fmt_text(out) == out


# ---------------------------------------------------------------- generated policies

NAMES = st.sampled_from(["employees", "email", "vip", "plan", "seen", "fit", "x_1"])
TEXT = st.text(alphabet=string.ascii_letters + string.digits + ' "\\#@.-_\té', max_size=12)  # no line break in a text
NUMBERS = st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


def lit_number():
    return NUMBERS.map(lambda d: ast.Literal(kind=Type.NUMBER, value=d))


def literal():
    return st.one_of(lit_number(), TEXT.map(lambda t: ast.Literal(kind=Type.TEXT, value=t)),
                     st.booleans().map(lambda b: ast.Literal(kind=Type.YESNO, value=b)),
                     st.dates().map(lambda d: ast.Literal(kind=Type.DATE, value=d.isoformat())))


# What each attribute of an operand's syntax node is drawn from (tests/constructs.py builds every row's node).
OPERAND_VALUES = {"name": NAMES, "field_name": NAMES, "event": NAMES, "days": st.integers(1, 400).map(Decimal)}


def operand():
    return st.one_of(constructs.operand_nodes(OPERAND_VALUES), literal())


def test_every_operand_of_the_table_of_primitives_is_generated():
    """A new operand's node is drawn with no edit here, unless it has an attribute OPERAND_VALUES does not name."""
    assert constructs.ungenerated(OPERAND_VALUES) == [], "give each attribute a strategy in OPERAND_VALUES"


ATOMS = st.one_of(
    st.builds(lambda o, a, b: ast.Compare(op=o, left=a, right=b),
              st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), operand(), operand()),
    st.builds(lambda a, b, c: ast.Between(operand=a, low=b, high=c), operand(), operand(), operand()),
    st.builds(lambda a, vs, n: ast.InList(operand=a, values=tuple(vs), negated=n),
              operand(), st.lists(literal(), min_size=1, max_size=3), st.booleans()),
    st.builds(lambda a, how, vs: ast.TextMatch(operand=a, how=how, values=tuple(vs) if how == "contains_any"
                                               else tuple(vs[:1])),
              operand(), st.sampled_from(["contains", "starts", "ends", "contains_any"]),
              st.lists(TEXT, min_size=1, max_size=3)),
    st.builds(lambda a, n: ast.IsMissing(operand=a, negated=n), operand(), st.booleans()),
    operand().map(lambda o: ast.Truthy(operand=o)),
)


def _flat(kind, items):
    out = []
    for item in items:
        out.extend(item.items if isinstance(item, kind) else [item])
    return tuple(out)


CONDITIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: ast.And(items=_flat(ast.And, xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: ast.Or(items=_flat(ast.Or, xs))),
        inner.map(lambda x: ast.Not(operand=x)),
    ),
    max_leaves=8,
)
REASONS = st.one_of(st.none(), TEXT)
RULES = st.one_of(
    st.builds(lambda p, c, r: ast.PointsRule(points=p, condition=c, reason=r), NUMBERS, CONDITIONS, REASONS),
    st.builds(lambda p, f, cap, r: ast.PerRule(points=p, field_name=f, cap=cap, reason=r),
              NUMBERS, NAMES, NUMBERS, REASONS),
)


@st.composite
def policies(draw):
    items = [ast.Title(text=draw(TEXT)), ast.Owner(team="marketing", person=draw(TEXT)),
             ast.Owner(team="sales", person=draw(TEXT))]
    fields = draw(st.lists(st.builds(
        lambda n, t, req: ast.LeadField(name=n, type=t, required=req),
        NAMES, st.one_of(st.sampled_from(["text", "number", "yes/no", "date", "timestamp"]).map(
            lambda k: ast.FieldType(name=k)),
            st.lists(TEXT, min_size=1, max_size=3).map(lambda cs: ast.FieldType(name="one of", choices=tuple(cs)))),
        st.booleans()), max_size=4))
    items.append(ast.LeadBlock(fields=tuple(fields)))
    score_items = draw(st.lists(RULES, min_size=1, max_size=4))
    if draw(st.booleans()):
        score_items.insert(0, ast.Clamp(low=Decimal(0), high=Decimal(100)))
    if draw(st.booleans()):
        score_items.append(ast.Decay(percent=Decimal(25), every_days=Decimal(30), field_name="seen"))
    items.append(ast.Score(name="fit", label=draw(REASONS), items=tuple(score_items)))
    entries = draw(st.lists(st.builds(lambda n, c: ast.StageEntry(name=n, condition=c, owner="sales"),
                                      NAMES, CONDITIONS), max_size=3))
    entries.append(ast.StageEntry(name="nurture", condition=None, owner="marketing"))
    items.append(ast.Stages(entries=tuple(entries)))
    items.append(ast.Route(stages=("sql",), entries=(
        ast.LabelEntry(label=draw(TEXT), condition=draw(CONDITIONS)), ast.LabelEntry(label="x", condition=None))))
    return ast.Policy(id="generated", version="1.0.0", items=tuple(items))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_parse_of_fmt_is_the_same_policy_and_fmt_is_idempotent(policy):
    out = format_policy(policy)
    parsed = parse_text(out)
    assert parsed.diagnostics == []
    assert parsed.policy == policy
    assert format_policy(parsed.policy, parsed.comments) == out


@settings(max_examples=200, deadline=None)
@given(CONDITIONS)
def test_every_and_inside_an_or_is_parenthesised(tree):
    for node in tree.walk():
        if isinstance(node, ast.Or):
            text = condition(node)
            for item in node.items:
                if isinstance(item, ast.And):
                    assert f"({condition(item)})" in text


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85"])
def test_a_hash_after_a_line_separator_inside_a_string_is_not_a_comment(separator):
    text = (f'policy "t" version 1.0.0 {{\n  title "a{separator}# b"\n  owner a "A"\n  owner b "B"\n'
            '  lead {\n    n number\n  }\n  stages {\n    rest otherwise owner a\n  }\n}\n')
    parsed = parse_text(text)
    assert parsed.comments == []
    once = format_policy(parsed.policy, parsed.comments)
    again = parse_text(once)
    assert format_policy(again.policy, again.comments) == once and again.policy == parsed.policy
