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

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping
from zoneinfo import ZoneInfo

from leadpolicy import zones
from leadpolicy.language import ast
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.language.symbols import DATE, NUMBER, TEXT, TIMESTAMP, YESNO

if TYPE_CHECKING:
    from leadpolicy.semantics import ir

BLANK = " \t\n\r\f"  # what a blank text may hold; SQL backends test the same set with a regex
NOT_BLANK_PATTERN = r"[^ \t\n\r\f]"  # a text with something besides BLANK (not `\S`: NBSP is not blank here)
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# One grammar of timestamps for every engine: hours 00-23, minutes and seconds 00-59, an offset of
# under a day. (Python alone reads an offset's minutes 60 as an hour more; DuckDB and PostgreSQL read
# hour 24 as the next midnight and offsets of a day or more: the pattern refuses all of them first.)
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$"
)
# A JSON text of a date or timestamp may have BLANK around it, as a CSV cell may ("surrounding blanks aside")
BLANKS = r"[ \t\n\r\f]*"
SCHEMA_DATE_PATTERN = f"^{BLANKS}(?:{DATE_PATTERN[1:-1]}){BLANKS}$"
SCHEMA_TIMESTAMP_PATTERN = f"^{BLANKS}(?:{TIMESTAMP_PATTERN[1:-1]}){BLANKS}$"
FIRST_YEAR, LAST_YEAR = 1900, 9899  # the supported range of dates and timestamps, as written
YEARS = f"years {FIRST_YEAR} to {LAST_YEAR}"
NUMBER_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
YES_WORDS = {"yes": True, "true": True, "y": True, "1": True, "no": False, "false": False, "n": False, "0": False}
TYPE_WORDS = {"string": "text", "number": "a number", "boolean": "yes/no", "null": "nothing", "integer": "a number",
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
        schema["default"] = literal_json(f.default)
    return schema


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


# The largest number a field holds: a finite double, as every SQL engine reads numbers. Anything
# larger is "not a finite number" everywhere (and never expands into a huge integer in Python).
MAX_NUMBER = Decimal("1.7976931348623157e308")


def in_range(number: Decimal) -> bool:
    """Finite and within ±MAX_NUMBER (compared, never computed: abs() of 1e100000000 overflows)."""
    return number.is_finite() and -MAX_NUMBER <= number <= MAX_NUMBER


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"{key!r} is given twice: a record's keys are unique, or its meaning is a guess")
        seen.add(key)
    return dict(pairs)


