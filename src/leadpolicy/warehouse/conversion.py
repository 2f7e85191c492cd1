"""Each cell of a staged data file read as its field's type, in SQL, with the reason a cell does not fit.

A cell is read as a CSV cell's text is (docs/leads.md, "CSV"), the way `LeadReader` reads it in
Python, so both engines accept and reject exactly the same rows; a typed Parquet column that
already holds its field's values is used as it is (`typed_source`, docs/warehouse.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from leadpolicy.runtime import (
    BLANK,
    DATE_PATTERN,
    FIRST_YEAR,
    INFINITE_TEXTS,
    LAST_YEAR,
    TIMESTAMP_PATTERN,
    choice_spellings,
)
from leadpolicy.semantics.events import value_kind
from leadpolicy.semantics.ir import Field as IrField
from leadpolicy.semantics.leads import (
    NUMBER_PATTERN,
    YEARS,
    YES_WORDS,
    choice_hint,
    read_json,
    shown_value,
)
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.sqlgen import fold_sql

ROW_NAME = staging.ROW_NAME
_q = staging.quoted

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


def _col(name: str) -> exp.Expr:
    return exp.column(name, quoted=True)


def is_one_of(value: exp.Expr, choices: tuple[str, ...]) -> exp.Expr:
    """`value IN (choices)`. Inside an expression DuckDB runs IN as a join with the list, about three
    times slower than comparing with each choice when there are a few of them."""
    if len(choices) > 32:
        return exp.In(this=value.copy(), expressions=[exp.Literal.string(c) for c in choices])
    return exp.or_(*(exp.EQ(this=value.copy(), expression=exp.Literal.string(c)) for c in choices))


def trimmed(value: exp.Expr) -> exp.Expr:
    """The text without surrounding blanks. Every blank is at most U+0020, so a text whose first and
    last characters are above it is its own trim: DuckDB's trim with a character set is slow, and
    this skips it for almost every cell."""
    def low(text: exp.Expr) -> exp.Expr:
        return exp.LTE(this=exp.func("ascii", text), expression=exp.Literal.number(32))

    last_low = exp.LTE(this=exp.func("array_extract", value.copy(), exp.Literal.number(-1)),
                       expression=exp.Literal.string(" "))
    return exp.Case().when(exp.or_(low(value.copy()), last_low),
                           exp.Trim(this=value.copy(), expression=exp.Literal.string(BLANK))).else_(value)


# Input column types whose values are already what a field holds, so they are used as they are,
# never re-read through text. FLOAT is not here: its text is the shortest float32 form ("0.1"),
# which reads as a different double than the float32 itself. Wider integers and decimals neither:
# beyond 2**53 their conversion to a double is not guaranteed to round as reading the text does.
TYPED_SOURCES = {
    "number": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "DOUBLE"},
    "yes/no": {"BOOLEAN"}, "date": {"DATE"}, "timestamp": {"TIMESTAMP WITH TIME ZONE"},
    "text": {"VARCHAR"}, "one of": {"VARCHAR"},
}


def typed_source(kind: str, column_type: str | None) -> bool:
    """Whether a column of this type holds a field of this kind as it is."""
    if column_type is None:
        return False
    if kind == "number" and column_type.startswith("DECIMAL("):
        width = int(column_type[len("DECIMAL("):].split(",")[0])
        return width <= 15  # whole part and scale exact in a double, so value / 10**scale rounds once
    return column_type in TYPED_SOURCES.get(kind, set())


INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT"}


def _integer_text_conversion(i: int, f: IrField, source: exp.Expr) -> dict[str, exp.Expr]:
    """`_conversion` for a text field read from an integer column: an integer's text is never blank
    and has no surrounding blanks, so it is blank only when missing, and made text only when used."""
    b, v = _col(f"#b{i}"), _col(f"#v{i}")
    out: dict[str, exp.Expr] = {"trimmed": exp.Null(), "blank": exp.Is(this=source.copy(), expression=exp.Null()),
                                "value": exp.cast(source.copy(), "VARCHAR"), "final": v.copy()}
    error: exp.Expr = exp.Null()
    if f.type == "one of":
        error = exp.Case().when(exp.and_(exp.not_(b.copy()), exp.not_(is_one_of(v, f.choices))),
                                exp.Literal.string("not-a-choice"))
    if f.required:
        error = exp.Case().when(b.copy(), exp.Literal.string("required")).else_(error)
    out["error"] = error
    return out


def _typed_conversion(i: int, f: IrField, source: exp.Expr) -> dict[str, exp.Expr]:
    """`_conversion` for a column already of the field's type (not text: text fields always take
    the text path, which for a VARCHAR column is the column itself)."""
    b, v = _col(f"#b{i}"), _col(f"#v{i}")
    out: dict[str, exp.Expr] = {"trimmed": exp.Null(), "blank": exp.Is(this=source.copy(), expression=exp.Null())}
    error: exp.Expr = exp.Null()
    if f.type == "number":
        out["value"] = exp.cast(source.copy(), "DOUBLE")
        error = exp.Case().when(exp.and_(exp.not_(b.copy()), exp.not_(exp.func("isfinite", v.copy()))),
                                exp.Literal.string("number"))
    elif f.type in ("date", "timestamp"):
        out["value"] = source.copy()
        error = exp.Case().when(exp.and_(exp.not_(b.copy()), _typed_out_of_years(f.type, v)),
                                exp.Literal.string("range"))
    else:
        out["value"] = source.copy()
    out["final"] = v.copy()
    if f.required:
        error = exp.Case().when(b.copy(), exp.Literal.string("required")).else_(error)
    out["error"] = error
    return out


def _typed_out_of_years(kind: str, value: exp.Expr) -> exp.Expr:
    """A typed date, or a timestamp's UTC date, outside the supported years (a typed value has no
    written form, so its UTC date stands for it)."""
    infinite = exp.not_(exp.func("isfinite", value.copy()))  # its year and epoch are NULL
    if kind == "date":
        year: exp.Expr = exp.func("year", value.copy())
        return exp.or_(infinite, exp.not_(exp.Between(this=year, low=exp.Literal.number(FIRST_YEAR),
                                                      high=exp.Literal.number(LAST_YEAR))))
    first = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.timezone.utc)
    after = dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.timezone.utc)
    micros = exp.func("epoch_us", value.copy())
    return exp.or_(infinite, exp.LT(this=micros, expression=exp.Literal.number(_epoch_us(first))),
                   exp.GTE(this=micros.copy(), expression=exp.Literal.number(_epoch_us(after))))


def _epoch_us(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)


def _written_out_of_years(text: exp.Expr) -> exp.Expr:
    """A well-formed date or timestamp text whose year, as written, is outside the supported years
    (its first four characters are the year: the shape is checked first)."""
    year = exp.Substring(this=text.copy(), start=exp.Literal.number(1), length=exp.Literal.number(4))
    return exp.not_(exp.Between(this=year, low=exp.Literal.string(f"{FIRST_YEAR:04d}"),
                                high=exp.Literal.string(f"{LAST_YEAR:04d}")))


def declared_spelling(value: exp.Expr, choices: tuple[str, ...]) -> exp.Expr:
    """The choice a text names, as declared (`runtime.choice_spelling`): itself when it is one as written,
    else the choice it folds alike; NULL when it names none."""
    by_fold = exp.Case(this=fold_sql(value.copy(), "duckdb"))
    for folded, declared in choice_spellings(choices).items():
        by_fold = by_fold.when(exp.Literal.string(folded), exp.Literal.string(declared))
    return exp.Case().when(is_one_of(value, choices), value.copy()).else_(by_fold)


def enum_of(choices: tuple[str, ...]) -> exp.DataType:
    """The DuckDB ENUM of a `one of` field's choices."""
    values = [exp.Literal.string(c) for c in dict.fromkeys(choices)]
    return exp.DataType(this=exp.DataType.Type.ENUM, expressions=values)


