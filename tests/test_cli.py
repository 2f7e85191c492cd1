"""The command line, driven as a user would: exit codes, output, JSON, and the README's first command."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from leadpolicy.cli.main import main

from .conftest import FIXTURES, POLICIES, ROOT


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_readme_first_command_checks_a_clean_copy_of_policies(tmp_path):
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    assert len(commands) >= 2 and "leadpolicy check" in commands[0] and commands[1] == "bash scripts/test"
    assert "pytest" in (ROOT / "scripts" / "test").read_text()
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()
    shutil.copytree(POLICIES, tmp_path / "policies")
    # The README's command installs first; here the package is installed, so run the job it runs.
    job = commands[0].split("&&")[-1].strip()
    result = subprocess.run([sys.executable, "-m", "leadpolicy", *job.split()[1:]], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all is well" in result.stdout
    assert "policies/inbound-b2b.policy" in result.stdout and "21/21" in result.stdout


def test_check_fails_for_untested_policy(tmp_path, capsys):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "lonely.policy")
    code, out, _ = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert "untested: no samples file: create lonely.samples.yaml next to it" in out
    code, out, _ = run(capsys, "check", str(tmp_path), "--allow-untested")
    assert code == 0


def test_check_reports_every_error_and_exits_1(capsys):
    code, out, _ = run(capsys, "check", str(FIXTURES / "diagnostics"), "--allow-untested")
    assert code == 1
    for path in (FIXTURES / "diagnostics").glob("*.policy"):
        assert f"{path.stem}" in out
    assert "Traceback" not in out


def test_check_json(capsys):
    code, out, _ = run(capsys, "check", "--format", "json", str(POLICIES))
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert {p["id"] for p in data["policies"]} == {"inbound-activity", "inbound-b2b", "product-led-signups"}
    statuses = {c["name"]: c["status"] for c in data["cases"]}
    assert len(statuses) > 50 and set(statuses.values()) == {"passed"}


def test_check_min_coverage_and_strict(capsys, tmp_path):
    code, out, _ = run(capsys, "check", str(POLICIES), "--min-coverage", "99")
    assert code == 1 and "is below the floor of 99.0%" in out
    shutil.copy(FIXTURES / "diagnostics" / "missing-title.policy", tmp_path / "w.policy")
    assert run(capsys, "check", str(tmp_path), "--allow-untested")[0] == 0
    assert run(capsys, "check", str(tmp_path), "--allow-untested", "--strict")[0] == 1


def test_missing_path_is_a_clear_error(capsys):
    code, out, _ = run(capsys, "check", "no/such/dir")
    assert code == 1 and "no/such/dir: unreadable-file: no such file or directory" in out


def test_test_command_output_junit_and_filter(capsys, tmp_path):
    junit = tmp_path / "report.xml"
    code, out, _ = run(capsys, "test", str(FIXTURES / "samples" / "wrong.samples.yaml"), "--junit", str(junit))
    assert code == 1
    assert 'stage: expected "mql", got "sql"' in out
    assert "0 passed, 2 failed, 3 errors" in out
    assert junit.read_text().count("<testcase") == 5
    code, out, _ = run(capsys, "test", str(POLICIES / "inbound-b2b.samples.yaml"), "-k", "thanksgiving")
    assert code == 0 and out.strip().endswith("1 passed, 0 failed, 0 errors in 1 samples file(s)")
    code, out, _ = run(capsys, "test", str(POLICIES / "inbound-activity.samples.yaml"), "-k", "VP")
    assert code == 0 and out.strip().endswith("1 passed, 0 failed, 0 errors in 1 samples file(s)")


def test_test_coverage_listing(capsys):
    code, out, _ = run(capsys, "test", str(POLICIES / "inbound-b2b.policy"), "--coverage")
    assert code == 0
    assert "no case tests the boundary fit = 40" in out and "fit = 50" not in out
    assert run(capsys, "test", str(POLICIES), "--min-coverage", "95")[0] == 1


def test_explain_text_and_json(capsys):
    lead = json.dumps({"email": "omar@ledgerly.com", "employees": 300, "industry": "fintech",
                       "job_title": "VP Finance", "email_clicks": 4, "pricing_page_views": 2,
                       "last_activity": "2026-09-01T09:00:00-04:00"})
    policy = str(POLICIES / "inbound-b2b.policy")
    code, out, _ = run(capsys, "explain", policy, "--lead", lead, "--now", "2026-11-20T12:00:00-05:00")
    assert code == 0
    assert "stage: nurture (owner marketing); route: -" in out
    assert "not mql: engagement 23 < 30" in out
    code, out, _ = run(capsys, "explain", policy, "--lead", lead, "--now", "2026-11-20T12:00:00-05:00",
                       "--format", "json")
    assert json.loads(out)["scores"] == {"fit": 65, "engagement": 23}


def test_explain_without_now_prints_the_time_it_used(capsys, tmp_path):
    lead = tmp_path / "lead.yaml"
    lead.write_text("email: a@b.io\n")
    code, out, _ = run(capsys, "explain", str(POLICIES / "inbound-b2b.policy"), "--lead", str(lead))
    assert code == 0 and " (now)" in out.splitlines()[0]


def test_explain_rejects_a_bad_lead_by_field(capsys):
    code, _, err = run(capsys, "explain", str(POLICIES / "inbound-b2b.policy"), "--lead",
                       '{"email": "a@b.io", "employees": "many"}')
    assert code == 1 and "lead: employees: expected a number, got text 'many'" in err


def test_schema_command(capsys):
    code, out, _ = run(capsys, "schema", str(POLICIES / "product-led.policy"))
    schema = json.loads(out)
    assert code == 0 and schema["required"] == ["email", "signup_date"]


def test_fmt_check_diff_and_write(capsys, tmp_path):
    path = tmp_path / "c.policy"
    shutil.copy(FIXTURES / "commented.policy", path)
    code, out, _ = run(capsys, "fmt", "--check", str(path))
    assert code == 1 and "not formatted" in out
    code, out, _ = run(capsys, "fmt", "--diff", str(path))
    assert code == 1 and "+    +10 when employees >= 100  \"Big\"" in out
    assert run(capsys, "fmt", str(path))[0] == 0
    assert run(capsys, "fmt", "--check", str(path))[0] == 0
    assert path.read_text() == (FIXTURES / "formatted" / "commented.policy.formatted").read_text()


def test_fmt_leaves_broken_files_alone(capsys, tmp_path):
    path = tmp_path / "bad.policy"
    shutil.copy(FIXTURES / "diagnostics" / "syntax-error.policy", path)
    before = path.read_text()
    code, out, _ = run(capsys, "fmt", str(path))
    assert code == 1 and "syntax-error" in out and path.read_text() == before


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["test", "--help"], ["explain", "--help"],
                                  ["fmt", "--help"], ["schema", "--help"]])
def test_help_everywhere_with_examples(capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out


def test_console_script_runs_without_traceback_on_binary_input(tmp_path):
    bad = tmp_path / "x.policy"
    bad.write_bytes(os.urandom(64) + b"\x00")
    env = dict(os.environ)
    env.pop("LEADPOLICY_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "check", str(bad)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "unreadable-file: binary file" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_coverage_floor_failure_is_a_diagnostic_everywhere(tmp_path, capsys, monkeypatch):
    from .conftest import REFERENCE_COPY

    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(REFERENCE_COPY / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(["check", ".", "--min-coverage", "90"]) == 1
    out = capsys.readouterr().out
    assert "inbound-b2b.policy:4:8: low-coverage: sample coverage 70.8% is below the floor of 90" in out
    assert "no case tests the boundary employees = 50" in out
    # the warning: fit's rules add up to at most 65, so fit_grade "A" (fit >= 75) is never given (proved)
    assert "inbound-b2b.policy  2.1.0    1       1         17/17  70.8%     draft     errors" in out
    assert main(["check", ".", "--min-coverage", "90", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["policies"][0]["status"] == "errors" and not data["ok"]
    assert [d["code"] for d in data["diagnostics"]] == ["low-coverage", "never-true"]
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["ci", ".", "--min-coverage", "90", "--skip-approvals", "--skip-fmt", "--skip-versions",
                 "--sarif", "out.sarif"]) == 1
    assert "title=low-coverage::sample coverage 70.8%" in capsys.readouterr().out
    results = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["low-coverage", "never-true"]
    assert main(["check", ".", "--min-coverage", "70"]) == 0


def test_check_and_test_speak_github_annotations(tmp_path, capsys):
    from .conftest import FIXTURES

    policy = tmp_path / "broken.policy"
    policy.write_text((POLICIES / "inbound-b2b.policy").read_text().replace("employees >= 200", "employes >= 200"))
    assert main(["check", str(policy), "--allow-untested", "--format", "github"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"::error file={policy},line=") and "title=unknown-name::" in line for line in out)
    assert not any(line.startswith("policy ") for line in out)  # no table: only workflow commands and a verdict
    assert main(["test", str(FIXTURES / "samples" / "wrong.samples.yaml"), "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert "title=sample failed::expects the wrong stage and a wrong fired list: stage: expected" in out
    assert main(["test", str(POLICIES / "inbound-b2b.policy"), "--min-coverage", "95", "--format", "github"]) == 1
    assert "title=low-coverage::sample coverage 91.7%25 is below the floor of 95.0%25" in capsys.readouterr().out


def test_fmt_reads_standard_input_for_editors(monkeypatch, capsys):
    import io

    from .conftest import REFERENCE_COPY

    reference = (REFERENCE_COPY / "inbound-b2b.policy").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(reference))
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == (POLICIES / "inbound-b2b.policy").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(reference))
    assert main(["fmt", "-", "--check"]) == 1 and capsys.readouterr().out == ""
    monkeypatch.setattr("sys.stdin", io.StringIO((POLICIES / "inbound-b2b.policy").read_text()))
    assert main(["fmt", "-", "--check"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("policy {"))
    assert main(["fmt", "-"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("<stdin>:1:8: syntax-error")


def test_settings_in_pyproject_are_defaults_that_flags_override(tmp_path, monkeypatch, capsys):
    from .conftest import REFERENCE_COPY

    (tmp_path / "rules").mkdir()
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(REFERENCE_COPY / name, tmp_path / "rules" / name)
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\npaths = ["rules"]\nmin-coverage = 90\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # found in a parent folder; paths are relative to the pyproject
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "low-coverage: sample coverage 70.8% is below the floor of 90.0%" in out
    assert "\n../rules/inbound-b2b.policy  2.1.0" in out  # paths shown relative to where the command runs
    assert main(["check", "--min-coverage", "50"]) == 0  # a flag wins
    capsys.readouterr()
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\npaths = ["rules"]\nrequire-approvals = true\n')
    assert main(["check"]) == 1 and "not-approved" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\nmin_coverage = 90\n')
    assert main(["check"]) == 2
    assert "has no setting 'min_coverage' (did you mean \"min-coverage\"?)" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\nstrict = "yes"\n')
    assert main(["check"]) == 2 and "[tool.leadpolicy] strict: true or false, not text" in capsys.readouterr().err


def test_a_lead_file_that_is_not_yaml_or_json_is_a_clear_error(tmp_path, capsys):
    policy = str(POLICIES / "inbound-b2b.policy")
    bad = tmp_path / "lead.yaml"
    for text, message in (("email: [unclosed\n", "lead.yaml:2:1: not valid YAML"),
                          ("a: &a [1, *a]\n", "lead.yaml:1:11: the alias *a stands inside the value &a"),):
        bad.write_text(text)
        assert main(["explain", policy, "--lead", str(bad)]) == 2  # what --lead names cannot be read: bad usage
        assert message in capsys.readouterr().err
    assert main(["explain", policy, "--lead", '{"email": ']) == 2
    assert "--lead: not valid JSON" in capsys.readouterr().err


def test_sla_details_are_written_whole_or_not_at_all(tmp_path, capsys, monkeypatch):
    from leadpolicy.sla import report as sla_report

    events = tmp_path / "events.csv"
    events.write_text("lead,event,at\nL1,became_sql,2026-11-20T16:00:00-05:00\n")
    details = tmp_path / "details.csv"
    details.write_text("the previous report\n")
    args = ["sla", str(POLICIES / "inbound-b2b.policy"), str(events), "--details", str(details), "--report-only",
            "--now", "2026-11-30T12:00:00-05:00"]

    def crash(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(sla_report, "build_report", crash)
    assert main(args) == 3
    assert details.read_text() == "the previous report\n" and not list(tmp_path.glob(".details*"))
    monkeypatch.undo()
    assert main(args) == 0
    rows = list(csv.DictReader(details.open()))
    assert [(r["sla"], r["lead"], r["status"]) for r in rows] == [("speed_to_lead", "L1", "breached"),
                                                                  ("sql_follow_up", "L1", "pending")]
    # a folder that does not exist is bad usage (exit 2), said before the log is read
    assert main(args[:4] + [str(tmp_path / "nowhere" / "d.csv"), "--report-only"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_samples_file_checked_without_its_policy_still_has_a_coverage_floor(tmp_path, capsys):
    from .conftest import REFERENCE_COPY

    (tmp_path / "rules").mkdir()
    (tmp_path / "cases").mkdir()
    shutil.copy(REFERENCE_COPY / "inbound-b2b.policy", tmp_path / "rules" / "inbound-b2b.policy")
    samples = (REFERENCE_COPY / "inbound-b2b.samples.yaml").read_text()
    (tmp_path / "cases" / "x.samples.yaml").write_text(
        samples.replace("policy: inbound-b2b.policy", "policy: ../rules/inbound-b2b.policy"))
    assert main(["check", str(tmp_path / "cases" / "x.samples.yaml"), "--min-coverage", "90"]) == 1
    assert "low-coverage: sample coverage 70.8% is below the floor of 90.0%" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "cases" / "x.samples.yaml"), "--min-coverage", "50"]) == 0


def test_compile_sql_of_an_activity_policy_needs_and_reads_an_events_table(capsys, tmp_path):
    policy = str(POLICIES / "inbound-activity.policy")
    code, _, err = run(capsys, "compile", policy, "--target", "sql", "--now", "2026-11-20T12:00:00-05:00")
    assert code == 1 and "--events-table" in err and "Traceback" not in err
    for dialect in ("duckdb", "postgres", "spark", "snowflake", "bigquery"):
        code, out, err = run(capsys, "compile", policy, "--target", "sql", "--dialect", dialect, "--events-table",
                             "crm.events", "--id-column", "lead_id", "--now", "2026-11-20T12:00:00-05:00")
        assert code == 0, err
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(out, read=dialect)
        tables = {t.name.lower() for t in tree.find_all(exp.Table)}
        assert {"leads", "events"} <= tables
        assert any(c.name.lower() == "lead_id" for c in tree.find_all(exp.Column))


def test_the_last_line_of_test_says_why_it_failed(capsys, tmp_path):
    """`leadpolicy test` that exits 1 with every case passing says so on its last line, not only above."""
    for name in ("inbound-b2b.policy", "inbound-b2b.samples.yaml"):
        shutil.copy(POLICIES / name, tmp_path / name)
    code, out, _ = run(capsys, "test", str(tmp_path), "--min-coverage", "99")
    last = out.strip().splitlines()[-1]
    assert code == 1 and "0 failed" in last and "problems found" in last and "low-coverage" in last, last
    code, out, _ = run(capsys, "test", str(tmp_path), "--min-coverage", "50")
    last = out.strip().splitlines()[-1]
    assert code == 0 and "problems found" not in last and "passed" in last, last
