"""The names a policy defines (fields, scores, grades) and the type of each."""

from __future__ import annotations

from dataclasses import dataclass

from leadpolicy.language import ast
from leadpolicy.language.types import Type

NUMBER, TEXT, YESNO, DATE, TIMESTAMP = Type.NUMBER, Type.TEXT, Type.YESNO, Type.DATE, Type.TIMESTAMP
CHOICE = Type.ONE_OF


@dataclass(frozen=True)
class Symbol:
    """A name usable in conditions. `order` is its position among scores and grades."""

    name: str
    kind: str  # 'field' | 'score' | 'grade', or 'decided' in a guarantee (`decided_symbols`)
    type: Type
    choices: tuple[str, ...] = ()
    nullable: bool = True
    order: int = -1
    node: ast.Node | None = None
    low: object = None  # a score's clamp range, for analysis
    high: object = None


def symbol_table(policy: ast.Policy) -> dict[str, Symbol]:
    """Every field, score and grade by name (first definition wins on duplicates)."""
    table: dict[str, Symbol] = {}
    for f in policy.fields:
        if f.name not in table:
            table[f.name] = Symbol(
                f.name, "field", f.type.name, f.type.choices,
                nullable=not (f.required or f.default is not None), node=f,
            )
    order = 0
    for item in policy.items:
        if isinstance(item, ast.Score) and item.name not in table:
            clamp = item.clamp if item.clamp is not None and item.clamp.low <= item.clamp.high else None
            table[item.name] = Symbol(item.name, "score", NUMBER, nullable=False, order=order, node=item,
                                      low=clamp.low if clamp else None, high=clamp.high if clamp else None)
        elif isinstance(item, ast.Grade) and item.name not in table:
            labels = tuple(dict.fromkeys(e.label for e in item.entries))
            has_otherwise = any(e.condition is None for e in item.entries)
            table[item.name] = Symbol(item.name, "grade", CHOICE, labels, nullable=not has_otherwise,
                                      order=order, node=item)
        order += 1
    return table


# What a guarantee's conditions read of the decision (`semantics.ir.DECIDED_NAMES`): the decided stage and its
# owning team (never missing in a policy with stages, which end with `otherwise`), the route's label (missing
# when the stage has none), and whether the lead is handed off (its owner is not the catch-all stage's).
DECIDED_NAMES = ("stage", "route", "owner", "handoff")


def decided_symbols() -> dict[str, Symbol]:
    """The decided values by name, as a guarantee's conditions read them (kind 'decided')."""
    return {"stage": Symbol("stage", "decided", TEXT, nullable=False),
            "route": Symbol("route", "decided", TEXT, nullable=True),
            "owner": Symbol("owner", "decided", TEXT, nullable=False),
            "handoff": Symbol("handoff", "decided", YESNO, nullable=False)}
