"""The language server (pygls on lsprotocol, over stdio): diagnostics as `check` gives them, formatting as `fmt`
does, an outline, folds and code lenses; navigation (definition, references, rename, hover, completion) is
registered by `navigation`.

As you type, the parse and the checks run once the edits pause (`DEBOUNCE`), in a worker thread, and are
published unless a newer edit came. On open and on save the whole of `check` (approvals, samples, the solver)
runs in a worker process, so neither the solver nor the samples ever hold up the editor; its result is
published merged with the fast ones, for the policy and for its samples file, and dropped if a newer edit came.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import multiprocessing.pool
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from leadpolicy.language.loader import POLICY_SUFFIX, SAMPLES_SUFFIX
from leadpolicy.lsp import checking, files, lenses, navigation, outline
from leadpolicy.lsp.document import Document
from leadpolicy.lsp.protocol import PolicyProtocol
from leadpolicy.lsp.saving import Coalesced

DEBOUNCE = 0.03  # seconds without an edit before the text is checked again


@dataclass
class Saved:
    """The last saved check of a policy, and the text it checked."""

    text: str
    found: checking.SavedCheck


class PolicyServer(LanguageServer):
    """The server and what it knows of the open documents beyond their text."""

    def __init__(self) -> None:
        from leadpolicy import __version__

        super().__init__("leadpolicy", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         protocol_cls=PolicyProtocol)
        self.edits: dict[str, int] = {}  # per URI, edits so far (a check made for an older one is dropped)
        self.saved: dict[str, Saved] = {}  # per policy URI, its last saved check
        self.documents: dict[str, Document] = {}  # per URI, the last text seen, parsed once
        self.typing = ThreadPoolExecutor(1, "leadpolicy-typing")
        self.slow: multiprocessing.pool.Pool | None = None  # the worker process, started on the first save
        self.saves = Coalesced()  # per policy, one saved check at a time and one waiting

    def document_of(self, uri: str) -> Document | None:
        """The open document at `uri` (None when the editor has not opened it)."""
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        known = self.documents.get(uri)
        if known is None or known.text != doc.source or known.version != doc.version:
            known = self.documents[uri] = Document(uri, doc.source, doc.version)
        return known

    def uri_of(self, path: Path) -> str:
        """The URI the editor opened a file under (editors escape characters differently), else the file's own."""
        for uri in self.workspace.text_documents:
            doc = self.document_of(uri)
            if doc is not None and doc.path is not None and doc.path == path:
                return str(uri)
        return path.as_uri()

    async def text_of(self, path: Path) -> str | None:
        """The text of a file: the editor's, when open, else the saved one (None when `check` would not read it),
        read in a thread: a read may block."""
        doc = self.document_of(self.uri_of(path))
        if doc is not None:
            return doc.text
        return await asyncio.to_thread(files.saved_text, path)

    def in_worker(self, text: str, policy: Path) -> asyncio.Future[checking.SavedCheck]:
        """`check` of a saved policy, in the worker process (started on first use, stopped on shutdown)."""
        if self.slow is None:
            self.slow = multiprocessing.get_context("spawn").Pool(1)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[checking.SavedCheck] = loop.create_future()

        def settle(how: str, value: Any) -> None:
            if not done.done():
                getattr(done, how)(value)

        self.slow.apply_async(checking.saved_check, (text, str(policy)),
                              callback=lambda found: loop.call_soon_threadsafe(settle, "set_result", found),
                              error_callback=lambda exc: loop.call_soon_threadsafe(settle, "set_exception", exc))
        return done

    def stop_workers(self) -> None:
        """End the worker process now (a solver may be minutes from done) and the typing thread."""
        if self.slow is not None:
            self.slow.terminate()
            self.slow = None
        self.typing.shutdown(wait=False, cancel_futures=True)

    def publish(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None = None) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


@functools.cache
def docs() -> str:
    """Where the docs are published (read once: the package's metadata is slow to read)."""
    from leadpolicy.governance.ci import docs_url

    return docs_url()


