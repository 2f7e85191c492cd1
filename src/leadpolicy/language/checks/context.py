"""What every check stage shares: the policy, its names, and the diagnostics found so far."""

from __future__ import annotations

import contextlib
import functools
import re
from decimal import Decimal
from typing import Iterator, Protocol, Sequence

from leadpolicy import zones
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.language.symbols import CHOICE, DATE, NUMBER, TEXT, TIMESTAMP, YESNO, Symbol, symbol_table
from leadpolicy.language.units import BUSINESS_DAYS, BUSINESS_HOURS, DAYS, HOURS, MINUTES

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
RESERVED = {"and", "or", "not", "yes", "no", "days", "when", "otherwise", "owner"}
# Words the grammar reads as its own where a condition names an event (`not in last 90 days`, `days since
# last in`): an event so named could be declared but never used (tests/test_event_reserved_names.py finds them
# by parsing every word of the grammar)
RESERVED_EVENT_NAMES = frozenset({"and", "at", "between", "clamp", "contains", "days", "decay", "ends", "escalate",
                                  "from", "implies", "in", "is", "no", "not", "or", "owner", "paused", "starts",
                                  "target", "warn", "within", "yes"})
OUTPUT_NAMES = ("stage", "owner", "route")  # columns every scored row gets; no field, score or grade may take them
# Every number in a policy: at most 9 digits before the point and 9 after, so totals stay exact in
# 64-bit decimals on every engine. SLA durations: at most ten years.
MAX_WHOLE_DIGITS, MAX_PLACES = 9, 9
MAX_DURATION_DAYS = 3650
UNIT_DAYS = {MINUTES: Decimal(1) / 1440, HOURS: Decimal(1) / 24, DAYS: Decimal(1),
             BUSINESS_HOURS: Decimal(1) / 24, BUSINESS_DAYS: Decimal(1)}
PERIODS = ("day", "week", "month", "quarter")
ORDERED_TYPES = (NUMBER, DATE, TIMESTAMP)
TYPE_WORDS = {NUMBER: "a number", TEXT: "text", YESNO: "yes/no", DATE: "a date", TIMESTAMP: "a timestamp",
              CHOICE: "text (one of)"}


@functools.lru_cache(maxsize=None)
def known_timezones() -> frozenset[str]:
    return zones.names()


class Reasoning(Protocol):
    """What the checker asks of the meaning of conditions. The meaning lives in semantics, which language does
    not import: `semantics.analysis` answers, and `semantics.loading` passes it to `check`."""

    def satisfiability(self, condition: ast.Node, symbols: dict[str, Symbol], timezone: str) -> str:
        """'never', 'always' or 'sometimes'."""

    def unreachable(self, conditions: Sequence[ast.Node | None], symbols: dict[str, Symbol],
                    timezone: str) -> list[int]:
        """Indices of first-match entries no lead can reach (None stands for otherwise)."""

    def decay_problem(self, percent: Decimal, bound: Decimal) -> str | None:
        """Why generated SQL cannot carry this decay, or None."""


class Context:
    def __init__(self, policy: ast.Policy, file: str, reasoning: Reasoning):
        self.policy = policy
        self.file = file
        self.reasoning = reasoning
        self.diags: list[Diagnostic] = []
        self.symbols = symbol_table(policy)
        self.teams = set(policy.teams)
        self.stage_names = {s.name for s in policy.stages}
        self.event_spellings: dict[str, list[str]] = {}  # the spellings of each event name used, by folded name

    @contextlib.contextmanager
    def reading(self, extra: dict[str, Symbol]) -> Iterator[None]:
        """While a block is checked, names it reads beyond the policy's own (a guarantee's decided values), which
        take the place of a field of the same name."""
        saved = self.symbols
        self.symbols = {**saved, **extra}
        try:
            yield
        finally:
            self.symbols = saved

    def report(self, code: str, message: str, node: ast.Node | ast.Span | None, hint: str | None = None) -> None:
        span = node if isinstance(node, ast.Span) else (node.span if node is not None else ast.NO_SPAN)
        self.diags.append(Diagnostic(code, message, self.file, span, hint=hint))

