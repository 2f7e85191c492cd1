"""`leadpolicy lsp` against hostile files and clients, over stdio with a bare JSON-RPC client (so a server that
hangs or grows is seen and killed, never waited on): a samples file that is a FIFO or a link to /dev/zero, a
request with invalid params, a burst of saves, a policy over check's size cap, the project's coverage floor, a
file that is neither a policy nor its samples file."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from .conftest import POLICIES

ANSWER = 10.0  # seconds a request may take on a loaded machine
MAX_RSS_KB = 1_500_000  # the server is killed past this (a file read whole grows it without end)


class Stdio:
    """A server process and a thread reading its messages into a queue."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "leadpolicy", "lsp"], cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.next_id = 0
        self.peak_rss_kb = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._watch_memory, daemon=True).start()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline().strip()) != b"":
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not length:
                self.messages.put(None)
                return
            self.messages.put(json.loads(out.read(length)))

    def _watch_memory(self) -> None:
        while self.process.poll() is None:
            try:
                status = Path(f"/proc/{self.process.pid}/status").read_text()
            except OSError:
                return
            rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            if rss > MAX_RSS_KB:
                self.process.kill()
                return
            time.sleep(0.05)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = ANSWER) -> dict[str, Any] | None:
        """The answer to a request, None when none came in time (or the server ended)."""
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.answer(self.next_id, timeout)

    def answer(self, request_id: int, timeout: float) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                return None
            if message is None:
                return None
            self.seen.append(message)
            if message.get("id") == request_id and "method" not in message:
                return message
        return None

    def wait_for(self, wanted: Any, timeout: float) -> bool:
        """Whether a notification for which `wanted(message)` holds came within `timeout` seconds."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                return False
            if message is None:
                return False
            self.seen.append(message)
            if wanted(message):
                return True
        return False

    def start(self, root: Path) -> None:
        assert self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(), "capabilities": {}})
        self.notify("initialized", {})

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "leadpolicy", "version": 1,
            "text": path.read_text(encoding="utf-8") if text is None else text}})
        return uri

    def stop(self) -> None:
        if self.process.poll() is None:
            self.request("shutdown", None, 5.0)
            self.notify("exit", None)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    stdio = Stdio(tmp_path)
    stdio.start(tmp_path)
    yield stdio
    stdio.stop()


def symbols_of(server: Stdio, uri: str) -> dict[str, Any] | None:
    return server.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})


def saved_check_of(uri: str) -> Any:
    """A publication of the saved check's diagnostics for the policy (the solver's `never-true` of inbound-b2b:
    the check as you type never gives it)."""
    def wanted(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        return (message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri
                and any(d.get("code") == "never-true" for d in params.get("diagnostics", [])))
    return wanted


def policy_in(folder: Path) -> Path:
    shutil.copy(POLICIES / "inbound-b2b.policy", folder)
    return folder / "inbound-b2b.policy"


# ---------------------------------------------------------------- the samples file beside an open policy


def test_a_samples_file_that_is_a_fifo_never_blocks_the_server(server: Stdio, tmp_path: Path) -> None:
    """A checkout may hold anything at NAME.samples.yaml; `check` refuses a file that is not a regular one
    unread, where the server read it whole on the event loop after the saved check (blocked for ever)."""
    policy = policy_in(tmp_path)
    os.mkfifo(tmp_path / "inbound-b2b.samples.yaml")
    uri = server.open(policy)
    server.wait_for(saved_check_of(uri), 120)  # the samples file is read right after
    answer = symbols_of(server, uri)
    assert answer is not None and answer["result"], "the server stopped answering"


def test_a_samples_file_linked_to_dev_zero_is_not_read(server: Stdio, tmp_path: Path) -> None:
    """A link to /dev/zero checked in beside a policy: the server read it whole (10 GB in 20 s, unanswering)."""
    policy = policy_in(tmp_path)
    (tmp_path / "inbound-b2b.samples.yaml").symlink_to("/dev/zero")
    uri = server.open(policy)
    server.wait_for(saved_check_of(uri), 120)  # the samples file is read right after
    answer = symbols_of(server, uri)
    assert server.peak_rss_kb < MAX_RSS_KB, f"the server grew to {server.peak_rss_kb} kB"
    assert answer is not None and answer["result"], "the server stopped answering"


# ---------------------------------------------------------------- the protocol


@pytest.mark.parametrize("params", [
    {"textDocument": {"uri": "file:///x.policy"}, "position": {"line": -1, "character": 0}},
    {"textDocument": {"uri": "file:///x.policy"}},
    None,
], ids=["negative line", "no position", "no params"])
def test_a_request_with_invalid_params_is_answered_with_an_error(server: Stdio, params: Any) -> None:
    """JSON-RPC: a request whose params do not fit is answered with InvalidParams (-32602); the server
    answered nothing at all, so an editor waits on it for ever."""
    answer = server.request("textDocument/hover", params)
    assert answer is not None, "no answer"
    assert answer.get("error", {}).get("code") == -32602



def messages_in(stream: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a stdio stream (each `Content-Length: N`, headers, a blank line, N bytes)."""
    found = []
    while stream:
        head, _, rest = stream.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        found.append(json.loads(rest[:length]))
        stream = rest[length:]
    return found


