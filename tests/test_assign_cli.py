"""`leadpolicy assign` (issue 28): a leads file decided at each lead's arrival and assigned in arrival order against a
real SQLite file or PostgreSQL database; its output columns, a second run changing nothing, read = assigned + held +
not routed + rejected, rejects by row and field, --release-held, and exit codes for what users get wrong."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil

import duckdb
import pytest

from leadpolicy.assignment import open_state
from leadpolicy.cli.main import main

from .assignment_states import NY, V3, fresh_postgres_url

BEN, ANA, CHLOE = "Ben Okafor <ben@example.com>", "Ana Ruiz <ana@example.com>", "Chloe Park <chloe@example.com>"
ERIN = "Erin Stone <erin@example.com>"
WORKED = [BEN, ANA, CHLOE, BEN, BEN, ANA, CHLOE, BEN, BEN, ANA, BEN]  # LANGUAGE-v3.md's worked example
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NY)
COLUMNS = ["id", "created_at", "email", "employees", "industry", "source"]
ADDED = ["stage", "route", "assignee", "assigned_how", "skipped"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder of data with the v3 reference in a folder of its own (rejects are never written among policies)."""
    (tmp_path / "policy").mkdir()
    shutil.copy(V3, tmp_path / "policy" / "teams.policy")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sql_lead(lead_id: str, at: dt.datetime, employees: int = 300, email: str | None = None) -> dict[str, str]:
    """A lead the v3 reference decides as `sql` (a demo request the day before, fit 60) routed to inbound-sdr, or
    to enterprise-ae from 1,000 employees."""
    return {"id": lead_id, "created_at": at.isoformat(), "email": email or f"{lead_id.lower()}@workshop.io",
            "employees": str(employees), "industry": "software", "source": "webinar"}


def write_files(rows: list[dict[str, str]], name: str = "leads.csv") -> None:
    with open(name, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    with open("events.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lead", "event", "at"])
        for row in rows:
            writer.writerow([row["id"], "demo_request", "2026-11-30T10:00:00-05:00"])


def worked_stream() -> list[dict[str, str]]:
    return [sql_lead(f"L{i:02d}", TUESDAY_10 + dt.timedelta(minutes=10 * i)) for i in range(11)]


def assign(state: str, *more: str, leads: str = "leads.csv") -> tuple[int, str]:
    argv = ["assign", "policy/teams.policy", leads, "--id-column", "id", "--at-column", "created_at", "--state", state,
            "--events", "events.csv", *more]
    return main(argv), ""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def counts(text: str) -> dict[str, int]:
    found = re.search(r"read (\d+): assigned (\d+)(?: \((\d+) already assigned\))?, held (\d+), not routed (\d+), "
                      r"rejected (\d+)", text)
    assert found, text
    keys = ("read", "assigned", "already", "held", "not_routed", "rejected")
    return {k: int(v or 0) for k, v in zip(keys, found.groups())}


