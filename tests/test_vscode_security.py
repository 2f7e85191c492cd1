"""How the VS Code extension starts the language server, and what a workspace can make it run.

The server is started as VS Code's own client (vscode-languageclient) starts it: test/client.js activates
extension.js with the real LanguageClient (only `vscode` is a stand-in), so the arguments, working directory
and environment are the ones the client builds, and the server must answer `initialize` over them. In a
workspace the user has not trusted (VS Code's Workspace Trust), nothing the workspace holds may run: not a
program it ships (a relative path in the setting, a PATH entry inside it), nor a Python module at its root
(`python -m` puts the working directory first on sys.path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .test_vscode_extension import Installed, install_extension

PYTHON_SERVER = [sys.executable, "-m", "leadpolicy", "lsp"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return install_extension(tmp_path_factory)


def started(installed: Installed, setting: Any, workspace: Path | None, trusted: bool,
            search_path: str = "") -> dict[str, Any]:
    """What VS Code's client spawns for the setting, and what the server answered (test/client.js)."""
    result = installed.run("test/client.js", json.dumps(setting), str(workspace or ""), json.dumps(trusted),
                           search_path, timeout=120)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def lsp_messages(*messages: dict[str, Any]) -> bytes:
    bodies = [json.dumps({"jsonrpc": "2.0", **message}).encode() for message in messages]
    return b"".join(b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies)


def lsp_read(stream: bytes) -> list[dict[str, Any]]:
    """The messages in a server's output: each a header block with its Content-Length, then that many bytes."""
    messages = []
    while stream:
        header, _, rest = stream.partition(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in header.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        messages.append(json.loads(rest[:length]))
        stream = rest[length:]
    return messages


# The server as VS Code's client starts it ----------------------------------------------------------------------

def test_leadpolicy_lsp_takes_the_stdio_flag_a_language_client_may_add() -> None:
    """vscode-languageclient appends --stdio to a stdio command's arguments (so may any client): `leadpolicy lsp
    --stdio` was bad usage (exit 2), and the extension never had a server."""
    stdin = lsp_messages({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None,
                                                                     "capabilities": {}}},
                         {"id": 2, "method": "shutdown"}, {"method": "exit"})
    done = subprocess.run([*PYTHON_SERVER, "--stdio"], input=stdin, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    answers = {answer.get("id"): answer for answer in lsp_read(done.stdout)}
    assert "capabilities" in answers[1]["result"] and answers[2]["result"] is None
    usage = subprocess.run([*PYTHON_SERVER, "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "--stdio" in usage.stdout


def test_vs_code_s_client_starts_a_server_that_answers(installed: Installed, tmp_path: Path) -> None:
    """The default setting, found on PATH, spawned by the real client: it adds --stdio, and the server answers."""
    workspace = tmp_path / "project"
    workspace.mkdir()
    seen = started(installed, None, workspace, trusted=True, search_path=str(Path(sys.executable).parent))
    assert seen["errors"] == [], seen["stderr"]
    assert seen["spawned"]["command"] == str(Path(sys.executable).parent / "leadpolicy")
    assert seen["spawned"]["args"] == ["lsp", "--stdio"]  # the client's own argument building
    assert seen["capabilities"]["hoverProvider"] and seen["capabilities"]["documentFormattingProvider"]
    assert seen["exitCode"] == 0, seen["stderr"]