def _conversion(i: int, f: IrField, source: exp.Expr, as_enum: bool = False,
                exact_choices: bool = False) -> dict[str, exp.Expr]:
    """For field number i read from `source` (a staged text column, or NULL), the expressions of
    three layers: 'trimmed' (layer 1), 'blank' and 'value' (layer 2, from layer 1), and 'final'
    and 'error' (layer 3, from layer 2). Each is computed once per row. Helper columns are named
    `#t0`, `#b0`, ...: no field and no staged input column can have such a name. A `one of` value is
    read as text is compared and held as its declared spelling; with `exact_choices` (event names) it must
    be a choice as written, and with `as_enum` it is read as the ENUM of its choices (NULL when it is none)."""
    col, kind = source, f.type
    t, b, v = _col(f"#t{i}"), _col(f"#b{i}"), _col(f"#v{i}")
    out: dict[str, exp.Expr] = {
        "trimmed": trimmed(col.copy()),
        "blank": exp.or_(exp.Is(this=col.copy(), expression=exp.Null()),
                         exp.EQ(this=t.copy(), expression=exp.Literal.string(""))),
    }
    not_blank = exp.not_(b.copy())
    error: exp.Expr = exp.Null()
    if kind in ("text", "one of"):
        # A text is read as it is, so its trimmed form only tells whether it is blank; and a blank
        # text starts with a blank, so the trim runs only on texts starting with U+0020 or below.
        out["trimmed"] = exp.Null()
        starts_low = exp.LTE(this=exp.func("ascii", col.copy()), expression=exp.Literal.number(32))
        blank_text = exp.EQ(this=exp.Trim(this=col.copy(), expression=exp.Literal.string(BLANK)),
                            expression=exp.Literal.string(""))
        # a CASE, not OR and AND: DuckDB evaluates a CASE branch only on its rows, and AND on every row
        out["blank"] = exp.Case().when(exp.Is(this=col.copy(), expression=exp.Null()), exp.true()).when(
            starts_low, blank_text).else_(exp.false())
        out["value"] = col.copy()
        out["final"] = col.copy()
        if kind == "one of":
            outside: exp.Expr = exp.not_(is_one_of(col, f.choices))
            if as_enum:
                # One hash lookup per value instead of a comparison with each choice; and later
                # comparisons with a choice compare small integers.
                out["value"] = exp.TryCast(this=col.copy(), to=enum_of(f.choices))
                out["final"] = v.copy()
                outside = exp.Is(this=v.copy(), expression=exp.Null())
            elif not exact_choices:
                out["value"], out["final"] = declared_spelling(col, f.choices), v.copy()
                outside = exp.Is(this=v.copy(), expression=exp.Null())
            error = exp.Case().when(exp.and_(not_blank, outside), exp.Literal.string("not-a-choice"))
    else:
        if kind == "yes/no":
            lowered = exp.Lower(this=t.copy())
            yes = [exp.Literal.string(w) for w, x in YES_WORDS.items() if x]
            no = [exp.Literal.string(w) for w, x in YES_WORDS.items() if not x]
            out["value"] = exp.Case().when(exp.In(this=lowered.copy(), expressions=yes), exp.Boolean(this=True)).when(
                exp.In(this=lowered.copy(), expressions=no), exp.Boolean(this=False))
            bad: exp.Expr = exp.Is(this=v.copy(), expression=exp.Null())
        else:
            pattern, type_ = {"number": (NUMBER_PATTERN, "DOUBLE"), "date": (DATE_PATTERN, "DATE"),
                              "timestamp": (TIMESTAMP_PATTERN, "TIMESTAMPTZ")}[kind]
            shaped = exp.RegexpLike(this=t.copy(), expression=exp.Literal.string(pattern))
            out["value"] = exp.Case().when(shaped, exp.TryCast(this=t.copy(), to=exp.DataType.build(type_)))
            bad = exp.Is(this=v.copy(), expression=exp.Null())
            if kind == "number":
                bad = exp.or_(bad, exp.not_(exp.func("isfinite", v.copy())))
        out["final"] = exp.Case().when(b.copy(), exp.Null()).else_(v.copy())
        error = exp.Case().when(exp.and_(not_blank, bad), exp.Literal.string(kind))
        if kind in ("date", "timestamp"):
            # As the one reader: an infinity (as DuckDB and PostgreSQL write it) and a year outside the
            # supported ones are out of range; a well-formed text of a day that does not exist is no real one.
            infinite = exp.In(this=t.copy(), expressions=[exp.Literal.string(x) for x in INFINITE_TEXTS])
            shaped = exp.RegexpLike(this=t.copy(), expression=exp.Literal.string(pattern))
            why = exp.Case().when(infinite, exp.Literal.string("range")).when(
                shaped, exp.Case().when(_written_out_of_years(t), exp.Literal.string("range")).else_(
                    exp.Literal.string(f"real-{kind}"))).else_(exp.Literal.string(kind))
            error = exp.Case().when(exp.and_(not_blank.copy(), bad.copy()), why).when(
                exp.and_(not_blank.copy(), _written_out_of_years(t)), exp.Literal.string("range"))
    if f.required:
        error = exp.Case().when(b.copy(), exp.Literal.string("required")).else_(error)
    out["error"] = error
    return out