def read_csv(name: str) -> list[dict[str, str]]:
    with open(name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ASSIGN = ("assign", "policy/teams.policy", "leads.csv", "--id-column", "id", "--at-column", "created_at",
          "--events", "events.csv")


def test_assign_gives_the_worked_example_in_arrival_order_whatever_the_file_order(work, capsys):
    rows = worked_stream()
    write_files(list(reversed(rows)))  # the file lists the latest first: assignment goes by `at`
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv")
    assert code == 0, out + err
    written = read_csv("out.csv")
    assert list(written[0]) == COLUMNS + ADDED
    assert [r["id"] for r in written] == [r["id"] for r in reversed(rows)]  # the file's order kept
    by_id = {r["id"]: r for r in written}
    assert [by_id[r["id"]]["assignee"] for r in rows] == WORKED
    assert {r["assigned_how"] for r in written} == {"rotation"}
    assert {(r["stage"], r["route"]) for r in written} == {("sql", "inbound-sdr")}
    assert all("Dev Iyer: weight 0 (paused)" in r["skipped"] for r in written)
    assert "Chloe Park: cap 2 per day reached" in by_id["L07"]["skipped"]
    assert counts(out) == {"read": 11, "assigned": 11, "already": 0, "held": 0, "not_routed": 0, "rejected": 0}


def test_leads_arriving_at_the_same_instant_are_assigned_in_input_order(work, capsys):
    write_files([sql_lead("second-id", TUESDAY_10), sql_lead("first-id", TUESDAY_10)])
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv")
    assert code == 0, out + err
    assert [(r["id"], r["assignee"]) for r in read_csv("out.csv")] == [("second-id", BEN), ("first-id", ANA)]


def test_assign_reads_and_writes_parquet(work, capsys):
    write_files(worked_stream())
    con = duckdb.connect()
    con.execute("COPY (SELECT * REPLACE (CAST(employees AS BIGINT) AS employees, CAST(created_at AS TIMESTAMPTZ) AS "
                "created_at) FROM read_csv('leads.csv', all_varchar = true)) TO 'leads.parquet' (FORMAT parquet)")
    code, out, err = run(capsys, "assign", "policy/teams.policy", "leads.parquet", "--id-column", "id", "--at-column",
                         "created_at", "--events", "events.csv", "--state", "state.db", "-o", "out.parquet")
    assert code == 0, out + err
    got = con.execute("SELECT id, employees, assignee, assigned_how FROM 'out.parquet' ORDER BY id").fetchall()
    assert [r[2] for r in got] == WORKED
    assert {r[1] for r in got} == {300}  # the input's typed values kept
    columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM 'out.parquet'").fetchall()]
    assert columns == COLUMNS + ADDED


def state_snapshot(where: str) -> tuple:
    state = open_state(where)
    try:
        with state.transaction() as conn:
            weights = state.weight_values(conn, "inbound-teams", "inbound-sdr")
        return ([(s.lead_id, s.team, s.member, s.at, s.how) for s in state.all_assignments("inbound-teams")],
                state.held_leads("inbound-teams"), weights)
    finally:
        state.close()


def test_a_second_run_on_the_same_state_changes_nothing(work, capsys):
    night = dt.datetime(2026, 12, 1, 2, 0, tzinfo=NY)
    write_files([*worked_stream(), sql_lead("NIGHT", night, employees=5000)])  # enterprise-ae is closed: held
    assert run(capsys, *ASSIGN, "--state", "state.db", "-o", "first.csv")[0] == 0
    before = state_snapshot("state.db")
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "second.csv")
    assert code == 0, out + err
    assert state_snapshot("state.db") == before
    first, second = read_csv("first.csv"), read_csv("second.csv")
    assert [r["assignee"] for r in second] == [r["assignee"] for r in first]
    routed = [r for r in second if r["id"] != "NIGHT"]
    assert {r["assigned_how"] for r in routed} == {"already assigned"}
    assert [r["assigned_how"] for r in second if r["id"] == "NIGHT"] == ["held"]
    assert counts(out) == {"read": 12, "assigned": 11, "already": 11, "held": 1, "not_routed": 0, "rejected": 0}


def test_read_is_assigned_plus_held_plus_not_routed_plus_rejected_and_rejects_go_by_row_and_field(work, capsys):
    rows = worked_stream()[:3] + [
        sql_lead("NIGHT", dt.datetime(2026, 12, 1, 2, 0, tzinfo=NY), employees=5000),  # held
        {**sql_lead("NURTURE", TUESDAY_10), "industry": "retail", "employees": "5"},  # nurture: not routed
        {**sql_lead("BAD-AT", TUESDAY_10), "created_at": "soon"},
        {**sql_lead("BAD-SIZE", TUESDAY_10), "employees": "lots"},
        {**sql_lead("X", TUESDAY_10), "id": ""},
    ]
    write_files(rows)
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv", "--rejects", "rejects.csv")
    assert code == 0, out + err
    found = counts(out)
    assert found == {"read": 8, "assigned": 3, "already": 0, "held": 1, "not_routed": 1, "rejected": 3}
    assert found["read"] == found["assigned"] + found["held"] + found["not_routed"] + found["rejected"]
    written = read_csv("out.csv")
    assert len(written) == found["read"] - found["rejected"]
    assert {r["id"]: r["assigned_how"] for r in written if r["id"] in ("NIGHT", "NURTURE")} == {"NIGHT": "held",
                                                                                             "NURTURE": ""}
    rejects = {(int(r["row"]), r["field"]) for r in read_csv("rejects.csv")}
    assert rejects == {(6, "created_at"), (7, "employees"), (8, "id")}


