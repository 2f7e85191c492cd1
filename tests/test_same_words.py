"""The same input, the same words and the same rule in every command (issue 26 §2).

- The decision service names a JSON value's kind (`now: 20261102`, `explain: "yes"`) in the words the lead
  reader uses for the same JSON value (`semantics.events.value_kind`), never in words of its own.
- `score --events` says how many used event rows are after `now`, counted as `sla` counts them (a part of
  used: read = used + rejected).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

import leadpolicy
from leadpolicy.semantics.leads import shown_value

from .conftest import POLICIES
from .files import write_csv
from .test_serve import TOKEN, Server

LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software"}
# JSON values of every kind a request can hold where `now` or `explain` goes (1e400: a number no float holds)
OTHER_KINDS = ["20261102", "1e400", "true", "false", "[]", '["2026-11-20T12:00:00-05:00"]', "{}",
               '{"at": "2026-11-20T12:00:00-05:00"}']
NOT_YES_NO = ['"yes"', '"true"', "1", "0", "[]", "[true]", "{}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words") / "policies"
    folder.mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", folder / "inbound-b2b.policy")
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    running = Server(folder, "--token-file", str(folder.parent / "token.txt"))
    yield running
    running.stop()


def lead_reader_kind(json_text: str) -> str:
    """The kind the lead reader names this JSON value by, given as a field that wants another kind
    (`expected text, got a number 20261102`)."""
    value = json.loads(json_text)
    field = "employees" if isinstance(value, str) else "email"
    errors = leadpolicy.load(POLICIES / "inbound-b2b.policy").validate({**LEAD, field: value})
    assert len(errors) == 1 and errors[0].field == field, errors
    found = re.fullmatch(r"expected .+?, got (.+) " + re.escape(shown_value(value)), errors[0].message)
    assert found, errors[0].message
    return found.group(1)


def _decide(server: Server, key: str, json_text: str) -> tuple[int, dict]:
    body = f'{{"lead": {json.dumps(LEAD)}, "{key}": {json_text}}}'
    status, out = server.call("POST", "/v1/policies/inbound-b2b/decide", body)
    assert isinstance(out, dict), out
    return status, out


@pytest.mark.parametrize("json_text", OTHER_KINDS)
def test_a_now_of_another_kind_is_named_as_the_lead_reader_names_it(server, json_text):
    status, out = _decide(server, "now", json_text)
    kind = lead_reader_kind(json_text)
    assert status == 400 and out["error"].startswith("now: ") and out["error"].endswith(f", not {kind}"), (kind, out)


@pytest.mark.parametrize("json_text", NOT_YES_NO)
def test_an_explain_of_another_kind_is_named_as_the_lead_reader_names_it(server, json_text):
    status, out = _decide(server, "explain", json_text)
    kind = lead_reader_kind(json_text)
    assert status == 400 and out["error"] == f"explain: true or false, not {kind}", (kind, out)


@pytest.mark.parametrize("key", ["now", "explain"])
def test_null_is_not_given_as_the_lead_reader_reads_a_null_field(server, key):
    """The lead reader reads a null field as missing; a request reads a null `now` or `explain` as not
    given: the same decision as without it (now: the current time; explain: none)."""
    errors = leadpolicy.load(POLICIES / "inbound-b2b.policy").validate({**LEAD, "employees": None})
    assert errors == []
    with_null = _decide(server, key, "null")
    status, out = server.decide("inbound-b2b", {"lead": LEAD})
    assert with_null[0] == status == 200
    assert {k: v for k, v in with_null[1].items() if k != "now"} == {k: v for k, v in out.items() if k != "now"}
    assert ("explanation" in out) is False


# ---------------------------------------------------------------- events after now: score counts them as sla does

NOW = "2026-11-20T12:00:00-05:00"
ACTIVITY = POLICIES / "inbound-activity.policy"
ACTIVITY_LEADS = [("L1", "ana@bigsoft.io", "1200", "software", "webinar"),
                  ("L2", "bo@shop.fr", "20", "retail", "organic")]
EVENTS_AROUND_NOW = [  # (lead, event, at): what becomes of the row
    ("L1", "demo_request", "2026-11-18T10:00:00-05:00"),  # used, counted
    ("L1", "pricing_page_view", "2026-11-20T12:00:00-05:00"),  # used, counted: at now is not after it
    ("L1", "email_click", "2026-11-20T12:00:01-05:00"),  # used after now
    ("L2", "demo_request", "2027-01-05T09:00:00Z"),  # used after now
    ("L2", "email_click", "2026-11-21"),  # used after now: a bare date, midnight in the policy's zone
    ("L2", "emial_click", "2026-12-01T09:00:00Z"),  # rejected (an unknown event), after now or not
    ("L1", "email_click", "tomorrow"),  # rejected
]
SUMMARY = re.compile(r"events: read (\d+), used (\d+), rejected (\d+)(?:; (\d+) used after now, never counted)?")


def _events_summary(text: str) -> tuple[int, int, int, int]:
    found = SUMMARY.search(text)
    assert found, text
    return tuple(int(n or 0) for n in found.groups())  # type: ignore[return-value]


def _score_summary(folder, events: str, engine: str, capsys) -> tuple[int, int, int, int]:
    from leadpolicy.cli.main import main

    code = main(["score", str(ACTIVITY), str(folder / "leads.csv"), "--events", str(folder / events),
                 "--id-column", "lead_id", "--now", NOW, "-o", str(folder / f"scored-{engine}.csv"),
                 "--engine", engine, "--events-rejects", str(folder / "event-rejects.csv")])
    out = capsys.readouterr().out
    assert code == 0, out
    return _events_summary(out)


@pytest.fixture()
def around_now(tmp_path):
    write_csv(tmp_path / "leads.csv", ["lead_id", "email", "employees", "industry", "source"], ACTIVITY_LEADS)
    write_csv(tmp_path / "events.csv", ["lead", "event", "at"], EVENTS_AROUND_NOW)
    return tmp_path


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_score_says_how_many_used_events_are_after_now_as_sla_counts_them(around_now, engine, capsys):
    from leadpolicy.cli.main import main

    read, used, rejected, after_now = _score_summary(around_now, "events.csv", engine, capsys)
    assert (read, used, rejected, after_now) == (7, 5, 2, 3)
    assert read == used + rejected and after_now <= used  # after now is a part of used, as sla counts it
    main(["sla", str(ACTIVITY), str(around_now / "events.csv"), "--now", NOW, "--format", "json", "--report-only",
          "--rejects", str(around_now / "sla-rejects.csv")])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert (rows["read"], rows["used"], rows["rejected"], rows["after_now"]) == (read, used, rejected, after_now)


@pytest.mark.parametrize("engine", ["duckdb", "python"])
def test_an_event_after_now_of_an_unknown_lead_is_rejected_not_counted_after_now(around_now, engine, capsys):
    write_csv(around_now / "more.csv", ["lead", "event", "at"],
              [*EVENTS_AROUND_NOW, ("L9", "demo_request", "2027-01-05T09:00:00Z"),
               ("L9", "demo_request", "2026-11-01T09:00:00Z")])
    assert _score_summary(around_now, "more.csv", engine, capsys) == (9, 5, 4, 3)


def test_score_without_events_after_now_says_nothing_of_them(around_now, capsys):
    write_csv(around_now / "before.csv", ["lead", "event", "at"], EVENTS_AROUND_NOW[:2])
    from leadpolicy.cli.main import main

    assert main(["score", str(ACTIVITY), str(around_now / "leads.csv"), "--events", str(around_now / "before.csv"),
                 "--id-column", "lead_id", "--now", NOW, "-o", str(around_now / "scored.csv")]) == 0
    out = capsys.readouterr().out
    assert _events_summary(out) == (2, 2, 0, 0) and "after now" not in out


# ---------------------------------------------------------------- a data file's columns: those not read are ignored

ONE_LEADS_EVENTS = [("L1", "demo_request", "2026-11-18T10:00:00-05:00", "autumn"),
                    ("L1", "pricing_page_view", "2026-11-17T09:00:00-05:00", ""),
                    ("L1", "email_click", "2026-11-21T08:00:00-05:00", "autumn")]  # the last after now
EXPORTED = ["lead", "event", "at", "campaign"]  # as a CRM exports them: more columns than an event row needs


def write_events(path, rows, columns=EXPORTED):
    """`rows` as a CSV, JSON Lines or Parquet file (by the suffix); in Parquet `at` is a TIMESTAMPTZ."""
    if path.suffix == ".csv":
        write_csv(path, columns, rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(dict(zip(columns, row))) + "\n" for row in rows), "utf-8")
    else:
        import duckdb

        con = duckdb.connect()
        at = columns.index("at")
        values = ", ".join("(" + ", ".join(f"TIMESTAMPTZ '{v}'" if i == at else f"'{v}'" for i, v in enumerate(row))
                           + ")" for row in rows)
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"COPY (SELECT * FROM (VALUES {values}) t({names})) TO '{path}' (FORMAT parquet)")  # noqa: S608
        con.close()
    return path


def _explain_json(capsys, events: str) -> tuple[int, dict | str]:
    from leadpolicy.cli.main import main

    code = main(["explain", str(ACTIVITY), "--lead", json.dumps(dict(zip(
        ["email", "employees", "industry", "source"], [ACTIVITY_LEADS[0][1], 1200, *ACTIVITY_LEADS[0][3:]]))),
        "--events", events, "--now", NOW, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else captured.err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_explain_reads_an_exported_events_file_ignoring_the_columns_it_does_not_read(tmp_path, capsys, suffix):
    given = json.dumps([{"event": e, "at": at} for _, e, at, _ in ONE_LEADS_EVENTS])
    code, as_list = _explain_json(capsys, given)
    assert code == 0, as_list
    path = write_events(tmp_path / f"events{suffix}", ONE_LEADS_EVENTS)
    code, from_file = _explain_json(capsys, str(path))
    assert code == 0, from_file
    assert isinstance(from_file, dict) and isinstance(as_list, dict)
    assert from_file["events"] == as_list["events"] and len(from_file["events"]) == 3
    assert [e["after_now"] for e in from_file["events"]] == [False, False, True]
    assert from_file["scores"] == as_list["scores"] and from_file["activity"] == as_list["activity"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_score_and_sla_read_the_same_file_by_the_same_rule(around_now, capsys, suffix):
    from leadpolicy.cli.main import main

    path = write_events(around_now / f"exported{suffix}", ONE_LEADS_EVENTS)
    assert _score_summary(around_now, path.name, "duckdb", capsys) == (3, 3, 0, 1)
    assert main(["sla", str(ACTIVITY), str(path), "--now", NOW, "--format", "json", "--report-only"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert (rows["read"], rows["used"], rows["rejected"], rows["after_now"]) == (3, 3, 0, 1)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_explain_refuses_a_whole_event_log_of_several_leads(tmp_path, capsys, suffix):
    """Ignoring the lead column of a log of many leads would explain one lead with everybody's events."""
    rows = [*ONE_LEADS_EVENTS, ("L2", "demo_request", "2026-11-19T10:00:00-05:00", "")]
    code, err = _explain_json(capsys, str(write_events(tmp_path / f"log{suffix}", rows)))
    assert code == 2 and isinstance(err, str)
    assert "2 leads" in err and "'L1'" in err and "'L2'" in err and "Traceback" not in err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_explain_still_needs_the_event_and_at_columns(tmp_path, capsys, suffix):
    path = write_events(tmp_path / f"no-event{suffix}", [(e, at) for _, e, at, _ in ONE_LEADS_EVENTS],
                        ["name", "at"])
    code, err = _explain_json(capsys, str(path))
    assert code == 2 and isinstance(err, str) and "no column event" in err, err
