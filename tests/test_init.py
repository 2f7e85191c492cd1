"""`leadpolicy init`: a new team's repository in one command. In a fresh git repository the created policy
checks, is formatted and reaches the coverage floor, and `ci` fails only for the approvals nobody has given;
answers come from flags, from a terminal's prompts (never from a pipe's), or are the defaults; hostile answers
are refused or land quoted; no existing file is ever written over but by --force, and never one init does not
write."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from leadpolicy import __version__
from leadpolicy.cli.main import main
from leadpolicy.language import ast
from leadpolicy.semantics.loading import load_policy

from .components import require

DANA, RAJ = "Dana Whitfield <dana@example.com>", "Raj Patel <raj@example.com>"
OWNERS = ["--marketing-owner", DANA, "--sales-owner", RAJ]
STARTER_FILES = {"policies/inbound.policy", "policies/inbound.samples.yaml", "pyproject.toml",
                 ".pre-commit-config.yaml", ".github/workflows/leadpolicy.yml", "README.md", ".gitignore"}


def _git(repo: Path, *args: str) -> str:
    program = require("git", Path(found) if (found := shutil.which("git")) else None, "install git")
    result = subprocess.run([str(program), *args], cwd=repo, check=True, capture_output=True, text=True)
    return result.stdout


def _fresh_repository(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "Test Person")
    _git(path, "config", "user.email", "test@example.com")
    return path


def _run(monkeypatch, capsys, folder: Path, *argv: str) -> tuple[int, str, str]:
    """A command run in `folder` as a user runs it there, standard input not a terminal."""
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts}


def _policy(folder: Path, name: str = "inbound") -> ast.Policy:
    loaded = load_policy(folder / "policies" / f"{name}.policy")
    assert loaded.policy is not None and not loaded.has_errors, loaded.diagnostics
    return loaded.policy


def test_a_fresh_repository_checks_and_fails_ci_only_for_the_approvals_nobody_gave(tmp_path, monkeypatch, capsys):
    repo = _fresh_repository(tmp_path / "repo")
    code, out, _ = _run(monkeypatch, capsys, repo, "init", *OWNERS)
    assert code == 0
    assert _files(repo) == STARTER_FILES  # and no approvals file: init approves on nobody's behalf

    code, out, _ = _run(monkeypatch, capsys, repo, "check", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["diagnostics"] == []
    [policy] = report["policies"]
    assert policy["coverage"] >= 90 and policy["cases"] == policy["passed"] >= 10
    assert policy["approval"] == "draft"
    assert _run(monkeypatch, capsys, repo, "fmt", "--check")[0] == 0

    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "A lead policy")
    code, out, _ = _run(monkeypatch, capsys, repo, "ci", "--sarif", str(tmp_path / "ci.sarif"))
    results = json.loads((tmp_path / "ci.sarif").read_text("utf-8"))["runs"][0]["results"]
    assert code == 1
    assert [r["ruleId"] for r in results] == ["not-approved", "not-approved"]
    hints = [shlex.split(line.split("hint:", 1)[1]) for line in out.splitlines() if "hint: leadpolicy approve" in line]
    assert sorted(hints) == sorted(["leadpolicy", "approve", "policies/inbound.policy", "--team", team, "--by", who]
                                   for team, who in (("marketing", DANA), ("sales", RAJ)))

    for team, who in (("marketing", DANA), ("sales", RAJ)):  # the owners give theirs: nothing else was missing
        approve = ["approve", "policies/inbound.policy", "--team", team, "--by", who]
        assert _run(monkeypatch, capsys, repo, *approve)[0] == 0
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "Approved by both teams")
    assert _run(monkeypatch, capsys, repo, "ci")[0] == 0


def test_the_printed_next_steps_name_each_owners_approval_without_giving_it(tmp_path, monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "new-repo", *OWNERS)
    assert code == 0
    commands = [shlex.split(line) for line in out.splitlines() if line.strip().startswith("leadpolicy approve")]
    assert [c[c.index("--by") + 1] for c in commands] == [DANA, RAJ]
    assert not list((tmp_path / "new-repo").rglob("*.approvals.yaml"))


@pytest.mark.parametrize(("zone", "calendar"), [("Europe/Berlin", "DE-BE"), ("Asia/Kolkata", "IN"),
                                                ("Pacific/Auckland", "NZ")])
def test_every_answer_reaches_the_policy_and_its_samples_pass_in_any_zone(tmp_path, monkeypatch, capsys, zone,
                                                                           calendar):
    argv = ["init", "--name", "emea-leads", *OWNERS, "--timezone", zone, "--calendar", calendar]
    assert _run(monkeypatch, capsys, tmp_path, *argv)[0] == 0
    policy = _policy(tmp_path, "emea-leads")
    assert policy.id == "emea-leads" and policy.timezone == zone
    assert {(o.team, o.person) for o in policy.owners} == {("marketing", DANA), ("sales", RAJ)}
    [calendar_block] = policy.of(ast.Calendar)
    [holidays] = [i for i in calendar_block.items if isinstance(i, ast.Holidays)]
    assert (holidays.country, holidays.subdivision or "") == tuple(calendar.partition("-")[::2])
    assert calendar_block.timezone is not None and calendar_block.timezone.name == zone
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "check", "--format", "json")
    assert code == 0 and json.loads(out)["policies"][0]["coverage"] == 100.0  # as docs/cli.md says


def test_a_hostile_owner_lands_quoted_and_the_policy_still_parses(tmp_path, monkeypatch, capsys):
    hostile = 'x" } evil { \\ "'
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "--marketing-owner", hostile)
    assert code == 0
    assert {(o.team, o.person) for o in _policy(tmp_path).owners} == {
        ("marketing", hostile), ("sales", "Sales Lead <sales@example.com>")}
    readme = (tmp_path / "README.md").read_text("utf-8")
    [command] = [shlex.split(line) for line in readme.splitlines() if "--team marketing" in line]
    assert command[command.index("--by") + 1] == hostile
    assert _run(monkeypatch, capsys, tmp_path, "check")[0] == 0
    assert _run(monkeypatch, capsys, tmp_path, "fmt", "--check")[0] == 0


def test_an_owner_is_any_text_a_name_alone_or_an_email_alone_as_docs_cli_md_says(tmp_path, monkeypatch, capsys):
    repo = _fresh_repository(tmp_path / "repo")
    code, _, _ = _run(monkeypatch, capsys, repo, "init", "--marketing-owner", "Dana", "--sales-owner",
                      "raj@example.com")
    assert code == 0
    assert {(o.team, o.person) for o in _policy(repo).owners} == {("marketing", "Dana"),
                                                                  ("sales", "raj@example.com")}
    assert _run(monkeypatch, capsys, repo, "check")[0] == 0
    for team, who in (("marketing", "Dana"), ("sales", "raj@example.com")):
        approve = ["approve", "policies/inbound.policy", "--team", team, "--by", who]
        assert _run(monkeypatch, capsys, repo, *approve)[0] == 0


@pytest.mark.parametrize(("argv", "says"), [
    (["--name", 'x" } evil {'], "--name: \"x\" } evil {\" is not a slug"),
    (["--name", "Inbound"], "is not a slug"),
    (["--name", "a" * 65], "longer than 64 characters"),
    (["--sales-owner", "Raj\nPatel"], "--sales-owner: \"Raj\\nPatel\" holds the control character U+000A"),
    (["--marketing-owner", "Dana \u202eevil"], "invisible format character U+202E"),
    (["--marketing-owner", "  "], "--marketing-owner: \"  \" is empty"),
    (["--timezone", "Europe/Berlim"], 'did you mean "Europe/Berlin"?'),
    (["--calendar", "XX"], 'no holiday calendar for country "XX"'),
    (["--calendar", "DE-QQ"], '"QQ" is not a subdivision of DE'),
])
def test_a_bad_answer_is_bad_usage_and_nothing_is_written(tmp_path, monkeypatch, capsys, argv, says):
    code, out, err = _run(monkeypatch, capsys, tmp_path, "init", "repo", *argv)
    assert code == 2 and says in err and "Traceback" not in out + err
    assert not (tmp_path / "repo").exists()


def test_an_existing_file_is_never_written_over_without_force(tmp_path, monkeypatch, capsys):
    (tmp_path / "README.md").write_text("Our own README\n", "utf-8")
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init")
    assert code == 2 and "README.md exists (--force replaces it)" in err and "nothing written" in err
    assert _files(tmp_path) == {"README.md"}
    assert (tmp_path / "README.md").read_text("utf-8") == "Our own README\n"


def test_force_replaces_only_the_files_init_writes(tmp_path, monkeypatch, capsys):
    (tmp_path / "policies").mkdir()
    others = {"README.md": "Our own README\n", "LICENSE": "ours\n", "policies/other.policy": "# someone's\n",
              "policies/other.approvals.yaml": "approvals: []\n"}
    for name, text in others.items():
        (tmp_path / name).write_text(text, "utf-8")
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "--force")
    assert code == 0 and "replaced README.md" in out
    assert "Two approvals" in (tmp_path / "README.md").read_text("utf-8")
    assert {name: (tmp_path / name).read_text("utf-8") for name in others if name != "README.md"} == {
        name: text for name, text in others.items() if name != "README.md"}


def _an_init_repository_the_team_worked_in(monkeypatch, capsys, repo: Path) -> dict[str, str]:
    """A repository init made, whose policy and samples the team edited and both owners approved: its files' texts."""
    assert _run(monkeypatch, capsys, repo, "init", *OWNERS)[0] == 0
    for name in ("policies/inbound.policy", "policies/inbound.samples.yaml"):
        with (repo / name).open("a", encoding="utf-8") as handle:
            handle.write("# the team's own edit\n")
    (repo / "policies/inbound.approvals.yaml").write_text("approvals: []\n", "utf-8")
    return {name: (repo / name).read_text("utf-8") for name in _files(repo)}