def test_release_held_assigns_the_held_leads_in_arrival_order_when_members_are_available(work, capsys):
    nights = [sql_lead(f"N{i}", dt.datetime(2026, 12, 1, 1, i, tzinfo=NY), employees=5000) for i in range(3)]
    write_files(nights)
    assert run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv")[0] == 0
    assert [lead_id for lead_id, *_ in state_snapshot("state.db")[1]] == ["N0", "N1", "N2"]
    code, out, err = run(capsys, "assign", "policy/teams.policy", "--state", "state.db", "--release-held", "--now",
                         "2026-12-01T10:00:00-05:00")
    assert code == 0, out + err
    assigned, held, _ = state_snapshot("state.db")
    assert held == []
    # Erin works New York hours; Femi San Francisco's (07:00 there): only Erin is at work, and takes all three
    assert [(lead_id, member, how) for lead_id, _team, member, _at, how in assigned] == [
        ("N0", ERIN, "rotation"), ("N1", ERIN, "rotation"), ("N2", ERIN, "rotation")]
    assert {at for *_, at, _how in assigned} == {dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc)}
    assert "tried 3, assigned 3, still held 0" in out


def test_assign_against_a_postgresql_state(work, capsys, postgres):
    url = fresh_postgres_url(postgres).replace("postgresql+psycopg://", "postgresql://")  # as the issue writes it
    write_files(worked_stream())
    code, out, err = run(capsys, *ASSIGN, "--state", url, "-o", "out.csv")
    assert code == 0, out + err
    assert [r["assignee"] for r in read_csv("out.csv")] == WORKED
    code, out, err = run(capsys, *ASSIGN, "--state", url, "-o", "again.csv")
    assert code == 0, out + err
    assert {r["assigned_how"] for r in read_csv("again.csv")} == {"already assigned"}
    assert [s.member for s in open_state(url).all_assignments("inbound-teams")] == WORKED


def test_availability_and_accounts_files_are_read(work, capsys):
    write_files(worked_stream()[:2] + [sql_lead("OWNED", TUESDAY_10 + dt.timedelta(minutes=30),
                                                email="cto@bigco.com")])
    with open("away.jsonl", "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"member": "Ben Okafor", "from": "2026-12-01T00:00", "until": "2026-12-08T09:00"}))
    with open("accounts.csv", "w", encoding="utf-8") as handle:
        handle.write("domain,owner\nbigco.com,chloe@example.com\n")
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv", "--availability", "away.jsonl",
                         "--accounts", "accounts.csv")
    assert code == 0, out + err
    written = {r["id"]: r for r in read_csv("out.csv")}
    assert [written[i]["assignee"] for i in ("L00", "L01")] == [ANA, CHLOE]
    assert "Ben Okafor: out of office until Dec 8 09:00" in written["L00"]["skipped"]
    assert (written["OWNED"]["assignee"], written["OWNED"]["assigned_how"]) == (CHLOE, "account owner")


# ---------------------------------------------------------------- what users get wrong


def test_a_state_that_cannot_be_used_is_exit_2_with_one_line(work, capsys):
    write_files(worked_stream())
    (work / "folder.db").mkdir()
    (work / "notes.db").write_text("these are no database pages\n" * 200, "utf-8")
    for where, says in (("folder.db", "is a folder"), ("/dev/null", "not a file"),
                        ("notes.db", "cannot open the state notes.db: (sqlite3.DatabaseError) file is not a database"),
                        ("nowhere/state.db", "does not exist")):
        code, out, err = run(capsys, *ASSIGN, "--state", where, "-o", "out.csv")
        assert code == 2, out + err
        assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_a_state_of_a_newer_schema_is_refused(work, capsys):
    write_files(worked_stream())
    state = open_state("state.db")
    with state.transaction() as conn:
        conn.exec_driver_sql("UPDATE leadpolicy_schema SET version = 99")
    state.close()
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv")
    assert code == 2 and "newer than this leadpolicy knows" in err, out + err


