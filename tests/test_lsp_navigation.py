"""The language server's navigation end to end: pytest-lsp's client starts `python -m leadpolicy lsp` and asks
for definitions, references, renames, hovers and completions over the reference policies (copied to tmp_path).
What it answers is compared with what the parse tree, the samples data, `check`, `test` and the published page
say for the same files, never with results written down here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
import yaml
from lark import Token, Tree
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from leadpolicy.language import ast
from leadpolicy.language.parser import grammar_parser, parse_text
from leadpolicy.outputs import md
from leadpolicy.publish import english
from leadpolicy.semantics.lowering import lower

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = Path("/work/shared/design/examples")
REFERENCE = sorted(ROOT.glob("policies/*.policy")) + sorted(EXAMPLES.glob("*.policy"))

ASYNC = pytest.mark.asyncio(loop_scope="function")

CAPABILITIES = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
    hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText]),
    rename=types.RenameClientCapabilities(prepare_support=True),
    completion=types.CompletionClientCapabilities()))


OFFERED: dict[int, types.InitializeResult] = {}  # per client, what the server said it offers


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leadpolicy", "lsp"]))
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    OFFERED[id(lsp_client)] = await lsp_client.initialize_session(types.InitializeParams(capabilities=CAPABILITIES))
    yield
    await lsp_client.shutdown_session()


# ---------------------------------------------------------------- helpers


def copy_policy(policy: Path, into: Path) -> Path:
    """The policy and its samples file, copied into `into`."""
    shutil.copy(policy, into / policy.name)
    samples = policy.with_name(policy.name.removesuffix(".policy") + ".samples.yaml")
    if samples.exists():
        shutil.copy(samples, into / samples.name)
    return into / policy.name


def open_file(client: LanguageClient, path: Path, text: str | None = None, language: str = "leadpolicy") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id=language, version=1, text=path.read_text("utf-8") if text is None else text)))
    return uri


def lsp_position(text: str, line: int, column: int) -> types.Position:
    """The project's 1-based line and code-point column as an LSP position (UTF-16 units)."""
    prefix = text.split("\n")[line - 1][: column - 1]
    return types.Position(line=line - 1, character=len(prefix.encode("utf-16-le")) // 2)


def place(text: str, token: Token) -> tuple[int, int, int, int]:
    """A token's LSP range as a tuple; a quoted route label's without its quotes."""
    inner = 1 if token.type == "STRING" else 0
    start = lsp_position(text, token.line or 0, (token.column or 0) + inner)
    end = lsp_position(text, token.end_line or 0, (token.end_column or 0) - inner)
    return start.line, start.character, end.line, end.character


def as_tuple(where: types.Range) -> tuple[int, int, int, int]:
    return where.start.line, where.start.character, where.end.line, where.end.character


def tokens(text: str) -> list[Token]:
    """Every token of the policy as Lark's LALR parser read it (names, team names and strings)."""
    tree: Tree[Token] = grammar_parser().parse(text)
    return [t for t in tree.scan_values(lambda v: isinstance(v, Token))]


def declared(policy: ast.Policy) -> dict[str, list[tuple[str, ast.Node]]]:
    """Each declared name -> its kinds and declaring nodes."""
    found: dict[str, list[tuple[str, ast.Node]]] = {}
    kinds: tuple[tuple[str, tuple[Any, ...]], ...] = (
        ("field", policy.fields), ("score", policy.scores), ("grade", policy.grades), ("stage", policy.stages),
        ("event", policy.events or ()), ("calendar", policy.calendars), ("team", policy.team_blocks))
    for kind, nodes in kinds:
        for node in nodes:
            found.setdefault(node.name, []).append((kind, node))
    return found


def spelled(text: str, name: str, team: bool) -> set[tuple[int, int, int, int]]:
    """Every token spelling `name` (for a team, its quoted route labels too)."""
    return {place(text, t) for t in tokens(text)
            if t.type in ("NAME", "TEAM_NAME") and t.value == name or team and t.value == f'"{name}"'}


def samples_uses(samples: Path, name: str, kind: str) -> int:
    """How many times the samples data uses a name of a kind: lead keys for fields, events' kinds for events,
    expected stages for stages."""
    data = yaml.safe_load(samples.read_text("utf-8")) or {}
    count = 0
    for case in data.get("leads", []) + [lead for a in data.get("assignments", []) for lead in a.get("leads", [])]:
        count += {"field": list(case.get("lead") or {}), "event": [e.get("event") for e in case.get("events") or []],
                  "stage": [(case.get("expect") or {}).get("stage")]}.get(kind, []).count(name)
    for timeline in data.get("timelines", []):
        recycled = ((timeline.get("expect") or {}).get("recycle") or {}).get("stage")
        count += {"field": [k for lead in (timeline.get("leads") or {}).values() for k in lead],
                  "event": [e.get("event") for e in timeline.get("events") or []],
                  "stage": [recycled]}.get(kind, []).count(name)
    return count


async def references(client: LanguageClient, uri: str, position: types.Position) -> list[types.Location]:
    found = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.ReferenceContext(include_declaration=True)))
    return list(found or [])