def is_samples(uri: str) -> bool:
    return uri.endswith(SAMPLES_SUFFIX)


def is_policy(doc: Document | None) -> bool:
    """Whether a document is a policy to check: a file NAME.policy, or an unsaved buffer the editor says is one
    (an editor may send other files it gives the language, a .samples.yml: those are left alone)."""
    return doc is not None and (doc.path is None or doc.path.name.endswith(POLICY_SUFFIX))


def policy_beside(samples: Path) -> Path:
    return samples.with_name(samples.name[: -len(SAMPLES_SUFFIX)] + POLICY_SUFFIX)


def file_of(doc: Document) -> str:
    return str(doc.path) if doc.path is not None else doc.uri


# ---------------------------------------------------------------- as you type


async def check_typing(ls: PolicyServer, uri: str) -> None:
    """Parse and check the open policy once the edits pause; publish unless a newer edit came meanwhile."""
    edit = ls.edits.get(uri, 0)
    await asyncio.sleep(DEBOUNCE)
    doc = ls.document_of(uri)
    if doc is None or ls.edits.get(uri, 0) != edit:
        return
    loop = asyncio.get_running_loop()
    try:
        diags = await loop.run_in_executor(ls.typing, checking.typing_diagnostics, doc.text, file_of(doc))
    except Exception as exc:  # noqa: BLE001  (a bug of the checker: said in the log, the editor keeps working)
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"checking failed: {exc!r}"))
        return
    if ls.edits.get(uri, 0) == edit:
        ls.publish(uri, [checking.lsp_diagnostic(d, doc.text, docs()) for d in diags], doc.version)


# ---------------------------------------------------------------- on save


async def check_saved(ls: PolicyServer, policy: Path) -> None:
    """All of `check` for a saved policy, coalesced: saves while one runs ask for one more (of the latest text)."""
    await ls.saves.run(str(policy), functools.partial(check_saved_once, ls, policy))


async def check_saved_once(ls: PolicyServer, policy: Path) -> None:
    """All of `check` for a saved policy, in the worker process; published for the policy and its samples file
    unless the policy was edited meanwhile."""
    uri = ls.uri_of(policy)
    text = await ls.text_of(policy)
    if text is None:
        return
    edit = ls.edits.get(uri, 0)
    try:
        found = await ls.in_worker(text, policy)
    except Exception as exc:  # noqa: BLE001  (a worker that died: say so, keep serving as-you-type diagnostics)
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"the saved check failed: {exc!r}"))
        return
    if ls.edits.get(uri, 0) != edit:
        return
    ls.saved[uri] = Saved(text, found)
    doc = ls.document_of(uri)
    if doc is not None:
        ls.publish(uri, [checking.lsp_diagnostic(d, text, docs()) for d in found.policy_diagnostics], doc.version)
    await publish_samples(ls, found)
    refresh_lenses(ls)


async def publish_samples(ls: PolicyServer, found: checking.SavedCheck) -> None:
    samples_text = await ls.text_of(found.samples_file)
    if samples_text is not None and found.samples_file.exists():
        ls.publish(ls.uri_of(found.samples_file), checking.samples_diagnostics(found, samples_text, docs()))


def refresh_lenses(ls: PolicyServer) -> None:
    """Ask the editor to fetch the lenses again, when it says it can."""
    workspace = ls.client_capabilities.workspace
    if workspace is not None and workspace.code_lens is not None and workspace.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


def policy_of(uri: str, doc: Document | None) -> Path | None:
    """The policy file a document's save concerns: itself, or the policy beside a samples file."""
    if doc is None or doc.path is None:
        return None
    path = policy_beside(doc.path) if is_samples(uri) else doc.path
    return path if path.name.endswith(POLICY_SUFFIX) and path.exists() else None


# ---------------------------------------------------------------- the features


