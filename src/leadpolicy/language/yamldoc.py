"""YAML documents (samples, approvals) read with line numbers, every failure a diagnostic."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

import yaml

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic
from leadpolicy.runtime import in_range

if TYPE_CHECKING:
    from jsonschema import ValidationError

JsonPath = tuple[str | int, ...]  # keys and list indexes from the document's root to a value


@dataclass
class YamlDoc:
    """A YAML mapping as JSON data, and where each value stands in the file."""

    file: str
    data: dict[str, Any]
    lines: dict[JsonPath, tuple[int, int]]

    def span(self, path: JsonPath) -> ast.Span:
        """The place of the value at a JSON path (or of its nearest parent that has one)."""
        while path not in self.lines and path:
            path = path[:-1]
        line, col = self.lines.get(path, (1, 1))
        return ast.Span(line, col, line, col + 1)


def _line_map(node: yaml.Node, path: JsonPath = (),
              out: dict[JsonPath, tuple[int, int]] | None = None) -> dict[JsonPath, tuple[int, int]]:
    """JSON path -> (line, column) of each YAML node, 1-based."""
    out = {} if out is None else out
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _line_map(value, path + (key.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _line_map(value, path + (i,), out)
    return out


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


def jsonable(value: Any) -> Any:
    """YAML values (dates, timestamps) as the JSON values schemas speak of."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return to_json_value(value)


class YamlError(ValueError):
    """YAML that cannot be read: `line` and `column` (1-based) say where, the message says why."""

    def __init__(self, message: str, line: int, column: int, hint: str):
        super().__init__(f"{line}:{column}: {message}")
        self.message, self.line, self.column, self.hint = message, line, column, hint


MAX_DEPTH = 64  # samples and approvals nest a few levels; a deeper file is an attack or a mistake
# YAML's own tags whose values JSON has no kind for (a set, bytes, ordered pairs that may repeat a key)
NOT_JSON_TAGS = ("set", "binary", "omap", "pairs")
# A key is text (or the merge key `<<`); YAML reads `1:`, `true:`, `null:` and `2026-01-01:` as other kinds
TEXT_KEY_TAGS = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:merge")
MAX_INT_DIGITS = 100  # beyond this Python refuses (4,300) or a number means nothing to a lead


def _refuse(message: str, mark: Any, hint: str) -> YamlError:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return YamlError(message, line, column, hint)


def _wrong_kind(node: yaml.Node) -> YamlError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    value = repr(node.value) if isinstance(node, yaml.ScalarNode) else "a list or mapping"
    return _refuse(f"{value} is not a value of the YAML tag {tag}", node.start_mark,
                   "remove the tag, or write a value of its kind (!!bool true, !!int 5, !!timestamp 2026-11-20)")


