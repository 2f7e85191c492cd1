"""Semantic diff of two versions of a policy, in domain words, with its impact on leads."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from leadpolicy.language import ast
from leadpolicy.language.formatter import (
    claim_text,
    field_type,
    member_options,
    number,
    rule_label,
    rule_text,
    sla_item_text,
)
from leadpolicy.language.formatter import condition as cond_text
from leadpolicy.language.words import quantity
from leadpolicy.runtime import seen_at

if TYPE_CHECKING:
    from leadpolicy.api import Policy
    from leadpolicy.semantics import ir
    from leadpolicy.warehouse.batch import Progress
    from leadpolicy.warehouse.event_files import EventStats


@dataclass(frozen=True)
class Change:
    """One change between two versions: what kind of thing, which one, how, before and after."""

    kind: str  # version, title, owner, timezone, lead field, score, rule, grade, stage, route, sla, recycle, ...
    name: str  # which one ("" for the policy's own version, title and timezone)
    change: str  # added, removed, changed, reordered
    old: str | None
    new: str | None
    text: str  # the change in one line of domain words

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "old": self.old, "new": self.new,
                "text": self.text}

    def __str__(self) -> str:
        return self.text


@dataclass
class PolicyDiff:
    old: ast.Policy
    new: ast.Policy
    changes: list[Change] = field(default_factory=list)
    impact: dict[str, Any] | None = None
    proved: dict[str, Any] | None = None  # --prove: every (old stage, new stage) pair (proofs.moves.moves_json)

    def as_dict(self) -> dict[str, Any]:
        out = {"old": {"id": self.old.id, "version": self.old.version},
               "new": {"id": self.new.id, "version": self.new.version},
               "changes": [c.as_dict() for c in self.changes], "impact": self.impact}
        return out if self.proved is None else {**out, "prove": self.proved}

    @property
    def moves_possible(self) -> bool:
        """--prove found a lead the versions decide a different stage, route or grade for."""
        proved = self.proved or {}
        others = [proved["routes"], *proved["grades"]] if "routes" in proved else []
        return any(m["status"] == "possible" and m["from"] != m["to"] for m in proved.get("moves", [])) or \
            any(o["status"] == "possible" for o in others)


Item = TypeVar("Item")
Ladder = TypeVar("Ladder", ast.Grade, ast.Route)
Entry = ast.LabelEntry | ast.StageEntry  # a first-match entry: a grade's or route's, or a stage


def _changed(kind: str, name: str, old: str, new: str, text: str | None = None) -> Change:
    return Change(kind, name, "changed", old, new, text or f"{name}: {old} → {new}")


def _by_key(items: Iterable[Item], key: Callable[[Item], str]) -> dict[str, Item]:
    return {key(i): i for i in items}


def _pairs(kind: str, old_items: Iterable[Item], new_items: Iterable[Item], key: Callable[[Item], str],
           out: list[Change], shown: Callable[[Item], str] = lambda x: "") -> Iterator[tuple[str, Item, Item]]:
    """(name, old, new) for what both versions have; removals and additions go to `out`."""
    a, b = _by_key(old_items, key), _by_key(new_items, key)
    out += [Change(kind, name, "removed", shown(x) or name, None, f"{kind} {name} removed")
            for name, x in a.items() if name not in b]
    for name, x in a.items():
        if name in b:
            yield name, x, b[name]
    out += [Change(kind, name, "added", None, shown(x) or name,
                   f"{kind} {name} added" + (f" ({shown(x)})" if shown(x) else ""))
            for name, x in b.items() if name not in a]


def _rule_key(rule: ast.Node) -> str:
    assert isinstance(rule, (ast.PointsRule, ast.PerRule)), rule
    return rule_label(rule)


def _points(rule: ast.Node) -> str:
    return number(rule.points, signed=True)  # type: ignore[attr-defined]


def changes(old: ast.Policy, new: ast.Policy) -> list[Change]:
    """What changed, one record per change, in the words of the policy."""
    out: list[Change] = []
    if old.version != new.version:
        out.append(_changed("version", "", old.version, new.version, f"version: {old.version} → {new.version}"))
    if old.title != new.title:
        out.append(_changed("title", "", f'"{old.title}"', f'"{new.title}"', f'title: "{old.title}" → "{new.title}"'))
    for team in sorted(set(old.teams) | set(new.teams)):
        if team not in new.teams:
            out.append(Change("owner", team, "removed", team, None, f"owner {team} removed"))
        elif team not in old.teams:
            out.append(Change("owner", team, "added", None, team, f"owner {team} added"))
    if old.timezone != new.timezone:
        out.append(_changed("timezone", "", old.timezone, new.timezone, f"timezone: {old.timezone} → {new.timezone}"))
    out += _fields(old, new)
    out += _events(old, new)
    out += _scores(old, new)
    out += _ladders("grade", old.grades, new.grades, lambda g: g.name)
    out += _stages(old, new)
    out += _routes(old, new)
    out += _slas(old, new)
    out += _simple("recycle", [f"{r.event} because \"{r.reason}\" to {r.stage} after {quantity(r.after, r.unit)}"
                               for r in old.recycle_rules],
                   [f"{r.event} because \"{r.reason}\" to {r.stage} after {quantity(r.after, r.unit)}"
                    for r in new.recycle_rules])
    from leadpolicy.language.formatter import format_policy

    out += _guarantees(old, new)
    out += _teams(old, new)
    for name, o, n in _pairs("calendar", old.calendars, new.calendars, lambda c: c.name, out):
        before = format_policy(ast.Policy(id="x", version="0.0.0", items=(o,)))
        after = format_policy(ast.Policy(id="x", version="0.0.0", items=(n,)))
        if before != after:
            out.append(Change("calendar", name, "changed", _block_body(before), _block_body(after),
                              f"calendar {name} changed"))
    return out


def _guarantees(old: ast.Policy, new: ast.Policy) -> list[Change]:
    """Each guarantee added, removed, or whose claim changed, by its name."""
    out: list[Change] = []
    for name, o, n in _pairs("guarantee", old.guarantees, new.guarantees, lambda g: f'"{g.name}"', out, claim_text):
        if claim_text(o) != claim_text(n):
            out.append(_changed("guarantee", name, claim_text(o), claim_text(n),
                                f"guarantee {name}: {claim_text(o)} → {claim_text(n)}"))
    return out


def _team_lines(team: ast.Team) -> dict[str, str]:
    """A team's lines other than its members, by what they say: calendar, rotation, accounts, fallback."""
    return {"label": f'"{team.label}"' if team.label is not None else "none",
            "calendar": team.calendar or "none", "rotation": team.assign or "none",
            "accounts": "match accounts by email domain" if team.first(ast.MatchAccounts) else "none",
            "fallback": f"to {team.fallback}" if team.fallback is not None else "hold"}


