"""The VS Code extension (editors/vscode): its TextMate grammar is the one generated from the language's Lark
grammar; it packages as a .vsix with the official tool (@vscode/vsce, from the npm registry); and the engine VS
Code uses (vscode-textmate on vscode-oniguruma) highlights the reference policies as the project's own parser
reads them: keywords as keywords, texts as texts, comments as comments, numbers as numbers, and nothing inside a
text or a comment as a keyword."""

from __future__ import annotations

import functools
import getpass
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from xml.etree import ElementTree

import pytest
from lark import Lark, Token
from lark.lexer import PatternStr

from .components import require_node, require_npm

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "editors" / "vscode"
LARK_GRAMMAR = ROOT / "grammar" / "leadpolicy.lark"
TEXTMATE_GRAMMAR = EXTENSION / "syntaxes" / "leadpolicy.tmLanguage.json"
REFERENCE_POLICIES = sorted([*(ROOT / "policies").glob("*.policy"), *(ROOT / "examples").glob("*.policy"),
                             *Path("/work/shared/design/examples").glob("*.policy")])
# npm's downloads, kept between runs so that only the first one needs the registry for long
NPM_CACHE = Path(tempfile.gettempdir()) / f"leadpolicy-npm-cache-{getpass.getuser()}"
NPM_PATIENCE = 300.0
VSIX_NS = {"m": "http://schemas.microsoft.com/developer/vsx-schema/2011"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_grammar", EXTENSION / "generate_grammar.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def committed_grammar() -> dict[str, Any]:
    grammar: dict[str, Any] = json.loads(TEXTMATE_GRAMMAR.read_text("utf-8"))
    return grammar


def package_json() -> dict[str, Any]:
    package: dict[str, Any] = json.loads((EXTENSION / "package.json").read_text("utf-8"))
    return package


# The grammar and the manifest, without Node ----------------------------------------------------------------

def test_the_committed_textmate_grammar_is_the_one_generated_from_the_lark_grammar():
    make = generator()
    assert json.loads(make.render(make.build_grammar(LARK_GRAMMAR))) == committed_grammar(), \
        "run python editors/vscode/generate_grammar.py"
    assert make.main(["--check"]) == 0


def test_the_generator_check_fails_on_a_stale_grammar(tmp_path):
    stale = tmp_path / "stale.json"
    stale.write_text(TEXTMATE_GRAMMAR.read_text("utf-8").replace("guarantees|", ""), "utf-8")
    assert generator().main(["--check", "--output", str(stale)]) == 1


def keyword_regexes(grammar: dict[str, Any]) -> list[re.Pattern[str]]:
    """The regexes that scope a word as a keyword: whole patterns named keyword.*, and phrases' captures."""
    found = []
    for pattern in grammar["patterns"]:
        named_keyword = pattern.get("name", "").startswith("keyword.")
        captures_keyword = any(c["name"].startswith("keyword.") for c in pattern.get("captures", {}).values())
        if "match" in pattern and (named_keyword or captures_keyword):
            found.append(re.compile(pattern["match"]))
    return found


def test_a_keyword_added_to_the_language_reaches_highlighting(tmp_path):
    lark_text = LARK_GRAMMAR.read_text("utf-8")
    assert 'title: "title" STRING\n' in lark_text
    changed = tmp_path / "leadpolicy.lark"
    changed.write_text(lark_text.replace('title: "title" STRING\n', 'title: "title" STRING | "subtitle" STRING\n'))
    before = keyword_regexes(generator().build_grammar(LARK_GRAMMAR))
    after = keyword_regexes(generator().build_grammar(changed))
    line = 'subtitle "Inbound"'
    assert not any(r.match(line) for r in before)
    assert any(r.match(line) for r in after)


def test_the_manifest_contributes_the_language_its_grammar_and_the_server_command():
    package = package_json()
    (language,) = package["contributes"]["languages"]
    (grammar,) = package["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "leadpolicy" and language["extensions"] == [".policy"]
    assert (EXTENSION / grammar["path"]).resolve() == TEXTMATE_GRAMMAR
    assert grammar["scopeName"] == committed_grammar()["scopeName"]
    assert (EXTENSION / language["configuration"]).is_file() and (EXTENSION / package["main"]).is_file()
    setting = package["contributes"]["configuration"]["properties"]["leadpolicy.server.command"]
    assert setting["default"] == ["leadpolicy", "lsp"]
    assert "onLanguage:leadpolicy" in package["activationEvents"]
    # a workspace's settings never choose the program an untrusted workspace runs
    assert "leadpolicy.server.command" in package["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"]


def test_the_language_configuration_comments_and_brackets_are_the_grammars():
    config = json.loads((EXTENSION / "language-configuration.json").read_text("utf-8"))
    parser = lark_grammar()
    comment = str(parser.get_terminal("COMMENT").pattern.value)
    assert re.fullmatch(comment, config["comments"]["lineComment"] + " a comment")
    words = {t.pattern.value for t in parser.terminals if isinstance(t.pattern, PatternStr)}
    pairs = {tuple(pair) for pair in config["brackets"]}
    assert pairs == {(o, c) for o, c in (("{", "}"), ("(", ")"), ("[", "]")) if o in words and c in words}
    closing = {(p["open"], p["close"]) for p in config["autoClosingPairs"]}
    assert pairs | {('"', '"')} <= closing


def fenced(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page, re.S)


def test_the_editors_page_configures_each_editor_as_the_extension_does():
    page = (ROOT / "docs" / "editors.md").read_text("utf-8")
    package = package_json()
    config = json.loads((EXTENSION / "language-configuration.json").read_text("utf-8"))
    settings = [json.loads(block) for block in fenced(page, "json")]
    assert settings and all(set(s) <= set(package["contributes"]["configuration"]["properties"]) for s in settings)
    (helix,) = [tomllib.loads(block) for block in fenced(page, "toml")]
    server = helix["language-server"]["leadpolicy"]
    languages = {language["name"]: language for language in helix["language"]}
    language = languages["leadpolicy"]
    assert [server["command"], *server["args"]] == ["leadpolicy", "lsp"]
    assert language["file-types"] == [ext.lstrip(".") for ext in package["contributes"]["languages"][0]["extensions"]]
    assert language["comment-token"] == config["comments"]["lineComment"]
    assert all(each["language-servers"] == ["leadpolicy"] for each in languages.values())
    for lua in fenced(page, "lua"):
        assert 'policy = "leadpolicy"' in lua and 'cmd = { "leadpolicy", "lsp" }' in lua
    assert f"code --install-extension {package['name']}-{package['version']}.vsix" in page
    assert "(lsp.md)" in page


# With Node.js and npm -----------------------------------------------------------------------------------------

@dataclass
class Installed:
    """A copy of the extension with its packages installed, and how to run node in it."""

    folder: Path
    node: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = NPM_PATIENCE) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.node), *args], cwd=self.folder, env=self.env, capture_output=True,
                              text=True, timeout=timeout)


