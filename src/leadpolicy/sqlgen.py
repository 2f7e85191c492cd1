"""Compile a policy's IR to one SQL SELECT, as sqlglot expression trees, for several dialects.

The query reads a leads table with typed columns (text as VARCHAR, numbers as a numeric
type, yes/no as BOOLEAN, dates as DATE, timestamps as TIMESTAMP WITH TIME ZONE) and
returns every column plus one column per score and grade, and `stage`, `owner`, `route`.
SQL's own three-valued logic is the language's: a missing value is NULL, and a CASE
branch is taken only when its condition is TRUE.

Nothing is formatted into SQL text by hand: identifiers are quoted by sqlglot, texts are
sqlglot string literals (escaped per dialect), and numbers come from validated decimals.
Dialect differences are data (`DIALECTS`), and anything a dialect cannot express raises
`UnsupportedError` rather than giving wrong SQL.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

from .logic import FOLD_SQL_PRE, decay_factor_table, fold

DIALECTS = {
    # dialect: how to get a timestamp's epoch in microseconds (X is the timestamp)
    "duckdb": {"epoch_us": "EPOCH_US(X)"},
    "postgres": {"epoch_us": "FLOOR(EXTRACT(EPOCH FROM X) * 1000000)"},
    "spark": {"epoch_us": "UNIX_MICROS(X)"},
    "snowflake": {"epoch_us": "DATE_PART(EPOCH_MICROSECOND, X)"},
    "bigquery": {"epoch_us": "UNIX_MICROS(X)"},
}
BLANK_CHARS = " \t\n\r\f"  # schema.BLANK: text made only of these is missing
DAY_US = 86_400_000_000
FACTOR_TYPE = "DECIMAL(10, 9)"



POSTGRES_FOLD_COLLATION = "und-x-icu"


def fold_sql(value: exp.Expression, dialect: str) -> exp.Expression:
    """`logic.fold` in SQL. DuckDB's LOWER is the simple mapping on every code point (a test checks
    all of them), so only the final sigma is left to replace; other engines' LOWER may use the full
    mapping and context, so "İ", "Σ" and "ς" are translated first. (TRANSLATE costs DuckDB 6x a LOWER.)"""
    if dialect == "duckdb":
        return exp.func("REPLACE", exp.Lower(this=value), exp.Literal.string("ς"), exp.Literal.string("σ"))
    source, target = FOLD_SQL_PRE
    translated: exp.Expression = exp.Translate(this=value, from_=exp.Literal.string(source),
                                               to=exp.Literal.string(target))
    if dialect == "postgres":
        # PostgreSQL's LOWER follows the column's collation ("C" lowers ASCII only); ICU's root
        # collation makes it the Unicode mapping whatever the database's default is.
        translated = exp.Collate(this=translated, expression=exp.to_identifier(POSTGRES_FOLD_COLLATION, quoted=True))
    return exp.Lower(this=translated)

class UnsupportedError(ValueError):
    """A construct the SQL target cannot express exactly."""


def _lit(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        text = format(Decimal(value), "f")
        return exp.Literal.number(text) if not text.startswith("-") else exp.Neg(this=exp.Literal.number(text[1:]))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def floor_div(value: exp.Expression, divisor: int) -> exp.Expression:
    """Python's `value // divisor` in integer SQL, exact for negative values too:
    (v - ((v % d) + d) % d) / d, where the division is exact."""
    d = exp.Literal.number(divisor)
    remainder = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=value.copy(), expression=d.copy()),
                                                    expression=d.copy())), expression=d.copy())
    exact = exp.Paren(this=exp.Sub(this=value.copy(), expression=remainder))
    return exp.cast(exp.Div(this=exact, expression=d.copy()), "BIGINT")


def _decimal(text: str, type_: str) -> exp.Expression:
    return exp.cast(exp.Literal.string(text), exp.DataType.build(type_))


class _SqlGen:
    def __init__(self, ir: dict, dialect: str, now: dt.datetime):
        if dialect not in DIALECTS:
            raise UnsupportedError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
        self.ir, self.dialect, self.now = ir, dialect, now
        self.fields = {f["name"]: f for f in ir["fields"]}
        self.factor_alias = "lpf"
        from zoneinfo import ZoneInfo

        self.today = now.astimezone(ZoneInfo(ir["timezone"])).date()

    # ------------------------------------------------------------ values
    def column(self, name: str) -> exp.Expression:
        return exp.column(name, quoted=True)

    def field_value(self, name: str) -> exp.Expression:
        """A lead field as the language reads it: blank text is missing, then the default."""
        f = self.fields[name]
        col = self.column(name)
        if f["type"] in ("text", "one of"):
            blank = exp.EQ(this=exp.Trim(this=col.copy(), expression=exp.Literal.string(BLANK_CHARS)),
                           expression=exp.Literal.string(""))
            value: exp.Expression = exp.Case().when(blank, exp.Null()).else_(col)
        else:
            value = col
        if f["default"] is not None:
            default = f["default"]
            if f["type"] == "date":
                default = dt.date.fromisoformat(default)
            elif f["type"] == "timestamp":
                raise UnsupportedError("a default for a timestamp field is not supported in SQL")
            elif f["type"] == "number":
                default = Decimal(str(default))
            value = exp.Coalesce(this=value, expressions=[_lit(default)])
        return value

    def epoch_us(self, value: exp.Expression) -> exp.Expression:
        template = sqlglot.parse_one(DIALECTS[self.dialect]["epoch_us"], read=self.dialect)
        return template.transform(lambda node: value.copy() if isinstance(node, exp.Column) and node.name == "X"
                                  else node)

    def days_since(self, name: str) -> exp.Expression:
        value = self.field_value(name)
        if self.fields[name]["type"] == "date":
            return exp.DateDiff(this=_lit(self.today), expression=value, unit=exp.var("DAY"))
        now_us = int((self.now - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) / dt.timedelta(microseconds=1))
        diff = exp.Paren(this=exp.Sub(this=exp.Literal.number(now_us), expression=self.epoch_us(value)))
        return floor_div(exp.cast(diff, "BIGINT"), DAY_US)

    def operand(self, op: dict, text: bool = False, raw: bool = False) -> exp.Expression:
        """An operand's SQL. `raw`: a text field without the blank-to-NULL step (see `_raw_ok`)."""
        if "lit" in op:
            kind, value = op["type"], op["lit"]
            if kind == "number":
                return _lit(Decimal(value))
            if kind == "yes/no":
                return _lit(bool(value))
            if kind == "date":
                return _lit(dt.date.fromisoformat(value))
            return _lit(fold(value) if text else value)
        if "days_since" in op:
            return self.days_since(op["days_since"])
        name = op["ref"]
        plain_text = raw and self.fields.get(name, {}).get("type") in ("text", "one of") and \
            self.fields[name]["default"] is None
        value = self.column(name) if op["kind"] != "field" or plain_text else self.field_value(name)
        if text and op["type"] in ("text", "one of"):
            return fold_sql(value, self.dialect)
        return value

    # ------------------------------------------------------------ conditions
    @staticmethod
    def _raw_ok(cond: dict, positive: bool) -> bool:
        """Whether a blank text may stand for itself instead of NULL without changing any decision.

        A decision needs a condition to be TRUE, and and/or only ever pass TRUE up from TRUE parts,
        so in a positive place (under an even number of `not`s) an atom that is FALSE on a blank
        text decides exactly as one that is unknown. `=`, `in` and the text matches with needles that
        are not blank themselves are FALSE on a blank text; `!=`, `not in` and blank needles are not.
        """
        if not positive:
            return False
        op = cond["op"]
        blank = lambda t: t.strip(BLANK_CHARS) == ""  # noqa: E731
        if op == "text":
            return not any(blank(n) for n in cond["needles"])
        if op == "cmp" and cond["cmp"] == "=":
            lits = [o for o in (cond["left"], cond["right"]) if "lit" in o]
            return len(lits) == 1 and lits[0]["type"] == "text" and not blank(lits[0]["lit"])
        if op == "in" and not cond["negated"]:
            return all("lit" in o and not (o["type"] == "text" and blank(o["lit"])) for o in cond["options"])
        return False

    def condition(self, cond: dict, positive: bool = True) -> exp.Expression:
        op = cond["op"]
        raw = self._raw_ok(cond, positive)
        if op in ("and", "or"):
            parts = [exp.Paren(this=self.condition(i, positive)) for i in cond["items"]]
            return exp.and_(*parts) if op == "and" else exp.or_(*parts)
        if op == "not":
            return exp.Not(this=exp.Paren(this=self.condition(cond["item"], not positive)))
        if op == "cmp":
            self._no_mixed_dates(cond["left"], cond["right"])
            text = self._is_text(cond["left"], cond["right"])
            left, right = self.operand(cond["left"], text, raw), self.operand(cond["right"], text, raw)
            kind = {"=": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[cond["cmp"]]
            return kind(this=left, expression=right)
        if op == "between":
            low = {"op": "cmp", "cmp": ">=", "left": cond["value"], "right": cond["low"]}
            high = {"op": "cmp", "cmp": "<=", "left": cond["value"], "right": cond["high"]}
            return exp.and_(self.condition(low, positive), self.condition(high, positive))
        if op == "in":
            for o in cond["options"]:
                self._no_mixed_dates(cond["value"], o)
            text = self._is_text(cond["value"], *cond["options"])
            test = exp.In(this=self.operand(cond["value"], text, raw),
                          expressions=[self.operand(o, text) for o in cond["options"]])
            return exp.Not(this=exp.Paren(this=test)) if cond["negated"] else test
        if op == "text":
            value = self.operand(cond["value"], True, raw)
            parts = []
            for needle in cond["needles"]:
                lit = exp.Literal.string(fold(needle))
                if cond["how"] in ("contains", "contains_any"):
                    parts.append(exp.GT(this=exp.StrPosition(this=value.copy(), substr=lit),
                                        expression=exp.Literal.number(0)))
                elif cond["how"] == "starts":
                    parts.append(exp.StartsWith(this=value.copy(), expression=lit))
                else:
                    width = exp.Literal.number(len(fold(needle)))
                    parts.append(exp.EQ(this=exp.Right(this=value.copy(), expression=width),
                                        expression=lit))
            return exp.or_(*parts) if len(parts) > 1 else parts[0]
        if op == "missing":
            test = exp.Is(this=self.operand(cond["value"]), expression=exp.Null())
            return exp.Not(this=test) if cond["negated"] else test
        if op == "truthy":
            return exp.EQ(this=self.operand(cond["value"]), expression=exp.Boolean(this=True))
        raise UnsupportedError(f"unknown condition {op!r}")

    @staticmethod
    def _is_text(*ops: dict) -> bool:
        return any(o["type"] in ("text", "one of") for o in ops)

    @staticmethod
    def _no_mixed_dates(*ops: dict) -> None:
        types = {o["type"] for o in ops}
        if "timestamp" in types and "date" in types:
            raise UnsupportedError("comparing a timestamp with a date (by its local date) is not supported in SQL "
                                   "yet; compare `days since FIELD` with a number instead")

    # ------------------------------------------------------------ scores, grades, stages, routes
    def score(self, s: dict) -> exp.Expression:
        scale = max([len(r[k].split(".")[1]) if "." in r[k] else 0 for r in s["rules"] for k in ("points", "cap")
                     if k in r] + [0])
        total_type = f"DECIMAL(18, {scale})"

        def number(text: str) -> exp.Expression:  # whole numbers stay BIGINT: exact and fast
            return _lit(Decimal(text)) if scale == 0 else _decimal(text, total_type)

        zero = number("0")
        terms: list[exp.Expression] = []
        for rule in s["rules"]:
            if rule["kind"] == "when":
                when = self.condition(rule["condition"])
                terms.append(exp.Case().when(when, number(rule["points"])).else_(zero.copy()))
            else:
                # Units past the cap change nothing, so they are limited before multiplying: a huge
                # count (1e19 clicks) must neither overflow BIGINT nor fail the batch.
                points, cap_points = abs(Decimal(rule["points"])), abs(Decimal(rule["cap"]))
                enough = math.ceil(cap_points / points) + 1 if points else 0
                units_read = exp.Greatest(this=self.field_value(rule["field"]), expressions=[_lit(0)],
                                          ignore_nulls=True)
                floor = exp.Floor(this=exp.Least(this=units_read, expressions=[_lit(Decimal(enough))],
                                                 ignore_nulls=True))
                units = exp.cast(floor, "BIGINT" if scale == 0 else total_type)
                raw = exp.Mul(this=number(rule["points"]), expression=units)
                cap = number(str(abs(Decimal(rule["cap"]))))
                capped = exp.Greatest(this=exp.Least(this=raw, expressions=[cap], ignore_nulls=True),
                                      expressions=[exp.Neg(this=cap.copy())], ignore_nulls=True)
                terms.append(exp.Coalesce(this=capped, expressions=[zero.copy()]))
        total: exp.Expression = terms[0] if terms else zero.copy()
        for term in terms[1:]:
            total = exp.Add(this=total, expression=term)
        total = exp.Paren(this=total)
        value: exp.Expression = total if scale == 0 else exp.Round(this=total.copy(), decimals=exp.Literal.number(0))
        if s["decay"] is not None:
            decay = s["decay"]
            days = self.days_since(decay["field"])
            every = Decimal(decay["every_days"])
            factor = exp.Coalesce(this=exp.column("#f", table=self.factor_alias, quoted=True),
                                  expressions=[_decimal("0", FACTOR_TYPE)])
            bound = sum(abs(Decimal(r["points"])) if r["kind"] == "when" else abs(Decimal(r["cap"]))
                        for r in s["rules"])
            digits = len(str(int(bound))) + scale
            # A total that fits 8 digits times a 10-digit factor stays within 64-bit decimals.
            exact_total = exp.cast(total.copy(), f"DECIMAL({max(digits, 1) if digits <= 8 else 18}, {scale})")
            # Before the first full period (or with the field missing) the factor is 1: no decay.
            applied = exp.Case().when(exp.GTE(this=days, expression=_lit(every)), factor).else_(
                _decimal("1", FACTOR_TYPE))
            value = exp.Round(this=exp.Mul(this=exact_total, expression=applied), decimals=exp.Literal.number(0))
        if s["clamp"] is not None:
            low, high = Decimal(s["clamp"]["low"]), Decimal(s["clamp"]["high"])
            value = exp.Greatest(this=exp.Least(this=value, expressions=[_lit(high)], ignore_nulls=True),
                                 expressions=[_lit(low)], ignore_nulls=True)
        return exp.cast(value, "BIGINT")

    def factor_join(self, s: dict) -> tuple[exp.Expression, exp.Expression]:
        """(the VALUES table of decay factors by period count, the join condition on this lead's periods)."""
        decay = s["decay"]
        bound = sum(abs(Decimal(r["points"])) if r["kind"] == "when" else abs(Decimal(r["cap"])) for r in s["rules"])
        try:
            table = decay_factor_table(Decimal(decay["percent"]), bound) or [(1, Decimal(0))]
        except ValueError as exc:
            raise UnsupportedError(str(exc)) from None
        rows = [exp.Tuple(expressions=[exp.Literal.number(n), _decimal(format(f, "f"), FACTOR_TYPE)])
                for n, f in table]
        values = exp.Values(expressions=rows, alias=exp.TableAlias(
            this=exp.to_identifier(self.factor_alias, quoted=True),
            columns=[exp.to_identifier("#n", quoted=True), exp.to_identifier("#f", quoted=True)]))
        every = Decimal(decay["every_days"])
        days = self.days_since(decay["field"])
        periods = (floor_div(days, int(every)) if every == every.to_integral_value() else
                   exp.Floor(this=exp.Div(this=days, expression=_decimal(format(every, "f"), "DECIMAL(18, 6)"))))
        on = exp.EQ(this=exp.column("#n", table=self.factor_alias, quoted=True), expression=periods)
        return values, on

    def ladder(self, entries: list[dict], value_of) -> exp.Expression:
        case = exp.Case()
        default: exp.Expression = exp.Null()
        for e in entries:
            if e["condition"] is None:
                default = value_of(e)
                break
            case = case.when(self.condition(e["condition"]), value_of(e))
        if not case.args.get("ifs"):
            return default
        return case.else_(default)

    def query(self, table: str) -> exp.Select:
        ir = self.ir
        source: exp.Expression = exp.to_table(table, dialect=self.dialect) if "." in table else exp.Table(
            this=exp.to_identifier(table, quoted=True))
        select = exp.select(exp.Star()).from_(source)
        layer = 0
        scores = {s["name"]: s for s in ir["scores"]}
        grades = {g["name"]: g for g in ir["grades"]}
        for kind, name in ir["order"]:
            layer += 1
            inner = f"lp{layer}"
            self.factor_alias = f"lpf{layer}"
            if kind == "score":
                expression = self.score(scores[name])
            else:
                expression = self.ladder(grades[name]["entries"], lambda e: exp.Literal.string(e["label"]))
            columns = exp.Column(this=exp.Star(), table=exp.to_identifier(inner))
            select = exp.select(columns, exp.alias_(expression, name, quoted=True)).from_(select.subquery(inner))
            if kind == "score" and scores[name]["decay"] is not None:
                # Each lead's factor comes from a join on its period count: computed once, not per CASE branch.
                values, on = self.factor_join(scores[name])
                select = select.join(values, on=on, join_type="left")
        stage = self.ladder(ir["stages"], lambda e: exp.Literal.string(e["name"]))
        layer += 1
        select = exp.select(exp.Star(), exp.alias_(stage, "stage", quoted=True)).from_(select.subquery(f"lp{layer}"))
        owner = exp.Case(this=self.column("stage"))
        for s in ir["stages"]:
            owner = owner.when(exp.Literal.string(s["name"]), exp.Literal.string(s["owner"]))
        route = exp.Case()
        for r in ir["routes"]:
            routed = exp.In(this=self.column("stage"), expressions=[exp.Literal.string(s) for s in r["stages"]])
            route = route.when(routed, self.ladder(r["entries"], lambda e: exp.Literal.string(e["label"])))
        route_expr: exp.Expression = route.else_(exp.Null()) if route.args.get("ifs") else exp.cast(exp.Null(),
                                                                                                    "VARCHAR")
        layer += 1
        return exp.select(exp.Star(), exp.alias_(owner, "owner", quoted=True),
                          exp.alias_(route_expr, "route", quoted=True)).from_(select.subquery(f"lp{layer}"))


def compile_sql(ir: dict, dialect: str = "duckdb", table: str = "leads", now: dt.datetime | None = None,
                pretty: bool = True) -> str:
    """The SELECT for a policy's IR in a dialect; `now` (timezone-aware) is a literal in the query."""
    if now is None:
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must carry a timezone")
    query = _SqlGen(ir, dialect, now).query(table)
    for adapt in DIALECT_ADAPTERS.get(dialect, ()):
        query = query.transform(adapt)
    header = (f"-- Generated by leadpolicy from policy {ir['id']} version {ir['version']} ({ir['fingerprint']}).\n"
              f"-- Evaluation time: {now.isoformat()}. Do not edit: recompile the policy.\n"
              + "".join(f"-- {note}\n" for note in DIALECT_NOTES.get(dialect, ())))
    return header + query.sql(dialect=dialect, pretty=pretty, unsupported_level=sqlglot.ErrorLevel.RAISE) + "\n"


def _big_numeric(node: exp.Expression) -> exp.Expression:
    """BigQuery: NUMERIC keeps 9 decimals, so a total with decimals times a 9-place factor would be
    rounded before our rounding; BIGNUMERIC keeps 38, so the product stays exact."""
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.DECIMAL:
        return exp.DataType.build("BIGDECIMAL", dialect="bigquery")
    return node


def _upper_quoted(node: exp.Expression) -> exp.Expression:
    """Snowflake stores unquoted names in upper case, so a quoted "email" would miss the EMAIL
    column of a table created the usual way: quote them in upper case."""
    if isinstance(node, exp.Identifier) and node.quoted:
        return exp.to_identifier(node.name.upper(), quoted=True)
    return node


# Dialect differences as data: rewrites of the finished query, and what its reader must know.
DIALECT_ADAPTERS = {"bigquery": (_big_numeric,), "snowflake": (_upper_quoted,)}
DIALECT_NOTES = {
    "snowflake": ("Snowflake: columns are named in upper case (\"EMAIL\"), as unquoted names are stored, and so are",
                  "the computed columns (\"FIT\", \"STAGE\"). Timestamp columns must be TIMESTAMP_TZ or",
                  "TIMESTAMP_LTZ: a TIMESTAMP_NTZ (Snowflake's default) would be read as UTC."),
    "bigquery": ("BigQuery: decimals are BIGNUMERIC so that decayed totals are rounded exactly once.",),
}
