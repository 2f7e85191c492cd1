"""`leadpolicy score --events`: what leads did, read from a file beside the leads, on both engines."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

import leadpolicy
from leadpolicy.cli.main import main
from leadpolicy.warehouse.batch import BatchOptions, EventInput, run
from leadpolicy.warehouse.lead_rows import BatchError

from .conftest import POLICIES
from .files import read_csv, write_csv

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY = leadpolicy.load(POLICIES / "inbound-activity.policy")
ENGINES = ["duckdb", "python"]
LEADS = [
    {"lead_id": "L1", "email": "ana@bigsoft.io", "employees": "1200", "industry": "software", "source": "webinar"},
    {"lead_id": "L2", "email": "bo@shop.fr", "employees": "20", "industry": "retail", "source": "organic"},
    {"lead_id": " L3 ", "email": "cy@ledgerly.com", "employees": "300", "industry": "fintech", "source": "referral"},
]
EVENTS = [  # (lead, event, at); the comment says what becomes of the row
    ("L1", "demo_request", "2026-11-18T10:00:00-05:00"),  # used
    ("L1", "pricing_page_view", "2026-11-17T09:00:00-05:00"),  # used
    ("L1", "pricing_page_view", "2026-11-10T09:00:00-05:00"),  # used
    ("L2", "email_click", "2026-11-19T10:00:00"),  # used: a time without offset is read in the policy's zone
    ("L3", "demo_request", "2026-11-19T10:00:00-05:00"),  # used: ids match without surrounding blanks
    ("L2", "emial_click", "2026-11-19T10:00:00-05:00"),  # rejected: unknown event
    ("L9", "email_click", "2026-11-19T10:00:00-05:00"),  # rejected: no such lead
    ("", "email_click", "2026-11-19T10:00:00-05:00"),  # rejected: no lead id
    ("L1", "email_click", "yesterday"),  # rejected: not a timestamp
    ("L1", "", "2026-11-19T10:00:00-05:00"),  # rejected: no event
    ("L1", "demo_request", "2026-11-21T10:00:00-05:00"),  # used, and never counts: after now
]


def expected(lead: dict, rows: list[tuple[str, str, str]]) -> dict:
    """What `Policy.evaluate` decides for the lead given its usable events."""
    mine = [{"event": e, "at": at} for who, e, at in rows
            if who.strip() == lead["lead_id"].strip() and e in {x.name for x in POLICY.ir.events}
            and at[:4].isdigit()]
    record = {k: int(v) if k == "employees" else v for k, v in lead.items() if k != "lead_id"}
    d = POLICY.evaluate(record, NOW, events=mine)
    return {k: str(v) if v is not None else "" for k, v in
            {**d.scores, **d.grades, "stage": d.stage, "owner": d.owner, "route": d.route}.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_events_decide_as_evaluate_does_and_bad_rows_are_rejected_by_row_and_field(tmp_path, engine):
    write_csv(tmp_path / "leads.csv", list(LEADS[0]), [list(lead.values()) for lead in LEADS])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], EVENTS)
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.csv", "lead_id")))
    assert (result.read, result.scored, result.rejected) == (3, 3, 0)
    events = result.events
    assert events is not None and (events.read, events.used, events.rejected) == (11, 6, 5)
    assert events.rejects_path == tmp_path / "events.rejects.csv"
    rejects = [(int(r["row"]), r["field"], r["problem"]) for r in read_csv(events.rejects_path)]
    assert [(row, field) for row, field, _ in rejects] == [(6, "event"), (7, "lead"), (8, "lead"), (9, "at"),
                                                          (10, "event")]
    assert "unknown event 'emial_click'" in rejects[0][2] and "email_click" in rejects[0][2]
    assert rejects[1][2] == "no lead with id 'L9' in leads.csv"
    assert rejects[2][2] == "missing lead id" and rejects[4][2] == "missing event name"
    assert rejects[3][2] == "'yesterday' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"
    scored = read_csv(out)
    for lead, row in zip(LEADS, scored):
        want = expected(lead, EVENTS)
        assert {k: row[k] for k in want} == want, lead["lead_id"]
    assert scored[0]["stage"] == "sql" and scored[2]["engagement"] == "40"  # the events did count


@pytest.mark.parametrize("engine", ENGINES)
def test_typed_parquet_events_and_a_lead_id_that_is_a_number(tmp_path, engine):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("COPY (SELECT * FROM (VALUES (7, 'ana@bigsoft.io', 1200, 'software', 'webinar'), "
                "(8, 'bo@shop.fr', 20, 'retail', 'organic')) t(id, email, employees, industry, source)) "
                f"TO '{tmp_path / 'leads.parquet'}' (FORMAT parquet)")
    con.execute("COPY (SELECT * FROM (VALUES (7, 'demo_request', TIMESTAMPTZ '2026-11-18 15:00:00+00'), "
                "(7, 'pricing_page_view', TIMESTAMPTZ '2026-11-17 14:00:00+00'), "
                "(8, 'demo_request', TIMESTAMPTZ '2026-11-20 17:00:01+00'), (NULL, 'demo_request', NULL), "
                "(99, 'demo_request', TIMESTAMPTZ '2026-11-18 15:00:00+00'), "
                "(7, 'demo_requests', TIMESTAMPTZ '2026-11-18 15:00:00+00')) t(lead, event, \"at\")) "
                f"TO '{tmp_path / 'events.parquet'}' (FORMAT parquet)")
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.parquet", output=tmp_path / "scored.jsonl",
                                              now=NOW, engine=engine, events=EventInput(tmp_path / "events.parquet")))
    assert result.events is not None and (result.events.used, result.events.rejected) == (3, 3)
    assert sorted((r["row"], r["field"], r["problem"]) for r in result.events.rejects) == [
        (4, "at", "missing timestamp"), (4, "lead", "missing lead id"),
        (5, "lead", "no lead with id '99' in leads.parquet"),
        (6, "event", "unknown event 'demo_requests' (did you mean \"demo_request\"?)")]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [7, 8]
    assert rows[0]["stage"] == "sql" and rows[0]["engagement"] == 50
    assert rows[1]["engagement"] == 0  # its demo request is one second after now


def test_the_cli_says_every_count_and_needs_events_for_a_policy_that_scores_activity(tmp_path, capsys,
                                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "leads.csv", list(LEADS[0]), [list(lead.values()) for lead in LEADS])
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], EVENTS)
    policy = str(POLICIES / "inbound-activity.policy")
    assert main(["score", policy, "leads.csv", "--now", NOW.isoformat()]) == 2
    assert "--events" in capsys.readouterr().err
    # --id-column names no column (the default id): bad usage, as a column mapping naming none is
    assert main(["score", policy, "leads.csv", "--events", "events.csv", "--now", NOW.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "no column 'id'" in err and "lead_id" in err and "--id-column" in err
    code = main(["score", policy, "leads.csv", "--events", "events.csv", "--id-column", "lead_id",
                 "--now", NOW.isoformat(), "--events-rejects", "bad-events.csv"])
    out = capsys.readouterr().out
    assert code == 0
    assert "read 3, scored 3, rejected 0; events: read 11, used 6, rejected 5" in out
    assert "5 rejected event row(s) written to bad-events.csv" in out
    assert "events.csv: row 7: lead: no lead with id 'L9' in leads.csv" in out
    assert len(read_csv(tmp_path / "bad-events.csv")) == 5


def test_an_events_file_without_its_columns_or_clashing_with_an_output_is_refused(tmp_path):
    write_csv(tmp_path / "leads.csv", list(LEADS[0]), [list(lead.values()) for lead in LEADS])
    write_csv(tmp_path / "events.csv", ["lead_id", "name", "at"], [("L1", "demo_request", "2026-11-18T10:00:00Z")])
    with pytest.raises(BatchError, match="lacks columns lead, event"):
        run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                 events=EventInput(tmp_path / "events.csv", "lead_id")))
    with pytest.raises(BatchError, match="same file"):
        run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "events.csv", now=NOW,
                                 events=EventInput(tmp_path / "events.csv", "lead_id")))
    with pytest.raises(BatchError, match="give the events file with --events"):
        run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW))
    assert not (tmp_path / "scored.csv").exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_events_file_is_no_events_and_a_bad_jsonl_line_one_reject(tmp_path, engine):
    write_csv(tmp_path / "leads.csv", list(LEADS[0]), [list(lead.values()) for lead in LEADS])
    (tmp_path / "events.jsonl").write_text("")
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.jsonl", "lead_id")))
    assert result.events is not None and (result.events.read, result.events.used) == (0, 0)
    assert [r["engagement"] for r in read_csv(out)] == ["0", "0", "0"]
    (tmp_path / "events.jsonl").write_text('{"lead": "L1", "event": "demo_request", "at": "2026-11-18T10:00:00Z"}\n'
                                           "not json\n")
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.jsonl", "lead_id")))
    assert result.events is not None and (result.events.read, result.events.used, result.events.rejected) == (2, 1, 1)
    assert read_csv(out)[0]["engagement"] == expected(LEADS[0], [("L1", "demo_request", "2026-11-18T10:00:00Z")])[
        "engagement"] != "0"


@pytest.mark.parametrize("engine", ENGINES)
def test_ids_typed_differently_in_the_two_files_are_compared_as_text(tmp_path, engine):
    con = duckdb.connect()
    con.execute("COPY (SELECT * FROM (VALUES (7, 'ana@bigsoft.io', 1200, 'software', 'webinar'), "
                "(8, 'bo@shop.fr', 20, 'retail', 'organic')) t(id, email, employees, industry, source)) "
                f"TO '{tmp_path / 'leads.parquet'}' (FORMAT parquet)")
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"],
              [(" 7 ", "demo_request", "2026-11-18T10:00:00-05:00"),
               ("08", "demo_request", "2026-11-18T10:00:00-05:00")])
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.parquet", output=tmp_path / "scored.jsonl",
                                              now=NOW, engine=engine, events=EventInput(tmp_path / "events.csv")))
    assert result.events is not None and (result.events.used, result.events.rejected) == (1, 1)
    assert result.events.rejects[0]["problem"] == "no lead with id '08' in leads.parquet"  # "08" is not "8"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["engagement"] for r in rows] == [40, 0]
    # and the other way round: integer ids in the events, text ids in the leads
    con.execute(f"COPY (SELECT * FROM (VALUES (7, 'demo_request', TIMESTAMPTZ '2026-11-18 15:00:00+00')) "
                f"t(lead, event, \"at\")) TO '{tmp_path / 'events.parquet'}' (FORMAT parquet)")
    write_csv(tmp_path / "leads.csv", ["id", "email", "employees", "industry", "source"],
              [("7", "ana@bigsoft.io", "1200", "software", "webinar")])
    result, out, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                              engine=engine, events=EventInput(tmp_path / "events.parquet")))
    assert result.events is not None and result.events.used == 1 and read_csv(out)[0]["engagement"] == "40"


def test_typed_parquet_with_events_is_scored_in_file_order_without_a_sort(tmp_path):
    """Many small row groups read by several threads, each lead's windows put beside it by position: the
    output (written without ORDER BY) still follows the file, and decisions equal `Policy.evaluate`'s."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.sql("SELECT i AS id, 'u' || i || (CASE WHEN i % 7 = 0 THEN '@gmail.com' ELSE '@acme.io' END) AS email, "
            "CAST(i % 3000 AS BIGINT) AS employees, (['software', 'retail'])[1 + i % 2] AS industry, "
            "'webinar' AS source FROM range(100000) t(i)").write_parquet(str(tmp_path / "leads.parquet"),
                                                                         row_group_size=2048)
    con.sql("SELECT (i * 7919) % 120000 AS lead, (['demo_request', 'pricing_page_view', 'email_click'])[1 + i % 3] "
            "AS event, TIMESTAMPTZ '2026-11-20 17:00:00+00' - to_seconds(i * 37 % (40 * 86400)) AS \"at\" "
            "FROM range(300000) t(i)").write_parquet(str(tmp_path / "events.parquet"), row_group_size=4096)
    out = tmp_path / "scored.parquet"
    result, _, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.parquet", output=out, now=NOW, engine="duckdb",
                                            events=EventInput(tmp_path / "events.parquet")))
    assert result.events is not None and result.events.rejected > 0  # ids 100000 and over are no lead
    assert result.events.read == result.events.used + result.events.rejected == 300_000
    rows = duckdb.sql(f"SELECT id, email, employees, industry, fit, engagement, stage FROM '{out}'").fetchall()
    assert [r[0] for r in rows] == list(range(100_000))
    events = con.sql(f"SELECT lead, event, strftime(\"at\", '%Y-%m-%dT%H:%M:%S+00:00') FROM "
                     f"'{tmp_path / 'events.parquet'}' WHERE lead % 997 = 0").fetchall()
    by_lead: dict[int, list] = {}
    for lead, event, at in events:
        by_lead.setdefault(lead, []).append({"event": event, "at": at})
    for lead_id, email, employees, industry, fit, engagement, stage in rows[::997]:
        d = POLICY.evaluate({"email": email, "employees": employees, "industry": industry, "source": "webinar"},
                            NOW, events=by_lead.get(lead_id, []))
        assert (d.scores["fit"], d.scores["engagement"], d.stage) == (fit, engagement, stage), lead_id


