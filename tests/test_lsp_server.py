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
WAIT = 120.0  # seconds for a saved check (samples and the solver) on a loaded machine

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leadpolicy", "lsp"]))
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            document_symbol=types.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True)))))
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
    found = sorted((ROOT / "policies").glob("*.policy"))
    return found + (sorted(EXAMPLES.glob("*.policy")) if EXAMPLES.is_dir() else [])


# ---------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("source", reference_policies(), ids=lambda p: f"{p.parent.name}/{p.name}")
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
