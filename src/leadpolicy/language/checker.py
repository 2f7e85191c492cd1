"""Semantic checks over a parsed policy: every problem found in one run, as diagnostics."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import fields
from decimal import Decimal
from typing import Iterable

import semver

from leadpolicy.language import analysis, ast
from leadpolicy.language.diagnostics import Diagnostic, did_you_mean
from leadpolicy.language.symbols import CHOICE, DATE, NUMBER, TEXT, TIMESTAMP, YESNO, Symbol, symbol_table
from leadpolicy.semantics.leads import BLANK
from leadpolicy.semantics.logic import decay_factor_table
from leadpolicy.sla.calendars import DAY_INDEX, clock_minutes, holiday_problem
from leadpolicy.sla.engine import UNIT_ALIASES

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RESERVED = {"and", "or", "not", "yes", "no", "days", "when", "otherwise", "owner"}
OUTPUT_NAMES = ("stage", "owner", "route")  # columns every scored row gets; no field, score or grade may take them
# Every number in a policy: at most 9 digits before the point and 9 after, so totals stay exact in
# 64-bit decimals on every engine. SLA durations: at most ten years.
MAX_WHOLE_DIGITS, MAX_PLACES = 9, 9
MAX_DURATION_DAYS = 3650
UNIT_DAYS = {"minutes": Decimal(1) / 1440, "hours": Decimal(1) / 24, "days": Decimal(1),
             "business hours": Decimal(1) / 24, "business days": Decimal(1)}
PERIODS = ("day", "week", "month", "quarter")
CLOCK_UNITS = ("minutes", "hours", "days", "business hours", "business days")
ORDERED_TYPES = (NUMBER, DATE, TIMESTAMP)
TYPE_WORDS = {NUMBER: "a number", TEXT: "text", YESNO: "yes/no", DATE: "a date", TIMESTAMP: "a timestamp",
              CHOICE: "text (one of)"}


@functools.lru_cache(maxsize=None)
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check(policy: ast.Policy, file: str) -> list[Diagnostic]:
    """All diagnostics for a policy, errors and warnings, sorted by place."""
    diags = _Checker(policy, file).run()
    if not any(d.is_error for d in diags):
        diags.extend(rule_warnings(policy, file))
    return sorted(diags, key=Diagnostic.sort_key)


class _Checker:
    def __init__(self, policy: ast.Policy, file: str):
        self.policy = policy
        self.file = file
        self.diags: list[Diagnostic] = []
        self.symbols = symbol_table(policy)
        self.teams = set(policy.teams)
        self.stage_names = {s.name for s in policy.stages}

    def report(self, code: str, message: str, node: ast.Node | ast.Span | None, hint: str | None = None) -> None:
        span = node if isinstance(node, ast.Span) else (node.span if node is not None else ast.NO_SPAN)
        self.diags.append(Diagnostic(code, message, self.file, span, hint=hint))

    def run(self) -> list[Diagnostic]:
        self.header()
        self.lead_fields()
        self.duplicates()
        self.number_limits()
        for index, item in enumerate(self.policy.items):
            if isinstance(item, ast.Score):
                self.score(item, index)
            elif isinstance(item, ast.Grade):
                self.grade(item, index)
            elif isinstance(item, ast.Stages):
                self.stages(item, index)
            elif isinstance(item, ast.Route):
                self.route(item, index)
            elif isinstance(item, ast.Calendar):
                self.calendar(item)
            elif isinstance(item, ast.Sla):
                self.sla(item)
            elif isinstance(item, ast.Recycle):
                self.recycle(item)
        return self.diags

    # ------------------------------------------------------------ header
    def header(self) -> None:
        p = self.policy
        if not SLUG.match(p.id):
            self.report("bad-id", f'policy id "{p.id}" is not a slug', p.id_span,
                        hint="use lowercase letters, digits and dashes, as in \"inbound-b2b\"")
        if not semver.Version.is_valid(p.version):
            self.report("bad-version", f'version "{p.version}" is not MAJOR.MINOR.PATCH', p.version_span,
                        hint="for example 1.0.0")
        if p.title is None:
            self.report("missing-title", "the policy has no title", p.id_span,
                        hint='add: title "What this policy is for"')
        teams = p.teams
        if len(teams) < 2:
            where = p.owners[0] if p.owners else p.id_span
            plural = "s" if len(teams) != 1 else ""
            self.report("too-few-owners", f"{len(teams)} owning team{plural}; an agreement needs at least two",
                        where, hint='add both teams, e.g. owner marketing "..." and owner sales "..."')
        for kind, word in ((ast.Title, "title"), (ast.Timezone, "timezone"), (ast.Effective, "effective"),
                           (ast.Stages, "stages"), (ast.Recycle, "recycle")):
            for extra in p.of(kind)[1:]:
                self.report("duplicate-block", f"a second {word}", extra, hint=f"a policy has one {word}")
        for tz in p.of(ast.Timezone):
            self.timezone(tz)
        for eff in p.of(ast.Effective):
            self.date_value(eff.date, eff)

    def timezone(self, tz: ast.Timezone) -> None:
        if tz.name not in known_timezones():
            self.report("unknown-timezone", f'unknown timezone "{tz.name}"', tz,
                        hint=did_you_mean(tz.name, known_timezones()) or 'use an IANA name such as "Europe/Berlin"')

    def date_value(self, text: str, node: ast.Node) -> dt.date | None:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.report("bad-value", f"{text} is not a real date", node)
            return None

    # ------------------------------------------------------------ lead fields
    def lead_fields(self) -> None:
        for f in self.policy.fields:
            if f.name in RESERVED:
                self.report("reserved-name", f'"{f.name}" is a reserved word in conditions', f,
                            hint=f'rename it, for example "{f.name}_value"')
            if f.type.name == CHOICE and len(set(f.type.choices)) != len(f.type.choices):
                self.report("duplicate-name", f'"{f.name}" lists a choice twice', f.type)
            if f.default is not None:
                self.literal_fits(f.default, Symbol(f.name, "field", f.type.name, f.type.choices))
                if isinstance(f.default.value, str) and f.default.value.strip(BLANK) == "":
                    self.report("bad-value", f'the default of "{f.name}" is blank, and a blank text counts as missing',
                                f.default, hint="remove the default, or give it a value with text in it")
            if f.type.name == TIMESTAMP and f.default is not None:
                self.report("no-sql-form", f'a default for timestamp field "{f.name}" has no SQL form yet', f.default,
                            hint="compile --target sql refuses this policy and `leadpolicy score` needs "
                                 "--engine python")
            if f.required and f.default is not None:
                self.report("bad-value", f'"{f.name}" is required, so its default never applies', f.default)

    def duplicates(self) -> None:
        groups: dict[str, list[tuple[str, ast.Node]]] = {
            "lead field": [(f.name, f) for f in self.policy.fields],
            "score or grade": [(i.name, i) for i in self.policy.items if isinstance(i, (ast.Score, ast.Grade))],
            "stage": [(s.name, s) for s in self.policy.stages],
            "calendar": [(c.name, c) for c in self.policy.calendars],
            "SLA": [(s.name, s) for s in self.policy.slas],
            "owner": [(f"{o.team} {o.person}", o) for o in self.policy.owners],  # a team may list several people
        }
        for kind, named in groups.items():
            seen: dict[str, tuple[str, ast.Node]] = {}
            for name, node in named:
                # Names are compared ignoring case: SQL engines and CRM exports do not tell Email from email.
                first = seen.get(name.casefold())
                if first is None:
                    seen[name.casefold()] = (name, node)
                elif first[0] == name:
                    self.report("duplicate-name", f'{kind} "{name}" is defined twice', node,
                                hint=f"first defined on line {first[1].span.line}")
                else:
                    self.report("duplicate-name", f'{kind} "{name}" differs from "{first[0]}" only in case', node,
                                hint="SQL engines and lead files do not tell them apart: rename one")
        fields = {f.name.casefold(): f.name for f in self.policy.fields}
        for item in self.policy.items:
            if isinstance(item, (ast.Score, ast.Grade)) and item.name.casefold() in fields:
                self.report("duplicate-name", f'"{item.name}" is both a lead field and a {type(item).__name__.lower()}',
                            item)
        named_outputs = [(f.name, f, "lead field") for f in self.policy.fields] + [
            (i.name, i, type(i).__name__.lower()) for i in self.policy.items if isinstance(i, (ast.Score, ast.Grade))]
        for name, node, kind in named_outputs:
            if name.casefold() in OUTPUT_NAMES and name != "owner":  # a field named owner is reported as reserved
                self.report("reserved-name", f'"{name}" is the name of a computed column, so it cannot name a {kind}',
                            node, hint=f'every scored lead gets {", ".join(OUTPUT_NAMES)}; rename it, for example '
                                       f'"{name}_value"')
        routed: dict[str, ast.Route] = {}
        for route in self.policy.routes:
            for stage in route.stages:
                if stage in routed:
                    self.report("duplicate-name", f'stage "{stage}" has two routes', route,
                                hint=f"the first is on line {routed[stage].span.line}")
                routed.setdefault(stage, route)

    def number_limits(self) -> None:
        """Every number within MAX_WHOLE_DIGITS/MAX_PLACES, every SLA duration within ten years."""
        for node in self.policy.walk():
            for f in fields(node):
                value = getattr(node, f.name)
                if isinstance(value, Decimal) and not _within_limits(value):
                    self.report("bad-value", f"{_short(value)} is out of range: numbers in a policy have at most "
                                f"{MAX_WHOLE_DIGITS} digits before the point and {MAX_PLACES} after", node)
            if isinstance(node, ast.ClockLimit) and _within_limits(node.amount) and node.unit in UNIT_DAYS \
                    and node.amount * UNIT_DAYS[node.unit] > MAX_DURATION_DAYS:
                self.report("bad-value", f"{_short(node.amount)} {node.unit} is longer than an SLA can promise "
                            f"({MAX_DURATION_DAYS} days at most)", node)
            if isinstance(node, ast.CountRule) and _within_limits(node.window) and node.window_unit in UNIT_DAYS \
                    and node.window * UNIT_DAYS[node.window_unit] > MAX_DURATION_DAYS:
                self.report("bad-value", f"a window of {_short(node.window)} {node.window_unit} is longer than "
                            f"{MAX_DURATION_DAYS} days", node)

    # ------------------------------------------------------------ names and types
    def lookup(self, ref: ast.NameRef, index: int) -> Symbol | None:
        sym = self.symbols.get(ref.name)
        if sym is None:
            self.report("unknown-name", f'unknown name "{ref.name}"', ref,
                        hint=did_you_mean(ref.name, self.visible(index)))
            return None
        if sym.kind != "field" and sym.order >= index:
            self.report("used-before-defined", f'{sym.kind} "{ref.name}" is used before it is defined', ref,
                        hint=f"move the {sym.kind} {ref.name} (line {sym.node.span.line if sym.node else 0}) above "
                             "this use")
            return None
        return sym

    def visible(self, index: int) -> list[str]:
        return [s.name for s in self.symbols.values() if s.kind == "field" or s.order < index]

    def field_of(self, name: str, node: ast.Node, wanted: tuple[str, ...], what: str) -> Symbol | None:
        """A lead field used by `per`, `decay` or `days since`, with its type checked."""
        sym = self.symbols.get(name)
        if sym is None or sym.kind != "field":
            fields = [f.name for f in self.policy.fields]
            self.report("unknown-name", f'unknown lead field "{name}"', node, hint=did_you_mean(name, fields))
            return None
        if sym.type not in wanted:
            self.report("type-mismatch", f'{what} needs {" or ".join(TYPE_WORDS[w] for w in wanted)} field, '
                        f'but "{name}" is {TYPE_WORDS[sym.type]}', node)
            return None
        return sym

    def operand_type(self, node: ast.Node, index: int) -> Symbol | None:
        """The type of an operand as a Symbol (None when it is already reported as wrong)."""
        if isinstance(node, ast.NameRef):
            return self.lookup(node, index)
        if isinstance(node, ast.DaysSince):
            if self.field_of(node.field_name, node, (DATE, TIMESTAMP), "days since") is None:
                return None
            return Symbol("days since " + node.field_name, "expr", NUMBER)
        if isinstance(node, ast.Literal):
            kind = {"number": NUMBER, "text": TEXT, "yesno": YESNO, "date": DATE}[node.kind]
            if node.kind == "date":
                self.date_value(str(node.value), node)
            return Symbol("literal", "literal", kind)
        raise TypeError(node)

    def literal_fits(self, lit: ast.Node, sym: Symbol) -> None:
        """A literal compared with (or defaulted into) `sym` must have a compatible type and choice."""
        if not isinstance(lit, ast.Literal):
            return
        kind = {"number": NUMBER, "text": TEXT, "yesno": YESNO, "date": DATE}[lit.kind]
        if not compatible(sym.type, kind):
            self.report("type-mismatch", f"{describe(sym)} compared with {TYPE_WORDS[kind]} {_lit(lit)}", lit)
        elif sym.type == CHOICE and lit.kind == "text":
            lowered = {c.lower() for c in sym.choices}
            if str(lit.value).lower() not in lowered:
                self.report("not-a-choice", f'"{lit.value}" is not one of {sym.name}\'s choices', lit,
                            hint=did_you_mean(str(lit.value), sym.choices)
                            or "choices: " + ", ".join(sym.choices))

    def condition(self, node: ast.Node, index: int) -> None:
        """Name and type checks for every atom of a condition."""
        for atom in node.walk():
            if isinstance(atom, ast.Compare):
                left, right = self.operand_type(atom.left, index), self.operand_type(atom.right, index)
                if left is None or right is None:
                    continue
                if atom.op in ("<", "<=", ">", ">=") and left.type not in ORDERED_TYPES:
                    self.report("type-mismatch", f"{atom.op} compares order, but {describe(left)} has none", atom,
                                hint="use = or != for text and yes/no")
                elif not compatible(left.type, right.type):
                    self.report("type-mismatch", f"{describe(left)} compared with {describe(right)}", atom)
                else:
                    self.literal_fits(atom.right, left)
                    self.literal_fits(atom.left, right)
                    self.sql_form(atom, {left.type, right.type})
            elif isinstance(atom, ast.Between):
                subject = self.operand_type(atom.operand, index)
                bounds = [self.operand_type(b, index) for b in (atom.low, atom.high)]
                if subject is None or None in bounds:
                    continue
                if subject.type not in ORDERED_TYPES:
                    self.report("type-mismatch", f"between needs a number, date or timestamp, not {describe(subject)}",
                                atom)
                    continue
                for bound, sym in zip((atom.low, atom.high), bounds):
                    if sym is None:
                        continue
                    if not compatible(subject.type, sym.type):
                        self.report("type-mismatch", f"{describe(subject)} compared with {describe(sym)}", bound)
                self.sql_form(atom, {subject.type} | {b.type for b in bounds if b is not None})
                if (isinstance(atom.low, ast.Literal) and isinstance(atom.high, ast.Literal)
                        and atom.low.kind == atom.high.kind and atom.low.value > atom.high.value):  # type: ignore[operator]
                    self.report("bad-value", "the low end of between is above the high end", atom,
                                hint=f"write between {_lit(atom.high)} and {_lit(atom.low)}")
            elif isinstance(atom, ast.InList):
                subject = self.operand_type(atom.operand, index)
                if subject is not None:
                    for value in atom.values:
                        self.literal_fits(value, subject)
                    if subject.type == TIMESTAMP and any(isinstance(v, ast.Literal) and v.kind == "date"
                                                         for v in atom.values):
                        self.sql_form(atom, {TIMESTAMP, DATE})
            elif isinstance(atom, ast.TextMatch):
                subject = self.operand_type(atom.operand, index)
                if subject is not None and subject.type not in (TEXT, CHOICE):
                    self.report("type-mismatch", f"{atom.how.replace('_', ' ')} works on text, not {describe(subject)}",
                                atom)
            elif isinstance(atom, ast.IsMissing):
                self.operand_type(atom.operand, index)
            elif isinstance(atom, ast.Truthy):
                subject = self.operand_type(atom.operand, index)
                if subject is not None and subject.type != YESNO:
                    self.report("type-mismatch",
                                f"a bare condition must be a yes/no field, but {describe(subject)} is not",
                                atom, hint=_bare_hint(subject))

    def sql_form(self, atom: ast.Node, types: set) -> None:
        """Warn where a policy has no SQL form (the Python evaluators still run it)."""
        if {TIMESTAMP, DATE} <= types:
            self.report("no-sql-form", "a timestamp compared with a date has no SQL form yet", atom,
                        hint="compile --target sql refuses this policy and `leadpolicy score` needs --engine python; "
                             "compare with a timestamp, or use days since")

    # ------------------------------------------------------------ blocks
    def score(self, score: ast.Score, index: int) -> None:
        clamps, decays = [i for i in score.items if isinstance(i, ast.Clamp)], [i for i in score.items
                                                                              if isinstance(i, ast.Decay)]
        for extra in clamps[1:] + decays[1:]:
            self.report("duplicate-block", f"score {score.name} has a second {type(extra).__name__.lower()}", extra)
        for clamp in clamps[:1]:
            if clamp.low != clamp.low.to_integral_value() or clamp.high != clamp.high.to_integral_value():
                self.report("bad-value", "clamp bounds are whole numbers", clamp, hint="scores are whole numbers")
            elif clamp.low > clamp.high:
                self.report("bad-value", f"clamp {clamp.low} to {clamp.high}: the low end is above the high end", clamp)
        for decay in decays[:1]:
            if not Decimal(0) < decay.percent <= Decimal(100):
                self.report("bad-value", f"decay of {decay.percent}% is outside 0-100%", decay)
            if decay.every_days <= 0:
                self.report("bad-value", "decay needs a period of at least one day", decay)
            elif Decimal(0) < decay.percent <= Decimal(100) and all(_within_limits(r.points) for r in score.rules):
                bound = sum((abs(r.cap) if isinstance(r, ast.PerRule) else abs(r.points) for r in score.rules),
                            Decimal(0))
                try:
                    decay_factor_table(decay.percent, bound)
                except ValueError as exc:
                    self.report("no-sql-form", str(exc), decay,
                                hint="compile --target sql refuses it and `leadpolicy score` needs --engine python; "
                                     "a faster decay or a longer period fits")
            self.field_of(decay.field_name, decay, (DATE, TIMESTAMP), "decay")
        for rule in score.rules:
            if isinstance(rule, ast.PerRule):
                self.field_of(rule.field_name, rule, (NUMBER,), "per")
                if rule.cap <= 0:
                    self.report("bad-value", "the cap of a per rule is a positive number of points", rule)
            else:
                self.condition(rule.condition, index)
        if not score.rules:
            self.report("bad-value", f"score {score.name} has no rules", score)

    def grade(self, grade: ast.Grade, index: int) -> None:
        source = self.symbols.get(grade.source)
        if source is None or source.kind != "score":
            scores = [s.name for s in self.policy.scores]
            self.report("unknown-name", f'grade {grade.name} is from "{grade.source}", which is not a score', grade,
                        hint=did_you_mean(grade.source, scores))
        elif source.order >= index:
            self.report("used-before-defined", f'score "{grade.source}" is defined after grade {grade.name}', grade)
        self.ladder(grade.entries, index, "grade")
        if grade.entries and all(e.condition is not None for e in grade.entries):
            self.report("grade-no-otherwise", f"grade {grade.name} has no otherwise", grade,
                        hint='end with: "D" otherwise')

    def stages(self, stages: ast.Stages, index: int) -> None:
        for entry in stages.entries:
            if entry.owner not in self.teams:
                self.unknown_team(entry.owner, entry)
        self.ladder(stages.entries, len(self.policy.items), "stage")
        if stages.entries and stages.entries[-1].condition is not None and not any(
                e.condition is None for e in stages.entries):
            self.report("missing-otherwise", "the stages have no otherwise: a lead could have no stage", stages,
                        hint="end with a stage like: nurture otherwise owner marketing")

    def route(self, route: ast.Route, index: int) -> None:
        for stage in route.stages:
            if stage not in self.stage_names:
                self.report("unknown-stage", f'route for unknown stage "{stage}"', route,
                            hint=did_you_mean(stage, self.stage_names))
        self.ladder(route.entries, len(self.policy.items), "route")
        if route.entries and all(e.condition is not None for e in route.entries):
            self.report("no-route-otherwise", f"route for {', '.join(route.stages)} has no otherwise", route)

    def ladder(self, entries, index: int, what: str) -> None:
        """First-match entries: names and types, otherwise last, and what can never be reached."""
        errors_before = sum(d.is_error for d in self.diags)
        for i, entry in enumerate(entries):
            if entry.condition is None:
                if i != len(entries) - 1:
                    self.report("otherwise-not-last",
                                f"otherwise is not the last {what}: the entries after it can never match",
                                entry, hint="move otherwise to the end")
            else:
                self.condition(entry.condition, index)
        if sum(d.is_error for d in self.diags) > errors_before:
            return  # reasoning over ill-typed conditions would only add noise
        conditions = [e.condition for e in entries]
        for i in analysis.unreachable(conditions, self.symbols, self.policy.timezone):
            entry = entries[i]
            name = getattr(entry, "label", None) or getattr(entry, "name", "")
            if analysis.satisfiability(entry.condition, self.symbols, self.policy.timezone) == "never":
                self.report("never-true", f'the condition of {what} "{name}" can never be true', entry.condition,
                            hint="check the numbers and the and/or")
            else:
                self.report("unreachable", f'{what} "{name}" can never be chosen: earlier entries always match first',
                            entry, hint="reorder the entries so the narrower condition comes first")

    def unknown_team(self, team: str, node: ast.Node) -> None:
        self.report("unknown-team", f'team "{team}" does not own this policy', node,
                    hint=did_you_mean(team, self.teams) or f"owning teams: {', '.join(sorted(self.teams))}")

    def calendar(self, cal: ast.Calendar) -> None:
        if cal.timezone is None:
            self.report("incomplete-sla", f"calendar {cal.name} has no timezone", cal,
                        hint='add: timezone "America/New_York"')
        for item in cal.items:
            if isinstance(item, ast.Timezone):
                self.timezone(item)
            elif isinstance(item, ast.OpenHours):
                for first, last in item.days:
                    for day in (first, last):
                        if day not in DAY_INDEX:
                            self.report("bad-value", f'"{day}" is not a day', item,
                                        hint=did_you_mean(day, DAY_INDEX) or "days are mon tue wed thu fri sat sun")
                for start, end in item.ranges:
                    times = [clock_minutes(t) for t in (start, end)]
                    if None in times:
                        self.report("bad-value", f"{start}-{end} is not a time range (HH:MM-HH:MM, 00:00-24:00)", item)
                    elif times[0] >= times[1]:  # type: ignore[operator]
                        self.report("bad-value", f"{start}-{end} ends before it starts", item,
                                    hint="a range ends on the same day; for a night shift, use two ranges")
            elif isinstance(item, ast.Holidays):
                problem = holiday_problem(item.country, item.subdivision)
                if problem:
                    self.report("unknown-holidays", problem[0], item, hint=problem[1])
            elif isinstance(item, ast.Closed):
                self.date_value(item.date, item)
        if not any(isinstance(i, ast.OpenHours) for i in cal.items):
            self.report("incomplete-sla", f"calendar {cal.name} has no open hours", cal,
                        hint="add: open mon-fri 09:00-17:00")

    def sla(self, sla: ast.Sla) -> None:
        owners = sla.all(ast.SlaOwner)
        if not owners:
            self.report("incomplete-sla", f"sla {sla.name} has no owner team", sla, hint="add: owner sales")
        for owner in owners:
            if owner.team not in self.teams:
                self.unknown_team(owner.team, owner)
        kinds = {k for k, node in (("clock", ast.ClockSpan), ("count", ast.CountRule), ("volume", ast.VolumeRule))
                 if sla.first(node)}
        if len(kinds) > 1:
            self.report("incomplete-sla", f"sla {sla.name} mixes kinds ({', '.join(sorted(kinds))}); write one per SLA",
                        sla)
        if not kinds:
            self.report("incomplete-sla", f"sla {sla.name} says neither a clock, a count nor a volume", sla,
                        hint="for example: from became_sql until first_touch / within 4 business hours on CALENDAR")
        calendars = {c.name for c in self.policy.calendars}
        span, limit = sla.first(ast.ClockSpan), sla.first(ast.ClockLimit)
        if "clock" in kinds or limit is not None:
            if span is None:
                self.report("incomplete-sla", f"sla {sla.name} has a limit but no `from EVENT until EVENT`", sla)
            if limit is None:
                self.report("incomplete-sla", f"sla {sla.name} has no limit", sla, hint="add: within 4 business hours")
        if isinstance(limit, ast.ClockLimit):
            unit = UNIT_ALIASES.get(limit.unit, limit.unit)
            if unit not in CLOCK_UNITS:
                self.report("bad-value", f'"{limit.unit}" is not a unit of time', limit,
                            hint=did_you_mean(limit.unit, CLOCK_UNITS)
                            or "minutes, hours, days, business hours, business days")
            if limit.amount <= 0:
                self.report("bad-value", "the limit must be above zero", limit)
            if unit.startswith("business") and limit.calendar is None:
                self.report("incomplete-sla", f"{unit} need a calendar", limit, hint="add: on CALENDAR_NAME")
            if limit.calendar is not None and limit.calendar not in calendars:
                self.report("unknown-calendar", f'unknown calendar "{limit.calendar}"', limit,
                            hint=did_you_mean(limit.calendar, calendars))
        for target in sla.all(ast.Target):
            if not Decimal(0) <= target.percent <= Decimal(100):
                self.report("bad-value", f"target {target.percent}% is outside 0-100%", target)
        if kinds & {"clock", "count"} and not sla.all(ast.Target):
            self.report("incomplete-sla", f"sla {sla.name} has no target", sla, hint="add: target 90%")
        for rule in sla.all(ast.CountRule):
            if rule.window_unit not in ("days", "day"):
                self.report("bad-value", f'count windows are in days, not "{rule.window_unit}"', rule)
            if rule.count < 1 or rule.window <= 0:
                self.report("bad-value", "a count SLA needs at least 1 event in a window above zero", rule)
        for volume in sla.all(ast.VolumeRule):
            if volume.period not in PERIODS:
                self.report("bad-value", f'"{volume.period}" is not a period', volume,
                            hint=did_you_mean(volume.period, PERIODS) or "day, week, month or quarter")
        events = set()
        if isinstance(span, ast.ClockSpan):
            events = {span.start, *span.stops}
        for needs in sla.all(ast.NeedsReason):
            if events and needs.event not in events:
                self.report("unknown-name", f'"{needs.event}" is not an event of sla {sla.name}', needs,
                            hint=did_you_mean(needs.event, events))

    def recycle(self, block: ast.Recycle) -> None:
        reasons: dict[str, tuple[str, ...]] = {}
        for sla in self.policy.slas:
            for needs in sla.all(ast.NeedsReason):
                reasons[needs.event] = reasons.get(needs.event, ()) + needs.reasons
        for rule in block.rules:
            if rule.stage not in self.stage_names:
                self.report("unknown-stage", f'recycle to unknown stage "{rule.stage}"', rule,
                            hint=did_you_mean(rule.stage, self.stage_names))
            if rule.unit not in ("days", "day"):
                self.report("bad-value", f'recycle delays are in days, not "{rule.unit}"', rule)
            if rule.event in reasons and rule.reason not in reasons[rule.event]:
                self.report("not-a-choice", f'"{rule.reason}" is not an agreed reason for {rule.event}', rule,
                            hint=did_you_mean(rule.reason, reasons[rule.event])
                            or "agreed: " + ", ".join(reasons[rule.event]))


def compatible(a: str, b: str) -> bool:
    """Whether values of types a and b may be compared."""
    texts = (TEXT, CHOICE)
    times = (DATE, TIMESTAMP)
    return a == b or (a in texts and b in texts) or (a in times and b in times)


def describe(sym: Symbol) -> str:
    if sym.kind == "literal":
        return TYPE_WORDS[sym.type]
    return f'{sym.kind} "{sym.name}" ({TYPE_WORDS[sym.type]})' if sym.kind != "expr" else f"{sym.name} (a number)"


def _lit(lit: ast.Literal) -> str:
    from leadpolicy.language.formatter import literal

    return literal(lit)


def _bare_hint(sym: Symbol) -> str:
    if sym.type == NUMBER:
        return f"compare it, for example {sym.name} > 0"
    if sym.type in (TEXT, CHOICE):
        return f"use {sym.name} is present, or compare it with ="
    return f"use {sym.name} is present"


def rule_warnings(policy: ast.Policy, file: str) -> Iterable[Diagnostic]:
    """never-true and always-true warnings for scoring rules (run when there are no errors)."""
    symbols = symbol_table(policy)
    for score in policy.scores:
        for rule in score.rules:
            if not isinstance(rule, ast.PointsRule):
                continue
            verdict = analysis.satisfiability(rule.condition, symbols, policy.timezone)
            if verdict == "never":
                yield Diagnostic("never-true", "this condition can never be true, so the rule never fires",
                                 file, rule.condition.span, hint="check the numbers and the and/or")
            elif verdict == "always":
                yield Diagnostic("always-true", "this condition is always true, so every lead gets these points",
                                 file, rule.condition.span)


def _within_limits(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    if value.is_zero():
        return True
    exponent = value.as_tuple().exponent
    return value.adjusted() < MAX_WHOLE_DIGITS and isinstance(exponent, int) and exponent >= -MAX_PLACES


def _short(value: Decimal) -> str:
    """A number as written, shortened when it is very long (messages stay readable)."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}...{text[-4:]} ({len(text)} characters)"
