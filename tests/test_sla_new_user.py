"""What a new user running `leadpolicy sla` on a CRM export found (issue 24): tiers without `--leads`,
leads flags without `--leads`, a wrong `--id-column`, the events that never occur, the `tiers` section,
and one wording for no data."""

from __future__ import annotations

import json

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

POLICY = str(POLICIES / "inbound-activity.policy")
NOW = "2026-11-30T12:00:00-05:00"
ENGINES = ["python", "duckdb"]

EVENTS = """lead,event,at,reason
T1,demo_request,2026-11-23T09:00:00-05:00,
T1,pricing_page_view,2026-11-20T09:00:00-05:00,
T1,pricing_page_view,2026-11-21T09:00:00-05:00,
T1,webinar_attended,2026-11-10T09:00:00-05:00,
T1,became_sql,2026-11-23T10:00:00-05:00,
T1,first_touch,2026-11-23T11:30:00-05:00,
T2,became_mql,2026-11-23T10:00:00-05:00,
T2,first_touch,2026-11-23T11:30:00-05:00,
T3,demo_request,2026-11-24T09:00:00-05:00,
T3,pricing_page_view,2026-11-24T09:10:00-05:00,
T3,pricing_page_view,2026-11-24T09:20:00-05:00,
T3,became_sql,2026-11-24T10:00:00-05:00,
T3,handed_off,2026-11-24T10:00:00-05:00,
T3,first_touch,2026-11-24T10:30:00-05:00,
T3,touch,2026-11-24T10:30:00-05:00,
"""
# A CRM export: its own headers, a byte order mark.
LEADS = ("\ufeffLead ID,Email,No. of Employees,Industry,Lead Source\nT1,ana@bigsoft.io,1200,SOFTWARE,Webinar\n"
         "T2,bo@small.io,20,Retail,ORGANIC\nT3,cy@bigsoft.io,1500,Software,webinar\n")
MAPPING = ["--column", "email=Email", "--column", "employees=No. of Employees", "--column", "industry=Industry",
           "--column", "source=Lead Source"]


