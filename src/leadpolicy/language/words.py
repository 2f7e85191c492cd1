"""Words every layer writes the same way: a number with its unit, the unit agreeing with the number."""

from __future__ import annotations

from decimal import Decimal

from leadpolicy.language.formatter import number


def quantity(amount: Decimal | int, unit: str) -> str:
    """`1 day`, `2 days`, `1 business hour`, `1.5 hours`: the unit (given singular or plural) agrees with
    the number."""
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{number(Decimal(amount))} {singular if amount == 1 else singular + 's'}"