async def definition(client: LanguageClient, uri: str, position: types.Position) -> list[types.Location]:
    found = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    return list(found or []) if isinstance(found, list) else [found] if isinstance(found, types.Location) else []


async def hover(client: LanguageClient, uri: str, position: types.Position) -> str:
    found = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    assert found.contents.kind == types.MarkupKind.Markdown
    return found.contents.value


async def completion_labels(client: LanguageClient, uri: str, position: types.Position
                            ) -> tuple[set[str], set[str]]:
    """(names, keywords) offered at the position."""
    found = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    items = found.items if isinstance(found, types.CompletionList) else list(found or [])
    words = {i.label for i in items if i.kind == types.CompletionItemKind.Keyword}
    return {i.label for i in items if i.kind != types.CompletionItemKind.Keyword}, words


def end_of(text: str, needle: str) -> types.Position:
    """The LSP position just after the first `needle` in the text."""
    offset = text.index(needle) + len(needle)
    line = text.count("\n", 0, offset) + 1
    return lsp_position(text, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def leadpolicy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leadpolicy", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=600)


# ---------------------------------------------------------------- definition and references


@ASYNC
async def test_the_server_offers_navigation(client: LanguageClient) -> None:
    offered = OFFERED[id(client)].capabilities
    assert offered.definition_provider and offered.references_provider and offered.hover_provider
    assert isinstance(offered.rename_provider, types.RenameOptions) and offered.rename_provider.prepare_provider
    assert offered.completion_provider is not None and " " in (offered.completion_provider.trigger_characters or [])


@pytest.mark.parametrize("policy_file", REFERENCE, ids=lambda p: f"{p.parent.name}/{p.name}")
@ASYNC
async def test_each_declared_name_is_referenced_wherever_it_is_spelled_and_defined_at_its_declaration(
        client: LanguageClient, tmp_path: Path, policy_file: Path) -> None:
    path = copy_policy(policy_file, tmp_path)
    text = path.read_text("utf-8")
    policy = parse_text(text).policy
    assert policy is not None
    uri = open_file(client, path)
    samples = path.with_name(path.name.removesuffix(".policy") + ".samples.yaml")
    for name, kinds in declared(policy).items():
        if len(kinds) != 1:
            continue  # a name declared as two kinds is the checks' business, not navigation's
        kind, node = kinds[0]
        want = spelled(text, name, kind == "team")
        declaration = next(w for w in sorted(want) if _within(w, node.span, text))
        start = types.Position(line=declaration[0], character=declaration[1])
        found = await references(client, uri, start)
        in_policy = {as_tuple(f.range) for f in found if f.uri == uri}
        assert in_policy == want, (kind, name)
        in_samples = [f for f in found if f.uri != uri]
        if kind in ("field", "event", "stage") and samples.exists():
            assert len(in_samples) == samples_uses(samples, name, kind), (kind, name)
        sample_lines = samples.read_text("utf-8").split("\n") if samples.exists() else []
        for f in in_samples:
            assert f.uri == samples.as_uri()
            assert _text_at(sample_lines, f.range) == name
        for use in sorted(want):
            landed = await definition(client, uri, types.Position(line=use[0], character=use[3]))
            assert [(f.uri, as_tuple(f.range)) for f in landed] == [(uri, declaration)], (kind, name, use)


def _within(where: tuple[int, int, int, int], span: ast.Span, text: str) -> bool:
    start, end = lsp_position(text, span.line, span.column), lsp_position(text, span.end_line, span.end_column)
    return (start.line, start.character) <= where[:2] and where[2:] <= (end.line, end.character)


def _text_at(lines: list[str], where: types.Range) -> str:
    line = lines[where.start.line]
    return line.encode("utf-16-le")[where.start.character * 2: where.end.character * 2].decode("utf-16-le")


@ASYNC
async def test_definition_from_the_samples_file_lands_on_the_policys_declaration(client: LanguageClient,
                                                                                 tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    samples = tmp_path / "inbound-teams.samples.yaml"
    text, sample_text = path.read_text("utf-8"), samples.read_text("utf-8")
    open_file(client, path)
    samples_uri = open_file(client, samples, language="yaml")
    for needle, declaration in (("{event: demo_request", "demo_request  "), ("stage: sql", "sql  "),
                                ("{email:", "email  "), ("fired: {engagement", "engagement \"")):
        at = end_of(sample_text, needle)
        landed = await definition(client, samples_uri, types.Position(line=at.line, character=at.character - 1))
        want = end_of(text, declaration)
        name = declaration.split()[0].rstrip('"')
        assert [(f.uri, f.range.start.line) for f in landed] == [(path.as_uri(), want.line)], needle
        assert _text_at(text.split("\n"), landed[0].range) == name


@ASYNC
async def test_positions_are_utf16_after_an_emoji_and_an_umlaut_on_the_line(client: LanguageClient,
                                                                          tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8").replace('"A" when priority >= 120', '"Ü😀 A" when priority >= 120')
    path.write_text(text, "utf-8")
    uri = open_file(client, path)
    line_no = next(i for i, line in enumerate(text.split("\n"), 1) if "Ü😀" in line)
    line = text.split("\n")[line_no - 1]
    use = lsp_position(text, line_no, line.index("priority") + 1)
    assert use.character == line.index("priority") + 1  # the emoji is two UTF-16 units, one code point
    found = await references(client, uri, use)
    here = [as_tuple(f.range) for f in found if f.range.start.line == line_no - 1]
    assert here == [(line_no - 1, use.character, line_no - 1, use.character + len("priority"))]
    landed = await definition(client, uri, use)
    assert _text_at(text.split("\n"), landed[0].range) == "priority"


@ASYNC
async def test_navigation_reads_the_last_text_that_parsed_while_typing(client: LanguageClient,
                                                                       tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-activity.policy", tmp_path)
    text = path.read_text("utf-8")
    uri = open_file(client, path)
    use = end_of(text, "when fit")
    good = await definition(client, uri, types.Position(line=use.line, character=use.character - 1))
    assert len(good) == 1
    broken = text.replace("  stages {", "  stages {\n    sql when fit >=", 1)  # a line being typed
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=broken)]))
    assert parse_text(broken).policy is None
    for needle in ("when fit", "sql when fit"):  # a use the last parse saw, and one only typed since
        use = end_of(broken, needle)
        again = await definition(client, uri, types.Position(line=use.line, character=use.character - 1))
        assert [as_tuple(f.range) for f in again] == [as_tuple(f.range) for f in good], needle
    typed = await hover(client, uri, types.Position(line=use.line, character=use.character - 1))
    assert "**score fit**" in typed


