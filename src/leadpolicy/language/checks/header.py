"""The header: id, version, owners, timezone, effective date."""

from __future__ import annotations

import datetime as dt

import semver

from leadpolicy.language import ast
from leadpolicy.language.checks.context import SLUG, Context, known_timezones
from leadpolicy.language.diagnostics import did_you_mean


def header(ctx: Context) -> None:
    p = ctx.policy
    if not SLUG.match(p.id):
        ctx.report("bad-id", f'policy id "{p.id}" is not a slug', p.id_span,
                   hint="use lowercase letters, digits and dashes, as in \"inbound-b2b\"")
    if not semver.Version.is_valid(p.version):
        ctx.report("bad-version", f'version "{p.version}" is not MAJOR.MINOR.PATCH', p.version_span,
                   hint="for example 1.0.0")
    if p.title is None:
        ctx.report("missing-title", "the policy has no title", p.id_span,
                   hint='add: title "What this policy is for"')
    teams = p.teams
    if len(teams) < 2:
        where = p.owners[0] if p.owners else p.id_span
        plural = "s" if len(teams) != 1 else ""
        ctx.report("too-few-owners", f"{len(teams)} owning team{plural}; an agreement needs at least two",
                   where, hint='add both teams, e.g. owner marketing "..." and owner sales "..."')
    for kind, word in ((ast.Title, "title"), (ast.Timezone, "timezone"), (ast.Effective, "effective"),
                       (ast.Stages, "stages"), (ast.Recycle, "recycle"), (ast.Guarantees, "guarantees")):
        for extra in p.of(kind)[1:]:
            ctx.report("duplicate-block", f"a second {word}", extra, hint=f"a policy has one {word}")
    for tz in p.of(ast.Timezone):
        timezone(ctx, tz)
    for eff in p.of(ast.Effective):
        date_value(ctx, eff.date, eff)


def timezone(ctx: Context, tz: ast.Timezone) -> None:
    if tz.name not in known_timezones():
        ctx.report("unknown-timezone", f'unknown timezone "{tz.name}"', tz,
                   hint=did_you_mean(tz.name, known_timezones()) or 'use an IANA name such as "Europe/Berlin"')


def date_value(ctx: Context, text: str, node: ast.Node) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        ctx.report("bad-value", f"{text} is not a real date", node,
                   hint="write a date as YYYY-MM-DD, a day the calendar has")
        return None
