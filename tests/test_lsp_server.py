"""The language server end to end: pytest-lsp's client starts `python -m leadpolicy lsp` and speaks LSP to it
over stdio. What it publishes is compared with what `check` and `fmt` print for the same file, never with
results written down here."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = Path("/work/shared/design/examples")
OFFERED: dict[int, types.InitializeResult] = {}  # per client, what the server answered to initialize
WAIT = 120.0  # seconds for a saved check (samples and the solver) on a loaded machine

@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leadpolicy", "lsp"]))
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    symbols = types.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True)
    OFFERED[id(lsp_client)] = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
            document_symbol=symbols))))
    yield
    await lsp_client.shutdown_session()


# ---------------------------------------------------------------- what the command line says


def leadpolicy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "leadpolicy", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def utf16_column(text: str, line: int, column: int) -> tuple[int, int]:
    """The project's 1-based line and code-point column as LSP's 0-based line and UTF-16 column."""
    if line < 1:
        return 0, 0
    lines = text.split("\n")
    prefix = lines[line - 1][: column - 1] if line <= len(lines) else ""
    return line - 1, len(prefix.encode("utf-16-le")) // 2


def check_json(path: Path) -> dict[str, Any]:
    out = leadpolicy("check", str(path), "--format", "json", cwd=path.parent)
    assert out.returncode in (0, 1), out.stderr
    return dict(json.loads(out.stdout))


def said_by_check(report: dict[str, Any], file: Path) -> set[tuple[str, int, int, str]]:
    """(code, LSP line, LSP column, message and hint as the server words them) of check's diagnostics on `file`."""
    text = file.read_text(encoding="utf-8")
    found = set()
    for d in report["diagnostics"]:
        if os.path.normpath(d["file"]) == os.path.normpath(file):
            message = d["message"] + (f"\n\nhint: {d['hint']}" if d["hint"] else "")
            found.add((d["code"], *utf16_column(text, d["line"], d["column"]), message))
    return found


def published(client: LanguageClient, uri: str) -> set[tuple[str, int, int, str]]:
    return {(str(d.code), d.range.start.line, d.range.start.character, d.message)
            for d in client.diagnostics.get(uri, [])}


async def eventually(what: Callable[[], Any], want: Any, seconds: float = WAIT) -> Any:
    """Wait for each published notification until `what()` equals `want`; the last value when it never does."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    got = what()
    while got != want and loop.time() < end:
        await asyncio.sleep(0.1)
        got = what()
    return got


# ---------------------------------------------------------------- the documents


def copy_policy(source: Path, folder: Path) -> Path:
    """The policy and its samples file copied into `folder`; the policy's path."""
    shutil.copy(source, folder / source.name)
    samples = source.with_name(source.name.removesuffix(".policy") + ".samples.yaml")
    if samples.exists():
        shutil.copy(samples, folder / samples.name)
    return folder / source.name


