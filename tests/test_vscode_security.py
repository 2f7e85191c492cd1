"""How the VS Code extension starts the language server, and what a workspace can make it run.

The server is started as VS Code's own client (vscode-languageclient) starts it: test/client.js activates
extension.js with the real LanguageClient (only `vscode` is a stand-in), so the arguments, working directory
and environment are the ones the client builds, and the server must answer `initialize` over them. In a
workspace the user has not trusted (VS Code's Workspace Trust), nothing the workspace holds may run: not a
program it ships (a relative path in the setting, a PATH entry inside it), nor a Python module at its root
(`python -m` puts the working directory first on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .components import require_node
from .test_vscode_extension import EXTENSION, Installed, install_extension

PYTHON_SERVER = [sys.executable, "-m", "leadpolicy", "lsp"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return install_extension(tmp_path_factory)


def started(installed: Installed, setting: Any, workspace: Path | None, trusted: bool,
            search_path: str = "", policy: Path | None = None) -> dict[str, Any]:
    """What VS Code's client spawns for the setting, and what the server answered (test/client.js): its
    capabilities, and the diagnostics it publishes for `policy` once opened."""
    result = installed.run("test/client.js", json.dumps(setting), str(workspace or ""), json.dumps(trusted),
                           search_path, str(policy or ""), timeout=120)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def activated(setting: Any, workspace: Path, trusted: bool, search_path: str = "",
              cwd: Path | None = None) -> dict[str, Any]:
    """What extension.js gives its language client (stand-ins for VS Code and the client: test/activate.js),
    run from `cwd` (VS Code started from a terminal in the workspace has it as its working directory)."""
    result = subprocess.run([str(require_node()), str(EXTENSION / "test" / "activate.js"), str(EXTENSION),
                             json.dumps(setting), search_path, str(workspace), json.dumps(trusted)],
                            cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def program_in(folder: Path) -> Path:
    """A `leadpolicy` a cloned repository could ship: it leaves a file behind when it runs."""
    program = folder / "leadpolicy"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(f"#!/bin/sh\ntouch '{folder / 'ran'}'\n", "utf-8")
    program.chmod(0o755)
    return program


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


# Workspace Trust: the program ---------------------------------------------------------------------------------

def test_an_untrusted_workspace_never_runs_a_program_named_by_a_relative_path(tmp_path: Path) -> None:
    """A relative path in the user's setting was taken from the workspace's first folder, trusted or not: a
    cloned repository's own .venv/bin/leadpolicy ran. Not trusted, the setting is refused, saying why."""
    workspace = tmp_path / "cloned"
    program_in(workspace / ".venv" / "bin")
    seen = activated([".venv/bin/leadpolicy", "lsp"], workspace, trusted=False)
    assert seen["clients"] == []
    (message,) = seen["errors"]
    assert ".venv/bin/leadpolicy" in message and "trust" in message and "leadpolicy.server.command" in message


def test_a_trusted_workspace_takes_a_relative_path_from_its_folder(tmp_path: Path) -> None:
    workspace = tmp_path / "mine"
    program = program_in(workspace / ".venv" / "bin")
    seen = activated([".venv/bin/leadpolicy", "lsp"], workspace, trusted=True)
    assert seen["errors"] == []
    assert [client["serverOptions"]["command"] for client in seen["clients"]] == [str(program)]


@pytest.mark.parametrize("where", ["relative", "inside"])
def test_an_untrusted_workspace_s_folder_on_path_is_passed_over(tmp_path: Path, where: str) -> None:
    """PATH as VS Code started from a terminal in the cloned repository has it: a relative entry (resolved from
    that working directory) or the workspace's own folder. The program is looked for elsewhere on PATH."""
    workspace = tmp_path / "cloned"
    program_in(workspace / "bin")
    installed_program = program_in(tmp_path / "installed")
    entry = "bin" if where == "relative" else str(workspace / "bin")
    seen = activated(["leadpolicy", "lsp"], workspace, trusted=False, cwd=workspace,
                     search_path=os.pathsep.join([entry, str(installed_program.parent)]))
    assert seen["errors"] == []
    assert [client["serverOptions"]["command"] for client in seen["clients"]] == [str(installed_program)]