def test_a_postgresql_state_without_psycopg_says_how_to_install_it(work, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed: importing it fails
    write_files(worked_stream())
    code, out, err = run(capsys, *ASSIGN, "--state", "postgresql://app@db.example/leads", "-o", "out.csv")
    assert code == 2, out + err
    assert "pip install 'leadpolicy[postgresql]'" in err


@pytest.mark.parametrize(("flags", "says"), [
    (["-o", "leads.csv"], "the same file as the leads file"),
    (["-o", "out.csv", "--rejects", "events.csv"], "the same file as the events file"),
    (["-o", "state.db"], "the state (--state) would be the same file as the output (-o)"),
    (["--state", "leads.csv"], "the same file as the leads file"),
    (["--now", "2026-12-01T10:00"], "give it with --release-held"),
])
def test_flags_that_cannot_go_together_or_overwrite_an_input_are_bad_usage(work, capsys, flags, says):
    write_files(worked_stream())
    argv = [*ASSIGN, *flags] if "--state" in flags else [*ASSIGN, "--state", "state.db", *flags]
    code, out, err = run(capsys, *argv)
    assert code == 2, out + err
    assert says in err, err
    assert read_csv("leads.csv")[0]["id"] == "L00"  # the input untouched


def test_missing_columns_and_a_policy_without_teams_are_bad_usage(work, capsys, tmp_path):
    write_files(worked_stream())
    code, _, err = run(capsys, "assign", "policy/teams.policy", "leads.csv", "--state", "s.db", "--events",
                       "events.csv")
    assert code == 2 and "--id-column and --at-column" in err
    code, _, err = run(capsys, "assign", "policy/teams.policy", "leads.csv", "--id-column", "id", "--at-column",
                       "created", "--state", "s.db", "--events", "events.csv")
    assert code == 2 and "no column 'created'" in err and "created_at" in err, err
    from .conftest import POLICIES

    code, _, err = run(capsys, "assign", str(POLICIES / "inbound-b2b.policy"), "leads.csv", "--id-column", "id",
                       "--at-column", "created_at", "--state", "s.db")
    assert code == 2 and "has no team" in err, err


def test_an_availability_row_naming_no_member_assigns_nothing(work, capsys):
    write_files(worked_stream())
    (work / "away.csv").write_text("member,from,until\nBen Okafr,2026-12-01,2026-12-02\n", "utf-8")
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv", "--availability", "away.csv")
    assert code == 1, out + err
    assert "row 1: member:" in err and "Ben Okafor" in err  # did you mean
    assert not (work / "out.csv").exists()
    assert state_snapshot("state.db")[0] == []


def test_event_rows_that_cannot_be_used_go_to_their_own_rejects_file_by_row_and_field(work, capsys):
    write_files(worked_stream()[:2])
    with open("events.csv", "a", encoding="utf-8") as handle:
        handle.write("L00,demo_requst,2026-11-30T10:00:00-05:00\nL01,demo_request,tuesday\n")
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv", "--events-rejects", "ev-rej.csv")
    assert code == 0, out + err
    assert "events: read 4, used 2, rejected 2" in out
    assert {(int(r["row"]), r["field"]) for r in read_csv("ev-rej.csv")} == {(3, "event"), (4, "at")}
    assert [r["assignee"] for r in read_csv("out.csv")] == [BEN, ANA]


def test_a_connection_the_database_dropped_is_opened_again_for_the_next_assignment(postgres):
    import psycopg

    from leadpolicy.assignment import Assigner

    from .assignment_states import policy_ir

    state = open_state(fresh_postgres_url(postgres))
    try:
        assigner = Assigner(policy_ir(V3.read_text("utf-8")), state)
        assert assigner.assign("A", "inbound-sdr", "a@x.io", TUESDAY_10).assignee == BEN
        postgres.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                         [state.engine.url.database])  # as a database restart would
        with pytest.raises(psycopg.OperationalError):
            assigner.assign("B", "inbound-sdr", "b@x.io", TUESDAY_10)
        assert assigner.assign("B", "inbound-sdr", "b@x.io", TUESDAY_10).assignee == ANA
    finally:
        state.close()


def test_an_output_of_no_known_format_is_refused_before_anything_is_assigned(work, capsys):
    write_files(worked_stream())
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.txt")
    assert code == 2 and "out.txt" in err, out + err
    assert state_snapshot("state.db")[0] == []


def test_a_sqlite_file_of_another_application_is_refused_and_left_as_it_was(work, capsys):
    import hashlib
    import sqlite3

    write_files(worked_stream())
    with sqlite3.connect("crm.db") as con:
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO customers (name) VALUES ('Acme')")
    con.close()
    before = hashlib.sha256((work / "crm.db").read_bytes()).hexdigest()
    code, out, err = run(capsys, *ASSIGN, "--state", "crm.db", "-o", "out.csv")
    assert code == 2, out + err
    assert err.strip() == "leadpolicy assign: crm.db holds another application's tables; give a new file", err
    assert hashlib.sha256((work / "crm.db").read_bytes()).hexdigest() == before  # not even its journal mode
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("crm.db")) == ["crm.db"]