def _refused_files(err: str) -> dict[str, str]:
    """The files a refusal lists, each with what it says of it."""
    listed = [line.strip().split(" ", 1) for line in err.splitlines() if line.startswith("  ")]
    return {name: says for name, says in listed}


TEAM_FILES = {"policies/inbound.policy", "policies/inbound.samples.yaml", "policies/inbound.approvals.yaml"}
SCAFFOLDING = {".pre-commit-config.yaml", ".github/workflows/leadpolicy.yml", "README.md"}


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_init_again_lists_every_file_in_the_way_and_never_writes_over_the_teams_policy(tmp_path, monkeypatch, capsys,
                                                                                        force):
    before = _an_init_repository_the_team_worked_in(monkeypatch, capsys, tmp_path)
    code, out, err = _run(monkeypatch, capsys, tmp_path, "init", *force)
    assert code == 2 and "nothing written" in err and "Traceback" not in out + err
    refused = _refused_files(err)
    assert set(refused) == TEAM_FILES | (set() if force else SCAFFOLDING)
    assert all("--force replaces it" in refused[name] for name in SCAFFOLDING & set(refused))
    assert all("--force" not in refused[name].replace("--force or not", "") for name in TEAM_FILES)
    assert "--name NAME" in err  # how to start a second policy beside it
    assert {name: (tmp_path / name).read_text("utf-8") for name in _files(tmp_path)} == before