MEMBER_PARTS: dict[str, Callable[[ast.Member], str]] = {
    "weight": lambda m: f"weight {number(m.weight) if m.weight is not None else 1}",
    "cap": lambda m: f"cap {number(m.cap)} per {m.cap_period}" if m.cap is not None else "no cap",
    "calendar": lambda m: f"calendar {m.calendar}" if m.calendar is not None else "the team's calendar",
}


def _teams(old: ast.Policy, new: ast.Policy) -> list[Change]:
    """Each team added or removed, a change of its calendar, rotation, account matching or fallback, and its
    members' changes."""
    out: list[Change] = []
    for name, o, n in _pairs("team", old.team_blocks, new.team_blocks, lambda t: t.name, out):
        before, after = _team_lines(o), _team_lines(n)
        out += [_changed(f"team {part}", name, before[part], after[part], f"team {name}: {part} {before[part]} → "
                         f"{after[part]}") for part in before if before[part] != after[part]]
        out += _member_changes(name, o, n)
    return out


def _member_changes(name: str, o: ast.Team, n: ast.Team) -> list[Change]:
    """One team's members added or removed, a member's weight, cap or calendar changed, and members reordered
    (the rotation's order)."""
    out: list[Change] = []
    for person, m, k in _pairs("team member", o.members, n.members, lambda m: f'{name} "{m.person}"', out,
                               lambda m: member_options(m) or "weight 1"):
        out += [_changed(f"member {part}", person, say(m), say(k), f"team {person}: {say(m)} → {say(k)}")
                for part, say in MEMBER_PARTS.items() if say(m) != say(k)]
    kept = [[m.person for m in t.members if m.person in {x.person for x in other.members}]
            for t, other in ((o, n), (n, o))]
    if kept[0] != kept[1]:
        out.append(Change("team members", name, "reordered", ", ".join(kept[0]), ", ".join(kept[1]),
                          f"team {name}: members reordered (the rotation's order)"))
    return out