@pytest.fixture
def crm(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.csv").write_text(EVENTS)
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    return ["sla", POLICY, "events.csv", "--now", NOW]


def _json(argv, capsys) -> tuple[int, dict, str]:
    code = main([*argv, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


# ---------------------------------------------------------------- 1: tiers without --leads


@pytest.mark.parametrize("engine", ENGINES)
def test_tiers_without_leads_count_every_clock_as_a_fallback_and_warn(crm, capsys, engine):
    code, report, err = _json([*crm, "--engine", engine], capsys)
    assert report["tier_fallbacks"] == {"clocks": 3, "no leads file given": 3}
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1, err
    assert "speed_to_lead" in warnings[0] and "3 clock(s)" in warnings[0] and "--leads" in warnings[0]
    main([*crm, "--engine", engine])
    out = capsys.readouterr().out
    assert "3 clock(s) took the otherwise tier" in out and "no leads file given" in out


@pytest.mark.parametrize("engine", ENGINES)
def test_with_leads_tier_a_is_judged_and_nothing_falls_back(crm, capsys, engine):
    code, report, err = _json([*crm, "--engine", engine, "--leads", "leads.csv", "--id-column", "Lead ID",
                               *MAPPING], capsys)
    tiers = {t["tier"]: (t["met"], t["breached"]) for t in report["tiers"] if t["sla"] == "speed_to_lead"}
    assert tiers['tier = "A"'] == (1, 1)
    assert report["tier_fallbacks"]["clocks"] == 0 and "warning" not in err


# ---------------------------------------------------------------- 2: leads flags without --leads


@pytest.mark.parametrize("flags", [["--column", "email=Email"], ["--id-column", "Lead ID"]])
def test_leads_flags_without_leads_are_bad_usage(crm, capsys, flags):
    assert main([*crm, *flags]) == 2
    err = capsys.readouterr().err
    assert flags[0] in err and "--leads" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_an_id_column_naming_no_column_is_bad_usage_naming_the_columns(crm, capsys, engine):
    assert main([*crm, "--engine", engine, "--leads", "leads.csv", "--id-column", "Lead_ID", *MAPPING]) == 2
    err = capsys.readouterr().err
    assert "'Lead ID'" in err and "did you mean" in err and "--id-column" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------- 5: events that never occur


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_events_the_slas_read_are_said_to_never_occur(crm, capsys, engine):
    code, report, _ = _json([*crm, "--engine", engine], capsys)
    assert report["events_not_in_log"] == ["accepted", "lead_replied", "rejected", "waiting_on_lead"]
    main([*crm, "--engine", engine])
    out = capsys.readouterr().out
    for elsewhere in ("closed_won", "closed_lost", "email_click"):
        assert elsewhere not in out


def test_an_sla_event_named_like_a_stage_gets_the_became_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = (POLICIES / "inbound-activity.policy").read_text()
    text = text.replace("from became_sql or became_mql until first_touch", "from sql until first_touch")
    text = text.replace("    became_sql", "    sql\n    became_sql", 1) if "    became_sql" in text else text
    (tmp_path / "p.policy").write_text(text)
    (tmp_path / "events.csv").write_text(EVENTS)
    main(["sla", "p.policy", "events.csv", "--now", NOW, "--report-only"])
    captured = capsys.readouterr()
    said = [line for line in captured.out.splitlines() if "never occur" in line]
    assert said and "sql" in said[0] and 'did you mean "became_sql"?' in captured.out, captured


@pytest.mark.parametrize("engine", ENGINES)
def test_no_data_has_one_wording_and_the_empty_log_one_only_for_an_empty_log(crm, tmp_path, capsys, engine):
    main([*crm, "--engine", engine, "--from", "2026-11-25"])
    out = capsys.readouterr().out
    assert "empty log" not in out
    said = [line for line in out.splitlines() if line.startswith("no data:")]
    assert len(said) == 1 and "nothing to judge" in said[0], out
    (tmp_path / "empty.csv").write_text("lead,event,at,reason\n")
    main(["sla", POLICY, "empty.csv", "--now", NOW, "--engine", engine])
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if line.startswith("no data:")]
    assert len(said) == 1 and "the log has no rows" in said[0], out


# ---------------------------------------------------------------- 6: the tiers section


@pytest.mark.parametrize("engine", ENGINES)
def test_only_tiered_slas_are_in_tiers_in_json_and_text(crm, capsys, engine):
    code, report, _ = _json([*crm, "--engine", engine], capsys)
    assert {t["sla"] for t in report["tiers"]} == {"speed_to_lead"}
    main([*crm, "--engine", engine])
    out = capsys.readouterr().out.splitlines()
    start = out.index("per tier:")
    section = out[start + 2:out.index("", start)]
    assert [line.split()[0] for line in section] == ["speed_to_lead"], out


def test_a_column_mapping_in_the_settings_is_no_flag_given_without_leads(crm, tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[tool.leadpolicy.columns]\nemail = "Email"\n')
    assert main([*crm, "--report-only"]) == 0
    assert "--column" not in capsys.readouterr().err


# ---------------------------------------------------------------- --max-rejects, as score has it


@pytest.mark.parametrize("engine", ENGINES)
def test_max_rejects_fails_the_run_on_rejected_event_rows_and_still_reports(crm, capsys, tmp_path, engine):
    (tmp_path / "events.csv").write_text(EVENTS + "T9,touch,yesterday,\nT9,touch,not a time,\n")
    code = main([*crm, "--engine", engine, "--report-only", "--max-rejects", "1", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 rejected event rows, more than --max-rejects 1" in captured.err
    assert json.loads(captured.out)["rows"]["rejected"] == 2  # the report is still written
    assert main([*crm, "--engine", engine, "--report-only", "--max-rejects", "2"]) == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_max_rejects_counts_rejected_lead_rows(crm, capsys, tmp_path, engine):
    (tmp_path / "leads.csv").write_text(LEADS + "T4,,many,Software,webinar\n", encoding="utf-8")
    argv = [*crm, "--engine", engine, "--report-only", "--leads", "leads.csv", "--id-column", "Lead ID", *MAPPING]
    assert main([*argv, "--max-rejects", "0"]) == 1
    assert "1 rejected rows, more than --max-rejects 0" in capsys.readouterr().err
    assert main([*argv, "--max-rejects", "1"]) == 0


def test_max_rejects_is_a_whole_number(crm, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*crm, "--max-rejects", "-1"])
    assert exit_.value.code == 2
