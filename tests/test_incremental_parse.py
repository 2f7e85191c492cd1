"""The incremental parse (language.incremental) gives exactly what parse_text gives for the whole text: the same
tree, every span of it, the same diagnostics and comments, after any sequence of edits; and after an edit of one
rule only that rule's piece is parsed again."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from leadpolicy.language import incremental, parser
from leadpolicy.language.incremental import IncrementalParser
from leadpolicy.language.parser import ParseResult, parse_text

ROOT = Path(__file__).resolve().parent.parent
DESIGN = Path("/work/shared/design/examples")
sys.path.insert(0, str(ROOT / "benchmarks"))
from prove import generated_policy  # noqa: E402


def reference_texts() -> dict[str, str]:
    """Every reference policy: the repository's policies and examples, and the design's where they are."""
    found = sorted((ROOT / "policies").rglob("*.policy")) + sorted((ROOT / "examples").rglob("*.policy"))
    found += sorted(DESIGN.rglob("*.policy")) if DESIGN.is_dir() else []
    return {str(path.relative_to(path.parents[2])): path.read_text(encoding="utf-8") for path in found}


REFERENCES = reference_texts()


def fields_of(value: Any, where: str = "policy") -> list[tuple[str, Any]]:
    """Every value in a tree with its path, spans included (equality of nodes leaves spans out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: list[tuple[str, Any]] = [(where, type(value).__name__)]
        for field in dataclasses.fields(value):
            out += fields_of(getattr(value, field.name), f"{where}.{field.name}")
        return out
    if isinstance(value, (tuple, list)):
        out = [(where, len(value))]
        for index, item in enumerate(value):
            out += fields_of(item, f"{where}[{index}]")
        return out
    return [(where, (type(value).__name__, value))]


def assert_same(got: ParseResult, want: ParseResult) -> None:
    assert got.policy == want.policy
    assert fields_of(got.policy) == fields_of(want.policy)
    assert [d.as_dict() for d in got.diagnostics] == [d.as_dict() for d in want.diagnostics]
    assert [(c.type, str(c), c.line, c.column) for c in got.comments] == \
        [(c.type, str(c), c.line, c.column) for c in want.comments]
    assert (got.file, got.source, got.has_errors) == (want.file, want.source, want.has_errors)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_each_reference_policy_parses_as_parse_text_parses_it(name: str) -> None:
    text = REFERENCES[name]
    got = IncrementalParser().parse(text, name)
    assert got.policy is not None
    assert_same(got, parse_text(text, name))


# What an edit writes: characters that cut or join pieces (braces, quotes, escapes, comments, line ends),
# words that start items and rules, and ordinary text.
PIECES_OF_TEXT = st.sampled_from([
    "{", "}", '"', "\\", "#", "\n", " ", "+5", "-3 ", "0", "7", "decay", "clamp", "score s {", "when ", "and",
    "or", "(", ")", ">=", "=", "x", "employees", '"a"', "# note\n", "\r", "\x07", '"\\"{"', "\n  +1 when x\n",
    "events {\n  e\n}\n", "lead {\n", "not ", "}\n}", "policy",
])


def edited(text: str, data: st.DataObject) -> str:
    """The text after one edit: characters written over a few at a random place, or a line copied elsewhere
    (mostly a text that still parses, with its pieces cut elsewhere), or a line removed."""
    lines = text.split("\n")
    kind = data.draw(st.sampled_from(["characters", "copy a line", "remove a line"]), label="edit")
    if kind == "copy a line":
        copied = data.draw(st.sampled_from(lines), label="copied")
        lines.insert(data.draw(st.integers(0, len(lines)), label="to"), copied)
        return "\n".join(lines)
    if kind == "remove a line":
        del lines[data.draw(st.integers(0, len(lines) - 1), label="removed line")]
        return "\n".join(lines)
    start = data.draw(st.integers(0, len(text)), label="at")
    end = min(len(text), start + data.draw(st.integers(0, 12), label="removed"))
    return text[:start] + "".join(data.draw(st.lists(PIECES_OF_TEXT, max_size=3), label="written")) + text[end:]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REFERENCES)), st.data())