def open_file(client: LanguageClient, path: Path, language: str = "leadpolicy") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id=language, version=1, text=path.read_text(encoding="utf-8"))))
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Replace the whole text (the client sends incremental changes; one covering everything is one too)."""
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def save(client: LanguageClient, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=path.as_uri())))


def reference_policies() -> list[Path]:
    """The repository's policies, its example with guarantees, and the design's examples where they are."""
    found = sorted((ROOT / "policies").glob("*.policy")) + [ROOT / "examples" / "inbound-teams.policy"]
    return found + (sorted(EXAMPLES.glob("*.policy")) if EXAMPLES.is_dir() else [])


# ---------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("source", reference_policies(), ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.asyncio
async def test_diagnostics_after_save_are_check_s_for_each_reference_policy(client: LanguageClient,
                                                                             tmp_path: Path, source: Path) -> None:
    path = copy_policy(source, tmp_path)
    samples = tmp_path / source.name.replace(".policy", ".samples.yaml")
    report = check_json(path)
    want, want_samples = said_by_check(report, path), said_by_check(report, samples)
    uri = open_file(client, path)
    save(client, path, path.read_text(encoding="utf-8"))
    # the saved check publishes for the samples file too: once it has, the policy's are the saved check's
    assert await eventually(lambda: samples.as_uri() in client.diagnostics, True)
    assert published(client, samples.as_uri()) == want_samples
    assert await eventually(lambda: published(client, uri), want) == want


@pytest.mark.asyncio
async def test_an_error_typed_shows_and_goes_when_fixed(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", tmp_path)
    good = path.read_text(encoding="utf-8")
    uri = open_file(client, path)
    clean = said_by_check(check_json(path), path)
    assert await eventually(lambda: published(client, uri), clean) == clean

    broken = good.replace("employees >= 1000", "employes >= 1000", 1)
    assert broken != good, "the reference policy's rule changed: pick another"
    broken_file = tmp_path / "broken" / path.name
    broken_file.parent.mkdir()
    broken_file.write_text(broken, encoding="utf-8")  # what check says of the edited text, for comparison
    typed = {(code, line, column, message) for code, line, column, message in
             said_by_check(check_json(broken_file), broken_file)}
    change(client, uri, 2, broken)
    got = await eventually(lambda: published(client, uri), typed, seconds=30)
    assert got == typed and any(code == "unknown-name" for code, *_ in got)

    unparsable = good.replace("score fit", "scor fit", 1)
    change(client, uri, 3, unparsable)
    got = await eventually(lambda: {d[0] for d in published(client, uri)}, {"syntax-error"}, seconds=30)
    assert got == {"syntax-error"}

    change(client, uri, 4, good)
    save(client, path, good)
    assert await eventually(lambda: published(client, uri), clean) == clean


# ---------------------------------------------------------------- samples and code lenses


def failing_case_said(report: dict[str, Any], samples: Path) -> set[tuple[int, str]]:
    """(LSP line, message) of each failing case check reports in `samples`, worded as check words it."""
    return {(c["line"] - 1, f"{c['name']}: {'; '.join(c['failures'])}") for c in report["cases"]
            if os.path.normpath(c["file"]) == os.path.normpath(samples) and c["status"] in ("failed", "error")}


def sample_failures(client: LanguageClient, uri: str) -> set[tuple[int, str]]:
    return {(d.range.start.line, d.message) for d in client.diagnostics.get(uri, []) if d.code == "sample-failed"}


async def lenses(client: LanguageClient, uri: str) -> dict[int, str]:
    found = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    return {lens.range.start.line: lens.command.title for lens in found or [] if lens.command is not None}


@pytest.mark.asyncio
async def test_a_failing_sample_case_shows_at_its_line_on_save_with_lenses(client: LanguageClient,
                                                                          tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", tmp_path)
    samples = tmp_path / "inbound-b2b.samples.yaml"
    agreed = samples.read_text(encoding="utf-8")
    disagreed = agreed.replace("stage: sql, route: enterprise-ae}", "stage: mql, route: enterprise-ae}", 1)
    assert disagreed != agreed, "the reference samples changed: pick another case"
    samples.write_text(disagreed, encoding="utf-8")
    report = check_json(path)
    want = failing_case_said(report, samples)
    assert len(want) == 1

    uri, samples_uri = open_file(client, path), open_file(client, samples, "yaml")
    save(client, path, path.read_text(encoding="utf-8"))
    assert await eventually(lambda: sample_failures(client, samples_uri), want) == want

    shown = await lenses(client, samples_uri)
    cases = [c for c in report["cases"] if os.path.normpath(c["file"]) == os.path.normpath(samples)]
    assert sorted(shown) == sorted(c["line"] - 1 for c in cases)
    for case in cases:
        if case["status"] == "passed":
            assert shown[case["line"] - 1] == "passes"
        else:
            assert shown[case["line"] - 1] == f"fails: stage {case['actual']['stage']}, expected mql"
    assert await lenses(client, uri) == {}  # a policy without guarantees has no lens


@pytest.mark.asyncio
async def test_each_guarantee_has_a_lens_saying_what_prove_says(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(ROOT / "examples" / "inbound-teams.policy", tmp_path)  # a policy with guarantees
    text = path.read_text(encoding="utf-8")
    false_claim = '    "Fit always under ten":   fit < 10\n  }\n}'
    text = text.rstrip().removesuffix("}").rstrip().removesuffix("}") + false_claim.lstrip("\n") + "\n"
    path.write_text(text, encoding="utf-8")
    proved = json.loads(leadpolicy("prove", str(path), "--format", "json", cwd=tmp_path).stdout)["guarantees"]
    lines = text.split("\n")
    want = {next(i for i, line in enumerate(lines) if f'"{g["name"]}"' in line): g["status"] for g in proved}
    assert sorted(want.values()).count("violated") == 1

    uri = open_file(client, path)
    samples_uri = (tmp_path / "inbound-teams.samples.yaml").as_uri()
    assert await eventually(lambda: samples_uri in client.diagnostics, True)
    shown = await lenses(client, uri)
    assert {line: title.split(":")[0] for line, title in shown.items()} == want
    violated = next(line for line, status in want.items() if status == "violated")
    said = next(d.message for d in client.diagnostics[uri] if d.code == "guarantee-violated")
    assert said.split(": ", 1)[1].startswith(shown[violated].removeprefix("violated: ").removesuffix("…"))


# ---------------------------------------------------------------- formatting, outline, folds


async def formatted_by_server(client: LanguageClient, uri: str) -> list[types.TextEdit] | None:
    return await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        options=types.FormattingOptions(tab_size=2, insert_spaces=True)))


def applied(text: str, edits: list[types.TextEdit]) -> str:
    """The text with the server's edits made (it gives one, over the whole text)."""
    assert len(edits) == 1
    lines = text.split("\n")
    start, end = edits[0].range.start, edits[0].range.end
    before = "\n".join(lines[: start.line] + [lines[start.line][: start.character]]) if lines else ""
    after = lines[end.line][end.character:] if end.line < len(lines) else ""
    rest = "\n".join([after] + lines[end.line + 1:])
    return before + edits[0].new_text + rest


