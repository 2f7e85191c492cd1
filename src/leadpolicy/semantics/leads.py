"""The lead block as a JSON Schema, and leads validated and read into typed values.

How values are read (documented in docs/leads.md):
- JSON / YAML: numbers, booleans and strings as they are. Dates are `YYYY-MM-DD`;
  timestamps are ISO 8601 (`2026-11-20T12:00:00-05:00`, `Z` allowed, seconds and
  fractions optional); a timestamp without an offset is read in the policy's timezone.
  YAML's own date and timestamp values are accepted too.
- CSV: every cell is text and is first converted by the field's type
  (`read_text_cell`): numbers as decimals, yes/no from yes/no/true/false/y/n/1/0.
- Absent, null and empty (blank text) values are missing; a field's default then applies.
- Dates and timestamps are in the years 1900 to 9899 as written (before any offset): every engine
  (Python, DuckDB, PostgreSQL, Spark) holds those instants with room for ten-year windows, SLA
  deadlines and zone offsets either side. Anything else is a bad value, in data and in flags.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from leadpolicy import zones
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.symbols import CHOICE, DATE, NUMBER, TEXT, TIMESTAMP, YESNO
from leadpolicy.language.yamldoc import to_json_value
from leadpolicy.runtime import (
    BLANK,
    DATE_PATTERN,
    INFINITE_TEXTS,
    TIMESTAMP_PATTERN,
    OutOfRange,
    choice_spelling,
    choice_spellings,
    fold,
    in_range,
    read_calendar_date,
    read_instant,
)
from leadpolicy.runtime import (
    MAX_NUMBER as MAX_NUMBER,
)
from leadpolicy.runtime import (
    USUAL_SHAPE as USUAL_SHAPE,
)
from leadpolicy.runtime import (
    YEARS as YEARS,
)
from leadpolicy.runtime import (
    as_instant as as_instant,
)
from leadpolicy.runtime import (
    local_date as local_date,
)
from leadpolicy.runtime import (
    local_time as local_time,
)
from leadpolicy.runtime import (
    parse_timestamp as parse_timestamp,
)
from leadpolicy.semantics.events import MAX_INT_DIGITS, TOO_LONG, json_float, json_integer, value_kind

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

    from leadpolicy.semantics import ir

NOT_BLANK_PATTERN = r"[^ \t\n\r\f]"  # a text with something besides BLANK (not `\S`: NBSP is not blank here)
# A JSON text of a date or timestamp may have BLANK around it, as a CSV cell may ("surrounding blanks aside")
BLANKS = r"[ \t\n\r\f]*"
SCHEMA_DATE_PATTERN = f"^{BLANKS}(?:{DATE_PATTERN[1:-1]}){BLANKS}$"
SCHEMA_TIMESTAMP_PATTERN = f"^{BLANKS}(?:{TIMESTAMP_PATTERN[1:-1]}){BLANKS}$"
NUMBER_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
YES_WORDS = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}
TYPE_WORDS = {"string": "text", "number": "a number", "boolean": "yes/no", "integer": "a number",
              "object": "an object", "array": "a list"}


@dataclass(frozen=True)
class FieldError:
    """A lead value that does not fit the schema."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def field_schema(f: ast.LeadField) -> dict[str, Any]:
    kind = f.type.name
    nullable = not f.required
    if kind == TEXT:
        schema: dict[str, Any] = {"type": "string"}
        if f.required:
            schema["pattern"] = NOT_BLANK_PATTERN
    elif kind == NUMBER:
        schema = {"type": "number"}
    elif kind == YESNO:
        schema = {"type": "boolean"}
    elif kind == DATE:
        schema = {"type": "string", "pattern": SCHEMA_DATE_PATTERN, "format": "date"}
    elif kind == TIMESTAMP:
        schema = {"type": "string", "pattern": SCHEMA_TIMESTAMP_PATTERN}
    else:
        schema = {"enum": list(f.type.choices) + ([None, ""] if nullable else [])}
        nullable = False
    if nullable:
        schema["type"] = [schema["type"], "null"]
    schema["description"] = f"{kind}" + (" (required)" if f.required else "")
    if f.default is not None:
        schema["default"] = field_default(f)
    return schema


def field_default(f: ast.LeadField) -> Any:
    """A field's default as a JSON value; a `one of` default is held as its declared spelling."""
    value = literal_json(f.default) if f.default is not None else None
    if f.type.name == CHOICE and isinstance(value, str):
        choices = tuple(f.type.choices)
        return choice_spelling(value, frozenset(choices), choice_spellings(choices)) or value
    return value


