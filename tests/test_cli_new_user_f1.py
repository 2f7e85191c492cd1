"""What a new user found scoring a CRM export (issue 24): --max-rejects counts event rows too, default rejects
files never land in /dev, a project's column table does not break a policy it does not concern, and more."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

B2B = str(POLICIES / "inbound-b2b.policy")
ACTIVITY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-20T12:00:00Z"


def _leads(path: Path, n: int = 5) -> None:
    write_csv(path, ["id", "email", "employees", "industry", "source"],
              [[f"L{i}", f"a{i}@x.io", "50", "software", "webinar"] for i in range(n)])


def _bad_events(path: Path, n: int = 5) -> None:
    write_csv(path, ["lead", "event", "at"], [[f"L{i}", "bogus", "2026-11-19T10:00:00Z"] for i in range(n)])


def _good_events(path: Path, n: int = 5) -> None:
    write_csv(path, ["lead", "event", "at"], [[f"L{i}", "webinar_attended", "2026-11-19T10:00:00Z"] for i in range(n)])


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_max_rejects_counts_rejected_event_rows(tmp_path, capsys, engine):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    code = main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
                 "--quiet", "--max-rejects", "0", "--events", str(tmp_path / "ev.csv"), "--engine", engine])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_score_max_rejects_passes_when_events_are_within_the_limit(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv", 2)
    code = main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
                 "--quiet", "--max-rejects", "2", "--events", str(tmp_path / "ev.csv")])
    assert code == 0, capsys.readouterr().err


def test_score_events_warning_hints_max_rejects(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
          "--quiet", "--events", str(tmp_path / "ev.csv")])
    err = capsys.readouterr().err
    events_warning = err[err.index("event rows of"):]
    assert "--max-rejects N" in events_warning


@pytest.mark.parametrize("command", ["feedback", "backtest"])
def test_feedback_and_backtest_max_rejects_counts_event_rows(tmp_path, capsys, command):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    policies = [ACTIVITY] if command == "feedback" else [ACTIVITY, ACTIVITY]
    code = main([command, *policies, "--leads", str(tmp_path / "leads.csv"), "--events", str(tmp_path / "ev.csv"),
                 "--as-of", "2026-11-01", "--now", NOW, "--quiet", "--max-rejects", "0"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_diff_leads_max_rejects_counts_event_rows(tmp_path, capsys):
    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv")
    code = main(["diff", ACTIVITY, ACTIVITY, "--leads", str(tmp_path / "leads.csv"), "--events",
                 str(tmp_path / "ev.csv"), "--now", NOW, "--max-rejects", "0"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 rejected event rows" in err and "--max-rejects 0" in err


def test_score_to_dev_null_writes_default_rejects_beside_the_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [["L1", "a@x.io", "lots", "software", "webinar"], ["L2", "b@x.io", "5", "software", "webinar"]])
    _bad_events(tmp_path / "data" / "ev.csv", 2)
    code = main(["score", ACTIVITY, "data/leads.csv", "-o", os.devnull, "--now", NOW, "--quiet",
                 "--events", "data/ev.csv"])
    capsys.readouterr()
    assert code == 0
    assert [r["row"] for r in read_csv(tmp_path / "data" / "leads.rejects.csv")] == ["1"]
    assert len(read_csv(tmp_path / "data" / "ev.rejects.csv")) == 2


def test_a_reject_reason_keeps_the_header_it_names_and_drops_the_value():
    from leadpolicy.cli.shared import reason_of

    reason = reason_of({"row": 3, "field": "employees",
                        "problem": "column 'No. of Employees': expected a number, got text 'lots'"})
    assert reason == "employees: column 'No. of Employees': expected a number, got text"
    assert reason_of({"row": 4, "field": "employees",
                      "problem": "column \"Bob's Count\": 'x' is not a number"}) == \
        "employees: column \"Bob's Count\": is not a number"


def test_check_table_counts_the_samples_files_errors_as_the_footer_does(tmp_path, capsys, monkeypatch):
    import json
    import shutil

    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", "policies/")
    text = (POLICIES / "inbound-b2b.samples.yaml").read_text()
    Path("policies/inbound-b2b.samples.yaml").write_text(text.replace("policy: inbound-b2b.policy",
                                                                       "policy: other.policy", 1))
    assert main(["check", "policies/inbound-b2b.policy"]) == 1
    out = capsys.readouterr().out
    table = out[out.index("\npolicy "):].splitlines()
    header, row = table[1].split(), table[2].split()
    footer_errors = int(out.split(" error(s)")[0].split()[-1])
    assert footer_errors == 1 and int(row[header.index("errors")]) == footer_errors
    assert main(["check", "policies/inbound-b2b.policy", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["policies"][0]["errors"] == 1


def _subparsers():
    import argparse

    from leadpolicy.cli.main import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action.choices


def _dummy(action) -> str:
    from leadpolicy.cli.flags import date_arg, non_negative_int, timestamp_arg

    if action.choices:
        return str(next(iter(action.choices)))
    return {timestamp_arg: "2026-01-01", date_arg: "2026-01-01", non_negative_int: "1", float: "1",
            int: "1"}.get(action.type, "x")


def _abbreviated_flag(parser) -> tuple[str, bool]:
    """A long option cut short by one letter, unambiguous among the parser's options, and whether it takes a value."""
    options = [s for a in parser._actions for s in a.option_strings]
    for action in parser._actions:
        for flag in action.option_strings:
            cut = flag[:-1]
            if flag.startswith("--") and len(cut) > 3 and cut not in options and \
                    [o for o in options if o.startswith(cut)] == [flag]:
                return cut, action.nargs != 0
    raise AssertionError(f"{parser.prog} has no long option to cut short")


