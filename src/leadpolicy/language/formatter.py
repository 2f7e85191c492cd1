"""Canonical, idempotent formatting of a policy that keeps its comments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, NoReturn, Sequence

from lark import Token

from leadpolicy.language import ast
from leadpolicy.language.types import Type
from leadpolicy.language.visitor import Visitor

INDENT = "  "
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_ESCAPE_TABLE = str.maketrans(ESCAPES)
PRECEDENCE = {ast.Or: 1, ast.And: 2, ast.Not: 3}
MATCH_ANY_WORDS = {"contains_any": "contains any", "starts_any": "starts with any", "ends_any": "ends with any"}


def quote(text: str) -> str:
    """A policy string literal for `text`."""
    return f'"{text.translate(_ESCAPE_TABLE)}"'


def number(value: Decimal, signed: bool = False) -> str:
    text = str(value)
    if "E" in text or "e" in text:
        text = format(value, "f")
    if signed and not text.startswith("-"):
        text = "+" + text
    return text


def literal(lit: ast.Literal) -> str:
    if lit.kind == "number":
        return number(lit.value)  # type: ignore[arg-type]
    if lit.kind == "text":
        return quote(lit.value)  # type: ignore[arg-type]
    if lit.kind == Type.YESNO:
        return "yes" if lit.value else "no"
    return str(lit.value)


def window(event: str, days: Decimal) -> str:
    """`EVENT in last N days`, as an activity window is written."""
    return f"{event} in last {number(days)} days"


def count_text(event: str, days: Decimal) -> str:
    """`count EVENT in last N days`: an event count's text, which is also its SQL column's name and part of
    the IR node, so the forms that lower to one count (a count, `EVENT in last N days`, a per-EVENT rule)
    agree."""
    return f"count {window(event, days)}"


def operand(node: ast.Node) -> str:
    if isinstance(node, ast.Literal):
        return literal(node)
    if isinstance(node, (ast.NameRef, ast.BareName)):
        return node.name
    if isinstance(node, ast.DaysSince):
        return f"days since {node.field_name}"
    if isinstance(node, ast.EventCount):
        return count_text(node.event, node.days)
    if isinstance(node, ast.DaysSinceEvent):
        return f"days since last {node.event}"
    raise TypeError(f"not an operand: {node!r}")


def _quoted_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


class _Source(Visitor):
    """A condition's canonical source text, with the parentheses it needs and those that group an
    `and` inside an `or`."""

    def __init__(self, memo: dict[int, str] | None = None):
        self.memo = memo  # text by node id, for a caller that asks for every sub-condition of a tree

    def visit(self, node: ast.Node, parent_level: int = 0) -> str:
        if self.memo is None:
            text = super().visit(node)
        else:
            text = self.memo.get(id(node)) or self.memo.setdefault(id(node), super().visit(node))
        return f"({text})" if PRECEDENCE.get(type(node), 4) < parent_level else text

    def visit_Or(self, node: ast.Or) -> str:
        # `and` binds tighter, so `a or (b and c)` needs no parentheses; they are kept because readers
        # who do not know the precedence by heart misread the bare form.
        return " or ".join(self.visit(i, 3 if isinstance(i, ast.And) else 1) for i in node.items)

    def visit_And(self, node: ast.And) -> str:
        return " and ".join(self.visit(i, 2) for i in node.items)

    def visit_Not(self, node: ast.Not) -> str:
        return "not " + self.visit(node.operand, 3)

    def visit_Compare(self, node: ast.Compare) -> str:
        return f"{operand(node.left)} {node.op} {operand(node.right)}"

    def visit_Between(self, node: ast.Between) -> str:
        return f"{operand(node.operand)} between {operand(node.low)} and {operand(node.high)}"

    def visit_InList(self, node: ast.InList) -> str:
        word = "not in" if node.negated else "in"
        return f"{operand(node.operand)} {word} (" + ", ".join(literal(v) for v in node.values) + ")"

    def visit_TextMatch(self, node: ast.TextMatch) -> str:
        subject = operand(node.operand)
        if node.how in MATCH_ANY_WORDS:
            return f"{subject} {MATCH_ANY_WORDS[node.how]} {_quoted_list(node.values)}"
        word = {"contains": "contains", "starts": "starts with", "ends": "ends with"}[node.how]
        return f"{subject} {word} {quote(node.values[0])}"

    def visit_Happened(self, node: ast.Happened) -> str:
        return window(node.event, node.days)

    def visit_IsMissing(self, node: ast.IsMissing) -> str:
        return f"{operand(node.operand)} is {'present' if node.negated else 'missing'}"

    def visit_Truthy(self, node: ast.Truthy) -> str:
        return operand(node.operand)

    def generic_visit(self, node: ast.Node, *args: object) -> NoReturn:
        raise TypeError(f"not a condition: {node!r}")


_SOURCE = _Source()


def condition(node: ast.Node, parent_level: int = 0) -> str:
    """Source text of a condition, with only the parentheses it needs."""
    return _SOURCE.visit(node, parent_level)


def condition_texts() -> "Callable[[ast.Node], str]":
    """`condition`, remembering each node's text: the text of every sub-condition of a tree costs
    one walk of it. Use it while the tree is alive (nodes are remembered by identity)."""
    return _Source({}).visit


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to the widest cell plus two spaces; the last column is not padded."""
    if not rows:
        return []
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell))
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i] + 2) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        out.append("".join(cells).rstrip())
    return out


