"""A typed Parquet TIMESTAMPTZ has no written form: an event time outside the supported years is named in
its rejects row and reason by its UTC form (the instant as Parquet stores it, whose UTC year is the one
held to the years), the same on `sla --engine python`, `sla --engine duckdb` and `score --events`, in any
policy zone."""

from __future__ import annotations

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv, write_csv

ACTIVITY = str(POLICIES / "inbound-activity.policy")  # timezone "America/New_York"
NOW = "2026-11-20T12:00:00Z"
OUT_OF_RANGE = "1899-12-31 23:00:00+00"


def _log(folder):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    path = folder / "events.parquet"
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('L1', 'became_sql', TIMESTAMPTZ '2026-11-18 15:00:00+00'), "
                "('L1', 'first_touch', TIMESTAMPTZ '1899-12-31 23:00:00+00')) AS v(\"lead\", \"event\", \"at\")")
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    return path


def _the_reject(path) -> tuple[str, str]:
    rows = read_csv(path)
    assert [(r["row"], r["field"]) for r in rows] == [("2", "at")]
    return rows[0]["at"], rows[0]["problem"]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_sla_names_an_out_of_range_typed_time_by_its_utc_form(tmp_path, capsys, engine):
    log = _log(tmp_path)
    rejects = tmp_path / "r.csv"
    code = main(["sla", ACTIVITY, str(log), "--engine", engine, "--now", NOW, "--report-only",
                 "--rejects", str(rejects)])
    capsys.readouterr()
    assert code in (0, 1)
    assert _the_reject(rejects) == (OUT_OF_RANGE, f"'{OUT_OF_RANGE}' is outside the supported years 1900 to 9899")


def test_score_names_an_out_of_range_typed_event_time_by_its_utc_form(tmp_path, capsys):
    log = _log(tmp_path)
    leads = tmp_path / "leads.csv"
    write_csv(leads, ["id", "email"], [["L1", "a@b.io"]])
    rejects = tmp_path / "r.csv"
    code = main(["score", ACTIVITY, str(leads), "--events", str(log), "--now", NOW, "-o", str(tmp_path / "o.csv"),
                 "--events-rejects", str(rejects)])
    capsys.readouterr()
    assert code == 0
    assert _the_reject(rejects) == (OUT_OF_RANGE, f"'{OUT_OF_RANGE}' is outside the supported years 1900 to 9899")