# A JSON value is read by its JSON type, as the one reader (explain, the API) reads it: a JSON string
# is never a number or yes/no, and a text, date or timestamp is a JSON string.
JSON_KINDS = {"UBIGINT": "number", "BIGINT": "number", "DOUBLE": "number", "BOOLEAN": "yes/no", "ARRAY": "list",
              "OBJECT": "object"}


def json_columns(con: DuckDBPyConnection, table: str) -> set[int]:
    """The input positions whose staged original is JSON (a JSON Lines file's values)."""
    relation = con.table(_q(table))
    prefix = staging.original_column(0)[:-1]
    return {int(name[len(prefix):]) for name, kind in zip(relation.columns, relation.types)
            if str(kind) == "JSON" and name.startswith(prefix) and name[len(prefix):].isdigit()}


def _json_type_error(i: int, f: IrField, original: exp.Expr, error: exp.Expr) -> exp.Expr:
    """`error`, or first the code of a JSON value of the wrong JSON type for field i (as the interpreter's
    schema rejects it: a `one of` takes only strings, yes/no only true or false)."""
    kind = exp.func("json_type", original.copy())
    not_blank = exp.not_(_col(f"#b{i}"))
    case = exp.Case()
    if f.type in ("number", "yes/no"):  # the text of a JSON string, which reads as a number in a CSV cell
        case = case.when(exp.and_(not_blank, exp.EQ(this=kind, expression=exp.Literal.string("VARCHAR"))),
                         exp.Literal.string(f.type))
    for json_kind, code in JSON_KINDS.items():
        if code != f.type:
            is_kind = exp.EQ(this=kind.copy(), expression=exp.Literal.string(json_kind))
            case = case.when(exp.and_(not_blank.copy(), is_kind), exp.Literal.string(f"json-{code}"))
    return case.else_(error)