class _Writer:
    """Writes lines at an indentation level, placing comments by source line."""

    def __init__(self, comments: list[Token]):
        self.lines: list[str] = []
        self.level = 0
        self.pending = sorted(comments, key=lambda t: (t.line, t.column))

    def comments_before(self, line: int) -> None:
        while self.pending and (self.pending[0].line or 0) < line:
            self.lines.append(INDENT * self.level + str(self.pending.pop(0)).strip())

    def trailing(self, line: int) -> str:
        parts = []
        while self.pending and self.pending[0].line == line:
            parts.append(str(self.pending.pop(0)).strip())
        return ("  " + " ".join(parts)) if parts else ""

    def write(self, text: str, node: ast.Node | None = None) -> None:
        suffix = ""
        if node is not None and node.span.line:
            self.comments_before(node.span.line)
            suffix = self.trailing(node.span.line)
            if node.span.end_line != node.span.line:
                suffix += self.trailing(node.span.end_line)
        self.lines.append((INDENT * self.level + text + suffix).rstrip())

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def open_block(self, text: str, node: ast.Node) -> None:
        self.comments_before(node.span.line)
        self.lines.append(INDENT * self.level + text + " {" + self.trailing(node.span.line))
        self.level += 1

    def close_block(self, node: ast.Node) -> None:
        self.comments_before(node.span.end_line)
        self.level -= 1
        self.lines.append(INDENT * self.level + "}" + self.trailing(node.span.end_line))

    def rows(self, entries: Sequence[tuple[ast.Node, list[str]]]) -> None:
        for (node, _), text in zip(entries, _aligned([cells for _, cells in entries])):
            self.write(text, node)


def format_policy(policy: ast.Policy, comments: list[Token] | None = None) -> str:
    """The canonical text of a policy. Comments are kept next to the line they annotated."""
    w = _Writer(list(comments or []))
    leading = [c for c in w.pending if (c.line or 0) < policy.span.line]
    if leading:
        w.comments_before(policy.span.line)
        if (leading[-1].line or 0) < policy.span.line - 1:
            w.blank()
    w.open_block(f"policy {quote(policy.id)} version {policy.version}", policy)
    header = (ast.Title, ast.Owner, ast.Timezone, ast.Effective)
    previous_was_header = True
    owner_width = max((len(o.team) for o in policy.owners), default=0)
    for item in policy.items:
        is_header = isinstance(item, header)
        if not (is_header and previous_was_header):
            w.blank()
        previous_was_header = is_header
        _FORMATTERS[type(item)](w, item, owner_width)
    w.close_block(policy)
    w.comments_before(10**9)
    return "\n".join(w.lines).rstrip() + "\n"


def _title(w: _Writer, node: ast.Title, _: int) -> None:
    w.write(f"title {quote(node.text)}", node)


def _owner(w: _Writer, node: ast.Owner, width: int) -> None:
    w.write(f"owner {node.team.ljust(width)} {quote(node.person)}", node)


def _timezone(w: _Writer, node: ast.Timezone, _: int = 0) -> None:
    w.write(f"timezone {quote(node.name)}", node)


def _effective(w: _Writer, node: ast.Effective, _: int) -> None:
    w.write(f"effective {node.date}", node)


def field_type(t: ast.FieldType) -> str:
    return f"one of {_quoted_list(t.choices)}" if t.name == "one of" else t.name


def _lead(w: _Writer, node: ast.LeadBlock, _: int) -> None:
    w.open_block("lead", node)
    rows = []
    for f in node.fields:
        rest = field_type(f.type)
        if f.required:
            rest += " required"
        if f.default is not None:
            rest += f" default {literal(f.default)}"
        rows.append((f, [f.name, rest]))
    w.rows(rows)
    w.close_block(node)


def rule_label(rule: ast.PointsRule | ast.PerRule) -> str:
    """How a score's rule is named (explanations, coverage, the diff): its reason, else its condition as
    written, else `per FIELD`."""
    if rule.reason:
        return rule.reason
    return condition(rule.condition) if isinstance(rule, ast.PointsRule) else f"per {rule.field_name}"