def _block_body(text: str) -> str:
    """A formatted one-block policy reduced to the block's own lines."""
    lines = [line.strip() for line in text.splitlines()]
    return "; ".join(line for line in lines[2:-2] if line and line != "}")


def _fields(old: ast.Policy, new: ast.Policy) -> list[Change]:
    out: list[Change] = []
    for name, f, g in _pairs("lead field", old.fields, new.fields, lambda f: f.name, out,
                             lambda g: field_type(g.type)):
        if g.type != f.type:
            out.append(_changed("lead field", name, field_type(f.type), field_type(g.type),
                                f"lead field {name}: {field_type(f.type)} → {field_type(g.type)}"))
        if g.required != f.required:
            out.append(_changed("lead field", name, "required" if f.required else "optional",
                                "required" if g.required else "optional",
                                f"lead field {name}: {'now required' if g.required else 'no longer required'}"))
        if g.default != f.default:
            out.append(_changed("lead field", name, _default(f), _default(g), f"lead field {name}: default changed"))
    return out


def _events(old: ast.Policy, new: ast.Policy) -> list[Change]:
    """Events declared, removed, or labelled anew: a label is what the published page says for the event."""
    out: list[Change] = []
    for name, e, f in _pairs("event", old.events or (), new.events or (), lambda e: e.name, out,
                             lambda e: f'"{e.label}"' if e.label else ""):
        if e.label != f.label:
            before, after = (f'"{x.label}"' if x.label else "no label" for x in (e, f))
            out.append(_changed("event", name, before, after, f"event {name}: label {before} → {after}"))
    return out


def _default(f: ast.LeadField) -> str:
    from leadpolicy.language.formatter import literal

    return f"default {literal(f.default)}" if f.default is not None else "no default"


def _scores(old: ast.Policy, new: ast.Policy) -> list[Change]:
    out: list[Change] = []
    for name, s, t in _pairs("score", old.scores, new.scores, lambda s: s.name, out):
        out += _rule_changes(name, s, t)
        for kind in (ast.Clamp, ast.Decay):
            x, y = [i for i in s.items if isinstance(i, kind)], [i for i in t.items if isinstance(i, kind)]
            if x != y:
                before = rule_text(x[0]) if x else "none"
                after = rule_text(y[0]) if y else "none"
                out.append(_changed(kind.__name__.lower(), name, before, after))
    return out


def _rule_changes(name: str, old: ast.Score, new: ast.Score) -> list[Change]:
    """The rules of one score removed, changed and added (matched by their key)."""
    ra, rb = _by_key(old.rules, _rule_key), _by_key(new.rules, _rule_key)
    out: list[Change] = []
    for key, rule in ra.items():
        label = f"{name}, {key}"
        other = rb.get(key)
        if other is None:
            out.append(Change("rule", label, "removed", rule_text(rule), None,
                              f"{label}: rule removed ({rule_text(rule)})"))
        else:
            out += _rule_change(label, rule, other)
    out += [Change("rule", f"{name}, {key}", "added", None, rule_text(rule),
                   f"{name}, {key}: rule added ({rule_text(rule)})") for key, rule in rb.items() if key not in ra]
    return out


def _rule_change(label: str, rule: ast.PointsRule | ast.PerRule, other: ast.PointsRule | ast.PerRule) -> list[Change]:
    """How one rule changed: its kind (as a whole), its points, its condition, a per rule's cap or field."""
    if type(rule) is not type(other):
        return [_changed("rule", label, rule_text(rule), rule_text(other))]
    # A per rule whose cap or field changed is said whole (its points with it): one change, not two.
    whole = isinstance(rule, ast.PerRule) and isinstance(other, ast.PerRule) and (
        rule.cap != other.cap or rule.field_name != other.field_name)
    out = []
    if rule.points != other.points and not whole:
        out.append(_changed("rule", label, _points(rule), _points(other)))
    if isinstance(rule, ast.PointsRule) and isinstance(other, ast.PointsRule) and rule.condition != other.condition:
        out.append(_changed("rule", label, f"when {cond_text(rule.condition)}", f"when {cond_text(other.condition)}"))
    if whole:
        out.append(_changed("rule", label, rule_text(rule), rule_text(other)))
    return out