def test_a_request_with_invalid_params_leaves_no_traceback() -> None:
    """The refusal is an answer, not a failure: nothing of it is written on standard error."""
    messages = [{"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}},
                {"method": "initialized", "params": {}},
                {"id": 2, "method": "textDocument/hover", "params": {"textDocument": {"uri": "file:///x.policy"}}},
                {"id": 3, "method": "shutdown"}, {"method": "exit"}]
    bodies = [json.dumps({"jsonrpc": "2.0", **m}).encode() for m in messages]
    done = subprocess.run([sys.executable, "-m", "leadpolicy", "lsp"], capture_output=True, timeout=60,
                          input=b"".join(b"Content-Length: %d\r\n\r\n" % len(b) + b for b in bodies))
    answers = messages_in(done.stdout)
    assert [a.get("error", {}).get("code") for a in answers if a.get("id") == 2] == [-32602]
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode(errors="replace")

# ---------------------------------------------------------------- saves


def untested_for(uri: str, version: int) -> Any:
    """A publication of the saved check's diagnostics (`untested`: no samples file) for that version."""
    def wanted(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        return (message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri
                and params.get("version") == version
                and any(d.get("code") == "untested" for d in params.get("diagnostics", [])))
    return wanted


def test_a_burst_of_saves_checks_the_last_text_without_queueing_one_check_per_save(server: Stdio,
                                                                                tmp_path: Path) -> None:
    """An editor saving after each pause in typing (autosave) sends a save per edit; each saved check of a
    text edited since is dropped when it ends, but every one still ran, one after the other, before the last:
    after ten saves the last text's check came ~30 times later than after one (12.5 s against 0.4 s here,
    the solver's time-outs would make it minutes). Stale checks should be skipped, not run."""
    source = Path(__file__).resolve().parent.parent / "examples" / "slow.policy"
    policy = tmp_path / "slow.policy"
    text = source.read_text(encoding="utf-8")
    policy.write_text(text, encoding="utf-8")
    uri = server.open(policy)
    assert server.wait_for(untested_for(uri, 1), 120), "the first saved check never came"
    started = time.monotonic()
    policy.write_text(text + "\n#", encoding="utf-8")
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": text + "\n#"}]})
    server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert server.wait_for(untested_for(uri, 2), 120)
    one = time.monotonic() - started
    version = 2
    for _ in range(10):
        version += 1
        edited = text + "\n#" * version
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": edited}]})
        policy.write_text(edited, encoding="utf-8")
        server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        time.sleep(0.05)
    started = time.monotonic()
    assert server.wait_for(untested_for(uri, version), 120), "the last saved check never came"
    burst = time.monotonic() - started
    assert burst < 3 * one + 2.0, f"one save: {one:.2f} s; the last of ten: {burst:.2f} s"



def test_saves_during_a_saved_check_run_one_more_check_not_one_each() -> None:
    """One check runs per policy at a time; saves meanwhile ask for one more, which reads the latest text; the
    checks of another policy are not held up."""
    import asyncio

    from leadpolicy.lsp.saving import Coalesced

    runs: list[tuple[str, str]] = []
    text = ["v1"]

    def check(policy: str) -> Callable[[], Awaitable[None]]:
        async def once() -> None:
            runs.append((policy, text[0]))
            await asyncio.sleep(0.05)
        return once

    async def burst() -> Coalesced:
        saves = Coalesced()
        first = asyncio.create_task(saves.run("a.policy", check("a.policy")))
        await asyncio.sleep(0.01)
        for version in range(2, 12):
            text[0] = f"v{version}"
            await saves.run("a.policy", check("a.policy"))
        await saves.run("b.policy", check("b.policy"))
        await first
        return saves

    saves = asyncio.run(burst())
    assert [text for policy, text in runs if policy == "a.policy"] == ["v1", "v11"]
    assert [text for policy, text in runs if policy == "b.policy"] == ["v11"]
    assert saves.running == set() and saves.pending == set()

# ---------------------------------------------------------------- a text over check's cap


def test_a_policy_over_check_s_size_cap_gets_check_s_diagnostic(server: Stdio, tmp_path: Path) -> None:
    """`check` refuses a policy over 10 MiB unread (`unreadable-file: larger than 10 MiB`); the server parsed and
    checked the same text and published `untested` and `never-true` (not what CI says) after 9 s of work."""
    from leadpolicy.language.sources import MAX_SOURCE_BYTES

    policy = policy_in(tmp_path)
    text = policy.read_text(encoding="utf-8")
    text += "\n" + ("# " + "x" * 98 + "\n") * (MAX_SOURCE_BYTES // 100 + 10)
    policy.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "leadpolicy", "check", str(policy), "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    said_by_check = {d["code"] for d in json.loads(done.stdout)["diagnostics"]}
    uri = server.open(policy, text)
    codes: set[str] = set()

    def settled(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        if message.get("method") != "textDocument/publishDiagnostics" or params.get("uri") != uri:
            return False
        codes.clear()
        codes.update(str(d.get("code")) for d in params.get("diagnostics", []))
        return bool(codes & {"untested", "unreadable-file"})

    assert server.wait_for(settled, 120), "nothing published"
    assert codes == said_by_check


# ---------------------------------------------------------------- the project's settings


def test_the_coverage_floor_of_pyproject_is_said_as_check_says_it(tmp_path: Path) -> None:
    """`[tool.leadpolicy] min-coverage` (which `leadpolicy init` writes, at 90) makes `check` fail a policy whose
    samples cover less (`low-coverage`); the server's saved check never read it, so the editor showed no error
    where CI fails. Here the floor is 95 and the reference's samples cover 91.7%."""
    project = tmp_path / "project"
    (project / "policies").mkdir(parents=True)
    policy = policy_in(project / "policies")
    shutil.copy(POLICIES / "inbound-b2b.samples.yaml", project / "policies")
    (project / "pyproject.toml").write_text('[tool.leadpolicy]\npaths = ["policies"]\nmin-coverage = 95\n', "utf-8")
    done = subprocess.run([sys.executable, "-m", "leadpolicy", "check", str(policy), "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=project)
    by_check = {d["code"] for d in json.loads(done.stdout)["diagnostics"] if Path(d["file"]).name == policy.name}
    assert "low-coverage" in by_check  # the premise: check says it
    server = Stdio(project)
    try:
        server.start(project)
        uri = server.open(policy)
        codes: set[str] = set()

        def saved(message: dict[str, Any]) -> bool:
            params = message.get("params") or {}
            if message.get("method") != "textDocument/publishDiagnostics" or params.get("uri") != uri:
                return False
            codes.clear()
            codes.update(str(d.get("code")) for d in params.get("diagnostics", []))
            return "never-true" in codes  # the solver's: published only by the saved check

        assert server.wait_for(saved, 120), "the saved check never came"
        assert codes == by_check
    finally:
        server.stop()


# ---------------------------------------------------------------- code lenses of a samples file


def test_the_lenses_of_a_samples_file_linked_to_dev_zero_do_not_read_it(server: Stdio, tmp_path: Path) -> None:
    """The lenses of a samples file show while the editor's text is the saved one: the server compared it with
    the file read whole (a link to /dev/zero grew it without end, the request never answered)."""
    policy = policy_in(tmp_path)
    samples = tmp_path / "inbound-b2b.samples.yaml"
    samples.symlink_to("/dev/zero")
    uri = server.open(policy)
    samples_uri = server.open(samples, "cases: []\n")
    server.wait_for(saved_check_of(uri), 120)
    answer = server.request("textDocument/codeLens", {"textDocument": {"uri": samples_uri}})
    assert server.peak_rss_kb < MAX_RSS_KB, f"the server grew to {server.peak_rss_kb} kB"
    assert answer is not None and answer.get("result") == [], answer


# ---------------------------------------------------------------- files that are not policies


def test_a_file_neither_a_policy_nor_its_samples_is_not_checked(server: Stdio, tmp_path: Path) -> None:
    """An editor may send any file it gives the language (`x.samples.yml`, a `.txt`): the server checked it as a
    policy, so YAML got a syntax-error. A file of neither kind gets no diagnostics at all; a policy opened after
    it still gets its own, so the server had its turn to publish."""
    other = tmp_path / "inbound-b2b.samples.yml"
    other.write_text("cases:\n  - name: a\n    lead: {employees: 10}\n", encoding="utf-8")
    other_uri = server.open(other)
    policy = policy_in(tmp_path)
    uri = server.open(policy)

    def published(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        return message.get("method") == "textDocument/publishDiagnostics" and params.get("uri") == uri

    assert server.wait_for(published, 120), "the policy's diagnostics never came"
    assert server.wait_for(saved_check_of(uri), 120), "the saved check never came"
    about_other = [m for m in server.seen if m.get("method") == "textDocument/publishDiagnostics"
                   and m["params"]["uri"] == other_uri and m["params"]["diagnostics"]]
    assert about_other == []


def test_the_project_floor_is_the_nearest_leadpolicy_table_s(tmp_path: Path) -> None:
    """As the command line finds its settings: past a pyproject.toml of another tool, and none from settings the
    command line refuses (it says why; the editor shows no floor rather than a wrong one)."""
    from leadpolicy.testing.coverage_floor import project_floor

    inner = tmp_path / "policies"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")
    assert project_floor(inner) is None
    (tmp_path / "pyproject.toml").write_text("[tool.leadpolicy]\nmin-coverage = 85\n", encoding="utf-8")
    assert project_floor(inner) == 85.0
    for refused in ("150", "true", '"90"'):
        (tmp_path / "pyproject.toml").write_text(f"[tool.leadpolicy]\nmin-coverage = {refused}\n", encoding="utf-8")
        assert project_floor(inner) is None, refused