def rule_text(rule: ast.Node, points_width: int = 0) -> str:
    if isinstance(rule, ast.PointsRule):
        return f"{number(rule.points, signed=True).ljust(points_width)} when {condition(rule.condition)}"
    if isinstance(rule, ast.PerRule):
        per = window(rule.field_name, rule.window) if rule.window is not None else rule.field_name
        return f"{number(rule.points, signed=True).ljust(points_width)} per {per} up to {number(rule.cap)}"
    if isinstance(rule, ast.Decay):
        since = f"last {rule.field_name}" if rule.since_event else rule.field_name
        return f"decay {number(rule.percent)}% every {number(rule.every_days)} days since {since}"
    if isinstance(rule, ast.Clamp):
        return f"clamp {number(rule.low)} to {number(rule.high)}"
    raise TypeError(rule)


def _score(w: _Writer, node: ast.Score, _: int) -> None:
    w.open_block(f"score {node.name}" + (f" {quote(node.label)}" if node.label is not None else ""), node)
    width = max((len(number(r.points, signed=True)) for r in node.rules), default=0)
    rows = []
    for item in node.items:
        text = rule_text(item, width)
        reason = getattr(item, "reason", None)
        rows.append((item, [text, quote(reason)] if reason is not None else [text]))
    w.rows(rows)
    w.close_block(node)


def _entries(entries: tuple[ast.LabelEntry, ...]) -> list[tuple[ast.Node, list[str]]]:
    return [(e, [quote(e.label), f"when {condition(e.condition)}" if e.condition else "otherwise"]) for e in entries]


def _grade(w: _Writer, node: ast.Grade, _: int) -> None:
    w.open_block(f"grade {node.name} from {node.source}", node)
    w.rows(_entries(node.entries))
    w.close_block(node)


def _stages(w: _Writer, node: ast.Stages, _: int) -> None:
    w.open_block("stages", node)
    w.rows([(e, [e.name, f"when {condition(e.condition)}" if e.condition else "otherwise", f"owner {e.owner}"])
            for e in node.entries])
    w.close_block(node)


def _route(w: _Writer, node: ast.Route, _: int) -> None:
    w.open_block("route for " + ", ".join(node.stages), node)
    w.rows(_entries(node.entries))
    w.close_block(node)