@pytest.mark.parametrize("engine", ENGINES)
def test_every_row_of_an_unknown_lead_is_rejected_once_and_counts_add_up(tmp_path, engine):
    write_csv(tmp_path / "leads.csv", list(LEADS[0]), [list(lead.values()) for lead in LEADS])
    rows = [("L9", "email_click", "2026-11-19T10:00:00-05:00"),  # rejected: no such lead
            ("L1", "email_click", "2026-11-19T10:00:00-05:00"),  # used
            ("L9", "demo_request", "2026-11-21T10:00:00-05:00"),  # rejected: no such lead (after now too)
            ("L9", "nope", "2026-11-19T10:00:00-05:00"),  # rejected once: unknown event, and no such lead
            ("L8", "touch", "2026-11-19T10:00:00-05:00")]  # rejected: no such lead
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], rows)
    result, _, _ = run(POLICY, BatchOptions(source=tmp_path / "leads.csv", output=tmp_path / "scored.csv", now=NOW,
                                            engine=engine, events=EventInput(tmp_path / "events.csv", "lead_id")))
    events = result.events
    assert events is not None and (events.read, events.used, events.rejected) == (5, 1, 4)
    rejects = [(int(r["row"]), r["field"]) for r in read_csv(events.rejects_path)]
    assert rejects == [(1, "lead"), (3, "lead"), (4, "event"), (5, "lead")]