def _entry_text(entry: Entry) -> str:
    return f"when {cond_text(entry.condition)}" if entry.condition is not None else "otherwise"


def _ladders(kind: str, old_items: Iterable[Ladder], new_items: Iterable[Ladder], key: Callable[[Ladder], str],
             ) -> list[Change]:
    """Grades or routes: first-match entries by label."""
    out: list[Change] = []
    for name, g, h in _pairs(kind, old_items, new_items, key, out):
        ea, eb = _by_key(g.entries, lambda e: e.label), _by_key(h.entries, lambda e: e.label)
        for label, e in ea.items():
            f = eb.get(label)
            entry = f'{name} "{label}"'
            if f is None:
                out.append(Change(f"{kind} entry", entry, "removed", _entry_text(e), None, f"{entry} removed"))
            elif e.condition != f.condition:
                out.append(_changed(f"{kind} entry", entry, _entry_text(e), _entry_text(f)))
        out += [Change(f"{kind} entry", f'{name} "{label}"', "added", None, _entry_text(e),
                       f'{name} "{label}" added ({_entry_text(e)})') for label, e in eb.items() if label not in ea]
        before = [e.label for e in g.entries if e.label in eb]
        after = [e.label for e in h.entries if e.label in ea]
        if before != after:
            out.append(Change(kind, name, "reordered", ", ".join(before), ", ".join(after),
                              f"{name}: entries reordered"))
    return out


def _stages(old: ast.Policy, new: ast.Policy) -> list[Change]:
    out: list[Change] = []
    a, b = _by_key(old.stages, lambda s: s.name), _by_key(new.stages, lambda s: s.name)
    for name, s, t in _pairs("stage", old.stages, new.stages, lambda s: s.name, out,
                             lambda s: f"{_entry_text(s)}, owner {s.owner}"):
        if s.condition != t.condition:
            before = cond_text(s.condition) if s.condition is not None else "otherwise"
            after = cond_text(t.condition) if t.condition is not None else "otherwise"
            out.append(_changed("stage", name, before, after))
        if s.owner != t.owner:
            out.append(_changed("stage owner", name, s.owner, t.owner, f"{name}: owner {s.owner} → {t.owner}"))
    kept_before, kept_after = [s for s in a if s in b], [s for s in b if s in a]
    if kept_before != kept_after:
        out.append(Change("stages", "", "reordered", ", ".join(kept_before), ", ".join(kept_after),
                          "stages reordered"))
    return out


def _routes(old: ast.Policy, new: ast.Policy) -> list[Change]:
    return _ladders("route for", old.routes, new.routes, lambda r: ", ".join(r.stages))


def _slas(old: ast.Policy, new: ast.Policy) -> list[Change]:
    out: list[Change] = []
    for name, s, t in _pairs("sla", old.slas, new.slas, lambda s: s.name, out):
        for kind in (ast.SlaOwner, ast.ClockSpan, ast.ClockLimit, ast.Target, ast.CountRule, ast.VolumeRule):
            x, y = s.first(kind), t.first(kind)
            if x != y:
                before = sla_item_text(x) if x is not None else "none"
                after = sla_item_text(y) if y is not None else "none"
                out.append(_changed("sla", name, before, after))
        if s.all(ast.NeedsReason) != t.all(ast.NeedsReason):
            reasons = [", ".join(f"{n.event}: {'/'.join(n.reasons)}" for n in x.all(ast.NeedsReason)) or "none"
                       for x in (s, t)]
            out.append(_changed("sla reasons", name, reasons[0], reasons[1], f"{name}: agreed reasons changed"))
    return out


def _simple(kind: str, a: list[str], b: list[str]) -> list[Change]:
    return [Change(kind, x, "removed", x, None, f"{kind}: {x} removed") for x in a if x not in b] + \
        [Change(kind, x, "added", None, x, f"{kind}: {x} added") for x in b if x not in a]


# A context that gives the progress function of one version's run of `score` (or None: no progress shown)
VersionProgress = Callable[["Policy"], AbstractContextManager["Progress | None"]]


@dataclass(frozen=True)
class WholeLead:
    """One lead as `leadpolicy test` decides a sample case: its record, its events (`{event, at}` items)
    and the time it is decided at."""

    record: dict[str, Any]
    events: list[dict[str, Any]]
    now: dt.datetime
    name: str = ""  # the sample case's name