def test_an_empty_sqlite_file_is_a_new_state(work, capsys):
    import sqlite3

    write_files(worked_stream())
    sqlite3.connect("empty.db").close()  # a database without a table
    (work / "zero.db").write_bytes(b"")
    for where in ("empty.db", "zero.db"):
        code, out, err = run(capsys, *ASSIGN, "--state", where, "-o", "out.csv")
        assert code == 0, out + err
        assert [s.member for s in open_state(where).all_assignments("inbound-teams")] == WORKED


@pytest.mark.parametrize("where", ["postgresql://sales:s3cr3t-pw@127.0.0.1:1/leads",
                                   "postgres://sales:s3cr3t-pw@127.0.0.1:1/leads",
                                   "nosuchdb://sales:s3cr3t-pw@127.0.0.1/leads"])
def test_a_state_url_s_password_is_never_shown(work, capsys, where):
    write_files(worked_stream())
    code, out, err = run(capsys, *ASSIGN, "--state", where, "-o", "out.csv")
    assert code == 2, out + err
    assert "s3cr3t-pw" not in out + err and "sales:***@127.0.0.1" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_rejects_not_written_among_policies_give_assign_the_exit_code_score_gives(work, capsys):
    """Every default place for the rejects holds policies: the rows are counted and the first said on stderr, not
    written, by assign as by score (docs/cli.md, "Where rejects go"); --max-rejects makes either exit 1."""
    rows = worked_stream()[:2] + [{**sql_lead("SIZE", TUESDAY_10), "employees": "abc"},
                                  {**sql_lead("MANY", TUESDAY_10), "employees": "lots"}]
    write_files(rows, name="policy/leads.csv")
    shutil.move("events.csv", "policy/events.csv")
    given = ["policy/leads.csv", "--id-column", "id", "--events", "policy/events.csv"]
    for more in ([], ["--max-rejects", "1"]):
        assign_code, _out, assign_err = run(capsys, "assign", "policy/teams.policy", *given, "--at-column",
                                            "created_at", "--state", "state.db", "-o", "policy/out.csv", *more)
        score_code, _out, score_err = run(capsys, "score", "policy/teams.policy", *given, "--now",
                                          "2026-12-01T12:00:00-05:00", "-o", "policy/scored.csv", *more)
        assert assign_code == score_code == (1 if more else 0), assign_err + score_err
        for err in (assign_err, score_err):
            assert "2 rejected row(s) not written" in err and "--rejects" in err, err
            assert sorted(re.findall(r"row (\d+): (\w+): ", err)) == [("3", "employees"), ("4", "employees")], err
    assert sorted(p.name for p in (work / "policy").iterdir() if "rejects" in p.name) == []


def _nights_held(capsys) -> None:
    """N0..N2 held overnight (Dec 1, 01:00-01:02 in New York): nobody of enterprise-ae at work."""
    write_files([sql_lead(f"N{i}", dt.datetime(2026, 12, 1, 1, i, tzinfo=NY), employees=5000) for i in range(3)])
    assert run(capsys, *ASSIGN, "--state", "state.db", "-o", "out.csv")[0] == 0
    assert [lead_id for lead_id, *_ in state_snapshot("state.db")[1]] == ["N0", "N1", "N2"]


def test_a_held_lead_decided_again_as_a_competitor_is_held_no_more_and_not_released(work, capsys):
    _nights_held(capsys)
    write_files([sql_lead("N1", dt.datetime(2026, 12, 1, 2, 0, tzinfo=NY), employees=5000,
                          email="n1@competitor.com")])
    code, out, err = run(capsys, *ASSIGN, "--state", "state.db", "-o", "again.csv")
    assert code == 0, out + err
    assert counts(out + err)["not_routed"] == 1
    assert [lead_id for lead_id, *_ in state_snapshot("state.db")[1]] == ["N0", "N2"]
    code, out, err = run(capsys, "assign", "policy/teams.policy", "--state", "state.db", "--release-held", "--now",
                         "2026-12-01T10:00:00-05:00")
    assert code == 0, out + err
    assert [lead_id for lead_id, *_ in state_snapshot("state.db")[0]] == ["N0", "N2"]