@ASYNC
async def test_a_policy_that_never_parsed_answers_nothing_rather_than_an_error(client: LanguageClient,
                                                                               tmp_path: Path) -> None:
    path = tmp_path / "broken.policy"
    path.write_text('policy "x" version 1.0.0 {\n  lead { a number }\n  score s { +1 when a > }\n', "utf-8")
    uri = open_file(client, path)
    for line in range(3):
        for character in range(0, 20, 3):
            at = types.Position(line=line, character=character)
            assert await definition(client, uri, at) == []
            assert await references(client, uri, at) == []


# ---------------------------------------------------------------- rename


async def _rename(client: LanguageClient, uri: str, at: types.Position, new: str) -> types.WorkspaceEdit:
    prepared = await client.text_document_prepare_rename_async(types.PrepareRenameParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at))
    assert prepared is not None
    edit = await client.text_document_rename_async(types.RenameParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=at, new_name=new))
    assert edit is not None and edit.changes is not None
    return edit


def _offset(text: str, position: types.Position) -> int:
    """An LSP position (UTF-16 units) as an index into a text whose lines end with LF."""
    lines = text.split("\n")
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) + 1 for line in lines[: position.line])
    raw = lines[position.line].encode("utf-16-le")[: position.character * 2]
    return start + len(raw.decode("utf-16-le"))


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: _offset(text, edit.range.start)] + edit.new_text + text[_offset(text, edit.range.end):]
    return text