def impact(old_policy: Policy, new_policy: Policy, leads: list[WholeLead], examples: int = 5) -> dict[str, Any]:
    """How many leads change stage, route and grades, a stage transition matrix, and example leads; each
    lead decided whole by both versions (one either version cannot decide is counted as rejected)."""
    pairs: list[tuple[WholeLead, dict[str, Any], dict[str, Any]]] = []
    rejected = 0
    for lead in leads:
        try:
            before = old_policy.evaluate(lead.record, lead.now, events=lead.events)
            after = new_policy.evaluate(lead.record, lead.now, events=lead.events)
        except ValueError:
            rejected += 1
            continue
        pairs.append((lead, before.as_dict(explain=False), after.as_dict(explain=False)))
    out = tally(pairs, examples)
    for example in out["examples"]:
        lead = example["lead"]
        example["lead"] = lead.record
        example["id"] = _email(lead.record) or str(lead.record.get("id") or "") or lead.name
    out["rejected"] = rejected
    return out


def tally(pairs: Iterable[tuple[WholeLead | int, dict[str, Any], dict[str, Any]]], examples: int = 5) -> dict[str, Any]:
    """The impact of (lead, before, after) decisions: the leads whose stage, route or a grade both versions
    have changed, the stage transitions, and the first `examples` leads that changed."""
    moved: Counter[str] = Counter()
    matrix: Counter[tuple[str, str]] = Counter()
    samples: list[dict[str, Any]] = []
    evaluated = scores_only = 0
    for lead, before, after in pairs:
        evaluated += 1
        matrix[(before["stage"], after["stage"])] += 1
        diffs = [what for what in ("stage", "route") if before[what] != after[what]]
        old_grades, new_grades = before["grades"], after["grades"]
        if any(old_grades.get(k) != v for k, v in new_grades.items() if k in old_grades):
            diffs.append("grade")
        moved.update(diffs)
        old_scores = before["scores"]
        if not diffs and any(old_scores.get(k) != v for k, v in after["scores"].items() if k in old_scores):
            scores_only += 1
        if diffs and len(samples) < examples:
            samples.append({"lead": lead, "before": before, "after": after})
    return {"leads": evaluated, "changed": dict(moved), "scores_only": scores_only,
            "transitions": [{"from": a, "to": b, "leads": n} for (a, b), n in sorted(matrix.items()) if a != b],
            "examples": samples}


def render_text(d: PolicyDiff, markdown: bool = False) -> str:
    title = f"{d.new.id}: {d.old.version} → {d.new.version}"
    lines = [f"### {title}" if markdown else title]
    if not d.changes:
        lines.append("no changes")
    for c in d.changes:
        lines.append(f"- {c}" if markdown else f"  {c}")
    if d.impact is not None:
        lines += _impact_lines(d.impact, markdown)
    if d.proved is not None:
        lines += _proved_lines(d.proved, markdown)
    return "\n".join(lines) + "\n"


def _proved_lines(proved: dict[str, Any], markdown: bool) -> list[str]:
    """--prove: each possible move with its lead, the moves proved impossible, the undecided, the verdict."""
    from leadpolicy.outputs import md  # a witness holds texts from the policy: literal text, never markup

    item, quote = ("- ", md) if markdown else ("  ", str)
    moves = [m for m in proved["moves"] if m["from"] != m["to"]]
    lines = ["", "#### Proved over every possible lead" if markdown else "proved over every possible lead"]
    lines += [f"{item}{_guarantee_text(g, quote)}" for g in proved.get("guarantees", [])]
    lines += [f"{item}{m['from']} → {m['to']}: possible, e.g. {quote(_witness_text(m['witness']))}"
              for m in moves if m["status"] == "possible"]
    for status, words in (("impossible", "impossible (proved)"), ("unknown", "undecided")):
        shown = proved["moves"] if status == "unknown" else moves  # every undecided pair, as the verdict counts
        pairs = [f"{m['from']} → {m['to']}" for m in shown if m["status"] == status]
        reasons = dict.fromkeys(m["reason"] for m in shown if m["status"] == status and m.get("reason"))
        why = f" ({quote('; '.join(reasons))})" if reasons else ""
        lines += [f"{item}{words}: {', '.join(pairs)}{why}"] if pairs else []
    others = [proved["routes"], *proved["grades"]] if "routes" in proved else []
    lines += [f"{item}{_outcome_text(o, quote)}" for o in others]
    return lines + [f"{item}verdict: {quote(proved['verdict'])}"]


