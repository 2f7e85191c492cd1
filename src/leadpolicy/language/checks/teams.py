"""The `team` blocks (v3): names, lines given once, members, weights and caps, calendars, fallbacks and their
cycles, and route labels that look like a misspelled team."""

from __future__ import annotations

import difflib
import re

from leadpolicy.language import ast
from leadpolicy.language.checks.context import SLUG, Context
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.formatter import number, quote

# A member as approvals name an owner: "Name <email>".
MEMBER = re.compile(r"^(?P<name>[^<>]*[^<>\s])\s*<(?P<email>[^<>@\s]+@[^<>@\s]+)>$")
ASSIGN_FORMS = "assign round robin | assign by weight | assign least loaded today"
ONCE = {ast.TeamCalendar: "calendar", ast.AssignRule: "assign", ast.MatchAccounts: "match accounts",
        ast.Fallback: "when nobody is available"}
LIKE_A_TEAM = 0.8  # how close a route label must come to a team's name to be taken for a misspelling of it


def teams(ctx: Context) -> None:
    blocks = ctx.policy.team_blocks
    names = {t.name for t in blocks}
    calendars = {c.name for c in ctx.policy.calendars}
    seen: dict[str, ast.Team] = {}
    for team in blocks:
        _name(ctx, team, seen)
        _lines_once(ctx, team)
        _members(ctx, team, calendars)
        _all_paused(ctx, team, names)
        if team.calendar is not None and team.calendar not in calendars:
            line = team.first(ast.TeamCalendar)
            ctx.report("unknown-calendar", f'unknown calendar "{team.calendar}"', line,
                       hint=did_you_mean(team.calendar, calendars) or _calendars_hint(calendars))
        fallback = team.first(ast.Fallback)
        if fallback is not None and fallback.team is not None and fallback.team not in names:
            ctx.report("unknown-team", f'no team is called "{fallback.team}"', ast.place(fallback.team_span, fallback),
                       hint=did_you_mean(fallback.team, names) or f"teams: {', '.join(sorted(names))}")
    _fallback_cycles(ctx, blocks)
    _labels_like_teams(ctx, names)


def _name(ctx: Context, team: ast.Team, seen: dict[str, ast.Team]) -> None:
    where = ast.place(team.name_span, team)
    if not SLUG.match(team.name):
        ctx.report("bad-id", f'team name "{team.name}" is not a slug', where,
                   hint=f'a route label names the team: use lowercase letters, digits and dashes, as in '
                        f'"{_slug(team.name)}"')
    first = seen.setdefault(team.name, team)
    if first is not team:
        ctx.report("duplicate-name", f'team "{team.name}" is defined twice', where,
                   hint=f"the first is on line {first.span.line}")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "inbound-sdr"


def _lines_once(ctx: Context, team: ast.Team) -> None:
    """A team's calendar, assign, match and fallback lines: each at most once; `assign` exactly once."""
    for kind, words in ONCE.items():
        lines: tuple[ast.Node, ...] = team.all(kind)
        for extra in lines[1:]:
            ctx.report("duplicate-block", f'team {team.name} gives its "{words}" line twice', extra,
                       hint=f"keep one (the first is on line {lines[0].span.line})")
    if team.first(ast.AssignRule) is None:
        ctx.report("incomplete-team", f"team {team.name} does not say how it assigns leads",
                   ast.place(team.name_span, team), hint=f"add one line: {ASSIGN_FORMS}")
    if not team.members:
        ctx.report("incomplete-team", f"team {team.name} has no members", ast.place(team.name_span, team),
                   hint='add at least one: member "Name <email>"')


def _members(ctx: Context, team: ast.Team, calendars: set[str]) -> None:
    seen: dict[str, ast.Member] = {}
    for member in team.members:
        person = ast.place(member.person_span, member)
        written = MEMBER.match(member.person)
        if written is None:
            ctx.report("bad-value", f"member {quote(member.person)} is not written as \"Name <email>\"", person,
                       hint='as owners are: member "Ana Ruiz <ana@example.com>"')
        for key in _member_keys(member.person, written):
            first = seen.setdefault(key, member)
            if first is not member:
                ctx.report("duplicate-member", f"{quote(member.person)} is already a member of team {team.name}",
                           person, hint=f"the first is on line {first.span.line}: keep one line per person")
                break
        _weight_and_cap(ctx, member)
        if member.calendar is not None and member.calendar not in calendars:
            ctx.report("unknown-calendar", f'unknown calendar "{member.calendar}"',
                       ast.place(member.calendar_span, member),
                       hint=did_you_mean(member.calendar, calendars) or _calendars_hint(calendars))