def npm_on_path(folder: Path, node: Path, npm_cli: Path) -> Path:
    """A folder holding an `npm` that runs `npm_cli` with `node`: vsce runs `npm` from PATH, and the wheel's own
    bin/npm cannot find npm's code (it is a copy where npm expects a link)."""
    folder.mkdir(exist_ok=True)
    script = folder / "npm"
    script.write_text(f'#!/bin/sh\nexec "{node}" "{npm_cli}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / "npm.cmd").write_text(f'@"{node}" "{npm_cli}" %*\r\n')
    return folder


def unavailable(reason: str) -> None:
    """Skip (fail under CI=true, which must run everything) when the registry or npm is not there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true runs every test)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return install_extension(tmp_path_factory)


def install_extension(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A copy of the extension with `npm ci` run in it (skips, or fails under CI=true, without npm's registry)."""
    node, npm_cli = require_node(), require_npm()
    work = tmp_path_factory.mktemp("vscode")
    folder = work / "extension"
    shutil.copytree(EXTENSION, folder, ignore=shutil.ignore_patterns("node_modules", "*.vsix", "__pycache__"))
    shims = npm_on_path(work / "bin", node, npm_cli)
    env = {**os.environ, "PATH": os.pathsep.join([str(shims), str(node.parent), os.environ.get("PATH", "")]),
           "npm_config_cache": str(NPM_CACHE), "npm_config_update_notifier": "false",
           "npm_config_audit": "false", "npm_config_fund": "false"}
    extension = Installed(folder, node, env)
    try:
        result = extension.run(str(npm_cli), "ci", "--prefer-offline", "--no-audit", "--no-fund")
    except subprocess.TimeoutExpired:
        unavailable(f"npm ci took over {NPM_PATIENCE:.0f} s (is the npm registry reachable?)")
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        unavailable(f"npm ci failed (is the npm registry reachable?): {last}")
    return extension


def vsix_manifest(vsix: zipfile.ZipFile) -> ElementTree.Element:
    return ElementTree.fromstring(vsix.read("extension.vsixmanifest"))


def test_the_extension_packages_as_a_vsix_with_the_official_tool(installed: Installed):
    package = package_json()
    out = installed.folder.parent / "leadpolicy.vsix"
    result = installed.run("node_modules/@vscode/vsce/vsce", "package", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert zipfile.is_zipfile(out)
    with zipfile.ZipFile(out) as vsix:
        names = set(vsix.namelist())
        identity = vsix_manifest(vsix).find("m:Metadata/m:Identity", VSIX_NS)
        packaged = json.loads(vsix.read("extension/package.json"))
        packaged_grammar = json.loads(vsix.read("extension/syntaxes/leadpolicy.tmLanguage.json"))
    assert identity is not None
    assert (identity.get("Id"), identity.get("Version"), identity.get("Publisher")) == \
        (package["name"], package["version"], package["publisher"])
    assert (packaged["name"], packaged["contributes"]) == (package["name"], package["contributes"])
    assert packaged_grammar == committed_grammar()
    assert {"extension/extension.js", "extension/server-command.js", "extension/language-configuration.json",
            "extension/node_modules/vscode-languageclient/package.json",
            "extension/node_modules/vscode-languageclient/lib/node/main.js"} <= names
    # the tests' and the generator's tools stay out
    assert not any(n.startswith(("extension/node_modules/@vscode/vsce/", "extension/node_modules/vscode-textmate/",
                                 "extension/test/")) or n.endswith(".py") for n in names)


def test_the_server_command_is_found_or_named_in_a_message(installed: Installed, tmp_path: Path):
    program = tmp_path / "bin" / "leadpolicy"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    script = tmp_path / "resolve.js"
    script.write_text(
        "const {resolveCommand} = require(process.argv[2]);\n"
        "const env = {PATH: process.argv[3]};\n"
        "const out = [undefined, ['leadpolicy', 'lsp'], ['nowhere-leadpolicy', 'lsp'], [], 'leadpolicy lsp',"
        " [process.argv[4], 'lsp', '--verbose']].map((c) => resolveCommand(c, {env, platform: 'linux', cwd: '/'}));\n"
        "out.push(resolveCommand(['bin/leadpolicy', 'lsp'], {env: {PATH: ''}, platform: 'linux',"
        " cwd: process.argv[5]}));\n"
        "process.stdout.write(JSON.stringify(out));\n")
    result = installed.run(str(script), str(installed.folder / "server-command.js"), str(program.parent),
                           str(program), str(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    default, named, missing, empty, text, full_path, relative = json.loads(result.stdout)
    assert relative == {"program": str(program), "args": ["lsp"]}  # from the workspace's folder
    assert default == named == {"program": str(program), "args": ["lsp"]}
    assert "nowhere-leadpolicy" in missing["error"] and "leadpolicy.server.command" in missing["error"]
    assert "leadpolicy.server.command" in empty["error"] and "leadpolicy.server.command" in text["error"]
    assert full_path == {"program": str(program), "args": ["lsp", "--verbose"]}


def activate(installed: Installed, setting: Any, search_path: Path) -> dict[str, Any]:
    """What extension.js does on activation, with stand-ins for VS Code and its language client."""
    result = installed.run("test/activate.js", str(installed.folder), json.dumps(setting), str(search_path),
                           timeout=60)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def test_the_extension_starts_the_configured_command_over_stdio(installed: Installed, tmp_path: Path):
    program = tmp_path / "leadpolicy"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    seen = activate(installed, None, tmp_path)
    assert seen["errors"] == [] and "leadpolicy.restartServer" in seen["commands"]
    (client,) = seen["clients"]
    assert client["serverOptions"]["command"] == str(program) and client["serverOptions"]["args"] == ["lsp"]
    assert client["serverOptions"]["transport"] == 0  # TransportKind.stdio
    assert {"scheme": "file", "language": "leadpolicy"} in client["documentSelector"]


def test_the_extension_says_how_to_install_leadpolicy_when_it_is_missing(installed: Installed, tmp_path: Path):
    seen = activate(installed, ["leadpolicy", "lsp"], tmp_path)  # an empty folder: no leadpolicy on PATH
    assert seen["clients"] == []
    (message,) = seen["errors"]
    assert '"leadpolicy" was not found' in message and "pip install leadpolicy" in message
    assert "leadpolicy.server.command" in message


def test_the_server_started_as_the_extension_does_gives_checks_diagnostics(installed: Installed, tmp_path: Path):
    policy = tmp_path / "broken.policy"
    policy.write_text('policy "x" version 1.0.0 {\n  title "X"\n  lead {\n    email text\n  }\n'
                      '  stages {\n    sql when nonexistent >= 3 owner sales\n  }\n}\n')
    # the setting as a virtual environment's user writes it: the program in full, no PATH needed
    setting = [sys.executable, "-m", "leadpolicy", "lsp"]
    result = installed.run("test/handshake.js", json.dumps(setting), str(tmp_path / "empty"), str(policy),
                           timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    check = subprocess.run([sys.executable, "-m", "leadpolicy", "check", str(policy), "--format", "json"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 1, check.stderr
    want = {(d["code"], d["line"] - 1, d["column"] - 1) for d in json.loads(check.stdout)["diagnostics"]}
    got = {(d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"]) for d in out["diagnostics"]}
    assert "unknown-name" in {code for code, _, _ in want} and got == want
    assert out["capabilities"]["hoverProvider"] and out["capabilities"]["documentFormattingProvider"]


# Tokenizing the reference policies ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """A parser token's place in the file: 0-based line, UTF-16 columns as VS Code counts them."""

    kind: str
    text: str
    line: int
    start: int
    end: int


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@functools.lru_cache(maxsize=1)
def lark_grammar() -> Lark:
    return Lark(LARK_GRAMMAR.read_text("utf-8"), parser="lalr")


@functools.lru_cache(maxsize=1)
def collecting_parser() -> tuple[Lark, list[Token]]:
    """The project's grammar, with a list that receives every token it reads (comments too)."""
    tokens: list[Token] = []

    def keep(token: Token) -> Token:
        tokens.append(token)
        return token

    names = [t.name for t in lark_grammar().terminals]
    callbacks = {n: keep for n in [*names, "COMMENT"]}
    return Lark(LARK_GRAMMAR.read_text("utf-8"), parser="lalr", lexer_callbacks=callbacks), tokens


def parser_tokens(source: str) -> list[Span]:
    """Every token the project's grammar reads in `source` (comments too), in its own terminal kinds."""
    parser, read = collecting_parser()
    read.clear()
    parser.parse(source)
    tokens = list(read)
    lines = source.split("\n")
    spans = []
    for token in tokens:
        line = (token.line or 1) - 1
        column = (token.column or 1) - 1
        before = utf16_length(lines[line][:column])
        spans.append(Span(token.type, str(token), line, before, before + utf16_length(str(token))))
    return spans


def keyword_kinds() -> dict[str, str]:
    return {t.name: t.pattern.value for t in lark_grammar().terminals
            if isinstance(t.pattern, PatternStr) and re.fullmatch(r"[a-z][a-z/]*", t.pattern.value)}


@pytest.fixture(scope="module")
def highlighted(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Any]]:
    """Each reference policy (copied into tmp): its text and VS Code's tokens for it, line by line."""
    folder = tmp_path_factory.mktemp("policies")
    copies = []
    for i, policy in enumerate(REFERENCE_POLICIES):
        copy = folder / f"{i}-{policy.name}"
        shutil.copyfile(policy, copy)
        copies.append(copy)
    result = installed.run("test/tokenize.js", str(installed.folder / "syntaxes" / "leadpolicy.tmLanguage.json"),
                           *map(str, copies), timeout=120)
    assert result.returncode == 0, result.stderr
    lines = json.loads(result.stdout)
    return {copy.name: (copy.read_text("utf-8"), lines[str(copy)]) for copy in copies}


def scopes_over(lines: list[list[dict[str, Any]]], span: Span) -> list[list[str]]:
    """The scopes of each VS Code token that overlaps `span`."""
    return [t["scopes"] for t in lines[span.line] if t["start"] < span.end and t["end"] > span.start]


def every_scope(lines: list[list[dict[str, Any]]], span: Span, wanted: Callable[[str], bool]) -> bool:
    found = scopes_over(lines, span)
    return bool(found) and all(any(wanted(scope) for scope in scopes) for scopes in found)


def is_keyword_scope(word: str) -> Callable[[str], bool]:
    # the grammar's literals yes and no are constants, as true and false are in other languages
    if word in ("yes", "no"):
        return lambda scope: scope.startswith(("keyword.", "constant.language."))
    return lambda scope: scope.startswith("keyword.")


NUMERIC_KINDS = ("NUMBER", "DATE", "TIME", "VERSION")
# A name is never a keyword in the reference policies: a word the grammar writes only in a phrase (`email` in
# `by email domain`, `last` in `in last`) is highlighted only in it, so a field called email stays a name.
NAME_KINDS = ("NAME", "TEAM_NAME")


def misread(source: str, lines: list[list[dict[str, Any]]]) -> list[str]:
    """Each parser token VS Code scopes otherwise than the parser reads it."""
    keywords = keyword_kinds()
    wrong = []
    for span in parser_tokens(source):
        if span.kind in keywords:
            ok = every_scope(lines, span, is_keyword_scope(span.text))
        elif span.kind == "STRING":
            ok = every_scope(lines, span, lambda scope: scope.startswith("string."))
        elif span.kind == "COMMENT":
            ok = every_scope(lines, span, lambda scope: scope.startswith("comment."))
        elif span.kind in NUMERIC_KINDS:
            ok = every_scope(lines, span, lambda scope: scope.startswith("constant.numeric."))
        elif span.kind == "COMPARE":
            ok = every_scope(lines, span, lambda scope: scope.startswith("keyword.operator."))
        elif span.kind in NAME_KINDS:
            ok = not any(scope.startswith("keyword.") for scopes in scopes_over(lines, span) for scope in scopes)
        else:
            continue
        if not ok:
            wrong.append(f"{span.line + 1}:{span.start + 1} {span.kind} {span.text!r}: "
                         f"{scopes_over(lines, span)}")
    return wrong


def test_there_are_reference_policies_to_tokenize():
    assert len(REFERENCE_POLICIES) >= 3
    kinds = {span.kind for policy in REFERENCE_POLICIES for span in parser_tokens(policy.read_text("utf-8"))}
    assert {"STRING", "COMMENT", "NUMBER", "DATE", "TIME", "VERSION"} <= kinds


@pytest.mark.parametrize("policy", REFERENCE_POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vs_code_highlights_a_reference_policy_as_the_parser_reads_it(highlighted, policy: Path):
    source, lines = highlighted[f"{REFERENCE_POLICIES.index(policy)}-{policy.name}"]
    assert misread(source, lines) == []


@pytest.mark.parametrize("policy", REFERENCE_POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nothing_inside_a_text_or_a_comment_is_highlighted_as_a_keyword(highlighted, policy: Path):
    _, lines = highlighted[f"{REFERENCE_POLICIES.index(policy)}-{policy.name}"]
    inside = [scopes for line in lines for token in line for scopes in [token["scopes"]]
              if any(s.startswith(("string.", "comment.")) for s in scopes)]
    assert inside, "the policy has texts or comments"
    assert not [s for s in inside if any(scope.startswith("keyword.") for scope in s)]


def test_vs_code_highlights_the_starter_policy_init_writes_as_the_parser_reads_it(installed: Installed,
                                                                                   tmp_path: Path):
    made = subprocess.run([sys.executable, "-m", "leadpolicy", "init", str(tmp_path / "repo")], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert made.returncode == 0, made.stderr
    (policy,) = (tmp_path / "repo").rglob("*.policy")
    result = installed.run("test/tokenize.js", str(installed.folder / "syntaxes" / "leadpolicy.tmLanguage.json"),
                           str(policy), timeout=120)
    assert result.returncode == 0, result.stderr
    assert misread(policy.read_text("utf-8"), json.loads(result.stdout)[str(policy)]) == []


def test_the_checks_catch_a_grammar_that_misreads(installed: Installed, tmp_path: Path):
    """A grammar with no keywords and texts as plain source is reported, token by token."""
    broken = committed_grammar()
    broken["patterns"] = [p for p in broken["patterns"] if not p.get("name", "").startswith(("keyword.", "string."))]
    grammar = tmp_path / "broken.tmLanguage.json"
    grammar.write_text(json.dumps(broken))
    policy = tmp_path / "inbound-b2b.policy"
    shutil.copyfile(ROOT / "policies" / "inbound-b2b.policy", policy)
    result = installed.run("test/tokenize.js", str(grammar), str(policy), timeout=120)
    assert result.returncode == 0, result.stderr
    wrong = misread(policy.read_text("utf-8"), json.loads(result.stdout)[str(policy)])
    assert any(" STRING " in w for w in wrong) and any("'lead'" in w for w in wrong)