PROBLEMS = {
    "required": "is required but missing",
    "number": "expected a number, got text {value!r}",
    "yes/no": "expected yes/no, got text {value!r}",
    "date": "{value!r} is not a date (YYYY-MM-DD)",
    "timestamp": "{value!r} is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)",
    "not-a-choice": "{value!r} is not one of: {choices}",
    "range": "{value!r} is outside the supported " + YEARS,
    "real-date": "{value!r} is not a real date",
    "real-timestamp": "{value!r} is not a real timestamp",
}
EXPECTED_WORDS = {"number": "a number", "yes/no": "yes/no"}  # any other field's JSON value must be a string
# DuckDB's kind of a JSON value -> the words every reader names that kind in (events.value_kind)
JSON_KIND_WORDS = {kind: value_kind(sample) for kind, sample in
                   (("number", 0), ("yes/no", True), ("list", []), ("object", {}))}


def problem(f: IrField, code: str, value: str | None) -> str:
    if code.startswith("json-") and value is not None:
        return _json_problem(f, code.removeprefix("json-"), shown_value(read_json(value)))
    text = PROBLEMS[code].format(value=value, choices=", ".join(f.choices))
    if code == "not-a-choice":
        hint = choice_hint(str(value), f.choices)
        text += f" ({hint})" if hint else ""
    return text


