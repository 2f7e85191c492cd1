"""Why a condition is unknown for a lead: the parts of it that read a field the lead lacks (SQL's three-valued
logic: a comparison with a missing value is unknown, and an unknown condition does not hold). Said beside a
counter-example that turns on a missing value, and beside a route gap."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from leadpolicy.semantics import ir

ATOMS = (ir.Compare, ir.Between, ir.InList, ir.TextMatch, ir.Truthy)  # the parts that read a value


def missing_fields(policy: ir.Policy, lead: Mapping[str, Any]) -> set[str]:
    """The fields the lead gives no value for and that have no default."""
    return {f.name for f in policy.fields if lead.get(f.name) is None and f.default is None}


def unknown_parts(policy: ir.Policy, conditions: Iterable[ir.Condition | None], lead: Mapping[str, Any]
                  ) -> list[str]:
    """`industry is missing, so `industry in ("software")` is unknown`, once per part, in the policy's order."""
    missing = missing_fields(policy, lead)
    said: dict[str, None] = {}
    for condition in conditions:
        for node in condition.walk() if condition is not None else ():
            if not isinstance(node, ATOMS):
                continue
            names = list(dict.fromkeys(r.name for r in node.walk() if isinstance(r, ir.Ref)
                                       and r.kind == ir.RefKind.FIELD and r.name in missing))
            if names:
                said[f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} missing, so `{node.text}` is "
                     "unknown"] = None
    return list(said)