def _results(folder: Path, policy: Path) -> tuple[Any, ...]:
    """What `check` and `test` say of the policy: whether it is fine, its diagnostics' codes and lines, and
    each case's status."""
    checked = leadpolicy("check", policy.name, "--format", "json", cwd=folder)
    tested = leadpolicy("test", "--format", "json", cwd=folder)
    assert checked.returncode in (0, 1) and tested.returncode in (0, 1), checked.stderr + tested.stderr
    check, test = json.loads(checked.stdout), json.loads(tested.stdout)
    return (checked.returncode, check["ok"], sorted((d["code"], d["line"]) for d in check["diagnostics"]),
            tested.returncode, [(c["name"], c["status"]) for c in test["cases"]])


@pytest.mark.parametrize(("needle", "new"), [("score engagement", "activity"), ("  sql ", "sales_ready"),
                                             ("    employees", "headcount"), ("demo_request ", "asked_demo"),
                                             ("team inbound-sdr", "inbound-reps"), ("calendar ny", "new_york"),
                                             ("  nurture ", "null")])  # YAML reads a bare null as no text
@ASYNC
async def test_rename_updates_the_policy_and_samples_and_check_and_test_say_the_same(
        client: LanguageClient, tmp_path: Path, needle: str, new: str) -> None:
    await _rename_keeps_the_results(client, tmp_path, EXAMPLES / "inbound-teams.policy", needle, new)


@pytest.mark.parametrize(("policy_file", "needle", "new"), [
    (ROOT / "policies/product-led.policy", "owner sales", "revenue"),  # the cases' expect: {owner: sales}
    (EXAMPLES / "inbound-teams.policy", "sla speed_to_lead", "first_response"),  # a timeline's key, at_risk, escalation
    (EXAMPLES / "inbound-teams.policy", "sla mql_volume", "handoff_flow"),  # expected per period
    (EXAMPLES / "inbound-teams.policy", "grade tier", "band")])  # an assignment's and a lead's expect key
@ASYNC
async def test_rename_of_each_name_a_samples_file_uses_keeps_check_and_test(
        client: LanguageClient, tmp_path: Path, policy_file: Path, needle: str, new: str) -> None:
    samples_file = policy_file.with_name(policy_file.name.removesuffix(".policy") + ".samples.yaml")
    assert needle.split()[-1] in samples_file.read_text("utf-8")
    edit = await _rename_keeps_the_results(client, tmp_path, policy_file, needle, new)
    samples = tmp_path / samples_file.name
    assert samples.as_uri() in edit
    assert needle.split()[-1] not in _yaml_texts(yaml.safe_load(samples.read_text("utf-8")))