def test_an_approvals_file_of_the_name_alone_is_in_the_way_even_with_force(tmp_path, monkeypatch, capsys):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/inbound.approvals.yaml").write_text("approvals: []\n", "utf-8")
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init", "--force")
    assert code == 2 and set(_refused_files(err)) == {"policies/inbound.approvals.yaml"}
    assert _files(tmp_path) == {"policies/inbound.approvals.yaml"}


def test_a_second_policy_by_name_leaves_the_first_as_the_team_left_it(tmp_path, monkeypatch, capsys):
    before = _an_init_repository_the_team_worked_in(monkeypatch, capsys, tmp_path)
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "--name", "second", "--force", *OWNERS)
    assert code == 0
    assert {name: (tmp_path / name).read_text("utf-8") for name in TEAM_FILES} == {
        name: before[name] for name in TEAM_FILES}
    assert _files(tmp_path) == set(before) | {"policies/second.policy", "policies/second.samples.yaml"}
    assert _policy(tmp_path, "second").id == "second"


def test_a_link_among_the_files_is_refused_even_with_force(tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("not init's\n", "utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").symlink_to(elsewhere)
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init", "repo", "--force")
    assert code == 2 and "README.md is a symbolic link" in err
    assert elsewhere.read_text("utf-8") == "not init's\n" and _files(repo) == {"README.md"}


def test_an_existing_pyproject_gains_the_table_and_keeps_every_byte(tmp_path, monkeypatch, capsys):
    original = '[project]\nname = "revops"\n\n[tool.ruff]\nline-length = 100'  # no newline at the end
    (tmp_path / "pyproject.toml").write_text(original, "utf-8")
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init")
    text = (tmp_path / "pyproject.toml").read_text("utf-8")
    assert code == 0 and "added [tool.leadpolicy] to pyproject.toml" in out
    assert text.startswith(original)
    settings = tomllib.loads(text)
    assert settings["project"] == {"name": "revops"} and settings["tool"]["ruff"] == {"line-length": 100}
    assert settings["tool"]["leadpolicy"] == {"paths": ["policies"], "min-coverage": 90}


def test_what_docs_and_ci_write_is_not_committed_by_the_next_steps_git_add(tmp_path, monkeypatch, capsys):
    repo = _fresh_repository(tmp_path / "repo")
    assert _run(monkeypatch, capsys, repo, "init", *OWNERS)[0] == 0
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "A lead policy")
    assert _run(monkeypatch, capsys, repo, "docs")[0] == 0
    assert _run(monkeypatch, capsys, repo, "ci", "--sarif", "leadpolicy.sarif")[0] == 1  # no approvals yet
    assert (repo / "leadpolicy.sarif").is_file() and (repo / "build/policy-docs").is_dir()
    _git(repo, "add", ".")
    assert _git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_existing_gitignore_gains_the_lines_and_keeps_every_byte(tmp_path, monkeypatch, capsys):
    original = "node_modules/\r\n*.log"  # no newline at the end
    (tmp_path / ".gitignore").write_bytes(original.encode("utf-8"))
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init")
    text = (tmp_path / ".gitignore").read_bytes().decode("utf-8")
    assert code == 0 and "added leadpolicy's lines to .gitignore" in out
    assert text.startswith(original + "\r\n")
    lines = text.splitlines()
    assert {"node_modules/", "*.log", "/build/policy-docs/", "*.sarif"} <= set(lines)
    assert all(line.endswith("\r\n") for line in text.splitlines(keepends=True))