def test_release_held_before_the_held_leads_arrived_assigns_none_of_them(work, capsys):
    _nights_held(capsys)
    code, out, err = run(capsys, "assign", "policy/teams.policy", "--state", "state.db", "--release-held", "--now",
                         "2026-11-30T10:00:00-05:00")
    assert code == 0, out + err
    assigned, held, _ = state_snapshot("state.db")
    assert assigned == [] and [lead_id for lead_id, *_ in held] == ["N0", "N1", "N2"]
    assert "tried 0, assigned 0, still held 0" in out


def test_a_lead_id_is_read_as_the_service_reads_it_and_one_that_is_not_an_id_is_rejected_by_row(work, capsys):
    ids = [5, " 5 ", 5.0, 5.5, True, [1], "a\u0000b", "x\ny", "  H1  "]
    rows = []
    for n, lead_id in enumerate(ids):
        row = sql_lead(f"R{n}", TUESDAY_10 + dt.timedelta(minutes=n))
        rows.append({**row, "id": lead_id, "employees": 300})
    with open("leads.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    with open("events.csv", "w", newline="", encoding="utf-8") as handle:
        handle.write("lead,event,at\n5,demo_request,2026-11-30T10:00:00-05:00\nH1,demo_request,2026-11-30T10:00:00-05:00\n")
    code, out, err = run(capsys, *ASSIGN[:2], "leads.jsonl", *ASSIGN[3:], "--state", "state.db", "-o", "out.jsonl",
                         "--rejects", "rejects.csv")
    assert code == 0, out + err
    assert counts(out)["rejected"] == 6
    rejects = read_csv("rejects.csv")
    assert [(int(r["row"]), r["field"]) for r in rejects] == [(n, "id") for n in (3, 4, 5, 6, 7, 8)]
    assert all(r["problem"].startswith("a lead id is") for r in rejects), rejects
    assigned = [s.lead_id for s in open_state("state.db").all_assignments("inbound-teams")]
    assert assigned == ["5", "H1"]  # " 5 " is lead 5, already assigned


def test_release_held_without_availability_or_accounts_warns_that_it_assumes_nobody_away_and_no_owner(work, capsys):
    _nights_held(capsys)
    release = ("assign", "policy/teams.policy", "--state", "state.db", "--release-held", "--now",
               "2026-12-01T08:00:00-05:00")
    code, out, err = run(capsys, *release)
    assert code == 0, out + err
    warnings = [line for line in err.splitlines() if line.startswith("leadpolicy assign: warning:")]
    assert len(warnings) == 1, err
    assert "no --availability" in warnings[0] and "nobody is out of office" in warnings[0]
    assert "no --accounts" in warnings[0] and "no account has an owner" in warnings[0]
    with open("away.csv", "w", encoding="utf-8") as handle:
        handle.write("member,from,until\n")
    with open("accounts.csv", "w", encoding="utf-8") as handle:
        handle.write("domain,owner\n")
    code, out, err = run(capsys, *release, "--availability", "away.csv", "--accounts", "accounts.csv")
    assert code == 0 and "warning" not in err, out + err


def test_a_parquet_id_column_of_whole_numbers_is_read_as_digits_and_one_of_fractions_rejected(work, capsys):
    write_files([sql_lead(str(n), TUESDAY_10 + dt.timedelta(minutes=n)) for n in (5, 6)])
    con = duckdb.connect()
    for name, kind in (("ints.parquet", "BIGINT"), ("floats.parquet", "DOUBLE")):
        con.execute(f"COPY (SELECT * REPLACE (CAST(id AS {kind}) AS id, CAST(employees AS BIGINT) AS employees) "  # noqa: S608 - a test's fixed types
                    f"FROM read_csv('leads.csv', all_varchar = true)) TO '{name}' (FORMAT parquet)")
    argv = ("--id-column", "id", "--at-column", "created_at", "--events", "events.csv", "--state", "state.db")
    code, out, err = run(capsys, "assign", "policy/teams.policy", "floats.parquet", *argv, "-o", "f.csv",
                         "--rejects", "f.rejects.csv")
    assert code == 0 and counts(out)["rejected"] == 2, out + err
    assert [(r["field"], r["problem"].split(",")[0]) for r in read_csv("f.rejects.csv")] == \
        [("id", "a lead id is printable text of 1 to 400 characters or a whole number")] * 2
    code, out, err = run(capsys, "assign", "policy/teams.policy", "ints.parquet", *argv, "-o", "i.csv")
    assert code == 0 and counts(out)["assigned"] == 2, out + err
    assert sorted(s.lead_id for s in open_state("state.db").all_assignments("inbound-teams")) == ["5", "6"]