async def did_open(ls: PolicyServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.edits[uri] = ls.edits.get(uri, 0) + 1
    if is_policy(ls.document_of(uri)):
        await check_typing(ls, uri)
    await on_saved(ls, uri)


async def did_change(ls: PolicyServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.edits[uri] = ls.edits.get(uri, 0) + 1
    if is_policy(ls.document_of(uri)):
        await check_typing(ls, uri)


async def did_save(ls: PolicyServer, params: types.DidSaveTextDocumentParams) -> None:
    await on_saved(ls, params.text_document.uri)


async def on_saved(ls: PolicyServer, uri: str) -> None:
    policy = policy_of(uri, ls.document_of(uri))
    if policy is not None:
        await check_saved(ls, policy)


def did_close(ls: PolicyServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.edits[uri] = ls.edits.get(uri, 0) + 1
    ls.saved.pop(uri, None)
    closed = ls.documents.pop(uri, None)
    if closed is not None:
        checking.forget(file_of(closed))
    ls.publish(uri, [])


def formatting(ls: PolicyServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    doc = ls.document_of(params.text_document.uri)
    if doc is None or not is_policy(doc):
        return None
    edits = outline.formatting_edits(doc.text, file_of(doc))
    if edits is None:
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Warning, "leadpolicy: the policy does not parse, so it cannot be formatted yet "
                                       "(the problems panel says where)"))
    return edits


def symbols(ls: PolicyServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
    doc = ls.document_of(params.text_document.uri)
    if doc is None or doc.policy is None:
        return None
    return outline.document_symbols(doc.text, doc.policy)


def folding(ls: PolicyServer, params: types.FoldingRangeParams) -> list[types.FoldingRange] | None:
    doc = ls.document_of(params.text_document.uri)
    if doc is None or doc.policy is None:
        return None
    return outline.folding_ranges(doc.text, doc.policy)


async def code_lens(ls: PolicyServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    """Lenses from the last saved check, while the text is still the one it checked."""
    doc = ls.document_of(params.text_document.uri)
    if doc is None or doc.path is None:
        return []
    if is_samples(doc.uri):
        saved = ls.saved.get(ls.uri_of(policy_beside(doc.path)))
        run = saved.found.run if saved is not None else None
        if run is None or not await asyncio.to_thread(unchanged, doc):  # a read may block: off the loop
            return []
        return lenses.case_lenses(run, doc.text)
    saved = ls.saved.get(doc.uri)
    if saved is None or saved.found.proved is None or saved.text != doc.text:
        return []
    return lenses.guarantee_lenses(saved.found.proved, saved.found.policy_diagnostics, doc.text)


def shutdown(ls: PolicyServer, params: None) -> None:
    ls.stop_workers()


def unchanged(doc: Document) -> bool:
    """Whether the editor's text of a file is the one saved (the last samples run read that one)."""
    return doc.path is not None and files.saved_text(doc.path) == doc.text


FEATURES: tuple[tuple[str, Any, Any], ...] = (
    (types.SHUTDOWN, shutdown, None),
    (types.TEXT_DOCUMENT_DID_OPEN, did_open, None),
    (types.TEXT_DOCUMENT_DID_CHANGE, did_change, None),
    (types.TEXT_DOCUMENT_DID_SAVE, did_save, None),
    (types.TEXT_DOCUMENT_DID_CLOSE, did_close, None),
    (types.TEXT_DOCUMENT_FORMATTING, formatting, None),
    (types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, symbols, None),
    (types.TEXT_DOCUMENT_FOLDING_RANGE, folding, None),
    (types.TEXT_DOCUMENT_CODE_LENS, code_lens, types.CodeLensOptions(resolve_provider=False)),
)


def build_server() -> PolicyServer:
    """A server with every feature registered (navigation's too); `start_io()` runs it over stdio."""
    server = PolicyServer()
    for name, handler, options in FEATURES:
        server.feature(name, options)(handler)
    navigation.register(server, server.document_of)
    return server