def _yaml_texts(data: Any) -> set[str]:
    """Every key and text value of YAML data, at any depth."""
    if isinstance(data, dict):
        return {str(k) for k in data} | {t for v in data.values() for t in _yaml_texts(v)}
    if isinstance(data, list):
        return {t for v in data for t in _yaml_texts(v)}
    return {data} if isinstance(data, str) else set()


async def _rename_keeps_the_results(client: LanguageClient, tmp_path: Path, policy_file: Path, needle: str,
                                    new: str) -> dict[str, list[types.TextEdit]]:
    """Renames the name `needle` ends with, applies the edit to the policy and its samples file, checks that
    `check` and `test` say the same as before, and gives the edit's changes."""
    path = copy_policy(policy_file, tmp_path)
    samples = tmp_path / (path.name.removesuffix(".policy") + ".samples.yaml")
    before = _results(tmp_path, path)
    formatted = leadpolicy("fmt", "--check", path.name, cwd=tmp_path).returncode
    text = path.read_text("utf-8")
    old = needle.split()[-1]
    uri = open_file(client, path)
    at = end_of(text, needle)
    edit = await _rename(client, uri, types.Position(line=at.line, character=at.character - 1), new)
    assert edit.changes is not None
    path.write_text(_apply(text, edit.changes[uri]), "utf-8")
    if samples.as_uri() in edit.changes:
        samples.write_text(_apply(samples.read_text("utf-8"), edit.changes[samples.as_uri()]), "utf-8")
    renamed = path.read_text("utf-8")
    assert old not in {t.value.strip('"') for t in tokens(renamed)}
    assert new in {t.value.strip('"') for t in tokens(renamed)}
    assert _results(tmp_path, path) == before
    if formatted == 0:  # a policy fmt left as it was stays so: the rename's edit is formatted
        assert leadpolicy("fmt", "--check", path.name, cwd=tmp_path).returncode == 0, renamed
    return edit.changes


@pytest.mark.parametrize(("needle", "new"), [("owner sales", "revenue"), ("score usage", "product_usage"),
                                             ("    active_days_30d", "days_active_in_the_last_30"),
                                             ("grade tier", "t")])
@ASYNC
async def test_rename_in_a_formatted_policy_leaves_it_formatted(client: LanguageClient, tmp_path: Path,
                                                                needle: str, new: str) -> None:
    policy_file = ROOT / "policies/product-led.policy"
    assert leadpolicy("fmt", "--check", str(policy_file), cwd=tmp_path).returncode == 0
    edit = await _rename_keeps_the_results(client, tmp_path, policy_file, needle, new)
    assert len(edit[(tmp_path / policy_file.name).as_uri()]) == 1  # the whole text, formatted


@ASYNC
async def test_rename_from_the_samples_file_renames_in_the_policy_too(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    samples = tmp_path / "inbound-teams.samples.yaml"
    before = _results(tmp_path, path)
    text, sample_text = path.read_text("utf-8"), samples.read_text("utf-8")
    uri = open_file(client, path)
    samples_uri = open_file(client, samples, language="yaml")
    at = end_of(sample_text, "{event: demo_request")
    at = types.Position(line=at.line, character=at.character - 1)
    edit = await _rename(client, samples_uri, at, "asked_demo")
    assert edit.changes is not None and set(edit.changes) == {uri, samples_uri}
    where = end_of(text, "    demo_request")
    uses = await references(client, uri, types.Position(line=where.line, character=where.character - 1))
    assert sum(len(e) for e in edit.changes.values()) == len(uses)
    path.write_text(_apply(text, edit.changes[uri]), "utf-8")
    samples.write_text(_apply(sample_text, edit.changes[samples_uri]), "utf-8")
    assert _results(tmp_path, path) == before


@pytest.mark.parametrize(("new", "says"), [("2fast", "is not a name"), ("when", "word of the policy language"),
                                           ("fit", "already a name"), ("with space", "is not a name"),
                                           ("Fit", "already a name"), ("EMAIL", "already a name")])
@ASYNC
async def test_rename_is_refused_with_the_reason(client: LanguageClient, tmp_path: Path, new: str,
                                                 says: str) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8")
    uri = open_file(client, path)
    at = end_of(text, "score engagement")
    with pytest.raises(Exception, match=re.escape(says)):
        await client.text_document_rename_async(types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=at.line, character=at.character - 1), new_name=new))