@pytest.mark.asyncio
async def test_formatting_gives_fmt_s_text_and_nothing_for_a_text_that_does_not_parse(
        client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "product-led.policy", tmp_path)
    messy = path.read_text(encoding="utf-8").replace("\n  ", "\n      ").replace("{\n", "{   \n")
    path.write_text(messy, encoding="utf-8")
    uri = open_file(client, path)
    fmt = subprocess.run([sys.executable, "-m", "leadpolicy", "fmt", "-"], input=messy, capture_output=True,
                         text=True, timeout=120)
    assert fmt.returncode == 0 and fmt.stdout != messy
    edits = await formatted_by_server(client, uri)
    assert edits is not None and applied(messy, edits) == fmt.stdout

    change(client, uri, 2, fmt.stdout)
    already = await formatted_by_server(client, uri)
    assert already is not None and list(already) == []  # formatted: no edit
    change(client, uri, 3, messy.replace("stages {", "stages {{", 1))
    assert await formatted_by_server(client, uri) is None  # does not parse: nothing to format


def block_lines(text: str) -> list[tuple[int, int]]:
    """(first, last) 0-based line of each block: a line ending in `{` to the line closing it (by indentation)."""
    lines = text.split("\n")
    blocks = []
    for i, line in enumerate(lines):
        if line.rstrip().endswith("{") and not line.lstrip().startswith("#"):
            indent = len(line) - len(line.lstrip())
            close = next(j for j in range(i + 1, len(lines))
                         if lines[j].strip() == "}" and len(lines[j]) - len(lines[j].lstrip()) == indent)
            blocks.append((i, close))
    return blocks