def test_a_gitignore_with_the_lines_is_kept_as_it_is_even_with_force(tmp_path, monkeypatch, capsys):
    original = "*.sarif\n/build/policy-docs/\n.venv/\n"
    (tmp_path / ".gitignore").write_text(original, "utf-8")
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "--force")
    assert code == 0 and "kept .gitignore" in out
    assert (tmp_path / ".gitignore").read_text("utf-8") == original


def test_a_pyproject_with_the_table_is_kept_as_it_is_even_with_force(tmp_path, monkeypatch, capsys):
    original = '[tool.leadpolicy]\npaths = ["policies"]\nmin-coverage = 95\n'
    (tmp_path / "pyproject.toml").write_text(original, "utf-8")
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "--force")
    assert code == 0 and "kept pyproject.toml" in out
    assert (tmp_path / "pyproject.toml").read_text("utf-8") == original


@pytest.mark.parametrize(("text", "says"), [("[project\nname = 1\n", "cannot be read as TOML"),
                                            ("tool = 5\n", "its `tool` is not a table")])
def test_a_pyproject_init_cannot_add_to_is_refused_untouched(tmp_path, monkeypatch, capsys, text, says):
    (tmp_path / "repo").mkdir()  # run from outside: in it, the settings of every command refuse the file first
    (tmp_path / "repo" / "pyproject.toml").write_text(text, "utf-8")
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init", "repo", "--force")
    assert code == 2 and says in err
    assert _files(tmp_path / "repo") == {"pyproject.toml"}
    assert (tmp_path / "repo" / "pyproject.toml").read_text("utf-8") == text