# ---------------------------------------------------------------- hover


def _plain(markdown: str) -> str:
    """Page or hover Markdown as words: emphasis tags and quotes around event labels dropped."""
    return re.sub(r"<em title=\"[^\"]*\">|</em>|[“”]", "", markdown)


@pytest.mark.parametrize("policy_file", REFERENCE, ids=lambda p: f"{p.parent.name}/{p.name}")
@ASYNC
async def test_a_scores_hover_says_its_rules_as_the_published_page_does(client: LanguageClient, tmp_path: Path,
                                                                       policy_file: Path) -> None:
    from leadpolicy.publish.site import policy_context

    path = copy_policy(policy_file, tmp_path)
    text = path.read_text("utf-8")
    policy = parse_text(text, str(path)).policy
    assert policy is not None
    page = policy_context(path, policy)
    uri = open_file(client, path)
    for score in page["scores"]:
        at = end_of(text, f"score {score['name']}")
        said = _plain(await hover(client, uri, types.Position(line=at.line, character=at.character - 1)))
        assert f"**score {md(score['name'])}**" in said
        for rule in score["rules"]:
            assert f"{md(rule['points'])}: {_plain(rule['rule'])}" in said


@ASYNC
async def test_hovers_say_a_fields_type_a_stages_condition_and_owner_an_events_label_and_readers(
        client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8")
    policy = parse_text(text).policy
    assert policy is not None
    lowered = lower(policy)
    uri = open_file(client, path)

    async def at(needle: str) -> str:
        where = end_of(text, needle)
        return await hover(client, uri, types.Position(line=where.line, character=where.character - 1))

    assert "one of" in await at("    industry")
    with english.wording(english.labels_of(policy)):
        for stage in lowered.stages:
            said = await at(f"    {stage.name}")
            assert f"Owner: {stage.owner}" in said
            if stage.condition is not None:
                assert md(english.condition(stage.condition)) in said
    for event in policy.events or ():
        said = await at(f"    {event.name}")
        if event.label:
            assert md(event.label) in said
    readers = await at("    demo_request")
    assert "score engagement" in readers and "stage sql" in readers
    team = await at("team inbound-sdr")
    for member in policy.team_blocks[0].members:
        assert md(member.person) in team


@ASYNC
async def test_hover_escapes_the_policys_text(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8").replace('"Firmographic fit"', '"<img src=x onerror=alert(1)> [x](javascript:1)"')
    path.write_text(text, "utf-8")
    uri = open_file(client, path)
    where = end_of(text, "score fit")
    said = await hover(client, uri, types.Position(line=where.line, character=where.character - 1))
    assert "<img" not in said and "[x](javascript" not in said  # no HTML, no link: both shown as text
    assert "&lt;img" in said and "\\[x\\](javascript:1)" in said


# ---------------------------------------------------------------- completion


@ASYNC
async def test_completion_offers_the_declared_names_of_the_kind_that_fits(client: LanguageClient,
                                                                        tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8")
    policy = parse_text(text).policy
    assert policy is not None
    events = {e.name for e in policy.events or ()}
    fields = {f.name for f in policy.fields}
    operands = fields | {s.name for s in policy.scores} | {g.name for g in policy.grades}
    above_priority = {s.name for s in policy.scores[: [s.name for s in policy.scores].index("priority")]}
    numbers = {f.name for f in policy.fields if f.type.name == "number"}
    # (where, what is typed there in place of the line's first `drop` characters, the names that fit)
    cases = [("+40 when employees", 0, "+40 when em", fields | events),  # in the first score: no score yet
             ("within 1 business hours on ny", 0, "within 1 business hours on ", {c.name for c in policy.calendars}),
             ("owner sales\n    from", len("owner sales"), "owner ", {o.team for o in policy.owners}),
             ("-10 when days since last email_click", 0, "-10 when days since last ", events),
             ("+1 per fit", 0, "+1 per ", numbers | above_priority | events),
             ('"Nurture leads', 0, '"New": stage = ', {s.name for s in policy.stages}),
             ('"Nurture leads', 0, '"New": ', operands | events | {"stage", "route", "owner", "handoff"})]
    uri = open_file(client, path)
    version, unparsed = 1, 0
    for anchor, drop, typed, want in cases:
        cut = text.index(anchor)
        typing = text[:cut] + typed + "\n" + text[cut + drop:]  # the line being typed
        unparsed += parse_text(typing).policy is None
        version += 1
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=typing)]))
        names, _ = await completion_labels(client, uri, end_of(typing[: cut + len(typed)], typed))
        assert names == want, typed
    assert unparsed >= 3  # most of these are offered while the text does not parse