@pytest.mark.asyncio
async def test_outline_and_folds_cover_every_block(client: LanguageClient, tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", tmp_path)
    text = path.read_text(encoding="utf-8")
    uri = open_file(client, path)
    folds = await client.text_document_folding_range_async(types.FoldingRangeParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert {(f.start_line, f.end_line) for f in folds or []} == set(block_lines(text))

    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert symbols and len(symbols) == 1
    top = symbols[0]
    assert isinstance(top, types.DocumentSymbol)
    lines = text.split("\n")
    assert top.name in lines[top.range.start.line]  # the policy's id
    children = {c.name: c for c in top.children or []}
    for name in ("lead", "fit", "engagement", "stages"):
        assert name in children, sorted(children)
    for child in top.children or []:  # each block's range is one of the blocks or lines of the text
        assert (child.range.start.line, child.range.end.line) in set(block_lines(text)) | {
            (child.range.start.line, child.range.start.line)}
    schema = json.loads(leadpolicy("schema", str(path), cwd=tmp_path).stdout)
    fields = set(schema.get("properties", {}))
    assert fields and {f.name for f in children["lead"].children or []} == fields
    stage_lines = [c.range.start.line for c in children["stages"].children or []]
    assert [lines[n].split()[0] for n in stage_lines] == [c.name for c in children["stages"].children or []]


# ---------------------------------------------------------------- newer edits win


@pytest.mark.asyncio
async def test_after_a_burst_of_edits_the_last_text_s_diagnostics_stay(client: LanguageClient,
                                                                       tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", tmp_path)
    good = path.read_text(encoding="utf-8")
    uri = open_file(client, path)
    texts = [good.replace("employees >= 1000", f"employes{i} >= 1000", 1) for i in range(6)]
    for version, text in enumerate(texts, start=2):
        change(client, uri, version, text)
    last = tmp_path / "last" / path.name
    last.parent.mkdir()
    last.write_text(texts[-1], encoding="utf-8")
    want = said_by_check(check_json(last), last)
    assert any("employes5" in message for *_, message in want)
    assert await eventually(lambda: published(client, uri), want, seconds=60) == want
    await asyncio.sleep(3)  # an older edit's check, or the open's saved check, published late would show here
    assert published(client, uri) == want


@pytest.mark.asyncio
async def test_a_saved_check_is_dropped_when_the_text_was_edited_since(client: LanguageClient,
                                                                      tmp_path: Path) -> None:
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", tmp_path)
    good = path.read_text(encoding="utf-8")
    samples_uri = (tmp_path / "inbound-b2b.samples.yaml").as_uri()
    uri = open_file(client, path)
    started = asyncio.get_running_loop().time()
    assert await eventually(lambda: samples_uri in client.diagnostics, True)
    took = asyncio.get_running_loop().time() - started
    del client.diagnostics[samples_uri]

    save(client, path, good)
    broken = good.replace("employees >= 1000", "employes >= 1000", 1)
    change(client, uri, 2, broken)
    got = await eventually(lambda: {d[0] for d in published(client, uri)}, {"unknown-name"}, seconds=60)
    assert got == {"unknown-name"}
    typed = published(client, uri)
    await asyncio.sleep(max(2 * took, 3))  # the saved check of the older text has ended by now
    assert published(client, uri) == typed
    assert samples_uri not in client.diagnostics  # dropped whole: nothing published for its samples file either


def test_lsp_help_says_how_editors_start_it_and_bad_usage_exits_2(tmp_path: Path) -> None:
    shown = leadpolicy("lsp", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    words = " ".join(shown.stdout.split())
    assert "standard input and output" in words and "docs/lsp.md" in words
    wrong = leadpolicy("lsp", "--port", "8080", cwd=tmp_path)
    assert wrong.returncode == 2 and "unrecognized arguments: --port" in wrong.stderr
    assert "Traceback" not in wrong.stderr


@pytest.mark.asyncio
async def test_the_server_says_what_it_offers(client: LanguageClient) -> None:
    offered = OFFERED[id(client)].capabilities
    sync = offered.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions) and sync.open_close and sync.save  # checks on save
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert offered.document_formatting_provider and offered.document_symbol_provider
    assert offered.folding_range_provider and offered.code_lens_provider is not None


@pytest.mark.asyncio
async def test_results_go_to_the_uris_the_editor_opened_the_files_under(client: LanguageClient,
                                                                        tmp_path: Path) -> None:
    """Editors escape a path's characters in their own way (`@` kept here, `%40` in Python's as_uri)."""
    folder = tmp_path / "team@sales"
    folder.mkdir()
    path = copy_policy(ROOT / "policies" / "inbound-b2b.policy", folder)
    samples = folder / "inbound-b2b.samples.yaml"
    samples.write_text(samples.read_text(encoding="utf-8").replace(
        "stage: sql, route: enterprise-ae}", "stage: mql, route: enterprise-ae}", 1), encoding="utf-8")
    want = failing_case_said(check_json(path), samples)
    uri, samples_uri = "file://" + str(path), "file://" + str(samples)
    assert uri != path.as_uri()
    for opened, text in ((uri, path.read_text(encoding="utf-8")), (samples_uri, samples.read_text(encoding="utf-8"))):
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=opened, language_id="leadpolicy", version=1, text=text)))
    assert await eventually(lambda: sample_failures(client, samples_uri), want) == want
    assert sorted(await lenses(client, samples_uri)) != []