def _guarantee_text(g: dict[str, Any], quote: Callable[[str], str]) -> str:
    """A guarantee of the new version: its status, how it changed from the old one, a counter-example's line."""
    was = {"new": "not in the old version", "unchanged": f"{g['old_status']} in the old version too"}
    said = f"guarantee {quote(json.dumps(g['name']))}: {g['status']} ({was.get(g['change'], g['change'])})"
    if g["status"] == "violated" and "example" in g:
        return f"{said}, e.g. {quote(g['example'])}"
    return f"{said}: {quote(g['reason'])}" if g["status"] == "unknown" and g.get("reason") else said


def _outcome_text(o: dict[str, Any], quote: Callable[[str], str]) -> str:
    """Whether the route (for a lead keeping its stage) or a grade can differ: with a lead and both values."""
    what = "route" if o["name"] == "route" else f"grade {o['name']}"
    if o["status"] == "possible":
        values = " → ".join(json.dumps(o[v]) if o[v] is not None else "none" for v in ("old", "new"))
        return f"{what}: can change ({quote(values)}), e.g. {quote(_witness_text(o['witness']))}"
    if o["status"] == "impossible":
        return f"{what}: the same for every possible lead (proved)"
    return f"{what}: undecided ({quote(o.get('reason') or 'no answer in time')})"


def _witness_text(witness: dict[str, Any]) -> str:
    """A witness lead on one line: now, the lead as JSON, its events."""
    events = ", ".join(f"{e['event']} at {e['at']}" for e in witness["events"]) or "none"
    return f"now {witness['now']}, lead {json.dumps(witness['lead'], sort_keys=True)}, events: {events}"


def _impact_lines(i: dict[str, Any], markdown: bool) -> list[str]:
    """The impact: leads, rows and events counted, changes by kind, the stage transitions, example leads."""
    item = "- " if markdown else "  "
    lines = ["", ("#### Impact" if markdown else "impact") + f" on {quantity(i['leads'], 'leads')}" +
             (f" ({i['rejected']} could not be evaluated)" if i["rejected"] else "")]
    if "rows" in i:
        rows = i["rows"]
        lines.append(f"{item}rows: read {rows['read']}, decided by both {rows['decided']}, rejected {rows['rejected']}")
    if "events" in i:
        from leadpolicy.warehouse.event_files import EventStats

        lines.append(item + EventStats(**i["events"]).summary())  # in score's words
    for what in ("stage", "route", "grade"):
        lines.append(f"{item}{what} changes: {i['changed'].get(what, 0)}")
    lines.append(f"{item}scores change only: {i.get('scores_only', 0)}")
    if i["transitions"]:
        if markdown:
            lines += ["", "| from | to | leads |", "| --- | --- | --- |"]
            lines += [f"| {t['from']} | {t['to']} | {t['leads']} |" for t in i["transitions"]]
        else:
            lines += [f"  {t['from']} → {t['to']}: {t['leads']}" for t in i["transitions"]]
    return lines + _example_lines(i["examples"], markdown)


def _example_lines(examples: list[dict[str, Any]], markdown: bool) -> list[str]:
    from leadpolicy.outputs import md  # an example's id comes from lead data: literal text, never markup

    if not examples:
        return []
    lines = ["", "#### Example leads", ""] if markdown else ["  example leads:"]
    for ex in examples:
        who = md(str(ex.get("id") or "")) if markdown else str(ex.get("id") or "")
        line = f"{who}: {_decision_text(ex['before'])} → {_decision_text(ex['after'])}"
        lines.append(f"- {line}" if markdown else f"    {line}")
    return lines


def _email(record: dict[str, Any]) -> str:
    """The lead's email (a field or column whose name says email), as its example is known by."""
    for key, value in record.items():
        if "email" in str(key).casefold() and value not in (None, ""):
            return str(value)
    return ""


def _decision_text(d: dict[str, Any]) -> str:
    """`sql/enterprise-ae (fit 60, engagement 65; tier A)`: words and numbers, never a Python repr."""
    scores = ", ".join(f"{k} {v}" for k, v in d["scores"].items())
    grades = ", ".join(f"{k} {'-' if v is None else v}" for k, v in d["grades"].items())
    return f"{d['stage']}/{d['route'] or '-'} ({scores}{'; ' + grades if grades else ''})"