def _json_problem(f: IrField, kind: str, shown: str) -> str:
    """The interpreter's words for a JSON value of the wrong JSON type (see leads._describe_error)."""
    if f.type == "one of":
        hint = choice_hint(shown, f.choices)
        return f"{shown} is not one of: {', '.join(f.choices)}" + (f" ({hint})" if hint else "")
    return f"expected {EXPECTED_WORDS.get(str(f.type), 'text')}, got {JSON_KIND_WORDS[kind]} {shown}"


def _table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _create(kind: str, name: str, query: exp.Query) -> str:
    """CREATE TABLE or VIEW `name` AS `query`, as DuckDB SQL."""
    return exp.Create(this=_table(name), kind=kind, expression=query).sql("duckdb")


def _error(i: int) -> exp.Expr:
    return _col(f"#e{i}")


@dataclass(frozen=True)
class Conversion:
    """What `convert_fields` made: `{prefix}converted` and its view `{prefix}typed` of good rows."""

    fields: tuple[IrField, ...]
    sources: tuple[str | None, ...]  # the staged column each field is read from
    prefix: str
    source_types: tuple[str | None, ...] = ()  # each source's input column type, when typed (Parquet)

    def find_bad(self, con: DuckDBPyConnection) -> None:
        """Table `{prefix}bad` (row, field, code, value): every problem of every bad row, in one pass."""
        converted, bad_rows, bad = (self.prefix + name for name in ("converted", "bad_rows", "bad"))
        reported = [*(_error(i) for i in range(len(self.fields))),
                    *(_col(s) for s in dict.fromkeys(self.sources) if s)]
        con.execute(_create("TABLE", bad_rows, exp.select(_col(ROW_NAME), *reported).from_(_table(converted))
                            .where(_col("#bad"))))
        con.execute(_create("TABLE", bad, self._failing(bad_rows)))

    def _failing(self, bad_rows: str) -> exp.Query:
        """One row per field a bad row fails: (row, field, code, value as text)."""
        def failing(i: int, f: IrField, source: str | None) -> exp.Select:
            typed = self.source_types[i] if i < len(self.source_types) else None
            value = staging.typed_text(_col(source), typed or "") if source else exp.cast(exp.Null(), "VARCHAR")
            return exp.select(_col(ROW_NAME), exp.alias_(exp.Literal.string(f.name), "field"),
                              exp.alias_(_error(i), "code"), exp.alias_(value, "value")).from_(
                _table(bad_rows)).where(exp.not_(exp.Is(this=_error(i), expression=exp.Null())))

        selects = [failing(i, f, s) for i, (f, s) in enumerate(zip(self.fields, self.sources))]
        if not selects:
            empty = exp.Literal.string("")
            return exp.select(_col(ROW_NAME), exp.alias_(empty, "field"), exp.alias_(empty.copy(), "code"),
                              exp.alias_(empty.copy(), "value")).from_(_table(bad_rows)).where(exp.false())
        union: exp.Query = selects[0]
        for select in selects[1:]:
            union = exp.union(union, select, distinct=False)
        return union


@dataclass(frozen=True)
class ReadOptions:
    """How `convert_fields` reads values (see there)."""

    enums: bool = False
    json_types: bool = True
    exact_choices: bool = False


def _field_conversion(i: int, f: IrField, index: int | None, column_types: dict[int, str], json_positions: set[int],
                      options: ReadOptions) -> tuple[str | None, dict[str, exp.Expr]]:
    """The staged column field i is read from (None: no column), and its layers (see `_conversion`): a
    column of the field's type as it is, an integer column's text for a text field, else the column's text."""
    column_type = None if index is None else column_types.get(index)
    typed = index is not None and not f.type.textual and typed_source(f.type, column_type)
    integer_text = f.type.textual and index is not None and column_type in INTEGER_TYPES
    name = None if index is None else staging.original_column(index) if typed else staging.text_column(index)
    if f.type.textual and index is not None and (column_type == "VARCHAR" or integer_text):
        name = staging.original_column(index)  # a text column's original is its text, not re-cast
    source = exp.cast(exp.Null(), "VARCHAR") if name is None else _col(name)
    if typed:
        parts = _typed_conversion(i, f, source)
    elif integer_text:
        parts = _integer_text_conversion(i, f, source)
    else:
        parts = _conversion(i, f, source, options.enums, options.exact_choices or options.enums)
    if index is not None and index in json_positions:
        parts["error"] = _json_type_error(i, f, _col(staging.original_column(index)), parts["error"])
    return name, parts