# An alias stands for a copy of the value it names; a few hundred bytes of aliases naming aliases can
# stand for billions of values ("billion laughs"). Aliases are read, but the values they add up to are
# counted as they are read and capped, as the YAML libraries of Kubernetes do: a samples file shares a
# lead's data a few times, not a hundred thousand values.
MAX_ALIAS_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what these files never need, each at its place: aliases that add
    up to more than MAX_ALIAS_NODES values or that stand inside the value they name, nesting deeper than
    MAX_DEPTH (aliases included; found while composing, before the parser reads further), integers
    longer than MAX_INT_DIGITS digits, tags other than YAML's own, and YAML's own that make no JSON
    value (NOT_JSON_TAGS)."""

    depth = 0
    alias_nodes = 0  # values the aliases read so far stand for

    def __init__(self, stream: str):
        super().__init__(stream)
        self.open_anchors: set[str] = set()  # anchors of the values being read
        self.sizes: dict[int, tuple[int, int]] = {}  # (values, levels) of a node, by id; nodes live as long

    def compose_node(self, parent: Any, index: Any) -> Any:
        peek: Callable[[], yaml.Event] = self.peek_event  # PyYAML's stubs leave peek_event untyped
        event = peek()
        if self.depth >= MAX_DEPTH:
            raise _refuse(f"values nested more than {MAX_DEPTH} levels deep", event.start_mark,
                          "samples and approvals files need only a few levels")
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            self.open_anchors.discard(anchor or "")

    def _alias(self, event: yaml.AliasEvent, parent: Any, index: Any) -> Any:
        if event.anchor in self.open_anchors:
            raise _refuse(f"the alias *{event.anchor} stands inside the value &{event.anchor} it names",
                          event.start_mark, "a value cannot contain itself: write the inner value out")
        node = cast(yaml.Node, super().compose_node(parent, index))  # the anchor's node, or PyYAML's error
        values, levels = self._size(node)
        if self.depth + levels > MAX_DEPTH:
            raise _refuse(f"values nested more than {MAX_DEPTH} levels deep (through the alias *{event.anchor})",
                          event.start_mark, "samples and approvals files need only a few levels")
        self.alias_nodes += values
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise _refuse(f"the aliases up to *{event.anchor} stand for more than {MAX_ALIAS_NODES:,} values, "
                          "the most aliases may add", event.start_mark,
                          "an alias (*name) repeats the value of its anchor (&name): share fewer or smaller "
                          "values, or write them out")
        return node

    def _size(self, node: yaml.Node) -> tuple[int, int]:
        """How many values a node stands for, and how many levels deep it goes, aliases expanded
        (remembered by node, so each shared node is measured once)."""
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        measured = [self._size(child) for child in children]
        size = (1 + sum(v for v, _ in measured), 1 + max((levels for _, levels in measured), default=0))
        self.sizes[id(node)] = size
        return size

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(ch.isalnum() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _refuse(f"an integer of {digits} digits is too long (at most {MAX_INT_DIGITS})", node.start_mark,
                          "write a shorter number, or quote it to make it text")
        return super().construct_yaml_int(node)

    def construct_timestamp_text(self, node: yaml.ScalarNode) -> str:
        """The timestamp as written, for the one timestamp grammar (`runtime`) to read as it reads
        the same text in JSON: YAML's own rules take more (`t`, `2026-11-8`, `+5`, a seventh fraction digit
        that Python would drop). What YAML cannot read as a time at all is still refused here."""
        try:
            self.construct_yaml_timestamp(node)
            return str(node.value)
        except ValueError:  # YAML's pattern takes hour 24 and offsets of a day, which Python cannot hold
            raise _refuse(f"{node.value!r} is not a real timestamp", node.start_mark,
                          "hours go from 00 to 23 and an offset is under a day, as in 2026-11-20T12:00:00-05:00"
                          ) from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (KeyError, AttributeError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, YamlError):
                raise
            # PyYAML's constructors fail this way on a tagged value of another kind (`!!bool "maybe"`)
            raise _wrong_kind(node) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):  # `!!map [1]`: PyYAML would unpack the items as pairs
            raise _wrong_kind(node)
        seen: set[str] = set()
        for key, _ in node.value:
            if key.tag not in TEXT_KEY_TAGS:  # `1:` and `"1":` would name one field twice, `null:` a field None
                text = key.value if isinstance(key, yaml.ScalarNode) else "..."
                raise _refuse(f'the key "{text}" is read as {key.tag.replace("tag:yaml.org,2002:", "!!")}, not as '
                              "text", key.start_mark, f'a key (a field name) is text: write "{text}" in quotes')
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:  # readers disagree on which of the two counts: none is guessed
                    raise _refuse(f"{key.value!r} is given twice", key.start_mark, "keep one of the two")
                seen.add(key.value)
        return super().construct_mapping(node, deep)

    def construct_not_json(self, node: yaml.Node) -> Any:
        raise _refuse(f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} makes no JSON value",
                      node.start_mark, "remove the tag: write a list, a mapping or a quoted text instead")

    def construct_undefined(self, node: yaml.Node) -> Any:
        raise _refuse(f"unknown YAML tag {node.tag!r}", node.start_mark,
                      "remove the tag: these files hold plain values (text, numbers, dates, lists, mappings)")


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_timestamp_text)
_Loader.add_constructor(None, _Loader.construct_undefined)
for _tag in NOT_JSON_TAGS:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_not_json)


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree and its data, read once with `_Loader`. Raises YamlError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(f"not valid YAML: {problem}", mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                        "check the indentation and quoting on this line") from None
    finally:
        loader.dispose()


def read_yaml(text: str) -> Any:
    """The data of a YAML document, refused as `_Loader` says. Raises YamlError."""
    return _load(text)[1]


# One command reads a samples file in several places (the outputs guard, the case runner, approvals'
# fingerprint); parsing is what costs (seconds for a large file), so the last few documents are kept by
# their text: a changed file is parsed again. Callers read a YamlDoc and never change it. The service reads
# samples from its reload thread while requests run, so the table is only touched under its lock.
_RECENT: dict[tuple[str, str], YamlDoc | YamlError | None] = {}
_RECENT_LOCK = threading.Lock()
RECENT_DOCUMENTS = 4


def load_yaml(path: str | Path, code: str, not_a_mapping: str) -> tuple[YamlDoc | None, list[Diagnostic]]:
    """Read a YAML mapping; an unreadable file, bad YAML or another shape is a `code` diagnostic."""
    from leadpolicy.language.sources import read_source

    name = str(path)
    text, diags = read_source(path)
    if text is None:
        return None, [Diagnostic(code, d.message, name, d.span, d.hint) for d in diags]
    key = (hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), name)
    with _RECENT_LOCK:
        if key not in _RECENT:
            while len(_RECENT) >= RECENT_DOCUMENTS:
                _RECENT.pop(next(iter(_RECENT)))
            _RECENT[key] = _parse_mapping(text, name)
        found = _RECENT[key]
    if isinstance(found, YamlError):
        span = ast.Span(found.line, found.column, found.line, found.column + 1)
        return None, [Diagnostic(code, found.message, name, span, hint=found.hint)]
    if found is None:
        return None, [Diagnostic(code, not_a_mapping, name, ast.Span(1, 1, 1, 2))]
    return found, []


def _parse_mapping(text: str, name: str) -> YamlDoc | YamlError | None:
    """The document, why it cannot be read, or None when it is not a mapping."""
    try:
        node, data = _load(text)
    except YamlError as exc:
        return exc
    if node is None or not isinstance(data, dict):
        return None
    return YamlDoc(name, jsonable(data), _line_map(node))


def schema_errors(doc: YamlDoc, schema: dict[str, Any]) -> Iterator[tuple[ValidationError, JsonPath, str]]:
    """(jsonschema error, its JSON path, that path as text) for every way the document breaks the schema."""
    from jsonschema import Draft202012Validator

    for error in Draft202012Validator(schema).iter_errors(doc.data):
        where = tuple(error.absolute_path)
        yield error, where, "/".join(str(p) for p in where) or "the file"
