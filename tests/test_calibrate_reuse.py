"""A calibration reads and checks its inputs once: its later decisions (the re-fit, the proposal's backtest, each
raise) read what the first decision kept, and find exactly what reading the original files finds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

from leadpolicy.api import load
from leadpolicy.measure import proposal, reuse
from leadpolicy.measure.calibration import CalibrateOptions, calibrate
from leadpolicy.measure.calibration_render import calibration_json
from leadpolicy.measure.feedback import FeedbackInput

from .calibration_data import AS_OF, NOW, generate

# Rows a reader must get right: a quoted comma and quote, non-ASCII text, a blank number, a value no field
# takes (rejected), an id on two rows (both rejected), a blank id (rejected).
TRICKY_LEADS = [
    ["Q1", "q1@corp.example", "500", "software", 'VP, "Growth"', "organic", "yes"],
    ["Q2", "zoë@société.example", "", "fintech", "Directrice générale VP", "webinar", "no"],
    ["Q3", "q3@corp.example", "many", "retail", "Analyst", "organic", "no"],
    ["Q4", "q4@corp.example", "300", "software", "VP Sales", "organic", "no"],
    ["Q4", "q4b@corp.example", "30", "retail", "Analyst", "organic", "no"],
    ["", "nobody@corp.example", "30", "retail", "Analyst", "organic", "no"],
    ["  Q5 ", "q5@gmail.com", "250", "other", "VP", "paid_search", "yes"],
]
# An event time with an offset, events of rejected and unknown leads, a bad time, an event no policy declares.
TRICKY_EVENTS = [
    ["Q1", "email_click", "2026-09-28T22:30:00-05:00"], ["Q1", "won_deal", "2026-11-02T10:00:00+01:00"],
    ["Q2", "email_click", "2026-09-30T23:59:59-02:00"], ["Q2", "lost_deal", "2026-11-03T10:00:00+00:00"],
    ["Q3", "won_deal", "2026-11-02T10:00:00+00:00"], ["Q4", "won_deal", "2026-11-02T10:00:00+00:00"],
    ["Q5", "won_deal", "2026-11-04T10:00:00+09:00"], ["Q5", "email_click", "2026-09-20T10:00:00Z"],
    ["Q5", "email_click", "2026-09-20T10:00:00Z"], ["Q9", "won_deal", "2026-11-02T10:00:00+00:00"],
    ["Q1", "email_click", "yesterday"], ["Q1", "tweet", "2026-09-28T10:00:00+00:00"],
]


def _append(path: Path, rows: list[list[str]]) -> None:
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _as_jsonl(path: Path) -> Path:
    """The CSV as JSON Lines: employees as JSON numbers, demo as JSON booleans, a blank cell as null."""
    out = path.with_suffix(".jsonl")
    with path.open(newline="", encoding="utf-8") as handle, out.open("w", encoding="utf-8") as lines:
        for row in csv.DictReader(handle):
            record: dict[str, Any] = {k: (None if v == "" else v) for k, v in row.items()}
            if record.get("employees") not in (None, "many"):
                record["employees"] = int(record["employees"])
            if "demo" in record:
                record["demo"] = record["demo"] == "yes"
            lines.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reuse")
    data = generate(folder, leads=2000)
    _append(data.leads, TRICKY_LEADS)
    _append(data.events, TRICKY_EVENTS)
    _as_jsonl(data.leads)
    _as_jsonl(data.events)
    _as_parquet(data.leads)
    return folder


def _as_parquet(path: Path) -> None:
    """The leads as typed Parquet (employees an integer, demo a boolean; 'many' and a blank as null), their
    events staying CSV (events.parquet.csv)."""
    import shutil

    import duckdb

    shutil.copy(path.with_name("events.csv"), path.with_name("events.parquet.csv"))
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [[r["id"] or None, r["email"], int(r["employees"]) if r["employees"].isdigit() else None,
                 r["industry"], r["job_title"], r["source"], r["demo"] == "yes"] for r in csv.DictReader(handle)]
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (id VARCHAR, email VARCHAR, employees BIGINT, industry VARCHAR, "
                "job_title VARCHAR, source VARCHAR, demo BOOLEAN)")
    con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    copy = exp.Copy(this=exp.to_table("leads"), kind=False, files=[exp.Literal.string(str(path.with_suffix(
        ".parquet")))], params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("parquet"))])
    con.execute(copy.sql("duckdb"))


def _calibrated(folder: Path, fmt: str, engine: str, name: str) -> tuple[dict[str, Any], list[Path]]:
    """The calibration's JSON (the proposal's file named alike in every run) and the leads file each later
    decision read."""
    policy = load(folder / "planted.policy")
    events = folder / ("events.parquet.csv" if fmt == "parquet" else f"events.{fmt}")
    data = FeedbackInput(folder / f"leads.{fmt}", events, AS_OF, NOW, engine=engine,
                         rejects_folder=folder / f"{fmt}-{engine}.rejects")  # one for both ways: named alike
    (folder / f"{fmt}-{engine}.rejects").mkdir(exist_ok=True)
    out = folder / f"{name}.policy"
    read: list[Path] = []
    measure = proposal.measure

    def spy(policy: Any, data: FeedbackInput, work: Path) -> Any:
        read.append(data.leads)
        return measure(policy, data, work)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proposal, "measure", spy)
        cal = calibrate(policy, (folder / "planted.policy").read_text(), data, folder / f"{name}.work",
                        CalibrateOptions(propose=out, policy_file=folder / "planted.policy"))
    found = calibration_json(cal)
    assert found["proposal"] is not None and found["proposal"]["backtest"] is not None
    found["proposal"]["file"] = "proposed.policy"
    return found, read


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_later_decisions_read_what_the_first_kept_and_find_the_same(planted: Path, fmt: str, engine: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kept, kept_reads = _calibrated(planted, fmt, engine, f"kept-{fmt}-{engine}")
    monkeypatch.setattr(reuse.KeptInputs, "later", lambda self, data, first: data)
    fresh, fresh_reads = _calibrated(planted, fmt, engine, f"fresh-{fmt}-{engine}")

    assert kept_reads and all(p.name == reuse.LEADS_FILE for p in kept_reads)
    assert fresh_reads and all(p.name == f"leads.{fmt}" for p in fresh_reads)
    # the reading reported is the original files' (the tricky rows rejected there, by row) in both
    rejected = 3 if fmt == "parquet" else 4  # typed Parquet holds no 'many' of employees: a blank
    rows = kept["rows"]
    assert rows["leads_read"] == 2007 and rows["leads_rejected"] == rejected and rows["events_rejected"] >= 4
    assert kept == fresh
    backtest = kept["proposal"]["backtest"]
    assert backtest["rows"]["new_rejected"] == backtest["rows"]["old_rejected"] == rejected
    assert backtest["leads"] == 2007 - rejected


def test_leads_whose_headers_parquet_cannot_hold_are_read_from_their_files(tmp_path: Path) -> None:
    assert reuse.parquet_headers(["id", "Email", "employees"])
    for headers in (["id", "Email", "email"], ["id", ""], ["id", "File_Row_Number"]):
        assert not reuse.parquet_headers(headers)
    kept = reuse.KeptInputs(tmp_path)
    kept.keep(None, tmp_path / "unused.parquet", ["id", "Email", "email"], None)
    assert not kept.kept and not any(tmp_path.iterdir())


def test_the_solver_proves_each_proposed_version_once(planted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The version written is the last candidate's numbers under its header comment: proved as that candidate,
    never again (the solver's checks take seconds whatever the leads)."""
    from leadpolicy.api import from_tree
    from leadpolicy.proofs import diagnostics

    proved: list[str] = []
    prove = diagnostics.proof_diagnostics

    def spy(name: str, tree: Any, *args: Any, **kwargs: Any) -> Any:
        proved.append(from_tree(tree).fingerprint)
        return prove(name, tree, *args, **kwargs)

    monkeypatch.setattr(diagnostics, "proof_diagnostics", spy)
    found, _ = _calibrated(planted, "csv", "duckdb", "proved-once")
    assert found["proposal"]["changes"] and proved
    assert len(proved) == len(set(proved)), proved