def _original_type(index: int | None, source: str | None, column_types: dict[int, str]) -> str | None:
    """The input type of the column a field reads as it is (typed), or None when it reads a text."""
    if index is None or source != staging.original_column(index):
        return None
    return column_types.get(index)


def _converted_query(source_table: str, fields: Sequence[IrField], parts: list[dict[str, exp.Expr]],
                     kept: list[str]) -> exp.Select:
    """The three layers over `source_table`, each computed once per row, then `#bad`: whether any field failed."""
    layer1 = exp.select(exp.Star(), *(exp.alias_(p["trimmed"], f"#t{i}", quoted=True) for i, p in enumerate(parts)))
    layer2 = exp.select(exp.Star(), *(e for i, p in enumerate(parts) for e in (
        exp.alias_(p["blank"], f"#b{i}", quoted=True), exp.alias_(p["value"], f"#v{i}", quoted=True))))
    layer3 = exp.select(_col(ROW_NAME), *(_col(c) for c in kept),
                        *(exp.alias_(p["final"], f.name, quoted=True) for f, p in zip(fields, parts)),
                        *(exp.alias_(p["error"], f"#e{i}", quoted=True) for i, p in enumerate(parts)))
    query = layer3.from_(layer2.from_(layer1.from_(_table(source_table)).subquery()).subquery())
    failed = [exp.not_(exp.Is(this=_error(i), expression=exp.Null())) for i in range(len(parts))]
    any_error = exp.paren(exp.or_(*failed)) if failed else exp.false()
    return exp.select(exp.Star(), exp.alias_(any_error, "#bad", quoted=True)).from_(query.subquery())


def convert_fields(con: DuckDBPyConnection, fields: Sequence[IrField], field_column: dict[str, int],
                   keep: list[str], column_types: dict[int, str], source_table: str = "raw", prefix: str = "",
                   find_bad: bool = True, enums: bool = False, json_types: bool = True,
                   exact_choices: bool = False, materialize: bool | None = None) -> Conversion:
    """`convert` for any fields read from any staged table; the tables it makes are named with `prefix`.
    Without `find_bad`, the bad rows are left for the caller to find when it knows there are some.
    `enums`: `one of` fields read from text hold the ENUM of their choices (see `_conversion`).
    `exact_choices`: a `one of` value must be a choice as written (event names), not read as text is compared.
    `json_types`: a JSON Lines value of the wrong JSON type is rejected (see JSON_KINDS); event rows
    are read by their text (a lead id may be a JSON number). `materialize`: whether `converted` is a table
    (by default, for text input) or a view computed in each pass that reads it."""
    options = ReadOptions(enums, json_types, exact_choices)
    json_positions = json_columns(con, source_table) if json_types and not column_types else set()
    found = [_field_conversion(i, f, field_column.get(f.name), column_types, json_positions, options)
             for i, f in enumerate(fields)]
    sources = [name for name, _ in found]
    parts = [layers for _, layers in found]
    kept = list(dict.fromkeys([*keep, *(s for s in sources if s is not None)]))
    # Typed Parquet converts cheaply, so `converted` stays a view computed in the two passes that
    # read it (the bad rows, the output); text input is converted once into a table, unless the caller
    # reads the bad rows only when there are some (`score`: one pass when every row is good).
    table = not column_types if materialize is None else materialize
    con.execute(_create("TABLE" if table else "VIEW", prefix + "converted",
                        _converted_query(source_table, fields, parts, kept)))
    typed = tuple(_original_type(field_column.get(f.name), source, column_types) for f, source in zip(fields, sources))
    conversion = Conversion(tuple(fields), tuple(sources), prefix, typed)
    if find_bad:
        conversion.find_bad(con)
    good = exp.select(_col(ROW_NAME), *(_col(c) for c in kept), *(_col(f.name) for f in fields)).from_(
        _table(prefix + "converted")).where(exp.not_(_col("#bad")))
    con.execute(_create("VIEW", prefix + "typed", good))
    return conversion
