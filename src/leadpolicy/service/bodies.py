"""Request bodies as JSON: one request, or a batch read item by item, so that a batch over the item
limit is refused after parsing at most one item more than the limit, whatever its size.

Parsing runs on a decision thread, never on the event loop; a batch is parsed one item at a time
(`JSONDecoder.raw_decode`), so no single C call holds the interpreter for the whole body.
"""

from __future__ import annotations

import json
import re
from itertools import islice
from typing import Any, Iterator

from leadpolicy.semantics.events import json_float, json_integer
from leadpolicy.semantics.leads import unique_keys

_SPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\ud800-\udfff]")  # only a \\u escape makes one: UTF-8 bytes cannot
_AFTER_ITEM = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


# NaN, Infinity, -Infinity are refused; so is a key given twice, as every reader of leads refuses it; an
# integer too long is said in every reader's words, a number too large kept as written (`semantics.events`)
_DECODER = json.JSONDecoder(parse_constant=_not_json, object_pairs_hook=unique_keys, parse_int=json_integer,
                            parse_float=json_float)

MAX_DEPTH = 100  # levels of lists and objects a request may nest (the request itself is one)
TOO_DEEP = f"the request nests lists and objects more than {MAX_DEPTH} levels deep"

A_BATCH = "a batch is a JSON list of requests, or JSON Lines of them"


class NotJson(ValueError):
    """A body that is not the JSON it should be; the message says where."""


class TooManyItems(Exception):
    """A batch with more items than the limit."""


def parse(raw: bytes) -> tuple[Any, bool]:
    """The JSON value of a whole body, and whether its text alone shows it `plain` (see there)."""
    text = _text(raw)
    try:
        return _DECODER.decode(text), plain(text)
    except RecursionError:
        raise NotJson(TOO_DEEP) from None
    except ValueError as exc:
        raise NotJson(f"the body is not JSON: {_why(exc)}") from None


def plain(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether a request's JSON text alone shows that `refused` would find nothing: without a `\\u`
    escape it holds no lone surrogate, and with at most MAX_DEPTH brackets it cannot nest deeper.
    Counted in C, it spares nearly every request the walk (a bracket inside a string only counts
    against it)."""
    end = len(text) if end is None else end
    return text.find("\\u", start, end) < 0 and text.count("{", start, end) + text.count("[", start, end) <= MAX_DEPTH


def refused(item: Any) -> str | None:
    """Why a parsed request is refused before it is decided, or None:
    - a lone surrogate (a `\\ud800` escape without its pair) in a key or a string is no character
      (RFC 8259 8.2), so no answer or log line could hold it;
    - lists and objects nested more than MAX_DEPTH levels: no lead needs them, and every later
      walk of the request (the decision log's) stays bounded."""
    stack = [(item, 1)]
    while stack:  # a loop, not recursion: a request may nest as deep as the parser allows
        value, depth = stack.pop()
        if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str) and not value.isascii():
            found = _SURROGATE.search(value)
            if found:
                return f"not Unicode text: a lone surrogate (\\u{ord(found.group()):04x}) is no character (RFC 8259)"
    return None


def batch_items(raw: bytes, lines: bool, limit: int) -> list[tuple[Any, bool]]:
    """The requests of a batch (a JSON list, or JSON Lines), each with whether its text shows it `plain`;
    TooManyItems once more than `limit` are read."""
    try:
        items = list(islice(_json_lines(raw) if lines else _json_list(_text(raw)), limit + 1))
    except RecursionError:
        raise NotJson(TOO_DEEP) from None
    if len(items) > limit:
        raise TooManyItems
    return items


def _why(exc: BaseException) -> str:
    """Why JSON does not parse, its place counted from 1 as lines and columns (never a 0-based offset)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)[:200]


def _place(text: str, at: int) -> str:
    line = text.count("\n", 0, at) + 1
    return f"line {line}, column {at - (text.rfind(chr(10), 0, at) + 1) + 1}"


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"the body is not UTF-8 text (byte {exc.start})") from None


def _json_lines(raw: bytes) -> Iterator[tuple[Any, bool]]:
    start, number = 0, 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        end = len(raw) if end < 0 else end
        line, start = raw[start:end], end + 1
        number += 1
        if line.strip():
            try:
                text = _text(line)
                yield _DECODER.decode(text), plain(text)
            except ValueError as exc:
                where = f", column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
                why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:200]
                raise NotJson(f"the body is not JSON Lines: line {number}{where}: {why}") from None


def _json_list(text: str) -> Iterator[tuple[Any, bool]]:
    at = _skip(text, 0)
    if not text.startswith("[", at):
        raise NotJson(A_BATCH)
    at = _skip(text, at + 1)
    if text.startswith("]", at):
        _end(text, at + 1)
        return
    while True:
        start = at
        try:
            item, at = _DECODER.raw_decode(text, at)
        except ValueError as exc:
            raise NotJson(f"the body is not JSON: {_why(exc)}") from None
        yield item, plain(text, start, at)
        after = _AFTER_ITEM.match(text, at)
        if after is None:
            raise NotJson(f"the body is not JSON: expected ',' or ']' at {_place(text, _skip(text, at))}")
        if after.group(1) == "]":
            _end(text, after.end())
            return
        at = after.end()


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _end(text: str, at: int) -> None:
    if _skip(text, at) != len(text):
        raise NotJson(f"the body is not JSON: extra data after the list at {_place(text, at)}")