def _all_paused(ctx: Context, team: ast.Team, names: set[str]) -> None:
    """Every member at weight 0 and no team to fall back to: each lead routed (or falling back) to it is held for
    good, since a paused member is never available."""
    if not team.members or any(m.weight is None or m.weight > 0 for m in team.members):
        return
    fallback = team.first(ast.Fallback)
    if fallback is not None and fallback.team in names:
        return
    ctx.report("team-all-paused", f"every member of team {team.name} has weight 0 (paused): a lead it gets is held "
                                  "and never assigned", ast.place(team.name_span, team),
               hint="give a member a weight above 0, or fall back to another team: when nobody is available to TEAM")


def _member_keys(person: str, written: re.Match[str] | None) -> tuple[str, ...]:
    """What names a member in run-time data (its email, its name, the text as written), folded: two members
    sharing any of them could not be told apart."""
    if written is None:
        return (person.casefold(),)
    return ("email:" + written["email"].casefold(), "name:" + written["name"].casefold())


def _weight_and_cap(ctx: Context, member: ast.Member) -> None:
    if member.weight is not None and (member.weight < 0 or member.weight != member.weight.to_integral_value()):
        ctx.report("bad-value", f"weight {number(member.weight)} is not a whole number of 0 or more",
                   ast.place(member.weight_span, member), hint="weight 0 pauses a member; the default is 1")
    if member.cap is not None and (member.cap < 1 or member.cap != member.cap.to_integral_value()):
        ctx.report("bad-value", f"cap {number(member.cap)} is not a whole number of 1 or more",
                   ast.place(member.cap_span, member), hint="to pause a member, write weight 0")
    if member.cap_period is not None and member.cap_period not in ast.CAP_PERIODS:
        ctx.report("bad-value", f'a cap is per day or per week, not per "{member.cap_period}"',
                   ast.place(member.cap_span, member),
                   hint=did_you_mean(member.cap_period, ast.CAP_PERIODS) or "cap N per day, or cap N per week")


def _calendars_hint(calendars: set[str]) -> str:
    if not calendars:
        return "declare it: calendar NAME { timezone \"...\" open mon-fri 09:00-17:00 }"
    return f"calendars: {', '.join(sorted(calendars))}"


def _fallback_cycles(ctx: Context, blocks: tuple[ast.Team, ...]) -> None:
    """Each cycle of fallbacks once, at the fallback line of its first team in source order."""
    fallbacks = {t.name: t.fallback for t in blocks if t.fallback is not None}
    reported: set[str] = set()
    for team in blocks:
        path = [team.name]
        while (following := fallbacks.get(path[-1])) is not None and following not in path:
            path.append(following)
        if following is None or following != team.name or team.name in reported:
            continue
        reported.update(path)
        cycle = " -> ".join([*path, team.name])
        ctx.report("fallback-cycle", f"the fallbacks of teams form a cycle: {cycle}", team.first(ast.Fallback),
                   hint="end one of them with: when nobody is available hold")


def _labels_like_teams(ctx: Context, names: set[str]) -> None:
    """A route label that is not a team but comes close to one's name: a warning, as other labels stay queues."""
    if not names:
        return
    for route in ctx.policy.routes:
        for entry in route.entries:
            if entry.label in names:
                continue
            close = difflib.get_close_matches(entry.label, sorted(names), n=1, cutoff=LIKE_A_TEAM)
            if close:
                start = entry.span
                where = ast.Span(start.line, start.column, start.line, start.column + len(quote(entry.label)))
                ctx.report("label-like-team", f"route label {quote(entry.label)} is not a team, so it stays a "
                           "queue name", where, hint=f'did you mean "{close[0]}"? (a label equal to a team\'s name '
                           "assigns its leads to that team's members)")