def test_after_any_sequence_of_edits_each_text_parses_as_parse_text_parses_it(name: str, data: st.DataObject) -> None:
    text = REFERENCES[name]
    parsing = IncrementalParser()
    assert_same(parsing.parse(text, name), parse_text(text, name))
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        before, text = text, edited(text, data)
        assert_same(parsing.parse(text, name), parse_text(text, name))
        if data.draw(st.integers(0, 3), label="undo") == 0:
            text = before  # a text that broke is repaired
            assert_same(parsing.parse(text, name), parse_text(text, name))

GENERATED = generated_policy(300)  # benchmarks/lsp.py's kind of policy: long scores, one rule a line


def rule_line(text: str, occurrence: int = 0) -> int:
    """The index of a score's rule line (`+N when ...`)."""
    rules = [i for i, row in enumerate(text.split("\n")) if row.lstrip().startswith(("+", "-")) and " when " in row]
    return rules[occurrence]


def with_line(text: str, index: int, line: str | None, insert: bool = False) -> str:
    lines = text.split("\n")
    if line is None:
        del lines[index]
    elif insert:
        lines.insert(index, line)
    else:
        lines[index] = line
    return "\n".join(lines)


def test_a_long_policy_edited_rule_by_rule_line_by_line_and_broken_parses_as_parse_text_parses_it() -> None:
    text = GENERATED
    first = rule_line(text)
    steps = [
        with_line(text, first, "    +3 when n0 >= 1 and"),  # a rule whose condition goes on ...
        with_line(with_line(text, first, "    +3 when n0 >= 1 and"), first + 1, "      n1 < 5", insert=True),
        with_line(text, first, "    +3 when n0 >=", ),  # ... on a line that starts with a number
        with_line(with_line(text, first, "    +3 when n0 >="), first + 1, "      -5 \"why\"", insert=True),
        with_line(text, first, "    decay 10% every 30 days since last e0"),
        with_line(text, first, "    +3 when n0 >= 1 # a rule's comment { not a brace }"),
        with_line(text, first, '    +3 when t0 = "{" "a text holding a brace"'),
        with_line(text, first, "    +3 when n0 >= 1 }"),  # a brace too many: the block ends early
        with_line(text, first, "    +3 when n0 >= 1 {"),  # a brace too few
        with_line(text, 0, "# a comment before the policy", insert=True),  # every line below moves
        with_line(text, first - 2, '  # a comment before a score, "with a text" {', insert=True),
        with_line(text, first, None),
        text + "\npolicy \"again\" version 1.0.0 { }\n",  # a second policy after the first
        text.replace("\n", "\r"),  # old Mac line ends
    ]
    parsing = IncrementalParser()
    for step in [text, *steps, text]:
        assert_same(parsing.parse(step, "generated.policy"), parse_text(step, "generated.policy"))