def _not_a_json_number(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON number (RFC 8259)")


def read_json(text: str | bytes) -> Any:
    """JSON text (RFC 8259: no trailing comma, no NaN or Infinity) as Python values, refusing an object
    with a key given twice (at any depth): readers disagree on which of the two counts (Python keeps the
    last, DuckDB the first). Every reader of JSON Lines refuses what this refuses. Raises ValueError."""
    return json.loads(text, object_pairs_hook=unique_keys, parse_constant=_not_a_json_number)


def twice_given_key(keys: list[str]) -> str | None:
    """The first key of a record's keys that is given again, or None."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def to_json_value(value: Any) -> Any:
    """YAML and Python values (dates, decimals) as the JSON values the schema speaks of."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not in_range(value):
            return float("inf")
        return float(value) if value != value.to_integral_value() else int(value)
    return value


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


class OutOfRange(ValueError):
    """A date or timestamp outside the supported years; its message names the value and the range."""

    def __init__(self, value: object):
        super().__init__(f"{str(value)!r} is outside the supported {YEARS}")


def check_year(value: dt.date, written: object) -> None:
    """Raises OutOfRange when a date's (or a timestamp's wall-clock) year is not a supported one."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise OutOfRange(written)


# How DuckDB and PostgreSQL write an infinite date or timestamp (a typed Parquet value, an export):
# no year at all, so outside the supported ones, on every engine.
INFINITE_TEXTS = ("infinity", "-infinity")


def _check_written_year(text: str) -> None:
    """The year as written (its first four digits), checked before the text is read: so year 0000,
    which Python cannot read and SQL engines can, is out of range everywhere, not malformed here."""
    if text in INFINITE_TEXTS:
        raise OutOfRange(text)
    year = text[:4]
    if year.isdigit() and len(year) == 4 and not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise OutOfRange(text)


def read_date(text: str) -> dt.date:
    """A `YYYY-MM-DD` date in the supported years, BLANK around it aside. Raises ValueError (OutOfRange
    outside them)."""
    text = text.strip(BLANK)
    _check_written_year(text)
    if not re.fullmatch(DATE_PATTERN[1:-1], text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    return dt.date.fromisoformat(text)


_TIMESTAMP_SHAPE = re.compile(TIMESTAMP_PATTERN)
# The shape nearly every export writes, a subset of TIMESTAMP_PATTERN that matches in 40% of its time.
USUAL_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                          r"(?:[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]|Z)?")


def parse_timestamp(text: str, tz: ZoneInfo) -> dt.datetime:
    """A timestamp of TIMESTAMP_PATTERN in the supported years, with its offset as written; without
    one it is read in `tz`. Raises ValueError (OutOfRange for a well-formed one outside the years).
    Only BLANK around it is dropped: Python's bare strip() would drop NBSP and U+2028 too, which no SQL
    engine does."""
    text = text.strip(BLANK)
    if USUAL_SHAPE.fullmatch(text) is None and _TIMESTAMP_SHAPE.match(text) is None:
        _check_written_year(text)  # an infinity is out of range, not malformed
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp (2026-11-20T12:00:00-05:00)")
    _check_written_year(text)
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else local_time(value, tz)


def read_instant(text: str, tz: ZoneInfo) -> dt.datetime:
    """A lead's timestamp as an instant (see `parse_timestamp`). Raises ValueError.

    Instants, not wall-clock times: Python compares and subtracts two datetimes that share a
    ZoneInfo by their wall clocks, which is wrong across a clock change (a time in the skipped
    hour would sort after a later instant), while SQL engines compare instants.
    """
    return as_instant(parse_timestamp(text, tz))


def as_instant(value: dt.datetime) -> dt.datetime:
    """An aware datetime that compares and subtracts as the instant it names: a fixed offset is
    kept (cheap, and never ambiguous), a zone with clock changes is converted to UTC."""
    if type(value.tzinfo) is dt.timezone:
        return value
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00 in Berlin is before the first UTC instant Python has
        raise ValueError(f"{value.isoformat()} is before the earliest time that can be read") from None


def local_date(value: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The date of an instant in the policy's timezone; instants whose local date falls before
    year 1 (0001-01-01T00:00:00Z in New York) are dated 0001-01-01, which no date literal precedes."""
    try:
        return value.astimezone(tz).date()
    except OverflowError:
        return dt.date.min


def local_time(naive: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `tz`. When clocks go back, the repeated hour is read as its later
    occurrence; a time in the hour skipped when clocks go forward keeps the offset from before
    the change. (DuckDB reads local times the same way, so every backend agrees.)"""
    first = naive.replace(tzinfo=tz, fold=0)
    later = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != later.utcoffset():
        round_trip = later.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
        if round_trip == naive:
            return later
    return first


def _describe_error(error) -> FieldError:
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
        got = _json_kind(instance)
        return FieldError(field, f"expected {words}, got {got} {instance!r}")
    if keyword == "enum":
        choices = [c for c in error.validator_value if c not in (None, "")]
        hint = did_you_mean(str(instance), choices)
        message = f"{instance!r} is not one of: {', '.join(choices)}"
        return FieldError(field, message + (f" ({hint})" if hint else ""))
    if keyword == "pattern":
        if error.validator_value in (SCHEMA_DATE_PATTERN, SCHEMA_TIMESTAMP_PATTERN) and \
                instance.strip(BLANK) in INFINITE_TEXTS:
            return FieldError(field, str(OutOfRange(instance)))
        if error.validator_value == SCHEMA_DATE_PATTERN:
            return FieldError(field, f"{instance!r} is not a date (YYYY-MM-DD)")
        if error.validator_value == SCHEMA_TIMESTAMP_PATTERN:
            return FieldError(field, f"{instance!r} is not an ISO 8601 timestamp (2026-11-20T12:00:00-05:00)")
        return FieldError(field, "is required but empty")
    return FieldError(field, error.message)


def _json_kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


class LeadReader:
    """Validates leads against a policy's schema and reads them into typed values."""

    def __init__(self, policy: "ir.Policy"):
        from jsonschema import Draft202012Validator

        self.policy = policy
        self.schema = policy.lead_schema
        self.validator = Draft202012Validator(self.schema)
        self.tz = zones.zone(policy.timezone)
        self.fields = {f.name: f for f in policy.fields}

    def read(self, raw: Mapping[str, Any], strict: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
        """Typed values (None for missing) and the errors. With `strict`, unknown fields are errors."""
        if not isinstance(raw, Mapping):
            return {}, [FieldError("", f"a lead must be a mapping of field names to values, not {_json_kind(raw)}")]
        doc = {str(k): _blank_to_none(to_json_value(v)) for k, v in raw.items()}
        errors = [_describe_error(e) for e in self.validator.iter_errors(doc)]
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
