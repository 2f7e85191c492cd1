"""A new user's findings on the docs and the words leadpolicy writes: SLAs said in plain English for events with
and without a label; every code the language server publishes is registered and documented."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shlex
import tomllib
from itertools import dropwhile
from typing import Any

import pytest
from lsprotocol import types

from leadpolicy.cli.main import main
from leadpolicy.language.diagnostics import CODES, ERROR
from leadpolicy.lsp.checking import case_diagnostic
from leadpolicy.publish import english
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.testing.harness import FAILED, CaseResult

from .conftest import ROOT

# became_sql, first_touch, accepted, rejected, waiting and replied have no label (as the starter policy of
# `leadpolicy init` leaves its stage events); demo_request and demo_held have one.
SLA_POLICY = '''policy "x" version 1.0.0 {
  title "SLAs in words"
  owner sales "Sales"
  owner marketing "Marketing"
  lead { n number }
  events {
    demo_request "Asked for a demo"
    demo_held "Demo held"
    became_mql
    became_sql
    first_touch
    accepted
    rejected
    waiting
    replied
  }
  stages {
    rest otherwise owner marketing
  }
  sla speed {
    owner sales
    from became_sql until first_touch
    within 4 hours
    target 90%
    paused from waiting until replied
  }
  sla labelled {
    owner sales
    from demo_request until demo_held or first_touch
    within 2 days
    target 90%
  }
  sla accept {
    owner sales
    from became_mql each time until accepted or rejected
    within 1 days
    target 90%
    rejected needs reason ("bad_fit", "not_now")
  }
  sla volume {
    owner marketing
    at least 100 became_mql per month
  }
  sla one {
    owner marketing
    at least 1 became_mql per month
  }
  sla labelled_volume {
    owner marketing
    at least 20 demo_request per month
  }
  sla touches {
    owner sales
    at least 6 first_touch within 10 days after became_sql
    target 80%
  }
  sla labelled_touches {
    owner sales
    at least 2 demo_held within 10 days after demo_request
    target 80%
    rejected needs reason ("bad_fit")
  }
}
'''


@pytest.fixture(scope="module")
def sla_sentences() -> dict[str, str]:
    loaded = load_policy_text(SLA_POLICY)
    assert not loaded.has_errors, loaded.diagnostics
    assert loaded.policy is not None
    lowered = lower(loaded.policy)
    with english.wording(english.labels_of(loaded.policy)):
        return {s.name: english.sla(s, {}, s_ir) for s, s_ir in zip(loaded.policy.slas, lowered.slas)}


def test_an_sla_between_unlabelled_events_says_them_as_events(sla_sentences):
    said = sla_sentences["speed"]
    assert said.startswith("Sales commits that every lead with a became sql event gets a first touch event "
                           "within 4 hours, 90% of the time."), said
    assert "The clock stops at a waiting event and starts again at a replied event." in said, said
    assert "gets became" not in said


def test_an_sla_from_a_labelled_event_names_it_by_its_label(sla_sentences):
    assert sla_sentences["labelled"].startswith(
        "Sales commits that every lead with an event “Asked for a demo” gets an event “Demo held” or a first "
        "touch event within 2 days, 90% of the time."), sla_sentences["labelled"]


def test_an_sla_each_time_says_every_time_a_lead_gets_the_event(sla_sentences):
    said = sla_sentences["accept"]
    assert said.startswith("Sales commits that every time a lead gets a became mql event, it gets an accepted "
                           "event or a rejected event within 1 day, 90% of the time."), said
    assert 'Every rejected event gives a reason: "bad_fit" or "not_now".' in said, said


def test_counts_of_events_say_events_after_the_number(sla_sentences):
    assert sla_sentences["volume"] == "Marketing commits to at least 100 became mql events every month."
    assert sla_sentences["one"] == "Marketing commits to at least 1 became mql event every month."
    assert sla_sentences["labelled_volume"] == "Marketing commits to at least 20 events “Asked for a demo” every month."
    assert sla_sentences["touches"] == ("Sales commits to at least 6 first touch events within 10 days after a "
                                        "became sql event, 80% of the time.")
    said = sla_sentences["labelled_touches"]
    assert said.startswith("Sales commits to at least 2 events “Demo held” within 10 days after an event "
                           "“Asked for a demo”, 80% of the time."), said
    assert 'Every rejected event gives a reason: "bad_fit".' in said, said


# Every code the language server publishes ---------------------------------------------------------------------

LSP_SOURCE = ROOT / "src" / "leadpolicy" / "lsp"


def _published_codes() -> tuple[set[str], list[str]]:
    """The codes of the protocol's diagnostics (`types.Diagnostic(code=...)`) the lsp package makes: string
    literals, or the `.code` of a leadpolicy Diagnostic passed on (registered when it was made); anything else
    is listed as unreadable."""
    literals: set[str] = set()
    unreadable: list[str] = []
    for path in sorted(LSP_SOURCE.rglob("*.py")):
        for call in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "Diagnostic"):
                continue
            code = next((k.value for k in call.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                literals.add(code.value)
            elif not (isinstance(code, ast.Attribute) and code.attr == "code"):
                unreadable.append(f"{path.name}:{call.lineno}: {ast.unparse(code) if code else 'no code'}")
    return literals, unreadable


def test_every_code_the_language_server_publishes_is_registered_and_documented():
    literals, unreadable = _published_codes()
    assert not unreadable, unreadable
    assert "sample-failed" in literals
    doc = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    for code in literals:
        assert code in CODES, code
        assert f'<a id="{code}"></a>`{code}`' in doc, code


def test_a_failing_sample_case_is_published_with_a_registered_code():
    case = CaseResult(file="x.samples.yaml", line=2, name="SQL lead", kind="lead", status=FAILED,
                      failures=["stage: expected sql, got mql"])
    shown = case_diagnostic(case, "cases:\n  - name: SQL lead\n", "https://example.org/docs")
    assert shown.code in CODES and CODES[str(shown.code)][0] == ERROR
    assert shown.severity == types.DiagnosticSeverity.Error
    assert shown.message == "SQL lead: stage: expected sql, got mql"


# docs/editors.md ------------------------------------------------------------------------------------------------

EDITORS_PAGE = ROOT / "docs" / "editors.md"
EXTENSION = ROOT / "editors" / "vscode"


def fenced(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page, re.S)


def test_the_vscode_build_starts_from_a_clone_of_the_repository_that_holds_the_extension():
    repository = json.loads((EXTENSION / "package.json").read_text("utf-8"))["repository"]
    (build,) = [block for block in fenced(EDITORS_PAGE.read_text("utf-8"), "sh") if "vsce package" in block]
    commands = [shlex.split(line.partition("#")[0]) for line in build.splitlines() if line.partition("#")[0].strip()]
    clone = commands[0]
    assert clone[:2] == ["git", "clone"] and clone[-1] == repository["url"]
    folder = clone[-1].rsplit("/", 1)[1].removesuffix(".git")
    assert commands[1] == ["cd", f"{folder}/{repository['directory']}"]
    assert commands[2:4] == [["npm", "install"], ["npx", "vsce", "package"]]


def _lowest_node(engines: str) -> tuple[int, ...]:
    """The oldest Node.js an `engines.node` range admits: `18 || 20 || >=22` -> (18,), `>=20.19.0` -> (20, 19)."""
    found = [tuple(int(part) for part in re.findall(r"\d+", alternative)) for alternative in engines.split("||")]
    return min(tuple(reversed(list(dropwhile(lambda part: part == 0, reversed(f))))) for f in found)


def test_the_node_version_the_page_asks_for_is_what_the_packages_declare():
    lock = json.loads((EXTENSION / "package-lock.json").read_text("utf-8"))["packages"]
    page = " ".join(EDITORS_PAGE.read_text("utf-8").split())
    vsce = _lowest_node(lock["node_modules/@vscode/vsce"]["engines"]["node"])
    # the packages that declare no more than vsce's own floor (those at it are the Azure ones it publishes with,
    # which npm installs on an older Node.js with a warning): their highest floor is what packaging needs
    floors = [_lowest_node(p["engines"]["node"]) for p in lock.values() if "node" in p.get("engines", {})]
    needed = max(floor for floor in floors if floor < vsce)
    said = ".".join(map(str, needed))
    assert f"Node.js {said} or later" in page
    assert f"`@vscode/vsce` itself declares Node.js {'.'.join(map(str, vsce))}" in page
    assert "Node.js 22 or later" not in page


def _lua_pattern(pattern: str) -> re.Pattern[str]:
    """A Lua pattern of the kind the page writes (`.`, `*`, `%.`) as a regular expression."""
    return re.compile("".join(re.escape(part[1]) if part.startswith("%") else part.replace(".", "[^\n]")
                              for part in re.findall(r"%.|[^%]+", pattern)))


def test_neovim_starts_the_server_for_policies_and_their_samples_files():
    blocks = fenced(EDITORS_PAGE.read_text("utf-8"), "lua")
    assert len(blocks) == 2
    for lua in blocks:
        (pattern, filetype), = re.findall(r'pattern = \{ \["([^"]+)"\] = "([^"]+)" \}', lua)
        matches = _lua_pattern(pattern)
        assert matches.fullmatch("/home/me/project/policies/inbound.samples.yaml")
        assert not matches.fullmatch("/home/me/project/policies/inbound.policy")
        assert not matches.fullmatch("/home/me/project/config.yaml")
        served = re.search(r'(?:filetypes|pattern) = \{ "leadpolicy", "([^"]+)" \}', lua)
        assert served is not None and served.group(1) == filetype, lua
        assert filetype.split(".")[0] == "yaml"  # still YAML to the editor


def _helix_language(languages: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    """The language Helix gives `path`: a glob (prefixed `*/` unless it starts with `/` or `*/`) first, then
    an extension."""
    for language in languages:
        for kind in language["file-types"]:
            if isinstance(kind, dict):
                glob = kind["glob"] if kind["glob"].startswith(("/", "*/")) else "*/" + kind["glob"]
                if fnmatch.fnmatchcase(path, glob):
                    return language
    extension = path.rsplit(".", 1)[1]
    return next((language for language in languages if extension in language["file-types"]), None)


def test_helix_sends_policies_and_their_samples_files_to_the_server():
    (helix,) = [tomllib.loads(block) for block in fenced(EDITORS_PAGE.read_text("utf-8"), "toml")]
    languages = helix["language"]
    for path in ("/home/me/project/policies/inbound.policy", "/home/me/project/policies/inbound.samples.yaml"):
        language = _helix_language(languages, path)
        assert language is not None and language["language-servers"] == ["leadpolicy"], path
    samples = _helix_language(languages, "/p/inbound.samples.yaml")
    assert samples is not None and samples["grammar"] == "yaml"
    assert _helix_language(languages, "/home/me/project/config.yaml") is None


# docs/cli.md: fmt --diff --------------------------------------------------------------------------------------

def _fmt_section() -> str:
    page = (ROOT / "docs" / "cli.md").read_text("utf-8")
    start = page.index("## `leadpolicy fmt")
    return " ".join(page[start:page.index("\n## ", start + 1)].split())


def test_fmt_diff_exits_1_when_a_file_needs_formatting_and_the_page_says_so(tmp_path, capsys):
    policy = tmp_path / "p.policy"
    policy.write_text((ROOT / "policies" / "inbound-b2b.policy").read_text("utf-8"), "utf-8")
    assert main(["fmt", "--diff", str(policy)]) == 0 and capsys.readouterr().out == ""
    untidy = policy.read_text("utf-8").replace("\n  title ", "\n      title ", 1)
    policy.write_text(untidy, "utf-8")
    assert main(["fmt", "--diff", str(policy)]) == 1
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith(("-  ", "+  "))] == [
        "-      title " + untidy.split("\n      title ", 1)[1].split("\n", 1)[0],
        "+  title " + untidy.split("\n      title ", 1)[1].split("\n", 1)[0]]
    assert policy.read_text("utf-8") == untidy
    sentence = next(s for s in re.split(r"(?<=\.) ", _fmt_section()) if s.startswith("`--diff`"))
    assert "exits 1 when a file needs formatting" in sentence, sentence