def test_a_dir_that_is_a_file_or_holds_a_file_where_a_folder_goes_is_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / "afile").write_text("x", "utf-8")
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init", "afile")
    assert code == 2 and "afile is not a folder" in err
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "policies").write_text("x", "utf-8")
    code, _, err = _run(monkeypatch, capsys, tmp_path, "init", "repo", "--force")
    assert code == 2 and "repo/policies is not a folder" in err and _files(tmp_path / "repo") == {"policies"}


def test_the_workflow_runs_ci_and_uploads_its_sarif(tmp_path, monkeypatch, capsys):
    assert _run(monkeypatch, capsys, tmp_path, "init")[0] == 0
    workflow = yaml.safe_load((tmp_path / ".github/workflows/leadpolicy.yml").read_text("utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    assert workflow["permissions"]["security-events"] == "write"
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the version rules need the base branch
    runs = [shlex.split(line) for s in steps for line in s.get("run", "").replace("\\\n", " ").splitlines()]
    assert ["python", "-m", "pip", "install", f"leadpolicy=={__version__}"] in runs
    ci_runs = [r for r in runs if r[:2] == ["leadpolicy", "ci"]]
    assert ci_runs and all(r[r.index("--sarif") + 1] == "leadpolicy.sarif" for r in ci_runs)
    assert any("--backtest" in r and "--backtest-as-of" in r for r in ci_runs)  # its report: the job summary
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "leadpolicy.sarif" and "always()" in upload["if"]
    assert steps.index(upload) > max(steps.index(s) for s in steps if "leadpolicy ci" in s.get("run", ""))


def _readme_sections(folder: Path) -> dict[str, tuple[str, list[list[str]]]]:
    """Each `## ` section of the README init wrote: its heading -> (its text, its code blocks' commands)."""
    sections: dict[str, tuple[str, list[list[str]]]] = {}
    for part in (folder / "README.md").read_text("utf-8").split("\n## ")[1:]:
        heading, _, body = part.partition("\n")
        blocks = re.findall(r"^```[a-z]*\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)
        commands = [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]
        sections[heading.strip()] = (body, commands)
    return sections


def _section_with(sections: dict[str, tuple[str, list[list[str]]]], command: list[str]) -> str:
    [text] = [text for text, commands in sections.values() if command in commands]
    return text


def test_the_readme_says_how_to_get_the_checks_in_an_editor(tmp_path, monkeypatch, capsys):
    assert _run(monkeypatch, capsys, tmp_path, "init")[0] == 0
    sections = _readme_sections(tmp_path)
    text = _section_with(sections, ["leadpolicy", "lsp"])
    links = set(re.findall(r"\]\((https://[^)]+)\)", text))
    assert {link.rsplit("/", 1)[1] for link in links} >= {"editors.md", "lsp.md"}
    [heading] = [h for h, (t, _) in sections.items() if t == text]
    assert "editor" in heading.lower()


def test_the_readme_sends_reviewers_to_the_try_it_page_at_serves_own_address(tmp_path, monkeypatch, capsys):
    from leadpolicy.cli.main import build_parser

    assert _run(monkeypatch, capsys, tmp_path, "init")[0] == 0
    text = _section_with(_readme_sections(tmp_path), ["leadpolicy", "serve", "policies/"])
    serve = build_parser().parse_args(["serve", "policies/"])
    assert f"http://{serve.host}:{serve.port}/ui/" in text


def test_the_workflows_branch_is_the_one_the_next_steps_and_the_readme_name(tmp_path, monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, tmp_path, "init", "repo")
    assert code == 0
    workflow = yaml.safe_load((tmp_path / "repo/.github/workflows/leadpolicy.yml").read_text("utf-8"))
    [branch] = workflow.get("on", workflow.get(True))["push"]["branches"]
    steps = [shlex.split(re.split(r"\s{2,}", line.strip())[0])  # a step's command, then what it does
             for line in out.split("\nnext:\n", 1)[1].splitlines()]
    assert ["git", "init", "-b", branch] in steps
    text = _section_with(_readme_sections(tmp_path / "repo"), ["git", "branch", "-M", branch])
    assert f"`{branch}`" in text


def test_the_readme_says_how_ci_installs_leadpolicy_from_elsewhere_than_the_index(tmp_path, monkeypatch, capsys):
    assert _run(monkeypatch, capsys, tmp_path, "init")[0] == 0
    text = _section_with(_readme_sections(tmp_path), ["python", "-m", "pip", "install", f"leadpolicy=={__version__}"])
    [_, commands] = next(v for v in _readme_sections(tmp_path).values() if v[0] == text)
    requirements = [c[4] for c in commands if c[:4] == ["python", "-m", "pip", "install"]]
    assert any(r.startswith("leadpolicy @ git+https://") for r in requirements)
    assert any(r.endswith(".whl") and "leadpolicy-" in r for r in requirements)
    assert ".github/workflows/leadpolicy.yml" in text


def test_the_pre_commit_config_runs_fmt_check_and_check_on_the_policies(tmp_path, monkeypatch, capsys):
    assert _run(monkeypatch, capsys, tmp_path, "init")[0] == 0
    config = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text("utf-8"))
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    hooks = {hook["entry"]: hook for hook in repo["hooks"]}
    assert set(hooks) == {"leadpolicy fmt --check", "leadpolicy check"}
    for hook in hooks.values():
        assert hook["language"] == "system" and hook["pass_filenames"] is False
        assert re.search(hook["files"], "policies/inbound.policy") and re.search(hook["files"], "pyproject.toml")
        assert not re.search(hook["files"], "src/app.py")


# Prompts: on a terminal only -------------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("LEADPOLICY_DEBUG", "GITHUB_ACTIONS")}


def _on_a_terminal(argv: list[str], cwd: Path, typed: str) -> tuple[int, str]:
    """(exit code, everything shown) of `leadpolicy ARGV` whose standard input and output are a terminal on
    which `typed` was typed."""
    primary, secondary = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "leadpolicy", *argv], cwd=cwd, env=_env(), stdin=secondary,
                          stdout=secondary, stderr=secondary) as process:
        os.close(secondary)
        os.write(primary, typed.encode("utf-8"))
        shown = _read_until_closed(primary, time.monotonic() + 60)
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still waiting for an answer nobody typed: a failure, not a hang
            process.kill()
            process.wait()
            pytest.fail(f"init still running after 60 s, waiting for input:\n{shown}")
    os.close(primary)
    return code, shown.replace("\r\n", "\n")


