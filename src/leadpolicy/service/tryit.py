"""What the try-it page (`/ui/`) needs that the decision API lacks: a policy in plain English with the form its
lead schema makes, and a trial decision with why each stage was not reached, the team its route names and the
lead as a samples case.

The plain English is the published page's (`publish.english`, one meaning), written as plain text: the page
builds its DOM from it with `textContent`, never as markup. A trial is decided as `decide` decides (the same
checks and answers), but it is no decision about a real lead: it is neither counted in the decisions metric nor
written to the decision log.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

import yaml

from leadpolicy.api import Policy
from leadpolicy.language import formatter
from leadpolicy.language.types import Type
from leadpolicy.publish import english
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.activity import Activity
from leadpolicy.semantics.events import EventReader
from leadpolicy.semantics.interpreter import Evaluator, evaluate
from leadpolicy.semantics.leads import LeadReader
from leadpolicy.service import bodies
from leadpolicy.service.decisions import Decider, encode
from leadpolicy.service.registry import Loaded

DEFAULT_CASE_NAME = "A lead tried in the browser"
# YAML's line breaks beyond LF and CR: PyYAML writes them raw inside a plain or single-quoted scalar (it does with
# allow_unicode), and a reader folds a raw break to a space; only a double-quoted scalar escapes them (\N, \L, \P).
YAML_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


# The page's description of a policy ------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)  # a version loaded is immutable: described once
def described(loaded: Loaded) -> dict[str, Any]:
    """The policy as the page shows it: who owns it, its form, its events and its plain English."""
    policy = loaded.policy
    return {"id": policy.id, "title": policy.title, "version": policy.version, "timezone": policy.ir.timezone,
            "source": loaded.source.name, "owners": [{"team": o.team, "person": o.person} for o in policy.ir.owners],
            "fields": [_field(f) for f in policy.ir.fields], "events": _events(loaded),
            "english": plain_english(policy)}


def _field(node: ir.Field) -> dict[str, Any]:
    return {"name": node.name, "type": str(node.type), "choices": list(node.choices), "required": node.required,
            "default": node.default, "default_text": default_text(node)}


def default_text(node: ir.Field) -> str | None:
    """A field's default as the policy language writes it (`default no`, `default "team"`, `default 2026-01-31`):
    the value the lead gets, so a choice as declared."""
    value = node.default
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return formatter.number(Decimal(str(value)))
    return value if node.type in (Type.DATE, Type.TIMESTAMP) else formatter.quote(value)


def _events(loaded: Loaded) -> list[dict[str, Any]]:
    """The events a lead may send: those declared, else those the decisions count; none when it counts none."""
    policy = loaded.policy.ir
    if not loaded.uses_events:
        return []
    if policy.declares_events:
        return [{"name": e.name, "label": e.label} for e in policy.events]
    read = dict.fromkeys(n.event for n in policy.walk() if isinstance(n, (ir.EventCount, ir.DaysSinceEvent)))
    return [{"name": name, "label": None} for name in read]


def plain_english(policy: Policy) -> dict[str, Any]:
    """Scores, grades, stages, routes, SLAs and teams in the published page's words, as plain text (events
    named by their labels, in quotes)."""
    lowered, tree = policy.ir, policy.tree
    calendars = {c.name: english.calendar(c) for c in tree.calendars}
    home = lowered.stages[-1].owner if lowered.stages else ""
    teams = {t.name: t.label or t.name for t in lowered.teams}
    with english.wording(english.labels_of(tree)):
        return {
            "scores": [_score(s) for s in lowered.scores],
            "grades": [{"name": g.name, "source": g.source, "entries": [_entry(e) for e in g.entries]}
                       for g in lowered.grades],
            "stages": [{"name": s.name, "owner": s.owner, "handoff": s.owner != home, "when": _when(s.condition)}
                       for s in lowered.stages],
            "routes": [{"stages": list(r.stages), "entries": [{**_entry(e), "team": teams.get(e.label)}
                                                              for e in r.entries]} for r in lowered.routes],
            "slas": [{"name": s.name, "label": s.label or s.name, "text": english.sla(s, calendars, s_ir)}
                     for s, s_ir in zip(tree.slas, lowered.slas)],
            "teams": [{"name": t.name, "label": t.label or t.name, "text": english.team_text(t)}
                      for t in lowered.teams],
        }


def _when(condition: ir.Condition | None) -> str:
    return english.condition(condition) if condition is not None else "otherwise"


def _entry(entry: ir.Entry) -> dict[str, str]:
    return {"label": entry.label, "when": _when(entry.condition)}


def _score(score: ir.Score) -> dict[str, Any]:
    notes = ([f"Decay: {english.decay(score.decay)}."] if score.decay is not None else []) + (
        [f"The score {english.clamp(score.clamp)}."] if score.clamp is not None else [])
    return {"name": score.name, "label": score.label or score.name, "notes": notes,
            "rules": [{"points": primitives.rule_row(r).amount.format(points=english.points(r.points)),
                       "when": english.rule(r), "reason": r.reason or ""} for r in score.rules]}


# A trial decision ------------------------------------------------------------------------------------------


def trial(decider: Decider, loaded: Loaded, raw: bytes) -> tuple[int, bytes]:
    """The answer to a trial: `decide`'s request (and a case `name`), answered as `decide` answers it with
    `explain`, plus `why_not` (each stage not reached), `team` (the team the route names) and `case` (the
    lead as a samples case, YAML). Runs on a decision thread; writes no log line and counts no decision."""
    try:
        item, checked = bodies.parse(raw)
    except bodies.NotJson as exc:
        return 400, encode({"error": str(exc)})
    problem = None if checked else bodies.refused(item)
    if problem is not None:
        return 400, encode({"error": problem})
    name = DEFAULT_CASE_NAME
    if isinstance(item, dict):
        name = item.pop("name", None) or DEFAULT_CASE_NAME
        if not isinstance(name, str):
            return 400, encode({"error": "name: the case's name is text"})
        item["explain"] = True
    status, out = decider.decide(loaded, item)
    if status != 200:
        return status, encode(out)
    now = dt.datetime.fromisoformat(out["now"])
    policy = loaded.policy
    out["why_not"] = why_not(policy, item["lead"], item.get("events") or [], now, out["stage"])
    out["team"] = next(({"name": t.name, "label": t.label or t.name} for t in policy.ir.teams
                        if t.name == out["route"]), None)
    out["case"] = samples_case(policy, name, item, out)
    return 200, encode(out)


def why_not(policy: Policy, lead: dict[str, Any], events: list[Any], now: dt.datetime, reached: str
            ) -> list[dict[str, str]]:
    """Each stage the lead did not reach, and why: for a stage before its own, the parts of its condition that
    failed (as `explain` says them); for one after, that its own stage comes first (stages are tried in order),
    and what of its condition fails too."""
    values, _ = LeadReader(policy.ir).read(lead)
    pairs, _ = EventReader(policy.ir).read(events, now)
    decided = evaluate(policy.ir, values, now, Activity(pairs))
    judge = Evaluator(policy.ir, decided.env, now, decided.activity)
    names = [s.name for s in policy.ir.stages]
    at = names.index(reached) if reached in names else len(names)  # a policy without stages decides none
    said = []
    for index, stage in enumerate(policy.ir.stages):
        failing = judge.why_not(stage.condition) if stage.condition is not None else []
        if index < at:
            said.append({"stage": stage.name, "why": "; ".join(failing)})
        elif index > at:
            also = f"; and {'; '.join(failing)}" if failing else ""
            said.append({"stage": stage.name, "why": f"{reached} comes first (stages are tried in order){also}"})
    return said


def samples_case(policy: Policy, name: str, item: dict[str, Any], out: dict[str, Any]) -> str | None:
    """The lead, its events and `now` with what was decided, as one case of a samples file's `leads:` (see
    docs/samples.md), in YAML indented to paste under `leads:`; None when a value cannot be written as YAML."""
    case: dict[str, Any] = {"name": name, "now": out["now"],
                            "lead": {k: v for k, v in item["lead"].items() if v is not None}}
    events = item.get("events") or []
    if events:
        reader = EventReader(policy.ir)
        case["events"] = [{"event": e["event"], "at": _instant_text(reader, e["at"])} for e in events]
    fired = {score: [r["rule"] for r in part["rules"] if r["fired"]] for score, part in out["breakdown"].items()}
    case["expect"] = {**out["scores"], **out["grades"], "stage": out["stage"], "owner": out["owner"],
                      "route": out["route"], "fired": fired}
    try:
        text = yaml.dump([case], Dumper=CaseDumper, sort_keys=False, allow_unicode=True, width=10_000)
    except yaml.YAMLError:
        return None
    return "  " + text.rstrip("\n").replace("\n", "\n  ") + "\n"  # indented as the cases under `leads:` are


class CaseDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing a text that holds a YAML line break double-quoted, so it reads back as is."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(mark in text for mark in YAML_LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


CaseDumper.add_representer(str, _text)


def _instant_text(reader: EventReader, at: Any) -> Any:
    """An event's time at the offset of the policy's zone then, so the case says the instant whatever zone reads
    it; kept as written when it is no instant (the trial refused it before this)."""
    instant = reader.instant(at)
    return instant.astimezone(reader.tz).isoformat() if isinstance(instant, dt.datetime) else at

