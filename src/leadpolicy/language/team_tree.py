"""Tree building for the `team` block (v3): the callbacks of its grammar rules, mixed into the parser's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Token, v_args
from lark.tree import Meta
from lark.visitors import Transformer_NonRecursive

from leadpolicy.language import ast
from leadpolicy.language.tokens import BuildError, span_of, unquote

# A member's option as its rule builds it: (word, value, where the option stands, where its value stands).
MemberOption = tuple[str, Any, ast.Span, ast.Span]
OPTION_FIELDS = {"weight": ("weight", "weight_span"), "cap": ("cap", "cap_span"),
                 "calendar": ("calendar", "calendar_span")}


@v_args(meta=True)
class TeamTree(Transformer_NonRecursive[Token, ast.Policy]):
    """The `team` rules' callbacks; the parser's transformer extends it with the other rules'."""

    def team(self, meta: Meta, c: list[Any]) -> ast.Team:
        name, rest = c[0], c[1:]
        label = unquote(rest.pop(0)) if rest and isinstance(rest[0], Token) else None
        items: list[ast.Node] = []
        for item in rest:
            items.extend(item if isinstance(item, tuple) else (item,))
        return ast.Team(name=str(name), label=label, items=tuple(items), name_span=span_of(name), span=span_of(meta))

    def team_calendar(self, meta: Meta, c: list[Token]) -> ast.TeamCalendar:
        return ast.TeamCalendar(name=str(c[0]), span=span_of(meta))

    def assign_round_robin(self, meta: Meta, c: list[Token]) -> ast.AssignRule:
        return ast.AssignRule(how=ast.ROUND_ROBIN, span=span_of(meta))

    def assign_by_weight(self, meta: Meta, c: list[Token]) -> ast.AssignRule:
        return ast.AssignRule(how=ast.BY_WEIGHT, span=span_of(meta))

    def assign_least_loaded(self, meta: Meta, c: list[Token]) -> ast.AssignRule:
        return ast.AssignRule(how=ast.LEAST_LOADED, span=span_of(meta))

    def member(self, meta: Meta, c: list[Any]) -> ast.Member | tuple[ast.Node, ...]:
        """A member; a `calendar` option that starts a line of its own is the team's calendar line that follows
        the member (the grammar cannot tell the two apart)."""
        person, options = c[0], list(c[1:])
        team_calendar = None
        before = options[-2][2].end_line if len(options) > 1 else (person.end_line or 0)
        if options and options[-1][0] == "calendar" and options[-1][2].line > before:
            _, name, where, _ = options.pop()
            team_calendar = ast.TeamCalendar(name=name, span=where)
        start, end = span_of(meta), options[-1][2] if options else span_of(person)
        member = ast.Member(person=unquote(person), person_span=span_of(person), **_option_values(options),
                            span=ast.Span(start.line, start.column, end.end_line, end.end_column))
        return (member, team_calendar) if team_calendar is not None else member

    def member_weight(self, meta: Meta, c: list[Token]) -> MemberOption:
        return ("weight", Decimal(str(c[0])), span_of(meta), span_of(c[0]))

    def member_cap(self, meta: Meta, c: list[Token]) -> MemberOption:
        return ("cap", (Decimal(str(c[0])), str(c[1])), span_of(meta), span_of(meta))

    def member_calendar(self, meta: Meta, c: list[Token]) -> MemberOption:
        return ("calendar", str(c[0]), span_of(meta), span_of(c[0]))

    def match_accounts(self, meta: Meta, c: list[Token]) -> ast.MatchAccounts:
        return ast.MatchAccounts(span=span_of(meta))

    def fallback_hold(self, meta: Meta, c: list[Token]) -> ast.Fallback:
        return ast.Fallback(team=None, span=span_of(meta))

    def fallback_team(self, meta: Meta, c: list[Token]) -> ast.Fallback:
        return ast.Fallback(team=str(c[0]), team_span=span_of(c[0]), span=span_of(meta))


def _option_values(options: list[MemberOption]) -> dict[str, Any]:
    """A member's options as the fields of `ast.Member`; an option given twice is refused."""
    values: dict[str, Any] = {}
    for word, value, where, value_span in options:
        field_name, span_name = OPTION_FIELDS[word]
        if field_name in values:
            raise BuildError(f"{word} is given twice for this member", where, f"keep one `{word}` option")
        values[field_name], values[span_name] = value, value_span
        if word == "cap":
            values["cap"], values["cap_period"] = value
    return values
