"""`score --engine python --events` streams each lead's events to the evaluator instead of holding them
(docs/warehouse.md): memory stays flat however many events one lead has, and the decisions are the
DuckDB engine's."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest

import leadpolicy
from leadpolicy.warehouse import event_stream
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run

from .conftest import POLICIES
from .files import read_csv, write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00+00:00")
POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
NAMES = ["email_click", "pricing_page_view", "webinar_attended", "demo_request"]


def _events_of_one_lead(path, count: int) -> None:
    import duckdb

    duckdb.connect().execute(
        "COPY (SELECT 'L1' AS lead, ['email_click', 'pricing_page_view', 'webinar_attended'][i % 3 + 1] AS event, "
        "strftime(TIMESTAMP '2026-11-19 12:00:00' - INTERVAL (i % 86400) SECOND - INTERVAL (i // 86400) DAY, "
        "'%Y-%m-%dT%H:%M:%SZ') AS at FROM range(?) t(i)) TO '" + str(path).replace("'", "''") + "' (HEADER)",
        [count])


def test_one_lead_with_many_events_is_scored_in_little_memory(tmp_path):
    """200,000 events of one lead: as a list of dicts they took about 80 MB of Python objects."""
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry"],
              [["L1", "a@bigsoft.io", 1500, "software"], ["L2", "b@x.io", 5, "other"]])
    _events_of_one_lead(tmp_path / "events.csv", 200_000)
    tracemalloc.start()
    try:
        result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "out.csv", now=NOW,
                                                  engine="python", events=EventInput(tmp_path / "events.csv")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.events is not None and result.events.used == 200_000
    assert peak < 20 * 2**20, f"peak of Python objects {peak / 2**20:.0f} MiB"
    duck, _, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "duck.csv", now=NOW,
                                          engine="duckdb", events=EventInput(tmp_path / "events.csv")))
    assert read_csv(out) == read_csv(tmp_path / "duck.csv")


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_streamed_events_decide_as_duckdb_across_chunks_repeated_ids_and_rejected_rows(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(event_stream, "CHUNK", chunk)
    leads = [["L3", "c@x.io", 300, "fintech"], ["L1", "a@bigsoft.io", 1500, "software"],
             ["L2", "b@x.io", "lots", "other"],  # rejected: its events are passed over
             ["L1", "again@bigsoft.io", 20, "retail"],  # an id on two rows: both read its events
             ["", "none@x.io", 5, "other"], ["L0", "quiet@x.io", 5, "other"], ["L4", "d@x.io", 50, "software"]]
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry"], leads)
    events = [[lead, NAMES[(i + n) % 4], f"2026-11-{10 + (i * n) % 9:02d}T1{i % 10}:00:00Z"]
              for n, lead in enumerate(["L1", "L2", "L3", "L4", "L9"]) for i in range(n * 3 + 2)]
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], events)
    outs = {}
    for engine in ("python", "duckdb"):
        result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / f"{engine}.csv",
                                                  now=NOW, engine=engine, events=EventInput(tmp_path / "events.csv")))
        outs[engine] = (read_csv(out), sorted((r["row"], r["field"]) for r in result.rejects))
    assert outs["python"] == outs["duckdb"]
    rows = {r["email"]: r for r in outs["python"][0]}
    assert rows["a@bigsoft.io"]["engagement"] != "0" and rows["again@bigsoft.io"]["engagement"] != "0"
    assert outs["python"][1] == [(3, "employees")]
