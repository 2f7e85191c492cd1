"""Column mapping: a CRM export's headers (`Job Title`, `Lead Source`) read as the policy's fields, by
`--column FIELD=HEADER` or `[tool.leadpolicy.columns]`, on every engine and format (issue 24)."""

from __future__ import annotations

import json

import duckdb
import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

B2B = str(POLICIES / "inbound-b2b.policy")
ACTIVITY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-20T12:00:00Z"
HEADER = ["Email Address", "employees", "industry", "Job Title", "Lead Source"]
ROWS = [["a@corp.io", "300", "software", "VP Sales", "webinar"],
        ["b@corp.io", "20", "retail", "Intern", "organic"],
        ["c@corp.io", "5", "retail", "Head of Ops", "carrier pigeon"]]
MAPPING = ["--column", "email=Email Address", "--column", "job_title=Job Title", "--column", "source=Lead Source"]


def _export(tmp_path, fmt: str):
    csv_path = tmp_path / "export.csv"
    write_csv(csv_path, HEADER, ROWS)
    if fmt == "csv":
        return csv_path
    parquet = tmp_path / "export.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{csv_path}', all_varchar = true)) TO '{parquet}' "
                             "(FORMAT parquet)")
    csv_path.unlink()
    return parquet


def _run(argv: list[str]) -> int:
    """The exit code, whether the command returned it or argparse exited with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _scored(path) -> list[dict]:
    if path.suffix == ".csv":
        return read_csv(path)
    return [dict(zip([d[0] for d in cursor.description], row)) for cursor in
            [duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')")] for row in cursor.fetchall()]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_reads_mapped_headers_as_fields_and_rejects_name_both(tmp_path, capsys, engine, fmt):
    leads = _export(tmp_path, fmt)
    out = tmp_path / f"scored.{fmt}"
    code = main(["score", B2B, str(leads), "-o", str(out), "--now", NOW, "--engine", engine, *MAPPING])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "field email is not a column" not in captured.err
    rows = _scored(out)
    assert [r["Email Address"] for r in rows] == ["a@corp.io", "b@corp.io"]  # the file's own names are kept
    # 300 employees (+30), software (+20), a VP (+15: job_title is read from "Job Title")
    assert int(rows[0]["fit"]) == 65
    assert int(rows[1]["fit"]) == 0
    rejects = read_csv(tmp_path / "export.rejects.csv")
    assert [(r["row"], r["field"]) for r in rejects] == [("3", "source")]
    assert "Lead Source" in rejects[0]["problem"] and "carrier pigeon" in rejects[0]["problem"]


def test_the_mapping_in_pyproject_is_used_and_a_flag_wins(tmp_path, capsys, monkeypatch):
    leads = _export(tmp_path, "csv")
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy]\n[tool.leadpolicy.columns]\nemail = "Email Address"\n'
                                             'job_title = "Lead Source"\nsource = "Lead Source"\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["score", B2B, str(leads), "-o", "out.csv", "--now", NOW, "--column", "job_title=Job Title",
                 "--column", "source=Lead Source"])
    assert code == 0, capsys.readouterr().err
    assert int(read_csv(tmp_path / "out.csv")[0]["fit"]) == 65


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_feedback_and_backtest_read_mapped_headers(tmp_path, capsys, engine):
    write_csv(tmp_path / "leads.csv", ["Lead ID", "Email Address", "employees", "industry", "Lead Source"],
              [["L1", "a@corp.io", "300", "software", "webinar"], ["L2", "b@corp.io", "3", "retail", "organic"]])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L1", "closed_won", "2026-11-10T00:00:00Z"]])
    common = ["--leads", str(tmp_path / "leads.csv"), "--events", str(tmp_path / "events.csv"), "--as-of",
              "2026-11-01", "--now", NOW, "--format", "json", "--id-column", "Lead ID", "--engine", engine,
              "--column", "email=Email Address", "--column", "source=Lead Source"]
    assert main(["feedback", ACTIVITY, *common]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"]["leads_read"] == 2 and report["rows"]["leads_rejected"] == 0, report
    assert main(["backtest", ACTIVITY, ACTIVITY, *common]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == {"leads_read": 2, "old_rejected": 0, "new_rejected": 0,
                                                         "leads_rejects_file": None}


@pytest.mark.parametrize(("flag", "says"), [
    (["--column", "jobtitle=Job Title"], "no field jobtitle"),
    (["--column", "job_title=Job Titel"], "no column 'Job Titel'"),
    (["--column", "job_title=Job Title", "--column", "country=Job Title"], "'Job Title' is mapped to both"),
    (["--column", "job_title"], "FIELD=HEADER"),
    (["--column", "=Job Title"], "FIELD=HEADER"),
    (["--column", "job_title=Job Title", "--column", "job_title=Lead Source"], "job_title is mapped twice"),
])
def test_a_bad_mapping_is_bad_usage(tmp_path, capsys, flag, says):
    leads = _export(tmp_path, "csv")
    code = _run(["score", B2B, str(leads), "-o", str(tmp_path / "out.csv"), "--now", NOW, *flag])
    err = capsys.readouterr().err
    assert code == 2, err
    assert says in err
    assert not (tmp_path / "out.csv").exists()


def test_a_bad_mapping_in_pyproject_is_bad_usage(tmp_path, capsys, monkeypatch):
    leads = _export(tmp_path, "csv")
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy.columns]\njob_title = 3\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    assert _run(["score", B2B, str(leads), "-o", "out.csv", "--now", NOW]) == 2
    assert "[tool.leadpolicy.columns] job_title" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_leads_reads_mapped_headers(tmp_path, capsys, engine):
    write_csv(tmp_path / "leads.csv", ["Lead ID", "Email Address", "Company Size", "industry", "Lead Source"],
              [["L1", "a@corp.io", "300", "software", "webinar"], ["L2", "b@corp.io", "3", "retail", "pigeon"]])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], [["L1", "handed_off", "2026-11-10T15:00:00Z"]])
    argv = ["sla", ACTIVITY, str(tmp_path / "events.csv"), "--now", NOW, "--format", "json", "--engine", engine,
            "--leads", str(tmp_path / "leads.csv"), "--id-column", "Lead ID", "--column", "email=Email Address",
            "--column", "employees=Company Size", "--column", "source=Lead Source"]
    assert _run(argv) in (0, 1)
    captured = capsys.readouterr()
    assert json.loads(captured.out)["leads"] == {"read": 2, "used": 1, "rejected": 1}, captured.err
    rejects = read_csv(tmp_path / "leads.rejects.csv")
    assert [(r["row"], r["field"]) for r in rejects] == [("2", "source")]
    assert rejects[0]["problem"].startswith("column 'Lead Source': 'pigeon'")
    assert _run([*argv, "--column", "industry=Branche"]) == 2
    assert "has no column 'Branche'" in capsys.readouterr().err
    assert _run([*argv, "--column", "sector=industry"]) == 2
    assert "names no field sector" in capsys.readouterr().err