@pytest.mark.parametrize("command", sorted(_subparsers()[1]))
def test_an_abbreviated_flag_is_bad_usage_naming_it(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sub = _subparsers()[1][command]
    argv = [command]
    for action in sub._actions:
        if not action.option_strings and action.nargs not in ("*", "?") and action.dest != "help":
            argv.append(_dummy(action))
        elif action.option_strings and action.required:
            argv += [action.option_strings[-1], _dummy(action)]
    flag, takes_value = _abbreviated_flag(sub)
    with pytest.raises(SystemExit) as stop:
        main([*argv, f"{flag}=x" if takes_value else flag])
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    assert "unrecognized arguments" in err and flag in err
    assert "did you mean" in err and f"{flag}" in err.split("did you mean")[1]


def test_the_top_level_parser_takes_no_abbreviation(capsys):
    parser, _ = _subparsers()
    assert parser.allow_abbrev is False
    with pytest.raises(SystemExit) as stop:
        main(["--versio"])
    assert stop.value.code == 2


def _project(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.leadpolicy]\npaths = ["policies"]\n\n'
                                             f"[tool.leadpolicy.columns]\n{table}\n")


def test_a_project_column_for_a_field_the_policy_lacks_is_ignored(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, 'employees = "No. of Employees"\nemail = "Email"')
    write_csv(tmp_path / "trials.csv", ["Email", "plan", "signup_date"], [["a@x.io", "trial", "2026-11-01"]])
    code = main(["score", str(POLICIES / "product-led.policy"), "trials.csv", "-o", "o.csv", "--now", NOW, "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert read_csv(tmp_path / "o.csv")[0]["Email"] == "a@x.io"


def test_a_project_header_the_file_lacks_falls_back_to_the_fields_own_column(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, 'employees = "No. of Employees"')
    write_csv(tmp_path / "leads.csv", ["email", "employees", "industry"], [["a@x.io", "lots", "software"]])
    code = main(["score", B2B, "leads.csv", "-o", "o.csv", "--now", NOW, "--quiet"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert [r["field"] for r in read_csv(tmp_path / "leads.rejects.csv")] == ["employees"]  # read from `employees`


def test_a_flag_stays_strict_about_a_header_the_file_lacks(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "leads.csv", ["email", "employees", "industry"], [["a@x.io", "5", "software"]])
    code = main(["score", B2B, "leads.csv", "-o", "o.csv", "--now", NOW, "--quiet",
                 "--column", "employees=No. of Employees"])
    assert code == 2 and "No. of Employees" in capsys.readouterr().err


def test_a_misspelled_project_field_names_pyproject_and_the_setting(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, 'employes = "No. of Employees"')
    write_csv(tmp_path / "leads.csv", ["email", "No. of Employees"], [["a@x.io", "5"]])
    code = main(["score", B2B, "leads.csv", "-o", "o.csv", "--now", NOW, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "pyproject.toml [tool.leadpolicy.columns] employes" in err and "employees" in err


def test_a_misspelled_flag_field_is_said_before_the_header_it_shares_with_the_project(tmp_path, capsys,
                                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, 'employees = "No. of Employees"')
    write_csv(tmp_path / "leads.csv", ["email", "No. of Employees"], [["a@x.io", "5"]])
    code = main(["score", B2B, "leads.csv", "-o", "o.csv", "--now", NOW, "--quiet",
                 "--column", "employes=No. of Employees"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no field employes" in err and 'did you mean "employees"?' in err and "mapped to both" not in err


def _ci_score_step() -> str:
    """The shell of the CI recipe's step that scores the CRM sample with each policy (docs/governance.md)."""
    import re
    import textwrap

    from .conftest import ROOT

    text = (ROOT / "docs" / "governance.md").read_text()
    section = text[text.index("### A ready workflow for a policy repository"):]
    workflow = re.search(r"```yaml\n(.*?)```", section, re.S)[1]
    steps = re.findall(r"- run: \|\n((?:          .*\n)+)", workflow)
    (step,) = [s for s in steps if "leadpolicy score" in s]
    return textwrap.dedent(step)


def test_the_ci_recipe_scores_the_crm_sample_with_every_reference_policy(tmp_path):
    import shutil
    import subprocess
    import sys

    shutil.copytree(POLICIES, tmp_path / "policies")
    _project(tmp_path, 'employees = "No. of Employees"\nsource = "Lead Source"')
    (tmp_path / "data").mkdir()
    header = ["id", "email", "No. of Employees", "industry", "Lead Source", "plan", "signup_date"]
    write_csv(tmp_path / "data" / "crm-sample.csv", header,
              [[f"L{i}", f"a{i}@x.io", str(10 * i), "software", "webinar", "trial", "2026-11-01"] for i in range(20)])
    write_csv(tmp_path / "data" / "crm-sample.events.csv", ["lead", "event", "at"],
              [[f"L{i}", "webinar_attended", "2026-11-19T10:00:00Z"] for i in range(20)])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "CI": "true"}
    done = subprocess.run(["bash", "-e", "-c", _ci_score_step()], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("wrote /dev/null") == len(list(POLICIES.glob("*.policy")))
    assert not list(tmp_path.glob("rejects-*.csv"))  # a clean export rejects nothing
    bad = tmp_path / "data" / "crm-sample.events.csv"
    write_csv(bad, ["lead", "event", "at"], [[f"L{i}", "bogus", "2026-11-19T10:00:00Z"] for i in range(20)])
    failed = subprocess.run(["bash", "-e", "-c", _ci_score_step()], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 1, failed.stderr  # a broken event export fails the job


def _crm_export(tmp_path: Path) -> None:
    write_csv(tmp_path / "crm.csv", ["Lead ID", "Email", "No. of Employees", "Industry", "Lead Source"],
              [[f"L{i}", f"a{i}@x.io", "50", "software", "webinar"] for i in range(5)])
    write_csv(tmp_path / "crm.events.csv", ["lead", "event", "at"], [["L1", "closed_won", "2026-11-10T00:00:00Z"]])


def test_feedback_without_a_mapping_is_bad_usage_naming_the_files_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _crm_export(tmp_path)
    code = main(["feedback", ACTIVITY, "--leads", "crm.csv", "--events", "crm.events.csv", "--id-column", "Lead ID",
                 "--as-of", "2026-11-01", "--now", NOW, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    said = err[err.index("to group by"):]
    assert "'Lead Source'" in said and "'fit'" not in said and "'engagement'" not in said
    assert "--column source=HEADER" in said and 'did you mean "Lead Source"?' in said
    assert "warning: crm.csv: field source is not a column of the file" in err  # as score says


def test_feedback_with_an_id_column_naming_no_column_is_bad_usage(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _crm_export(tmp_path)
    code = main(["feedback", ACTIVITY, "--leads", "crm.csv", "--events", "crm.events.csv", "--id-column", "Lead",
                 "--as-of", "2026-11-01", "--now", NOW, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "'Lead ID'" in err and "--id-column" in err


@pytest.mark.parametrize("engine", ["duckdb", "python"])
@pytest.mark.parametrize("out_name", ["o.csv", "o.jsonl"])
def test_the_output_keeps_column_names_that_differ_only_in_case(tmp_path, capsys, engine, out_name):
    import csv
    import json

    write_csv(tmp_path / "notes.csv", ["id", "email", "Note", "NOTE"], [["L1", "a@b.io", 'x,"1', "y"]])
    write_csv(tmp_path / "amb.csv", ["id", "EMAIL", "email"], [["L1", "a@b.io", "c@d.io"]])
    out = tmp_path / out_name
    runs = {"notes.csv": [], "amb.csv": ["--column", "email=EMAIL"]}
    expected = {"notes.csv": {"id": "L1", "email": "a@b.io", "Note": 'x,"1', "NOTE": "y"},
                "amb.csv": {"id": "L1", "EMAIL": "a@b.io", "email": "c@d.io"}}
    for source, extra in runs.items():
        code = main(["score", B2B, str(tmp_path / source), "-o", str(out), "--now", NOW, "--quiet",
                     "--engine", engine, *extra])
        assert code == 0, capsys.readouterr().err
        if out.suffix == ".csv":
            with open(out, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            header, row = rows[0], rows[1]
            record = dict(zip(header, row))
        else:
            line = out.read_text().splitlines()[0]
            record = json.loads(line)
            header = list(record)
        assert header[:len(expected[source])] == list(expected[source])
        assert {k: record[k] for k in expected[source]} == expected[source]
        assert header[len(expected[source]):][:2] == ["fit", "engagement"] and record["stage"]


EVENT_LAYOUT = ["row", "field", "problem", "lead", "event", "at", "reason", "raw"]


def test_event_rejects_have_the_layout_sla_writes():
    from leadpolicy.sla.events import REJECT_COLUMNS
    from leadpolicy.warehouse.batch import EVENT_REJECT_COLUMNS

    assert list(EVENT_REJECT_COLUMNS) == list(REJECT_COLUMNS) == EVENT_LAYOUT


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_rejects_carry_the_lead_id_and_the_values(tmp_path, capsys, engine):
    write_csv(tmp_path / "leads.csv", ["Lead ID", "email", "employees", "industry"],
              [["L1", "a@x.io", "lots", "software"], ["L2", "b@x.io", "5", "software"]])
    write_csv(tmp_path / "ev.csv", ["lead", "event", "at"],
              [["L1", "bogus", "2026-11-19T10:00:00Z"], ["L2", "email_click", "yesterday"],
               ["L2", "email_click", "2026-11-19T10:00:00Z"]])
    code = main(["score", ACTIVITY, str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW,
                 "--quiet", "--events", str(tmp_path / "ev.csv"), "--id-column", "Lead ID", "--engine", engine])
    assert code == 0, capsys.readouterr().err
    with open(tmp_path / "leads.rejects.csv", newline="", encoding="utf-8") as handle:
        import csv

        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["row", "field", "problem", "lead", "value", "raw"]
        (lead_reject,) = list(reader)
    assert (lead_reject["row"], lead_reject["field"], lead_reject["lead"], lead_reject["value"]) == (
        "1", "employees", "L1", "lots")
    with open(tmp_path / "ev.rejects.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == EVENT_LAYOUT
        rejects = {r["row"]: r for r in reader}
    assert (rejects["1"]["lead"], rejects["1"]["event"], rejects["1"]["at"]) == ("L1", "bogus", "2026-11-19T10:00:00Z")
    assert (rejects["2"]["lead"], rejects["2"]["event"], rejects["2"]["at"]) == ("L2", "email_click", "yesterday")


def test_diff_and_feedback_event_rejects_have_the_same_layout(tmp_path, capsys):
    import csv

    _leads(tmp_path / "leads.csv")
    _bad_events(tmp_path / "ev.csv", 2)
    assert main(["diff", ACTIVITY, ACTIVITY, "--leads", str(tmp_path / "leads.csv"), "--events",
                 str(tmp_path / "ev.csv"), "--now", NOW]) == 0
    capsys.readouterr()
    for run in ("diff", "feedback"):
        if run == "feedback":
            (tmp_path / "ev.rejects.csv").unlink()
            main(["feedback", ACTIVITY, "--leads", str(tmp_path / "leads.csv"), "--events", str(tmp_path / "ev.csv"),
                  "--as-of", "2026-11-01", "--now", NOW, "--quiet"])
            capsys.readouterr()
        with open(tmp_path / "ev.rejects.csv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == EVENT_LAYOUT, run
            assert [(r["lead"], r["event"]) for r in reader] == [("L0", "bogus"), ("L1", "bogus")], run


def test_a_reject_reason_drops_json_values_so_one_reason_is_counted_once():
    from leadpolicy.cli.shared import reason_of

    def reason(problem: str) -> str:
        return reason_of({"row": 1, "field": "f", "problem": problem})

    kinds = {reason(f"expected a number, got a list {v}") for v in ("[1, 2]", "[3]", '["a", {"b": 1}]')}
    assert kinds == {"f: expected a number, got a list"}
    assert reason('expected text, got a JSON object {"a": 1}') == "f: expected text, got a JSON object"
    choices = {reason(f"{v} is not one of: a, b") for v in ('["a"]', "true", "12", "'x'")}
    assert choices == {"f: is not one of: a, b"}
    assert reason("column 'No. of Employees': [1] is not one of: a, b") == (
        "f: column 'No. of Employees': is not one of: a, b")
