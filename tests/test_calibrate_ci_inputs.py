"""What `ci --calibrate` and `ci --backtest` read, as `feedback` and `calibrate` read it: a leads file whose id
column is not `id` and whose columns need mapping (--id-column, --column, [tool.leadpolicy.columns]); the rejects
files those commands write beside the data are no leads or events file of a data folder; a column of the leads
named like a computed output (Owner) is neither warned of (no lead output is written) nor stands for the
computed owner with --by; rejects files beside data that a proposal was written next to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadpolicy.cli.main import main
from leadpolicy.measure.backtest import data_files

from .calibration_data import activity_data
from .conftest import POLICIES
from .files import read_csv

AS_OF, NOW = "2026-11-01T00:00:00-04:00", "2026-11-30T12:00:00-05:00"
CI = ["ci", ".", "--skip-approvals", "--skip-versions", "--skip-fmt"]


def _crm_data(folder: Path, leads: int = 400, bad_rows: int = 0) -> Path:
    """A CRM export of leads for the activity reference (`activity_data`) and their events."""
    return activity_data(folder, leads, seed=14, crm=True, bad_rows=bad_rows)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A policy repository: the activity reference (with its samples) and a backtest/ folder of CRM data."""
    for name in ("inbound-activity.policy", "inbound-activity.samples.yaml"):
        shutil.copy(POLICIES / name, tmp_path / name)
    _crm_data(tmp_path / "backtest")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _calibrate_ci(*extra: str) -> int:
    return main([*CI, "--calibrate", "backtest", "--calibrate-as-of", AS_OF, "--calibrate-now", NOW, *extra])


# ---------------------------------------------------------------- 12, 13: ci reads what calibrate reads

def test_ci_calibrate_takes_the_id_column_and_column_mappings_as_calibrate_does(repo, capsys):
    assert _calibrate_ci("--id-column", "Lead ID", "--column", "source=Lead Source") == 0
    said = capsys.readouterr()
    assert "# Calibration of inbound-activity" in said.out
    assert "of 400 leads" in said.out or "400 leads" in said.out
    assert "field source is not a column" not in said.err


def test_ci_calibrate_reads_the_projects_column_settings(repo, capsys):
    (repo / "pyproject.toml").write_text('[tool.leadpolicy.columns]\nsource = "Lead Source"\n', "utf-8")
    assert _calibrate_ci("--id-column", "Lead ID") == 0
    said = capsys.readouterr()
    assert "# Calibration of inbound-activity" in said.out
    assert "field source is not a column" not in said.err


def test_ci_calibrate_needs_no_group_column_without_by(repo, capsys):
    """The leads have no column for source under any name: the rules' evidence needs none (calibrate groups
    only by --by), so the field is read without it, a warning, and the report is made."""
    assert _calibrate_ci("--id-column", "Lead ID") == 0
    said = capsys.readouterr()
    assert "# Calibration of inbound-activity" in said.out
    assert "to group by" not in said.err


def test_ci_calibrate_data_it_cannot_read_is_exit_1_and_a_mapping_of_no_field_is_usage(repo, capsys):
    assert _calibrate_ci() == 1  # the leads have no column `id`: data ci cannot read, as the docs say
    err = capsys.readouterr().err
    assert "Lead ID" in err and "Traceback" not in err
    assert _calibrate_ci("--id-column", "Lead ID", "--column", "no_such_field=Lead Source") == 2
    assert "no field no_such_field" in capsys.readouterr().err


def _git(repo: Path, *argv: str) -> None:
    import subprocess

    subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin"})