def _read_until_closed(fd: int, deadline: float) -> str:
    chunks = []
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_each_answer_no_flag_gave_is_asked_and_a_bad_one_again(tmp_path):
    typed = "web-leads\n\nEurope/Berlim\nEurope/Berlin\nXX\nDE\n"  # the marketing owner: the default (Enter)
    code, shown = _on_a_terminal(["init", "repo", "--sales-owner", RAJ], tmp_path, typed)
    assert code == 0, shown
    for prompt in ("Policy name", "Who approves for Marketing", "Time zone", "Country of the holidays"):
        assert prompt in shown
    assert "Who approves for Sales" not in shown  # given as a flag
    assert shown.count("Time zone of the business hours") == 2
    assert shown.count("Country of the holidays") == 2
    # each bad answer is said back, as the flag's message says it
    assert '"Europe/Berlim" is not a time zone (did you mean "Europe/Berlin"?)' in shown
    assert '"XX" names no holiday calendar' in shown
    policy = _policy(tmp_path / "repo", "web-leads")
    assert policy.timezone == "Europe/Berlin"
    assert {(o.team, o.person) for o in policy.owners} == {("marketing", "Marketing Lead <marketing@example.com>"),
                                                          ("sales", RAJ)}


def test_in_a_pipe_nothing_is_asked_and_the_defaults_are_taken(tmp_path):
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "init", "repo"], cwd=tmp_path, env=_env(),
                            input="web-leads\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Policy name" not in result.stdout + result.stderr
    policy = _policy(tmp_path / "repo")
    assert policy.id == "inbound" and policy.timezone == "America/New_York"


