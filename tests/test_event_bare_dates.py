"""An event's time written as a bare date (`at: 2026-10-21`) is midnight in the policy's zone for every
reader of events, as a lead's timestamp is (docs/leads.md): explain --events (JSON, a YAML file, a CSV
file), a samples case, and score --events decide the same lead alike."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

POLICY = str(POLICIES / "inbound-activity.policy")
# 30 days before this now is 2026-10-21T02:00Z; midnight of Oct 21 in New York is 04:00Z, inside the window,
# while a date read as UTC midnight (00:00Z) would fall outside: the demo request counts only when read right.
NOW = "2026-11-19T21:00:00-05:00"
LEAD = {"email": "kim@acme.io", "employees": 300}
DATE = "2026-10-21"


def _explained(capsys, events: str) -> dict:
    code = main(["explain", POLICY, "--lead", json.dumps(LEAD), "--events", events, "--now", NOW, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    return {"engagement": int(data["scores"]["engagement"]), "stage": data["stage"]}


@pytest.mark.parametrize("form", ["json", "yaml", "csv"])
def test_explain_events_reads_a_bare_date_as_midnight_in_the_policy_zone(tmp_path, capsys, form):
    if form == "json":
        given = json.dumps([{"event": "demo_request", "at": DATE}])
    else:
        path = tmp_path / f"events.{form}"
        text = f"- event: demo_request\n  at: {DATE}\n" if form == "yaml" else f"event,at\ndemo_request,{DATE}\n"
        path.write_text(text, "utf-8")
        given = str(path)
    assert _explained(capsys, given) == {"engagement": 40, "stage": "sql"}


def _tested(tmp_path: Path, capsys) -> dict:
    samples = tmp_path / "inbound-activity.samples.yaml"
    (tmp_path / "inbound-activity.policy").write_text(Path(POLICY).read_text("utf-8"), "utf-8")
    samples.write_text(f"policy: inbound-activity.policy\nnow: {NOW}\nleads:\n  - name: a bare date\n"
                       f"    lead: {json.dumps(LEAD)}\n    events:\n      - {{event: demo_request, at: {DATE}}}\n"
                       "    expect: {stage: sql}\n", "utf-8")
    main(["test", str(samples), "--format", "json"])
    case = json.loads(capsys.readouterr().out)["cases"][0]
    return {"engagement": int(case["actual"]["engagement"]), "stage": case["actual"]["stage"]}


def _scored(tmp_path: Path, capsys) -> dict:
    leads, events, out = tmp_path / "leads.csv", tmp_path / "events.csv", tmp_path / "out.csv"
    leads.write_text(f"id,email,employees\nL1,{LEAD['email']},{LEAD['employees']}\n", "utf-8")
    events.write_text(f"lead,event,at\nL1,demo_request,{DATE}\n", "utf-8")
    code = main(["score", POLICY, str(leads), "--events", str(events), "--id-column", "id", "--now", NOW,
                 "-o", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    with out.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return {"engagement": int(float(row["engagement"])), "stage": row["stage"]}


def test_a_bare_date_decides_alike_in_explain_a_samples_case_and_score(tmp_path, capsys):
    explained = _explained(capsys, json.dumps([{"event": "demo_request", "at": DATE}]))
    assert explained == _tested(tmp_path, capsys) == _scored(tmp_path, capsys) == {"engagement": 40, "stage": "sql"}


@pytest.mark.parametrize("engine", ["duckdb", "python"])
@pytest.mark.parametrize("typed", ["text", "date"])
def test_score_reads_a_bare_date_of_a_parquet_events_file_alike_on_both_engines(tmp_path, capsys, engine, typed):
    import duckdb

    leads, events, out = tmp_path / "leads.csv", tmp_path / "events.parquet", tmp_path / "out.csv"
    leads.write_text(f"id,email,employees\nL1,{LEAD['email']},{LEAD['employees']}\n", "utf-8")
    at = f"DATE '{DATE}'" if typed == "date" else f"'{DATE}'"
    duckdb.sql(f"COPY (SELECT 'L1' AS lead, 'demo_request' AS event, {at} AS at) TO '{events}' (FORMAT parquet)")
    code = main(["score", POLICY, str(leads), "--events", str(events), "--now", NOW, "-o", str(out), "--quiet",
                 "--engine", engine])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    with out.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    explained = _explained(capsys, json.dumps([{"event": "demo_request", "at": DATE}]))
    assert {"engagement": int(float(row["engagement"])), "stage": row["stage"]} == explained
