"""The intermediate representation: what is compiled, serialized as an artifact, and loaded.

The IR is plain JSON data (dicts, lists, strings, numbers as exact decimal strings),
validated by `schemas/artifact.schema.json` whenever it is loaded. Conditions are
resolved here: every operand carries its type, so backends need no symbol table.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from . import ast
from .calendars import DAY_INDEX
from .formatter import format_policy
from .schema import lead_schema, literal_json
from .symbols import symbol_table

FORMAT = "leadpolicy/compiled"
FORMAT_VERSION = [1, 0]


def dec(value: Decimal) -> str:
    """An exact decimal as text."""
    text = format(value, "f")
    return text


def fingerprint(policy: ast.Policy) -> str:
    """sha256 of the canonical formatted source without comments: reformatting keeps it."""
    return "sha256:" + hashlib.sha256(format_policy(policy).encode("utf-8")).hexdigest()


class _Lowering:
    def __init__(self, policy: ast.Policy):
        self.policy = policy
        self.symbols = symbol_table(policy)

    def operand(self, node: ast.Node) -> dict:
        if isinstance(node, ast.Literal):
            value = dec(node.value) if node.kind == "number" else node.value  # type: ignore[arg-type]
            return {"lit": value, "type": {"number": "number", "text": "text", "yesno": "yes/no",
                                           "date": "date"}[node.kind]}
        if isinstance(node, ast.NameRef):
            sym = self.symbols[node.name]
            kind = {"field": "field", "score": "score", "grade": "grade"}[sym.kind]
            return {"ref": node.name, "kind": kind, "type": sym.type, "nullable": sym.nullable}
        if isinstance(node, ast.DaysSince):
            sym = self.symbols[node.field_name]
            return {"days_since": node.field_name, "type": "number", "of": sym.type, "nullable": sym.nullable}
        raise TypeError(node)

    def condition(self, node: ast.Node | None) -> dict | None:
        if node is None:
            return None
        if isinstance(node, ast.And):
            return {"op": "and", "items": [self.condition(i) for i in node.items]}
        if isinstance(node, ast.Or):
            return {"op": "or", "items": [self.condition(i) for i in node.items]}
        if isinstance(node, ast.Not):
            return {"op": "not", "item": self.condition(node.operand)}
        if isinstance(node, ast.Compare):
            return {"op": "cmp", "cmp": node.op, "left": self.operand(node.left), "right": self.operand(node.right)}
        if isinstance(node, ast.Between):
            return {"op": "between", "value": self.operand(node.operand), "low": self.operand(node.low),
                    "high": self.operand(node.high)}
        if isinstance(node, ast.InList):
            return {"op": "in", "value": self.operand(node.operand), "options": [self.operand(v) for v in node.values],
                    "negated": node.negated}
        if isinstance(node, ast.TextMatch):
            return {"op": "text", "how": node.how, "value": self.operand(node.operand), "needles": list(node.values)}
        if isinstance(node, ast.IsMissing):
            return {"op": "missing", "value": self.operand(node.operand), "negated": node.negated}
        if isinstance(node, ast.Truthy):
            return {"op": "truthy", "value": self.operand(node.operand)}
        raise TypeError(node)

    def score(self, score: ast.Score) -> dict:
        from .formatter import condition as condition_text

        rules = []
        for rule in score.rules:
            if isinstance(rule, ast.PointsRule):
                rules.append({"kind": "when", "points": dec(rule.points), "condition": self.condition(rule.condition),
                              "reason": rule.reason, "label": rule.reason or condition_text(rule.condition)})
            else:
                rules.append({"kind": "per", "points": dec(rule.points), "field": rule.field_name,
                              "cap": dec(rule.cap), "reason": rule.reason,
                              "label": rule.reason or f"per {rule.field_name}"})
        decay, clamp = score.decay, score.clamp
        return {
            "name": score.name, "label": score.label, "rules": rules,
            "decay": None if decay is None else {"percent": dec(decay.percent), "every_days": dec(decay.every_days),
                                                 "field": decay.field_name,
                                                 "of": self.symbols[decay.field_name].type},
            "clamp": None if clamp is None else {"low": dec(clamp.low), "high": dec(clamp.high)},
        }

    def calendar(self, cal: ast.Calendar) -> dict:
        opens, holidays, closed = [], [], []
        for item in cal.items:
            if isinstance(item, ast.OpenHours):
                opens.append({"days": [[DAY_INDEX[a], DAY_INDEX[b]] for a, b in item.days],
                              "ranges": [[a, b] for a, b in item.ranges]})
            elif isinstance(item, ast.Holidays):
                holidays.append({"country": item.country, "subdivision": item.subdivision})
            elif isinstance(item, ast.Closed):
                closed.append(item.date)
        return {"name": cal.name, "timezone": cal.timezone.name if cal.timezone else "UTC", "open": opens,
                "holidays": holidays, "closed": closed}

    def sla(self, sla: ast.Sla) -> dict:
        owner, span, limit = sla.first(ast.SlaOwner), sla.first(ast.ClockSpan), sla.first(ast.ClockLimit)
        target, count, volume = sla.first(ast.Target), sla.first(ast.CountRule), sla.first(ast.VolumeRule)
        return {
            "name": sla.name, "label": sla.label, "kind": sla.kind,
            "owner": owner.team if isinstance(owner, ast.SlaOwner) else None,
            "clock": None if not isinstance(span, ast.ClockSpan) else {"start": span.start, "stops": list(span.stops)},
            "limit": None if not isinstance(limit, ast.ClockLimit) else {
                "amount": dec(limit.amount), "unit": limit.unit, "calendar": limit.calendar},
            "target": dec(target.percent) if isinstance(target, ast.Target) else None,
            "count": None if not isinstance(count, ast.CountRule) else {
                "at_least": dec(count.count), "event": count.event, "within_days": dec(count.window),
                "after": count.after},
            "volume": None if not isinstance(volume, ast.VolumeRule) else {
                "at_least": dec(volume.count), "event": volume.event, "per": volume.period},
            "reasons": [{"event": n.event, "reasons": list(n.reasons)} for n in sla.all(ast.NeedsReason)],
        }

    def policy_ir(self) -> dict[str, Any]:
        p = self.policy
        return {
            "format": FORMAT,
            "format_version": list(FORMAT_VERSION),
            "id": p.id,
            "version": p.version,
            "fingerprint": fingerprint(p),
            "title": p.title,
            "owners": [{"team": o.team, "person": o.person} for o in p.owners],
            "timezone": p.timezone,
            "effective": p.effective,
            "lead_schema": lead_schema(p),
            "fields": [{"name": f.name, "type": f.type.name, "choices": list(f.type.choices), "required": f.required,
                        "default": literal_json(f.default) if f.default is not None else None} for f in p.fields],
            "scores": [self.score(s) for s in p.scores],
            "grades": [{"name": g.name, "source": g.source,
                        "entries": [{"label": e.label, "condition": self.condition(e.condition)} for e in g.entries]}
                       for g in p.grades],
            "stages": [{"name": s.name, "owner": s.owner, "condition": self.condition(s.condition)} for s in p.stages],
            "routes": [{"stages": list(r.stages),
                        "entries": [{"label": e.label, "condition": self.condition(e.condition)} for e in r.entries]}
                       for r in p.routes],
            "calendars": [self.calendar(c) for c in p.calendars],
            "slas": [self.sla(s) for s in p.slas],
            "recycle": [{"event": r.event, "reason": r.reason, "stage": r.stage, "after_days": dec(r.after)}
                        for r in p.recycle_rules],
            "order": [("score" if isinstance(i, ast.Score) else "grade", i.name) for i in p.items
                      if isinstance(i, (ast.Score, ast.Grade))],
        }


def lower(policy: ast.Policy) -> dict[str, Any]:
    """The IR of a checked policy (call only on a policy without errors)."""
    return _Lowering(policy).policy_ir()


def dumps(ir: dict[str, Any]) -> str:
    """The artifact text: stable key order and layout, so artifacts diff well."""
    return json.dumps(ir, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