def literal_json(lit: ast.Literal) -> Any:
    value = lit.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def lead_schema(policy: ast.Policy) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a lead for this policy. Unknown properties are allowed:
    warehouse tables and CRM records carry more columns than a policy reads."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:leadpolicy:{policy.id}:{policy.version}:lead",
        "title": f"Lead for {policy.title or policy.id} {policy.version}",
        "type": "object",
        "properties": {f.name: field_schema(f) for f in policy.fields},
        "required": [f.name for f in policy.fields if f.required],
        "additionalProperties": True,
    }


def given_twice(key: str) -> str:
    """The one reason every JSON reader gives for a record with a key given twice."""
    return f"{key!r} is given twice: a record's keys are unique, or its meaning is a guess"


# A record with a key given twice, the key, and the reason every reader of JSON refuses it with.
KEY_GIVEN_TWICE = ('{"id": "L1", "n": 1, "n": 2}', "n", given_twice("n"))


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(given_twice(key))
        seen.add(key)
    return dict(pairs)


def _not_a_json_number(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON number (RFC 8259)")


def read_json(text: str | bytes) -> Any:
    """JSON text (RFC 8259: no trailing comma, no NaN or Infinity) as Python values, refusing an object
    with a key given twice (at any depth): readers disagree on which of the two counts (Python keeps the
    last, DuckDB the first). Every reader of JSON Lines refuses what this refuses. Raises ValueError (an
    integer too long for Python in every reader's words; a number too large is kept as written)."""
    return json.loads(text, object_pairs_hook=unique_keys, parse_constant=_not_a_json_number,
                      parse_int=json_integer, parse_float=json_float)


def twice_given_key(keys: list[str]) -> str | None:
    """The first key of a record's keys that is given again, or None."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def read_text_cell(kind: str, text: str | None) -> Any:
    """A CSV cell converted by the field's type; on failure the text is kept, for the schema to report."""
    if text is None or text.strip(BLANK) == "":
        return None
    raw = text.strip(BLANK)
    if kind == NUMBER:
        if not re.match(NUMBER_PATTERN, raw):
            return text
        try:
            number = Decimal(raw)
        except ArithmeticError:  # malformed, or past the exponents Decimal takes (1e100000000)
            return text
        return to_json_value(number) if in_range(number) else text
    if kind == YESNO:
        return YES_WORDS.get(raw.lower(), text)
    if kind in (DATE, TIMESTAMP):
        return raw
    return text


read_date = read_calendar_date  # the name the rest of leadpolicy reads it by


def choice_hint(value: str, choices: Iterable[str]) -> str | None:
    """'did you mean "x"?' for a value that is none of a `one of` field's choices: the closest choice,
    compared as text is (folded), named as declared."""
    spellings = choice_spellings(tuple(choices))
    close = difflib.get_close_matches(fold(value), list(spellings), n=1, cutoff=0.6)
    return f'did you mean "{spellings[close[0]]}"?' if close else None


def _describe_error(error: "ValidationError") -> FieldError:
    field = ".".join(str(p) for p in error.absolute_path)
    instance = error.instance
    keyword = error.validator
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return FieldError(missing, "is required but missing")
    if keyword == "type" and instance is None:
        return FieldError(field, "is required but missing")
    if keyword == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(TYPE_WORDS.get(str(w), str(w)) for w in wanted if w != "null")
        got = value_kind(instance)
        return FieldError(field, f"expected {words}, got {got} {shown_value(instance)}")
    if keyword == "enum":
        choices = [c for c in error.validator_value if c not in (None, "")]
        hint = choice_hint(instance if isinstance(instance, str) else shown_value(instance), choices)
        message = f"{shown_value(instance)} is not one of: {', '.join(choices)}"
        return FieldError(field, message + (f" ({hint})" if hint else ""))
    if keyword == "pattern":
        if error.validator_value in (SCHEMA_DATE_PATTERN, SCHEMA_TIMESTAMP_PATTERN) and \
                instance.strip(BLANK) in INFINITE_TEXTS:
            return FieldError(field, str(OutOfRange(instance)))
        if error.validator_value == SCHEMA_DATE_PATTERN:
            return FieldError(field, f"{instance!r} is not a date (YYYY-MM-DD)")
        if error.validator_value == SCHEMA_TIMESTAMP_PATTERN:
            return FieldError(field, f"{instance!r} is not an ISO 8601 timestamp "
                                     "(write it as 2026-11-20T12:00:00-05:00)")
        return FieldError(field, "is required but empty")
    return FieldError(field, error.message)


def shown_value(value: Any) -> str:
    """A lead value as a message shows it: text quoted ('Software'), any other value as the JSON it was
    written as (`true`, `[1, 2]`, `{"a": 1}`), never as Python prints it."""
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a float JSON cannot write (nan), or a circular value
        return str(value)


_DIGITS = 10**MAX_INT_DIGITS  # an int this large or larger has more digits than Python writes


def _schema_errors(validator: Draft202012Validator, doc: dict[str, Any]) -> list[FieldError]:
    """The schema's errors of a lead, and first a field holding an int past Python's digit limit, which no
    schema message could show (Python will not write its digits): said in the words every reader uses."""
    too_long = {k for k, v in doc.items() if v.__class__ is int and not -_DIGITS < v < _DIGITS}
    if not too_long:
        return [_describe_error(e) for e in validator.iter_errors(doc)]
    rest = {k: v for k, v in doc.items() if k not in too_long}
    return [FieldError(k, TOO_LONG) for k in doc if k in too_long] + [
        e for e in map(_describe_error, validator.iter_errors(rest)) if e.field not in too_long]


class LeadReader:
    """Validates leads against a policy's schema and reads them into typed values."""

    def __init__(self, policy: "ir.Policy"):
        from jsonschema import Draft202012Validator

        self.policy = policy
        self.schema = policy.lead_schema
        self.validator = Draft202012Validator(self.schema)
        self.tz = zones.zone(policy.timezone)
        self.fields = {f.name: f for f in policy.fields}
        self.choices = {f.name: (frozenset(f.choices), choice_spellings(f.choices)) for f in policy.fields
                        if f.type == CHOICE}

    def read(self, raw: Mapping[str, Any], strict: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
        """Typed values (None for missing) and the errors. With `strict`, unknown fields are errors."""
        if not isinstance(raw, Mapping):
            return {}, [FieldError("", f"a lead must be a mapping of field names to values, not {value_kind(raw)}")]
        doc = {str(k): _blank_to_none(to_json_value(v)) for k, v in raw.items()}
        for name, (choices, spellings) in self.choices.items():
            value = doc.get(name)
            if value.__class__ is str and value not in choices:  # read as text is compared: the declared spelling
                doc[name] = choice_spelling(value, choices, spellings) or value
        errors = _schema_errors(self.validator, doc)
        if strict:
            for key in doc:
                if key not in self.fields:
                    hint = did_you_mean(key, self.fields)
                    errors.append(FieldError(key, "is not a field of this policy" + (f" ({hint})" if hint else "")))
        values: dict[str, Any] = {}
        bad = {e.field for e in errors}
        for name, f in self.fields.items():
            if name in bad:
                values[name] = None
                continue
            try:
                values[name] = self._typed(f, doc.get(name))
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
                values[name] = None
        errors.sort(key=lambda e: (list(self.fields).index(e.field) if e.field in self.fields else 10**6, e.field))
        return values, errors

    def _typed(self, f: "ir.Field", value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip(BLANK) == ""):
            return self._typed(f, f.default) if f.default is not None else None
        kind = f.type
        if kind == NUMBER:
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                raise ValueError(f"{value!r} is not a finite number") from None
            if not in_range(number):
                raise ValueError(f"{value!r} is not a finite number")
            return number
        if kind == YESNO:
            return bool(value)
        if kind == DATE:
            try:
                return read_date(value)
            except OutOfRange:
                raise
            except ValueError:
                raise ValueError(f"{value!r} is not a real date") from None
        if kind == TIMESTAMP:
            try:
                return read_instant(value, self.tz)
            except OutOfRange:
                raise
            except ValueError:
                raise ValueError(f"{value!r} is not a real timestamp") from None
        return str(value)


def _blank_to_none(value: Any) -> Any:
    """Empty or blank text (only spaces, tabs, newlines) counts as missing, whatever the field's type."""
    return None if isinstance(value, str) and value.strip(BLANK) == "" else value


# ------------------------------------------------------------------ the rules every lead reader follows
@dataclass(frozen=True)
class ReadCase:
    """One written value of a field of `kind` and what every lead reader makes of it: `read`, the value
    as a canonical text (a number as Python's float repr, yes/no as "yes" or "no", a date as YYYY-MM-DD,
    a timestamp as its UTC instant in ISO 8601, text as it is; "" for missing), or `problem`, the reject
    reason. Every reader (LeadReader, the compiled fast path, DuckDB's conversion of CSV, JSON Lines and
    Parquet text) is checked against these cases row by row (tests/test_lead_read_rules.py)."""

    rule: str  # which rule the case shows (docs/leads.md, "How values are read")
    kind: str
    text: str
    read: str | None = None
    problem: str | None = None


def _cases(rule: str, kind: str, *pairs: tuple[str, str | None, str | None]) -> tuple[ReadCase, ...]:
    return tuple(ReadCase(rule, kind, text, read, problem) for text, read, problem in pairs)


_NOT_TS = " is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"
_OUTSIDE = " is outside the supported " + YEARS

READ_RULES: tuple[ReadCase, ...] = (
    *_cases("blank is missing", NUMBER, ("", "", None), (" \t", "", None)),
    *_cases("blank is missing", TEXT, ("  ", "", None)),
    *_cases("blank is missing", TIMESTAMP, ("\t", "", None)),
    *_cases("numbers are decimals", NUMBER, ("12", "12.0", None), (" 1.5 ", "1.5", None), ("-0", "0.0", None),
            ("+.5e1", "5.0", None), ("1e308", "1e+308", None),
            ("abc", None, "expected a number, got text 'abc'"),
            ("0x10", None, "expected a number, got text '0x10'"),
            ("1_000", None, "expected a number, got text '1_000'"),
            ("inf", None, "expected a number, got text 'inf'"),
            ("NaN", None, "expected a number, got text 'NaN'")),
    *_cases("huge numbers", NUMBER, ("99999999999999999999", "1e+20", None),
            ("1e400", None, "expected a number, got text '1e400'"),
            ("-1e309", None, "expected a number, got text '-1e309'")),
    *_cases("yes/no words", YESNO, ("Yes", "yes", None), ("TRUE", "yes", None), ("1", "yes", None),
            ("n", "no", None), ("0", "no", None), ("maybe", None, "expected yes/no, got text 'maybe'")),
    *_cases("dates", DATE, ("2026-11-02", "2026-11-02", None), (" 2026-11-02 ", "2026-11-02", None),
            ("2026-1-1", None, "'2026-1-1' is not a date (YYYY-MM-DD)"),
            ("2026-02-30", None, "'2026-02-30' is not a real date"),
            # the shape is read before the year: a text of no date's shape is no date, whatever it starts with
            ("0999-01-01x", None, "'0999-01-01x' is not a date (YYYY-MM-DD)"),
            ("10000-01-01", None, "'10000-01-01' is not a date (YYYY-MM-DD)")),
    *_cases("year 0/1/9999", DATE, ("0000-01-01", None, "'0000-01-01'" + _OUTSIDE),
            ("0001-01-01", None, "'0001-01-01'" + _OUTSIDE), ("9999-12-31", None, "'9999-12-31'" + _OUTSIDE),
            ("1900-01-01", "1900-01-01", None), ("9899-12-31", "9899-12-31", None)),
    *_cases("year 0/1/9999", TIMESTAMP, ("0000-01-01T00:00:00Z", None, "'0000-01-01T00:00:00Z'" + _OUTSIDE),
            ("0001-01-01T00:00:00Z", None, "'0001-01-01T00:00:00Z'" + _OUTSIDE),
            ("9999-12-31T23:59:59", None, "'9999-12-31T23:59:59'" + _OUTSIDE)),
    *_cases("timestamps", TIMESTAMP, ("2026-11-02T10:00:00-05:00", "2026-11-02T15:00:00+00:00", None),
            ("2026-11-02 10:00", "2026-11-02T10:00:00+00:00", None),  # no offset: the policy's zone (UTC here)
            ("2026-11-02", "2026-11-02T00:00:00+00:00", None),
            ("2026-11-02T10:00:00.5+0530", "2026-11-02T04:30:00.500000+00:00", None),
            ("2026-11-02T10:00:00+25:00", None, "'2026-11-02T10:00:00+25:00'" + _NOT_TS),
            ("2026-11-02T24:00:00", None, "'2026-11-02T24:00:00'" + _NOT_TS),
            ("2026-11-02T10:60:00Z", None, "'2026-11-02T10:60:00Z'" + _NOT_TS),
            ("2026-02-30T10:00:00Z", None, "'2026-02-30T10:00:00Z' is not a real timestamp"),
            ("infinity", None, "'infinity'" + _OUTSIDE)),
    *_cases("non-ASCII", TEXT, ("Zoë 🚀", "Zoë 🚀", None), ("\u00a0", "\u00a0", None)),
    *_cases("non-ASCII", NUMBER, ("١٢", None, "expected a number, got text '١٢'")),
    *_cases("non-ASCII", DATE, ("٢٠٢٦-01-01", None, "'٢٠٢٦-01-01' is not a date (YYYY-MM-DD)")),
    *_cases("non-ASCII", TIMESTAMP, ("\u00a02026-11-02T10:00:00Z", None, repr("\u00a02026-11-02T10:00:00Z") + _NOT_TS)),
    *_cases("choices read as text is compared", CHOICE, ("alpha", "Alpha", None), ("ALPHA", "Alpha", None),
            ("beta", "beta", None), ("gamma", None, "'gamma' is not one of: Alpha, beta"),
            (" beta ", None, "' beta ' is not one of: Alpha, beta (did you mean \"beta\"?)")),
)
READ_RULE_CHOICES = ("Alpha", "beta")  # the choices of the `one of` field the CHOICE cases are read by