# ---------------------------------------------------------------- the impact on a leads file


@dataclass(frozen=True)
class LeadsFile:
    """A leads file to measure the impact on, read as `leadpolicy score` reads one: `events` (a
    `warehouse.batch.EventInput`, or None) says what the leads did."""

    path: Path
    format: str | None = None
    events: Any = None
    engine: str = "duckdb"
    columns: dict[str, str] | None = None
    id_column: str = "id"  # the column an example lead is shown by, when the file has it


@dataclass
class FileImpact:
    """The impact, and the rows of the leads and of the events that either version rejected (row, field,
    problem; a problem only one version has names it)."""

    impact: dict[str, Any]
    rejects: list[dict[str, Any]]
    event_rejects: list[dict[str, Any]]


@dataclass
class _Decided:
    """One version's run of `score` over the file: its counts and each decided row's decision by record."""

    result: Any  # warehouse.batch.BatchResult
    output: Path
    rows: list[int]  # the record numbers of the output's rows, in order
    decisions: dict[int, dict[str, Any]]


def file_impact(old_policy: Policy, new_policy: Policy, data: LeadsFile, now: dt.datetime, folder: Path,
                on_warning: Callable[[str], None] | None = None, examples: int = 5,
                progress: VersionProgress | None = None) -> FileImpact:
    """Both versions decide every row of the file as `score` (with `--events`) decides it, in `folder`; the
    rows both decided are compared, each row with itself. Raises warehouse.lead_rows.BatchError as `score` does.
    `progress(policy)`: a context giving the progress function of that version's run (`batch.run`)."""
    old, new = (_decide_file(policy, data, now, folder / side, on_warning, progress)
                for side, policy in (("old", old_policy), ("new", new_policy)))
    both = [row for row in new.rows if row in old.decisions]
    out = tally(((row, old.decisions[row], new.decisions[row]) for row in both), examples)
    position = {row: i for i, row in enumerate(new.rows)}
    for example in out["examples"]:
        row = example["lead"]
        example["lead"] = _input_row(new.output, position[row], new_policy.ir)
        example["id"] = _shown_as(example["lead"], row, data)
    read = new.result.read
    out["rejected"] = read - len(both)
    out["rows"] = {"read": read, "decided": len(both), "rejected": read - len(both)}
    versions = (f"only {old_policy.version} (old)", f"only {new_policy.version} (new)")
    rejects = _merged(old.result.rejects, new.result.rejects, versions)
    event_rejects: list[dict[str, Any]] = []
    if new.result.events is not None and old.result.events is not None:
        event_rejects = _merged(old.result.events.rejects, new.result.events.rejects, versions)
        out["events"] = _event_counts(old.result.events, new.result.events, event_rejects, new_policy, now)
    return FileImpact(out, rejects, event_rejects)


def _event_counts(old: EventStats, new: EventStats, rejects: list[dict[str, Any]], new_policy: Policy,
                  now: dt.datetime) -> dict[str, int]:
    """The event rows as `score --events` counts them (read = used + rejected; the used rows after `now` a
    part of used), of the rows both versions use: the new version's rows after now, less those only the
    old version rejects (their `at` as written, read as the new version read it)."""
    from leadpolicy import zones
    from leadpolicy.semantics.events import time_code

    rejected = len({r["row"] for r in rejects})
    rejected_by_new = {r["row"] for r in new.rejects}
    only_old = {r["row"]: r.get("at") for r in old.rejects if r["row"] not in rejected_by_new}
    zone = zones.zone(new_policy.ir.timezone)
    later = sum(1 for at in only_old.values() if _after(time_code(at if isinstance(at, str) else None, zone), now))
    return {"read": new.read, "used": new.read - rejected, "rejected": rejected, "after_now": new.after_now - later}


def _after(at: dt.datetime | str, now: dt.datetime) -> bool:
    """An event time after `now` (a row windows never count); a time that is no instant is not."""
    return isinstance(at, dt.datetime) and not seen_at(at, now)