@ASYNC
async def test_completion_offers_the_words_the_grammar_accepts(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    text = path.read_text("utf-8")
    cut = text.index("  events {")
    typing = text[:cut] + "  sc\n" + text[cut:]
    uri = open_file(client, path, typing)
    _, words = await completion_labels(client, uri, end_of(typing[: cut + 4], "  sc"))
    assert {"score", "grade", "stages", "route", "calendar", "sla", "team", "guarantees"} <= words
    assert not words & {"when", "per", "between"}
    cut = text.index("+40 when employees >= 200")
    after = text[:cut] + "+40 when employees " + text[cut + len("+40 when employees >= 200"):]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=after)]))
    _, words = await completion_labels(client, uri, end_of(after, "+40 when employees "))
    assert {"between", "in", "is", "contains", "starts", "ends", "not"} <= words
    assert not words & {"score", "team"}


@ASYNC
async def test_hover_on_a_policy_with_errors_still_names_what_is_under_the_cursor(client: LanguageClient,
                                                                                 tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-teams.policy", tmp_path)
    zone = 'timezone "America/New_York"\n    open'  # the first calendar's, not the header's
    text = path.read_text("utf-8").replace(zone, 'timezone "Mars/Olympus"\n    open', 1)
    path.write_text(text, "utf-8")
    assert "Mars/Olympus" in text
    uri = open_file(client, path)
    where = end_of(text, "calendar ny")
    said = await hover(client, uri, types.Position(line=where.line, character=where.character - 1))
    assert "**calendar ny**" in said and "SLA speed\\_to\\_lead" in said


# ---------------------------------------------------------------- positions (document.py), in process


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_spans_and_lsp_positions_convert_both_ways_whatever_ends_the_lines(ending: str) -> None:
    from leadpolicy.lsp.document import offset_of, offset_to_position, to_offset, to_range

    text = ending.join(['policy "x" version 1.0.0 {', '  title "Ü😀 a𝄞b"', "  lead { x number }", "}"])
    parsed = parse_text(text)
    assert parsed.policy is not None
    field_node = parsed.policy.fields[0]
    where = to_range(text, ast.Span(field_node.span.line, field_node.span.column, field_node.span.line,
                                    field_node.span.column + 1))
    assert (where.start.line, where.start.character, where.end.character) == (2, 9, 10)
    title_line = text.split(ending)[1] if ending != "\r\n" else text.split("\r\n")[1]
    after_emoji = title_line.index("a")  # code points before `a`: the emoji is one, two UTF-16 units
    start = to_range(text, ast.Span(2, after_emoji + 1, 2, after_emoji + 2)).start
    assert start.character == after_emoji + 1
    offset = to_offset(text, start)
    assert text[offset] == "a" and offset == offset_of(text, 2, after_emoji + 1)
    assert offset_to_position(text, offset) == start
    beyond = to_offset(text, types.Position(line=9, character=0))
    assert beyond == len(text)


@ASYNC
async def test_a_samples_file_nested_too_deep_for_yaml_leaves_the_policys_references(client: LanguageClient,
                                                                                    tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-activity.policy", tmp_path)
    (tmp_path / "inbound-activity.samples.yaml").write_text("leads: " + "[" * 20000 + "]" * 20000 + "\n", "utf-8")
    text = path.read_text("utf-8")
    uri = open_file(client, path)
    where = end_of(text, "    employees")
    found = await references(client, uri, types.Position(line=where.line, character=where.character - 1))
    assert found and {f.uri for f in found} == {uri}
    assert {as_tuple(f.range) for f in found} == spelled(text, "employees", team=False)


@ASYNC
async def test_a_policy_opened_with_a_syntax_error_is_navigated_without_that_line(client: LanguageClient,
                                                                                 tmp_path: Path) -> None:
    path = copy_policy(EXAMPLES / "inbound-activity.policy", tmp_path)
    good = path.read_text("utf-8")
    text = good.replace('+20 when industry in ("software", "fintech")', '+20 when industry in ("software", ', 1)
    assert text != good and parse_text(text).policy is None
    uri = open_file(client, path, text)
    use = end_of(text, "when fit")
    landed = await definition(client, uri, types.Position(line=use.line, character=use.character - 1))
    declaration = end_of(text, "score fit")
    assert [(f.range.start.line, f.range.end.character) for f in landed] == [(declaration.line,
                                                                              declaration.character)]


# (the text replaced, what is typed before the cursor there, and what follows each offered name by its kind)
OPERAND_AFTER = {"field": " is missing", "score": " >= 1", "grade": " is missing", "event": " in last 30 days"}
OFFERED_CHECKED = [
    ("+20 when used_sso", "+20 when ", OPERAND_AFTER),  # in the first score: no score yet
    ('+20 when country in ("DE", "AT", "CH")', "+20 when ", OPERAND_AFTER),  # in the second: the first score only
    ('"hot"   when usage >= 70', '"hot"   when ', OPERAND_AFTER),  # in the grade: both scores, not the grade itself
    ("+4  per active_days_30d", "+4  per ", {"event": " in last 30 days"}),  # number fields, scores above, events
    ("days since last_seen", "days since ", {}),  # a date or timestamp field
    ("grade tier from usage", "grade tier from ", {}),  # the scores above
]


@pytest.mark.parametrize(("anchor", "typed", "after"), OFFERED_CHECKED, ids=[c[0] for c in OFFERED_CHECKED])
@ASYNC
async def test_completion_offers_exactly_the_names_check_accepts_there(
        client: LanguageClient, tmp_path: Path, anchor: str, typed: str, after: dict[str, str]) -> None:
    from leadpolicy.semantics.loading import load_policy_text

    path = copy_policy(ROOT / "policies/product-led.policy", tmp_path)
    text = path.read_text("utf-8")
    policy = parse_text(text).policy
    assert policy is not None and anchor in text
    cut = text.index(anchor)
    line = text.count("\n", 0, cut) + 1
    typing = text.replace(anchor, typed, 1)
    uri = open_file(client, path)  # opened as saved, looked at (navigation keeps the text that parsed), typed in
    await definition(client, uri, end_of(text, anchor))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=typing)]))
    cursor = cut + len(typed)
    offered, _ = await completion_labels(client, uri, lsp_position(
        typing, typing.count("\n", 0, cursor) + 1, cursor - typing.rfind("\n", 0, cursor)))
    kinds = {name: kind for name, found in declared(policy).items() for kind, _ in found}
    kinds |= {name: "event" for name in offered if name not in kinds}  # events the policy uses (no events block)
    refused = ("type-mismatch", "used-before-defined", "unknown-name", "unknown-event")

    def accepted(name: str) -> bool:
        written = text.replace(anchor, typed + name + after.get(kinds[name], ""), 1)
        loaded = load_policy_text(written, str(path))
        assert loaded.policy is not None, written
        return not [d for d in loaded.diagnostics if d.code in refused and d.span is not None and d.span.line == line]

    candidates = {name for name, kind in kinds.items() if kind in ("field", "score", "grade", "event")}
    want = {name for name in candidates if accepted(name)}
    assert want  # each place accepts some name
    assert offered == want