@pytest.fixture()
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pieces the incremental parser parses (again), in order."""
    pieces: list[str] = []

    def counted(piece: str, line: int, column: int, start: str, file: str) -> parser.Piece | None:
        pieces.append(piece)
        return parser.parse_piece(piece, line, column, start, file)

    monkeypatch.setattr(incremental, "parse_piece", counted)
    return pieces


def test_after_an_edit_of_one_rule_only_its_piece_is_parsed_again(parsed: list[str]) -> None:
    parsing = IncrementalParser()
    parsing.parse(GENERATED, "generated.policy")
    first = rule_line(GENERATED, 5)
    changed = GENERATED.split("\n")[first].replace(" when ", " when not ", 1)
    parsed.clear()
    edited = with_line(GENERATED, first, changed)
    assert_same(parsing.parse(edited, "generated.policy"), parse_text(edited, "generated.policy"))
    assert [piece.strip() for piece in parsed] == [changed.strip()]


def test_after_a_line_is_inserted_the_pieces_below_are_moved_not_parsed_again(parsed: list[str]) -> None:
    parsing = IncrementalParser()
    parsing.parse(GENERATED, "generated.policy")
    first = rule_line(GENERATED)
    for step, inserted in enumerate(["", "    +3 when n2 >= 7", "    # a comment"]):
        parsed.clear()
        edited = with_line(GENERATED, first + step, inserted, insert=True)
        assert_same(parsing.parse(edited, "generated.policy"), parse_text(edited, "generated.policy"))
        # what the edit touched: the policy's outline (its blank middle is a line longer), the score's outline,
        # and the run of rules the line joined
        assert len(parsed) <= 3
        assert sum(piece.count("\n") for piece in parsed if piece.strip().startswith(("+", "-", "#"))) <= 2


# ---------------------------------------------------------------- through the server


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leadpolicy", "lsp"]))
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def said_by_check(text: str, folder: Path) -> set[tuple[str, int, int, str]]:
    """(code, LSP line and column, message with its hint) of what `check --format json` says of `text`."""
    path = folder / "typed.policy"
    path.write_text(text, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "leadpolicy", "check", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert out.returncode == 1, out.stderr
    return {(d["code"], d["line"] - 1, d["column"] - 1, d["message"] + (f"\n\nhint: {d['hint']}" if d["hint"] else ""))
            for d in json.loads(out.stdout)["diagnostics"]}


def published(client: LanguageClient, uri: str) -> set[tuple[str, int, int, str]]:
    return {(str(d.code), d.range.start.line, d.range.start.character, d.message)
            for d in client.diagnostics.get(uri, [])}


async def published_when(client: LanguageClient, uri: str, want: set[tuple[str, int, int, str]]) -> Any:
    """What the server published for `uri` once it equals `want`, or after 60 s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 60
    while published(client, uri) != want and loop.time() < end:
        await asyncio.sleep(0.1)
    return published(client, uri)


def line_edit(text: str, index: int, line: str) -> tuple[types.TextDocumentContentChangePartial, str]:
    """The change an editor sends for line `index` rewritten, and the text after it."""
    old = text.split("\n")[index]
    where = types.Range(start=types.Position(line=index, character=0),
                        end=types.Position(line=index, character=len(old)))
    return types.TextDocumentContentChangePartial(range=where, text=line), with_line(text, index, line)


@pytest.mark.asyncio
async def test_the_diagnostics_published_after_each_edit_of_a_long_policy_are_check_s(client: LanguageClient,
                                                                                      tmp_path: Path) -> None:
    uri = "untitled:typed.policy"  # never saved: only the as-you-type diagnostics are published
    text = GENERATED
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="leadpolicy", version=1, text=text)))
    first, later = rule_line(text, 3), rule_line(text, 200)
    rows = text.split("\n")
    rewrites = [
        (first, "    +5 when nowhere >= 1"),  # a name no field has: unknown-name
        (later, rows[later].replace(" when ", " when when ", 1)),  # a syntax error, far below
        (later, rows[later]),  # repaired
        (later, rows[later].replace(" when ", " when unknown_too or ", 1)),  # a second error
        (first + 1, "    +5 when n1 >= 10 and n1 < 5"),  # a rule that never fires, inserted among errors
    ]
    for version, (index, line) in enumerate(rewrites, start=2):
        change, text = line_edit(text, index, line)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]))
        want = said_by_check(text, tmp_path)
        assert {"unknown-name", "syntax-error"} & {code for code, *_ in want}  # no solver, no samples run
        assert await published_when(client, uri, want) == want


# ---------------------------------------------------------------- the checks' kept answers


def warning_codes(clamp_high: int) -> list[str]:
    from leadpolicy.semantics.loading import load_policy_text

    text = f"""policy "kept" version 1.0.0 {{
  title "Kept answers"
  owner m "M"
  owner s "S"
  lead {{
    n number
  }}
  score base {{
    clamp 0 to {clamp_high}
    +1 per n up to 500
  }}
  score top {{
    +5 when base > 150
  }}
  stages {{
    hot when top >= 5 owner s
    all otherwise owner m
  }}
}}
"""
    return [d.code for d in load_policy_text(text, "kept.policy").diagnostics]


def test_a_verdict_kept_for_a_condition_is_found_again_when_what_it_reads_changes() -> None:
    assert "never-true" in warning_codes(100)  # base is at most 100
    assert "never-true" not in warning_codes(200)  # the same condition, its score's clamp widened
    assert "never-true" in warning_codes(100)