def test_ci_backtest_takes_the_id_column_and_the_projects_column_settings(repo, capsys):
    (repo / "pyproject.toml").write_text('[tool.leadpolicy.columns]\nsource = "Lead Source"\n', "utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    policy = repo / "inbound-activity.policy"
    text = policy.read_text("utf-8")
    policy.write_text(text.replace("version 3.0.0", "version 3.1.0", 1), "utf-8")
    argv = [*CI, "--against", "main", "--backtest", "backtest", "--backtest-as-of", AS_OF, "--backtest-now", NOW]
    assert "version 3.0.0" in text
    main(argv)
    out = capsys.readouterr().out
    assert "Backtest: inbound-activity 3.0.0 → 3.1.0" not in out  # without the id column, no backtest
    main([*argv, "--id-column", "Lead ID"])
    said = capsys.readouterr()
    assert "Backtest: inbound-activity 3.0.0 → 3.1.0" in said.out, said.err
    assert "field source is not a column" not in said.err


# ---------------------------------------------------------------- 14: rejects files are no data files

def test_the_rejects_files_beside_the_data_are_not_data_files(tmp_path):
    for name in ("leads.csv", "leads.rejects.csv", "events.csv", "events.rejects.csv", "EVENTS.REJECTS.CSV"):
        (tmp_path / name).write_text("id\n", "utf-8")
    assert data_files(tmp_path) == (tmp_path / "leads.csv", tmp_path / "events.csv")


def test_ci_backtest_and_calibrate_run_after_calibrate_wrote_rejects_beside_the_data(repo, capsys):
    _crm_data(repo / "backtest", bad_rows=2)
    data = ["--leads", "backtest/leads.csv", "--events", "backtest/events.csv", "--id-column", "Lead ID",
            "--as-of", AS_OF, "--now", NOW, "--format", "json", "-o", "cal.json"]
    assert main(["calibrate", "inbound-activity.policy", *data]) == 0
    assert (repo / "backtest" / "leads.rejects.csv").exists()
    capsys.readouterr()
    assert _calibrate_ci("--id-column", "Lead ID") == 0
    assert "needs exactly one" not in capsys.readouterr().err


# ---------------------------------------------------------------- 20: a column named like a computed output

def _measuring(command: str, repo: Path) -> list[str]:
    return [command, "inbound-activity.policy", "--leads", "backtest/leads.csv", "--events", "backtest/events.csv",
            "--id-column", "Lead ID", "--column", "source=Lead Source", "--as-of", AS_OF, "--now", NOW,
            "--format", "json", "--rejects-folder", str(repo)]


@pytest.mark.parametrize("command", ["feedback", "calibrate"])
def test_a_column_named_like_the_computed_owner_is_no_warning_and_by_groups_by_the_column(repo, capsys, command):
    assert main([*_measuring(command, repo), "--by", "Owner"]) == 0
    said = capsys.readouterr()
    assert "replaced in the output" not in said.err
    report = json.loads(said.out)
    groups = {g["value"]: g["leads"] for g in report["groups"] if g["by"] == "Owner"}
    assert groups == {"amy": 200, "bob": 200}  # the reps of the input, never the computed teams


def test_backtest_writes_no_warning_of_a_replaced_column(repo, capsys):
    assert main(["backtest", "inbound-activity.policy", "inbound-activity.policy",
                 *_measuring("feedback", repo)[2:]]) == 0
    assert "replaced in the output" not in capsys.readouterr().err


# ---------------------------------------------------------------- 22: rejects beside a proposal, honest messages

def test_a_policy_written_beside_the_data_does_not_stop_its_rejects_files(repo, capsys):
    _crm_data(repo / "backtest", bad_rows=2)
    data = ["--leads", "backtest/leads.csv", "--events", "backtest/events.csv", "--id-column", "Lead ID",
            "--column", "source=Lead Source", "--as-of", AS_OF, "--now", NOW]
    shutil.copy(repo / "inbound-activity.policy", repo / "backtest" / "next.policy")  # the proposal, beside
    assert main(["feedback", "inbound-activity.policy", *data, "--format", "json", "-o", "f.json"]) == 0
    err = capsys.readouterr().err
    assert "not written" not in err
    rows = [r["row"] for r in read_csv(repo / "backtest" / "leads.rejects.csv")]
    assert rows == ["401", "402"]  # the bad rows, counted after the header


def test_backtest_says_where_its_rejected_rows_are_listed_only_when_they_are(repo, capsys):
    _crm_data(repo / "backtest", bad_rows=2)
    argv = ["backtest", "inbound-activity.policy", "inbound-activity.policy", "--leads", "backtest/leads.csv",
            "--events", "backtest/events.csv", "--id-column", "Lead ID", "--column", "source=Lead Source",
            "--as-of", AS_OF, "--now", NOW]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "rejected 2" in out and str(Path("backtest") / "leads.rejects.csv") in out
    report = json.loads(_run_json(capsys, argv))
    assert report["rows"]["leads_rejects_file"] == str(Path("backtest") / "leads.rejects.csv")


def _run_json(capsys, argv: list[str]) -> str:
    assert main([*argv, "--format", "json"]) == 0
    return capsys.readouterr().out


def test_ci_backtest_report_names_no_rejects_file_it_did_not_keep(repo, capsys):
    _crm_data(repo / "backtest", bad_rows=2)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    policy = repo / "inbound-activity.policy"
    policy.write_text(policy.read_text("utf-8").replace("version 3.0.0", "version 3.1.0", 1), "utf-8")
    main([*CI, "--against", "main", "--backtest", "backtest", "--backtest-as-of", AS_OF, "--backtest-now", NOW,
          "--id-column", "Lead ID"])
    out = capsys.readouterr().out
    assert "rejected 2" in out and "rejects file" not in out


def test_backtest_counts_have_thousands_separators(tmp_path, capsys, monkeypatch):
    for name in ("inbound-activity.policy", "inbound-activity.samples.yaml"):
        shutil.copy(POLICIES / name, tmp_path / name)
    _crm_data(tmp_path / "data", leads=1200, bad_rows=1)
    monkeypatch.chdir(tmp_path)
    assert main(["backtest", "inbound-activity.policy", "inbound-activity.policy", "--leads", "data/leads.csv",
                 "--events", "data/events.csv", "--id-column", "Lead ID", "--column", "source=Lead Source",
                 "--as-of", AS_OF, "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "read 1,201" in out and "1,200" in out and "1200" not in out and "1201" not in out