def days_text(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


def _calendar(w: _Writer, node: ast.Calendar, _: int) -> None:
    w.open_block(f"calendar {node.name}", node)
    for item in node.items:
        if isinstance(item, ast.Timezone):
            _timezone(w, item)
        elif isinstance(item, ast.OpenHours):
            days = ", ".join(days_text(a, b) for a, b in item.days)
            ranges = ", ".join(f"{a}-{b}" for a, b in item.ranges)
            w.write(f"open {days} {ranges}", item)
        elif isinstance(item, ast.Holidays):
            w.write(f"holidays {quote(item.country)}" + (f" {quote(item.subdivision)}" if item.subdivision else ""),
                    item)
        elif isinstance(item, ast.Closed):
            w.write(f"closed {item.date}", item)
    w.close_block(node)


def sla_item_text(item: ast.Node) -> str:
    if isinstance(item, ast.SlaOwner):
        return f"owner {item.team}"
    if isinstance(item, ast.ClockSpan):
        each = " each time" if item.each_time else ""
        return f"from {' or '.join(item.starts)}{each} until " + " or ".join(item.stops)
    if isinstance(item, ast.ClockLimit):
        tier = f" when {condition(item.condition)}" if item.condition is not None else (
            " otherwise" if item.otherwise else "")
        return (f"within {number(item.amount)} {item.unit}" + (f" on {item.calendar}" if item.calendar else "")
                + tier)
    if isinstance(item, ast.Pause):
        return f"paused from {item.start} until {item.end}"
    if isinstance(item, ast.Warn):
        return f"warn at {number(item.percent)}%"
    if isinstance(item, ast.Escalate):
        return f"escalate to {quote(item.to)} at {number(item.percent)}%"
    if isinstance(item, ast.Target):
        return f"target {number(item.percent)}%"
    if isinstance(item, ast.NeedsReason):
        return f"{item.event} needs reason {_quoted_list(item.reasons)}"
    if isinstance(item, ast.CountRule):
        calendar = f" on {item.calendar}" if item.calendar else ""
        return (f"at least {number(item.count)} {item.event} within {number(item.window)} {item.window_unit}"
                f"{calendar} after {item.after}")
    if isinstance(item, ast.VolumeRule):
        return f"at least {number(item.count)} {item.event} per {item.period}"
    raise TypeError(item)


def _sla(w: _Writer, node: ast.Sla, _: int) -> None:
    w.open_block(f"sla {node.name}" + (f" {quote(node.label)}" if node.label is not None else ""), node)
    for item in node.items:
        w.write(sla_item_text(item), item)
    w.close_block(node)


def _recycle(w: _Writer, node: ast.Recycle, _: int) -> None:
    w.open_block("recycle", node)
    w.rows([(r, [f"{r.event} because {quote(r.reason)}", f"to {r.stage} after {number(r.after)} {r.unit}"])
            for r in node.rules])
    w.close_block(node)


def _events(w: _Writer, node: ast.Events, _: int) -> None:
    w.open_block("events", node)
    w.rows([(e, [e.name, quote(e.label)] if e.label is not None else [e.name]) for e in node.events])
    w.close_block(node)


def _outcomes(w: _Writer, node: ast.Outcomes, _: int) -> None:
    w.open_block("outcomes", node)
    w.rows([(o, [o.kind, "when " + " or ".join(o.events)]) for o in node.outcomes])
    w.close_block(node)


def claim_text(node: ast.Guarantee) -> str:
    """A guarantee's claim in canonical form (`implies` binds loosest, so its sides need no parentheses)."""
    if node.kind == ast.HOLDS and node.condition is not None:
        return condition(node.condition)
    if node.kind == ast.IMPLIES and node.condition is not None and node.then is not None:
        return f"{condition(node.condition)} implies {condition(node.then)}"
    if node.kind == ast.HANDOFF_KEPT:
        return f"handoff never lost with {node.along}"
    if node.kind in (ast.NEVER_DECREASES, ast.NEVER_INCREASES):
        return f"{node.score} {node.kind} with {node.along}"
    raise TypeError(node)


CLAIM_WIDTH = 100  # a guarantee longer than this on one line has its claim on the next line


def _guarantees(w: _Writer, node: ast.Guarantees, _: int) -> None:
    """Each guarantee on one line, the claims aligned; one that would be too long has its claim indented on the
    line below its name (as the language's examples write them)."""
    w.open_block("guarantees", node)
    rows = [(g, [quote(g.name) + ":", claim_text(g)]) for g in node.guarantees]
    fits = {id(g) for g, (name, claim) in rows if len(INDENT * w.level + name + "  " + claim) <= CLAIM_WIDTH}
    aligned = iter(_aligned([cells for g, cells in rows if id(g) in fits]))
    for g, (name, claim) in rows:
        if id(g) in fits:
            w.write(next(aligned), g)
        else:
            w.write(name, g)
            w.write(INDENT * 2 + claim)
    w.close_block(node)


def member_options(member: ast.Member) -> str:
    """A member's options in canonical order (weight, cap, calendar), two spaces apart."""
    options = [f"weight {number(member.weight)}" if member.weight is not None else "",
               f"cap {number(member.cap)} per {member.cap_period}" if member.cap is not None else "",
               f"calendar {member.calendar}" if member.calendar is not None else ""]
    return "  ".join(o for o in options if o)


def team_item_text(item: ast.Node) -> str:
    """A team's line other than a member's."""
    if isinstance(item, ast.TeamCalendar):
        return f"calendar {item.name}"
    if isinstance(item, ast.AssignRule):
        return f"assign {item.how}"
    if isinstance(item, ast.MatchAccounts):
        return "match accounts by email domain"
    if isinstance(item, ast.Fallback):
        return "when nobody is available " + (f"to {item.team}" if item.team is not None else "hold")
    raise TypeError(item)


def _team(w: _Writer, node: ast.Team, _: int) -> None:
    """A team's lines as written, its members' options aligned after their names."""
    w.open_block(f"team {node.name}" + (f" {quote(node.label)}" if node.label is not None else ""), node)
    members = iter(_aligned([[f"member {quote(m.person)}", member_options(m)] for m in node.members]))
    for item in node.items:
        w.write(next(members) if isinstance(item, ast.Member) else team_item_text(item), item)
    w.close_block(node)


# Each formatter takes the node of its key's class (Any: a dict cannot say that per key).
_FORMATTERS: dict[type[ast.Node], Callable[[_Writer, Any, int], None]] = {
    ast.Events: _events,
    ast.Outcomes: _outcomes,
    ast.Title: _title,
    ast.Owner: _owner,
    ast.Timezone: _timezone,
    ast.Effective: _effective,
    ast.LeadBlock: _lead,
    ast.Score: _score,
    ast.Grade: _grade,
    ast.Stages: _stages,
    ast.Route: _route,
    ast.Calendar: _calendar,
    ast.Sla: _sla,
    ast.Recycle: _recycle,
    ast.Guarantees: _guarantees,
    ast.Team: _team,
}