def _decide_file(policy: Policy, data: LeadsFile, now: dt.datetime, folder: Path,
                 on_warning: Callable[[str], None] | None, progress: VersionProgress | None = None) -> _Decided:
    import contextlib
    from dataclasses import replace

    import duckdb
    from sqlglot import exp

    from leadpolicy.warehouse.batch import BatchOptions, run
    from leadpolicy.warehouse.lead_rows import BatchError, output_names
    from leadpolicy.warehouse.staging import ROW_NAME

    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "decided.parquet"
    staged: list[int] = []

    def rows_read(con: duckdb.DuckDBPyConnection) -> None:
        """The record numbers staged, read while the staging database is open."""
        row_column = exp.column(ROW_NAME, quoted=True)
        query = exp.select(row_column).from_("raw").order_by(row_column.copy())
        staged.extend(row for (row,) in con.execute(query.sql("duckdb")).fetchall())

    events = None if data.events is None else replace(data.events, rejects=folder / "events.rejects.csv")
    with progress(policy) if progress is not None else contextlib.nullcontext() as update:
        options = BatchOptions(source=data.path, now=now, output=output, engine=data.engine,
                               rejects=folder / "rejects.csv", in_format=data.format, events=events,
                               columns=data.columns, progress=update, on_warning=on_warning, then=rows_read)
        result, _, _ = run(policy, options)
    rejected = {r["row"] for r in result.rejects}
    written = [row for row in staged if row not in rejected]  # the output keeps the input's order
    names = output_names(policy.ir)
    con = duckdb.connect()
    try:
        read_output = exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Placeholder()]))
        query = exp.select(*(exp.column(name, quoted=True) for name in names)).from_(read_output)
        values = con.execute(query.sql("duckdb"), [str(output)]).fetchall()
    finally:
        con.close()
    if len(values) != len(written):
        raise BatchError(f"internal count mismatch: {len(values)} decided rows, {len(written)} expected")
    n_scores, n_grades = len(policy.ir.scores), len(policy.ir.grades)
    at = now.isoformat()
    decisions = {}
    for row, value in zip(written, values):
        decisions[row] = {"policy": policy.id, "version": policy.version, "now": at,
                          "scores": dict(zip(names[:n_scores], value[:n_scores])),
                          "grades": dict(zip(names[n_scores:n_scores + n_grades], value[n_scores:n_scores + n_grades])),
                          "stage": value[-3], "owner": value[-2], "route": value[-1]}
    return _Decided(result, output, written, decisions)


def _input_row(output: Path, index: int, policy_ir: ir.Policy) -> dict[str, Any]:
    """The input columns of the output's row `index` (0-based), for an example."""
    import duckdb

    from leadpolicy.warehouse.lead_rows import output_names

    con = duckdb.connect()
    try:
        cursor = con.execute("SELECT * FROM read_parquet(?) LIMIT 1 OFFSET ?", [str(output), index])
        names = [c[0] for c in cursor.description]
        row = cursor.fetchone() or ()
    finally:
        con.close()
    computed = set(output_names(policy_ir))
    return {name: value for name, value in zip(names, row) if name not in computed}


def _shown_as(lead: dict[str, Any], row: int, data: LeadsFile) -> str:
    """How an example lead is known: its id column's value, else its email, else its row of the file."""
    from leadpolicy.runtime import fold

    for wanted in (data.id_column, (data.columns or {}).get("email")):
        if wanted is None:
            continue
        named = [k for k in lead if k == wanted] or [k for k in lead if fold(k) == fold(wanted)]
        if named and lead[named[0]] not in (None, ""):
            return str(lead[named[0]])
    return _email(lead) or f"row {row}"


def _merged(old: list[dict[str, Any]], new: list[dict[str, Any]], versions: tuple[str, str]) -> list[dict[str, Any]]:
    """The rejected rows of both runs: a reject both have once, one only a version has with its version."""
    keys = [{(r["row"], r["field"], r["problem"]) for r in rejects} for rejects in (old, new)]
    values = {(r["row"], r["field"]): r for r in [*old, *new]}  # the row's values as written (lead, event, ...)
    merged = [{**values[row, f], "row": row, "field": f, "problem": p} for row, f, p in keys[0] & keys[1]]
    for mine, other, version in ((keys[0], keys[1], versions[0]), (keys[1], keys[0], versions[1])):
        merged += [{**values[row, f], "row": row, "field": f, "problem": f"{version}: {p}"}
                   for row, f, p in mine - other]
    return sorted(merged, key=lambda r: (r["row"], r["field"], r["problem"]))