def test_every_answer_a_template_prints_goes_through_the_quoting_of_its_file():
    """An answer reaches a file only through `policy_text` (a policy string) or `shell` (one shell word); a
    value printed as it is must be one init makes or checked as a slug (the name, the title made of it)."""
    from jinja2 import Environment, PackageLoader, nodes

    env = Environment(loader=PackageLoader("leadpolicy.cli", "starter"))
    env.filters.update(policy_text=str, shell=str)
    as_is = {"name", "title", "version"}
    for template in env.list_templates():
        source = env.loader.get_source(env, template)[0]
        printed = [n for output in env.parse(source).find_all(nodes.Output) for n in output.nodes
                   if not isinstance(n, nodes.TemplateData)]
        for node in printed:
            quoted = isinstance(node, nodes.Filter) and node.name in {"policy_text", "shell"}
            assert quoted or (isinstance(node, nodes.Name) and node.name in as_is), (template, node)


def test_end_of_input_at_a_prompt_is_bad_usage_and_writes_nothing(tmp_path):
    code, shown = _on_a_terminal(["init", "repo"], tmp_path, "\x04")  # Ctrl-D at the first question
    assert code == 2 and "no answer for --name: give it as a flag" in shown
    assert not (tmp_path / "repo").exists()


def test_a_policy_in_the_way_is_said_before_any_question_even_with_force(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/inbound.policy").write_text("# the team's\n", "utf-8")
    code, shown = _on_a_terminal(["init", "--force"], tmp_path, "")
    assert code == 2 and "policies/inbound.policy exists" in shown and "--name NAME" in shown
    assert "Policy name" not in shown
    assert (tmp_path / "policies/inbound.policy").read_text("utf-8") == "# the team's\n"


def test_a_name_typed_whose_policy_is_there_is_asked_again(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies/web-leads.samples.yaml").write_text("# the team's\n", "utf-8")
    code, shown = _on_a_terminal(["init", *OWNERS, "--timezone", "UTC", "--calendar", "US"], tmp_path,
                                 "web-leads\nsecond\n")
    assert code == 0, shown
    assert shown.count("Policy name") == 2 and "policies/web-leads.samples.yaml exists" in shown
    assert _policy(tmp_path, "second").id == "second"
    assert (tmp_path / "policies/web-leads.samples.yaml").read_text("utf-8") == "# the team's\n"


def test_a_file_in_the_way_is_said_before_any_question(tmp_path):
    (tmp_path / "README.md").write_text("Our own README\n", "utf-8")
    code, shown = _on_a_terminal(["init"], tmp_path, "")
    assert code == 2 and "README.md exists (--force replaces it)" in shown
    assert "Policy name" not in shown