def test_an_untrusted_workspace_never_runs_a_program_inside_it(tmp_path: Path) -> None:
    """Named in full in the user's settings, or the only one on PATH, a program inside a workspace not trusted
    is refused all the same (the message says what to do)."""
    workspace = tmp_path / "cloned"
    program = program_in(workspace / ".venv" / "bin")
    by_name = activated([str(program), "lsp"], workspace, trusted=False)
    on_path = activated(["leadpolicy", "lsp"], workspace, trusted=False, search_path=str(program.parent))
    for seen in (by_name, on_path):
        assert seen["clients"] == []
        (message,) = seen["errors"]
        assert str(program) in message and "trust" in message
    assert activated([str(program), "lsp"], workspace, trusted=True)["errors"] == []


# Workspace Trust: the server's Python ---------------------------------------------------------------------------

def hostile_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace with a yaml.py at its root (the server imports yaml), and the file it leaves when it runs."""
    workspace = tmp_path / "cloned"
    workspace.mkdir()
    marker = tmp_path / "ran"
    (workspace / "yaml.py").write_text(f"open({str(marker)!r}, 'w').write('the workspace ran')\n", "utf-8")
    return workspace, marker


def test_an_untrusted_workspace_s_python_files_never_run_in_the_server(installed: Installed,
                                                                       tmp_path: Path) -> None:
    """`python -m leadpolicy lsp` (a setting docs/editors.md offers) started in the workspace's folder put that
    folder first on sys.path: a cloned repository's yaml.py ran inside the server. Not trusted, the server starts
    outside the workspace and with PYTHONSAFEPATH=1, and answers all the same."""
    workspace, marker = hostile_workspace(tmp_path)
    policy = workspace / "broken.policy"
    policy.write_text('policy "x" version 1.0.0 {\n  title "X"\n  lead {\n    email text\n  }\n'
                      '  stages {\n    sql when nonexistent >= 3 owner sales\n  }\n}\n', "utf-8")
    seen = started(installed, PYTHON_SERVER, workspace, trusted=False, policy=policy)
    assert seen["errors"] == [], seen["stderr"]
    assert not marker.exists(), "the untrusted workspace's yaml.py ran in the language server"
    # the server works from outside the workspace: the policy opened in it gets check's diagnostics
    check = subprocess.run([*PYTHON_SERVER[:-1], "check", str(policy), "--format", "json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    want = {(d["code"], d["line"] - 1) for d in json.loads(check.stdout)["diagnostics"]}
    assert "unknown-name" in {code for code, _ in want}
    assert {(d["code"], d["range"]["start"]["line"]) for d in seen["diagnostics"]} == want
    assert seen["spawned"]["pythonSafePath"] == "1"
    assert not Path(seen["spawned"]["cwd"]).resolve().is_relative_to(workspace.resolve())


def test_a_trusted_workspace_s_server_runs_in_its_folder_without_its_python_files(installed: Installed,
                                                                                   tmp_path: Path) -> None:
    """Trusted, the server keeps the workspace's folder as its working directory (it reads the project's
    [tool.leadpolicy] settings from there), and still imports none of the workspace's modules."""
    workspace, marker = hostile_workspace(tmp_path)
    seen = started(installed, PYTHON_SERVER, workspace, trusted=True)
    assert seen["errors"] == [], seen["stderr"]
    assert seen["capabilities"]["hoverProvider"]
    assert not marker.exists(), "the workspace's yaml.py ran in the language server"
    assert seen["spawned"]["cwd"] == str(workspace) and seen["spawned"]["pythonSafePath"] == "1"
