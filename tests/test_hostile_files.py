"""Hostile samples, approvals and settings files: each one a clear diagnostic naming the file and the
place, found at the limit it breaks (read no further), never an internal error."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from leadpolicy.governance.approvals import load_approvals
from leadpolicy.testing.harness import load_samples

from .conftest import POLICIES
from .yaml_work import count_yaml_work

DEEP = 20_000

# (name, YAML text, the line and column the diagnostic must point at, a fragment of its message)
HOSTILE_YAML = [
    ("custom tag", "policy: x.policy\nleads: !custom x\n", (2, 8), "tag"),
    ("custom tag on a value deep down",
     "policy: x.policy\nleads:\n  - name: a\n    lead: {t: !!python/name:os.system x}\n", (4, 15), "tag"),
    ("5,000-digit integer", "policy: x.policy\nleads:\n  - name: a\n    lead: {n: " + "9" * 5000 + "}\n",
     (4, 15), "digits"),
    ("5,000-digit negative integer", "policy: x.policy\nn: -" + "1" * 5000 + "\n", (2, 4), "digits"),
    ("20,000-deep flow nesting", "policy: x.policy\nleads: " + "[" * DEEP + "]" * DEEP + "\n", (2, 71), "nested"),
    ("20,000-deep block nesting", "policy: x.policy\nleads:\n  " + "- " * DEEP + "x\n", (3, 129), "nested"),
    ("20,000-deep mappings", "policy: x.policy\nleads: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n", (2, 257),
     "nested"),
    *[(f"a {tag} value", f"policy: x.policy\nleads:\n  - name: a\n    lead: {{email: {tag} {value}}}\n", (4, 19), tag)
      for tag, value in [("!!set", "{a, b}"), ("!!binary", "aGVsbG8="), ("!!omap", "[a: 1, b: 2]"),
                         ("!!pairs", "[a: 1, a: 2]")]],
    # 9^6 values: refused at the first alias of f, whose values cross the cap of 100,000
    ("alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join(['*' + inner] * 9)}]\n" for inner, name in zip("abcde", "bcdef")),
     (6, 8), "100,000 values"),
]


@pytest.mark.parametrize("text, where, says", [r[1:] for r in HOSTILE_YAML], ids=[r[0] for r in HOSTILE_YAML])
def test_a_hostile_samples_file_is_a_bad_samples_diagnostic_at_its_place(tmp_path, monkeypatch, text, where, says):
    path = tmp_path / "x.samples.yaml"
    path.write_text(text)
    count_yaml_work(monkeypatch)  # refused at its limit: no further nodes composed, no alias expanded
    doc, diags = load_samples(path)
    assert doc is None and [d.code for d in diags] == ["bad-samples"]
    assert (diags[0].file, diags[0].span.line, diags[0].span.column) == (str(path), *where), diags[0]
    assert says in diags[0].message.lower()


@pytest.mark.parametrize("text, where, says", [r[1:] for r in HOSTILE_YAML], ids=[r[0] for r in HOSTILE_YAML])
def test_a_hostile_approvals_file_is_a_bad_approvals_diagnostic_at_its_place(tmp_path, monkeypatch, text, where,
                                                                             says):
    path = tmp_path / "x.approvals.yaml"
    path.write_text(text)
    count_yaml_work(monkeypatch)
    approvals, diags = load_approvals(path)
    assert approvals == [] and [d.code for d in diags] == ["bad-approvals"]
    assert (diags[0].file, diags[0].span.line, diags[0].span.column) == (str(path), *where), diags[0]
    assert says in diags[0].message.lower()


def test_ordinary_yaml_values_still_read(tmp_path):
    path = tmp_path / "x.samples.yaml"
    path.write_text("policy: x.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n  - name: a\n"
                    "    lead: {n: 12345678901234567890, m: -7, h: 0x1f, f: 1.5e+3, d: 2026-01-02, t: !!str 12}\n"
                    "    expect: {stage: x}\n")
    doc, diags = load_samples(path)
    assert not diags and doc is not None
    assert doc.data["leads"][0]["lead"] == {"n": 12345678901234567890, "m": -7, "h": 31, "f": 1500.0,
                                            "d": "2026-01-02", "t": "12"}


@pytest.mark.parametrize("text, where, says", [r[1:] for r in HOSTILE_YAML[:5]], ids=[r[0] for r in HOSTILE_YAML[:5]])
def test_the_pytest_plugin_reports_a_hostile_samples_file_as_one_failing_item(pytester, text, where, says):
    shutil.copy(POLICIES / "inbound-b2b.policy", pytester.path / "inbound-b2b.policy")
    (pytester.path / "inbound-b2b.samples.yaml").write_text(text.replace("x.policy", "inbound-b2b.policy"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)  # the policy's check; its samples file fails to load
    out = result.stdout.str()
    assert f"inbound-b2b.samples.yaml:{where[0]}:{where[1]}: bad-samples:" in out, out
    assert "Traceback" not in out and "internal error" not in out.lower()


SETTINGS = [
    ("paths nested 5,000 deep", "paths = " + "[" * 5000 + "]" * 5000, "paths"),
    ("paths of lists", 'paths = [[["policies"]]]', "paths"),
    ("min-coverage nan", "min-coverage = nan", "min-coverage"),
    ("min-coverage inf", "min-coverage = inf", "min-coverage"),
    ("min-coverage -inf", "min-coverage = -inf", "min-coverage"),
    ("min-coverage -5", "min-coverage = -5", "min-coverage"),
    ("min-coverage 150", "min-coverage = 150", "min-coverage"),
    ("min-coverage 100.5", "min-coverage = 100.5", "min-coverage"),
    ("min-coverage text", 'min-coverage = "90"', "min-coverage"),
    ("strict text", 'strict = "yes"', "strict"),
    ("min-coverage of 5,001 digits", "min-coverage = 1" + "0" * 5000, "digits"),
]

WHOLE_PYPROJECTS = [
    ("tool a number", "tool = 5\n", "[tool]"),
    ("tool a list", "tool = [1]\n", "[tool]"),
    ("tool.leadpolicy a number", "[tool]\nleadpolicy = 5\n", "[tool.leadpolicy]"),
    ("a 5,001-digit number elsewhere", "[project]\nn = 1" + "0" * 5000 + "\n", "digits"),
    ("over 10 MiB", "[tool.leadpolicy]\nstrict = true\n" + "#" * (10 * 1024 * 1024) + "\n", "10 MiB"),
]


@pytest.mark.parametrize("text, says", [r[1:] for r in WHOLE_PYPROJECTS], ids=[r[0] for r in WHOLE_PYPROJECTS])
def test_a_pyproject_of_another_shape_is_bad_usage_naming_the_file(tmp_path, monkeypatch, capsys, text, says):
    from leadpolicy.cli.main import main

    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"leadpolicy: {tmp_path / 'pyproject.toml'}: ") and says in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("line, key", [r[1:] for r in SETTINGS], ids=[r[0] for r in SETTINGS])
def test_a_bad_setting_is_bad_usage_naming_the_setting(tmp_path, monkeypatch, capsys, line, key):
    from leadpolicy.cli.main import main

    (tmp_path / "pyproject.toml").write_text(f"[tool.leadpolicy]\n{line}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"leadpolicy: {tmp_path / 'pyproject.toml'}: ") and key in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "100", "62.5"])
def test_a_coverage_floor_from_0_to_100_is_a_setting(tmp_path, value):
    from leadpolicy.cli.settings import load_settings

    (tmp_path / "pyproject.toml").write_text(f"[tool.leadpolicy]\nmin-coverage = {value}\n")
    assert load_settings(tmp_path).get("min-coverage") == float(value)


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "150", "-0.1"])
def test_min_coverage_on_the_command_line_is_checked_the_same_way(tmp_path, monkeypatch, capsys, value):
    from leadpolicy.cli.main import main

    monkeypatch.chdir(tmp_path)
    for command in ("check", "test"):
        assert main([command, str(POLICIES), "--min-coverage", value]) == 2, command
        err = capsys.readouterr().err
        assert "--min-coverage" in err and "0 to 100" in err, err


# ---------------------------------------------------------------- files too big to read, or no files at all

BIG = 10 * 1024 * 1024 + 1  # one byte over the cap on a policy, samples or approvals file


def _bytes_read() -> int:
    """Bytes this process has read through read() so far, whatever read them (Linux's rchar)."""
    with open("/proc/self/io", "rb") as io:
        return int(next(line for line in io if line.startswith(b"rchar:")).split()[1])


def _sparse(path, size: int = BIG):
    """A file of `size` bytes that takes no room on disk (and no time to write)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _leadpolicy(tmp_path, *argv: str) -> subprocess.CompletedProcess:
    """The CLI in a child process, so a read that would block (a FIFO) cannot hang the tests."""
    try:
        done = subprocess.run([sys.executable, "-m", "leadpolicy", *argv], cwd=tmp_path, capture_output=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"leadpolicy {' '.join(argv)} hung (no exit in 120 s)")
    # decoded as written: text mode would turn a "\r" into "\n"
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


@pytest.mark.parametrize("read, code, name", [(load_samples, "bad-samples", "x.samples.yaml"),
                                              (load_approvals, "bad-approvals", "x.approvals.yaml")])
def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path, read, code, name):
    path = _sparse(tmp_path / name, 4 * BIG)
    before = _bytes_read()
    result, diags = read(path)
    # read up to one byte past the cap (and a module or two imported on first use), never the whole 40 MiB
    assert _bytes_read() - before <= BIG + 1024 * 1024
    assert not result and [d.code for d in diags] == [code]
    assert "10 MiB" in diags[0].message and diags[0].file == str(path), diags[0]


def test_a_policy_over_the_size_cap_is_refused_by_check(tmp_path):
    _sparse(tmp_path / "big.policy")
    result = _leadpolicy(tmp_path, "check", "big.policy", "--allow-untested")
    assert result.returncode == 1 and "big.policy: unreadable-file: " in result.stdout + result.stderr, result
    assert "10 MiB" in result.stdout + result.stderr


def test_a_file_just_under_the_cap_is_read(tmp_path):
    path = tmp_path / "x.samples.yaml"
    path.write_text("policy: x.policy\nleads: []\n" + "#" * (10 * 1024 * 1024 - 100) + "\n")
    doc, diags = load_samples(path)
    assert not diags and doc is not None and doc.data["leads"] == []


def test_a_samples_file_naming_a_fifo_or_a_device_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "pipe.policy")
    for target in ("pipe.policy", "/dev/null"):
        (tmp_path / "x.samples.yaml").write_text(f"policy: {target}\nleads: []\n")
        result = _leadpolicy(tmp_path, "test", "x.samples.yaml")
        out = result.stdout + result.stderr
        assert result.returncode == 1 and "not a regular file" in out, (target, out)
        assert "Traceback" not in out


def test_a_fifo_in_the_settings_paths_is_refused_by_check(tmp_path):
    os.mkfifo(tmp_path / "pipe.policy")
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\npaths = ["pipe.policy", "/dev/null"]\n')
    result = _leadpolicy(tmp_path, "check", "--allow-untested")
    out = result.stdout + result.stderr
    assert result.returncode == 1 and out.count("not a regular file") == 2, out


def test_check_refuses_a_samples_file_that_names_another_policy_than_the_one_beside_it(tmp_path):
    for name in ("a", "b"):
        shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / f"{name}.policy")
    samples = (POLICIES / "inbound-b2b.samples.yaml").read_text().replace("inbound-b2b.policy", "b.policy")
    (tmp_path / "a.samples.yaml").write_text(samples)
    result = _leadpolicy(tmp_path, "check", "a.policy", "--min-coverage", "0")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert re.search(r"a\.samples\.yaml:\d+:\d+: bad-samples: .*'b\.policy'.*a\.policy", out), out


# ---------------------------------------------------------------- approvals edited by hand

def _approved_by_marketing(tmp_path):
    """A copy of inbound-b2b and its samples, approved by marketing's listed owner."""
    import datetime as dt

    from leadpolicy.governance.approvals import approve
    from leadpolicy.semantics.loading import load_policy

    for suffix in (".policy", ".samples.yaml"):
        shutil.copy(POLICIES / f"inbound-b2b{suffix}", tmp_path / f"p{suffix}")
    (tmp_path / "p.samples.yaml").write_text((tmp_path / "p.samples.yaml").read_text()
                                             .replace("inbound-b2b.policy", "p.policy"))
    policy = load_policy(tmp_path / "p.policy").policy
    path, _ = approve(tmp_path / "p.policy", policy, "marketing", "dana@example.com",
                      dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
    return policy, path


@pytest.mark.parametrize("team, by", [("sales", "Mallory <mallory@example.com>"),
                                      ("sales", "Dana Whitfield <dana@example.com>"),  # an owner, of marketing
                                      ("legal", "Raj Patel <raj@example.com>")])  # a team that owns nothing
def test_a_hand_edited_approval_by_someone_not_an_owner_of_the_team_is_bad_approvals(tmp_path, team, by):
    from leadpolicy.governance.approvals import approval_diagnostics

    policy, path = _approved_by_marketing(tmp_path)
    lines = path.read_text().splitlines()
    record = lines[lines.index("- team: marketing"):]
    forged = [line.replace("marketing", team).replace("Dana Whitfield <dana@example.com>", by) for line in record]
    path.write_text("\n".join(lines + forged) + "\n")
    state, diags = approval_diagnostics(str(tmp_path / "p.policy"), policy, required=True)
    assert state == "partly approved"
    bad = [d for d in diags if d.code == "bad-approvals"]
    assert len(bad) == 1 and bad[0].file == str(path) and bad[0].span.line == len(lines) + 2, diags
    assert by.split(" <")[0] in bad[0].message and team in bad[0].message


def test_an_approval_by_a_listed_owner_named_by_email_counts(tmp_path):
    from leadpolicy.governance.approvals import approval_diagnostics

    policy, path = _approved_by_marketing(tmp_path)
    lines = path.read_text().splitlines()
    record = lines[lines.index("- team: marketing"):]
    path.write_text("\n".join(lines + [line.replace("marketing", "sales").replace(
        "Dana Whitfield <dana@example.com>", "raj@example.com") for line in record]) + "\n")
    state, diags = approval_diagnostics(str(tmp_path / "p.policy"), policy, required=True)
    assert state == "agreed" and not diags, diags


def test_a_samples_file_that_is_a_fifo_is_refused_by_check_without_waiting_on_it(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    os.mkfifo(tmp_path / "p.samples.yaml")
    result = _leadpolicy(tmp_path, "check", "p.policy")
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "p.samples.yaml: bad-samples: not a regular file" in out, out


# ---------------------------------------------------------------- control characters never reach a terminal

def test_check_refuses_control_characters_in_policy_texts_and_shows_none(tmp_path):
    from .conftest import FIXTURES

    shutil.copy(FIXTURES / "diagnostics" / "control-character.policy", tmp_path / "p.policy")
    (tmp_path / "lead.json").write_text('{"email": "a@b.io", "employees": 600}')
    for argv in (["check", "p.policy", "--allow-untested"], ["explain", "p.policy", "--lead", "lead.json"]):
        result = _leadpolicy(tmp_path, *argv)
        out = result.stdout + result.stderr
        assert result.returncode == 1 and out.count(": control-character: ") == 3, (argv, out)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), (argv, out)


def test_a_samples_case_name_with_control_characters_is_shown_escaped(tmp_path):
    for suffix in (".policy", ".samples.yaml"):
        shutil.copy(POLICIES / f"inbound-b2b{suffix}", tmp_path / f"p{suffix}")
    text = (tmp_path / "p.samples.yaml").read_text().replace("inbound-b2b.policy", "p.policy")
    text = text.replace("stage: sql, route: enterprise-ae}", "stage: nurture, route: enterprise-ae}", 1)
    name = re.search(r"- name: (.*)", text).group(1)
    text = text.replace(f"- name: {name}", '- name: "x\\e[2J\\e]0;PWNED\\a\\rstays in nurture"', 1)
    (tmp_path / "p.samples.yaml").write_text(text)
    for command in ("test", "check"):
        result = _leadpolicy(tmp_path, command, "p.samples.yaml" if command == "test" else "p.policy")
        out = result.stdout + result.stderr
        assert result.returncode == 1 and "PWNED" in out, out
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), (command, out)


def test_explain_refuses_a_lead_file_that_is_a_fifo_or_too_big_without_reading_it(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "p.policy")
    os.mkfifo(tmp_path / "pipe.json")
    _sparse(tmp_path / "big.json")
    for name, says in (("pipe.json", "not a regular file"), ("big.json", "10 MiB")):
        result = _leadpolicy(tmp_path, "explain", "p.policy", "--lead", name)
        out = result.stdout + result.stderr
        assert result.returncode == 2 and f"--lead: {name}: " in out and says in out, out
