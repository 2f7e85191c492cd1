"""`leadpolicy serve --state`: POST /v1/policies/{id}/assign decides and assigns over real HTTP (issue 28), once per
lead id; GET /v1/assignments pages through the state; --availability and --accounts are re-read when they change;
the metrics count assignments per team and member, and held leads. A real server on 127.0.0.1, a real SQLite
state file."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from leadpolicy.testing.harness import load_samples

from .assignment_states import V3, teams_policy
from .test_serve import PATIENCE, Server

ANN, BOB, CAL = "Ann Lee <ann@example.com>", "Bob Roe <bob@example.com>", "Cal Ode <cal@example.com>"
CASES = load_samples(V3.with_suffix(".samples.yaml"))[0].data["assignments"]


def plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def request_of(lead: dict, **extra) -> str:
    """An assign request's JSON from a samples file's assignment lead."""
    body = {"id": str(lead["id"]), "at": plain(lead["at"]), "lead": {k: plain(v) for k, v in lead["lead"].items()},
            "events": [{k: plain(v) for k, v in e.items()} for e in lead.get("events", [])], **extra}
    return json.dumps(body)


def assign(server: Server, policy: str, body: str | bytes) -> tuple[int, dict]:
    status, out = server.call("POST", f"/v1/policies/{policy}/assign", body)
    assert isinstance(out, dict), out
    return status, out


def write_rows(path: Path, rows: list[dict]) -> Path:
    """CSV for a .csv path, Parquet for .parquet (times as timestamps with a zone), JSON Lines otherwise."""
    if path.suffix == ".parquet":
        import duckdb

        with duckdb.connect() as con:
            con.execute("CREATE TABLE rows (member TEXT, \"from\" TIMESTAMPTZ, \"until\" TIMESTAMPTZ)")
            con.executemany("INSERT INTO rows VALUES (?, ?, ?)", [[r["member"], r["from"], r["until"]] for r in rows])
            con.execute(f"COPY rows TO '{path}' (FORMAT parquet)")
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["member", "from", "until"])
            writer.writeheader()
            writer.writerows({k: plain(v) for k, v in row.items()} for row in rows)
    else:
        path.write_text("".join(json.dumps({k: plain(v) for k, v in row.items()}) + "\n" for row in rows))
    return path


def series(server: Server, name: str) -> dict[frozenset, float]:
    """The samples of one metric: {labels: value}."""
    _, text = server.call("GET", "/metrics")
    found = {}
    for line in str(text).splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1:].rsplit("} ", 1)
            pairs = frozenset(tuple(part.split("=", 1)) for part in json.loads("[" + _quoted(labels) + "]"))
            found[pairs] = float(value)
    return found


def _quoted(labels: str) -> str:
    """`a="x",b="y"` as a JSON list of "a=x" texts (label values here hold no quotes or commas)."""
    return ",".join(json.dumps(part.replace('"', "")) for part in labels.split('",') if part)


def eventually(check) -> bool:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("case", CASES, ids=[c["name"][:40] for c in CASES])
def test_the_v3_references_assignments_over_http_give_each_lead_the_member_worked_out_by_hand(case, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / V3.name).write_text(V3.read_text("utf-8"))
    extra = ["--state", str(tmp_path / "state.db")]
    if case.get("availability"):
        extra += ["--availability", str(write_rows(tmp_path / "away.parquet", case["availability"]))]
    if case.get("accounts"):
        extra += ["--accounts", str(write_rows(tmp_path / "accounts.jsonl", case["accounts"]))]
    server = Server(folder, *extra)
    try:
        for lead in case["leads"]:
            status, out = assign(server, "inbound-teams", request_of(lead, explain=True))
            assert status == 200, out
            got = {key: out[key] for key in lead["expect"]}
            assert got == lead["expect"], (lead["id"], out["skipped"])
            assert out["id"] == str(lead["id"]) and out["explanation"] and "breakdown" in out
        held = [lead["id"] for lead in case["leads"] if lead["expect"].get("how") == "held"]
        if held:  # B8: the enterprise AEs hold it; counted in the metrics from the state
            assert eventually(lambda: series(server, "leadpolicy_held_leads").get(
                frozenset({("policy", "inbound-teams"), ("team", "enterprise-ae")})) == len(held))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def teams(tmp_path_factory):
    """A server with a state, over the round-robin team of Ann, Bob and Cal (always at work), an availability file
    (CSV, empty at first) and inbound-b2b (no team)."""
    root = tmp_path_factory.mktemp("assign")
    folder = root / "policies"
    folder.mkdir()
    (folder / "teams-test.policy").write_text(teams_policy("round robin"))
    (folder / "inbound-b2b.policy").write_text((Path(__file__).parent.parent / "policies" /
                                                "inbound-b2b.policy").read_text("utf-8"))
    away = write_rows(root / "away.csv", [])
    server = Server(folder, "--state", str(root / "state.db"), "--availability", str(away), "--decision-log",
                    str(root / "decisions.jsonl"))
    server.away, server.decision_log = away, root / "decisions.jsonl"  # type: ignore[attr-defined]
    yield server
    server.stop()


def lead(lead_id: str, at: str, **extra) -> str:
    return json.dumps({"id": lead_id, "at": at, "lead": {"email": f"{lead_id}@buyer.io"}, **extra})


def test_an_availability_file_is_reread_when_it_changes_and_a_missing_one_keeps_its_last_rows(teams):
    assert assign(teams, "teams-test", lead("r1", "2027-03-02T10:00:00-05:00"))[1]["assignee"] == ANN
    write_rows(teams.away, [{"member": "Ann Lee", "from": "2027-03-01T00:00:00-05:00",
                             "until": "2027-03-09T09:00:00-05:00"}])
    assert eventually(lambda: "--availability" in teams.log.read_text() and "1 row(s) read" in teams.log.read_text())
    got = [assign(teams, "teams-test", lead(f"r{n}", f"2027-03-02T10:0{n}:00-05:00"))[1] for n in (2, 3, 4)]
    assert [g["assignee"] for g in got] == [BOB, CAL, BOB]
    assert got[2]["skipped"] == ["Ann Lee: out of office until Mar 9 09:00"]
    teams.away.unlink()
    assert eventually(lambda: "the last good rows stay in use" in teams.log.read_text())
    got = [assign(teams, "teams-test", lead(f"r{n}", f"2027-03-02T10:0{n}:00-05:00"))[1] for n in (5, 6)]
    away = ["Ann Lee: out of office until Mar 9 09:00"]
    assert [(g["assignee"], g["skipped"]) for g in got] == [(CAL, []), (BOB, away)]


def test_asking_again_answers_the_same_member_already_assigned_and_changes_nothing(teams):
    first = assign(teams, "teams-test", lead("again-1", "2027-04-06T10:00:00-04:00"))[1]
    again = assign(teams, "teams-test", lead("again-1", "2027-04-06T11:00:00-04:00"))[1]
    assert again["how"] == "already assigned" and again["assignee"] == first["assignee"] is not None
    assert again["at"] == first["at"] == "2027-04-06T10:00:00-04:00"  # when it was assigned, not asked again
    rows = [r for r in all_assignments(teams, policy="teams-test") if r["id"] == "again-1"]
    assert [(r["assignee"], r["how"]) for r in rows] == [(first["assignee"], first["how"])]


def test_at_defaults_to_now_and_a_time_without_an_offset_is_in_the_policys_zone(teams):
    out = assign(teams, "teams-test", json.dumps({"id": "z-1", "now": "2027-05-04T09:00:00",
                                                  "lead": {"email": "a@b.io"}}))
    assert out[0] == 200 and out[1]["at"] == out[1]["now"] == "2027-05-04T09:00:00-04:00"
    out = assign(teams, "teams-test", json.dumps({"id": "z-2", "at": "2027-01-05T09:00", "lead": {"email": "a@b.io"}}))
    assert out[1]["at"] == out[1]["now"] == "2027-01-05T09:00:00-05:00"


def test_the_lead_id_may_come_from_the_leads_id_field_and_is_logged_with_its_assignment(teams):
    status, out = assign(teams, "teams-test", json.dumps({"at": "2027-05-05T10:00:00-04:00",
                                                          "lead": {"email": "a@b.io", "id": 7123}}))
    assert status == 200 and out["id"] == "7123"  # the lead's `id` (--lead-id-field), a whole number as text
    again = assign(teams, "teams-test", json.dumps({"id": "7123", "lead": {"email": "a@b.io"}}))[1]
    assert (again["how"], again["assignee"]) == ("already assigned", out["assignee"])
    lines = [json.loads(line) for line in teams.decision_log.read_text().splitlines()]
    logged = [line["assignment"] for line in lines if line.get("assignment", {}).get("id") == "7123"]
    assert [(a["how"], a["assignee"], a["team"], dt.datetime.fromisoformat(a["at"])) for a in logged] == [
        (how, out["assignee"], "sdr", dt.datetime.fromisoformat(out["at"])) for how in ("rotation", "already assigned")]


@pytest.mark.parametrize(("body", "status", "says"), [
    ("not json", 400, "not JSON"),
    ("[]", 400, "a request is"),
    ('{"lead": {"email": "a@b.io"}, "at": "2027-01-01T10:00:00Z"}', 400, "id: a lead id"),
    ('{"id": "", "lead": {"email": "a@b.io"}}', 400, "id: a lead id"),
    ('{"id": true, "lead": {"email": "a@b.io"}}', 400, "id: a lead id"),
    ('{"id": "a\\u0000b", "lead": {"email": "a@b.io"}}', 400, "id: a lead id"),
    ('{"id": "' + "x" * 401 + '", "lead": {"email": "a@b.io"}}', 400, "1 to 400 characters"),
    ('{"id": "b1", "at": 5, "lead": {"email": "a@b.io"}}', 400, "at: an ISO 8601 timestamp in a string, not a number"),
    ('{"id": "b2", "at": "yesterday", "lead": {"email": "a@b.io"}}', 400, "at: "),
    ('{"id": "b3", "at": "9999-01-01T00:00:00", "lead": {"email": "a@b.io"}}', 400, "outside the supported years"),
    ('{"id": "b4", "lead": {"email": 5}}', 400, "invalid lead"),
    ('{"id": "b5", "lead": {"email": "a@b.io"}, "colour": "red"}', 400, "unknown request field(s): colour"),
    ('{"id": "b6", "lead": {"email": "a@b.io"}, "events": [{"event": "x", "at": "2027-01-01"}]}', 400, "events"),
])
def test_bad_assign_requests_are_400_with_the_reason_and_assign_nothing(teams, body, status, says):
    got, out = assign(teams, "teams-test", body)
    assert (got, says.lower() in out["error"].lower()) == (status, True), out
    assert not [r for r in all_assignments(teams, policy="teams-test") if r["id"].startswith("b")]


def test_a_policy_without_teams_is_422_and_an_unknown_policy_404(teams):
    status, out = assign(teams, "inbound-b2b", lead("q1", "2027-01-05T10:00:00-05:00"))
    assert status == 422 and "has no team" in out["error"]
    status, out = assign(teams, "teams-tset", lead("q1", "2027-01-05T10:00:00-05:00"))
    assert status == 404 and "teams-test" in out["hint"]


def test_an_email_that_is_no_address_matches_no_account_and_is_never_a_server_error(teams):
    status, out = assign(teams, "teams-test", lead("e1", "2027-01-05T10:00:00-05:00",
                                                   lead={"email": "a" * 5000 + "@x.io"}))
    assert status == 200 and out["assignee"] in (ANN, BOB, CAL)


def all_assignments(server: Server, **query) -> list[dict]:
    """Every assignment the audit gives, following its `next` pages."""
    rows, path = [], "/v1/assignments?" + urlencode(query)
    while path:
        status, page = server.call("GET", path)
        assert status == 200, page
        assert isinstance(page, dict)
        rows += page["assignments"]
        path = page["next"]
    return rows


def test_the_audit_pages_through_every_assignment_in_order_from_since(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / V3.name).write_text(V3.read_text("utf-8"))
    server = Server(folder, "--state", str(tmp_path / "state.db"))
    try:
        for item in CASES[0]["leads"]:  # W1 to W11, every 10 minutes from 10:00 New York
            assert assign(server, "inbound-teams", request_of(item))[0] == 200
        rows = all_assignments(server, limit=4)
        assert [r["id"] for r in rows] == [f"W{n}" for n in range(1, 12)]
        assert [r["assignee"] for r in rows] == [item["expect"]["assignee"] for item in CASES[0]["leads"]]
        assert {(r["policy"], r["team"], r["how"], r["version"]) for r in rows} == {
            ("inbound-teams", "inbound-sdr", "rotation", "4.0.0")}
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
        later = ["W7", "W8", "W9", "W10", "W11"]
        for since in ({"since": "2026-12-01T11:00:00-05:00"}, {"since": "2026-12-01T16:00"},
                      {"since": "2026-12-01T11:00", "policy": "inbound-teams"}):
            assert [r["id"] for r in all_assignments(server, **since, limit=2)] == later, since
        assert all_assignments(server, policy="another") == []
        for query, says in (("since=soon", "since: "), ("limit=0", "limit: a whole number from 1"),
                            ("limit=10001", "limit"), ("after=-1", "after"), ("colour=red", "unknown parameter")):
            status, out = server.call("GET", "/v1/assignments?" + query)
            assert status == 400 and says in out["error"], (query, out)
    finally:
        server.stop()


def test_the_metrics_count_assignments_per_team_member_and_how(teams):
    before = series(teams, "leadpolicy_assignments_total")
    for n in range(3):
        assign(teams, "teams-test", lead(f"m{n}", "2027-06-01T10:00:00-04:00"))
    assign(teams, "teams-test", lead("m0", "2027-06-01T10:00:00-04:00"))
    after = series(teams, "leadpolicy_assignments_total")
    added = {labels: after[labels] - before.get(labels, 0.0) for labels in after if after[labels] != before.get(labels)}
    assert sorted(dict(labels)["how"] for labels, n in added.items() for _ in range(int(n))) == [
        "already assigned", "rotation", "rotation", "rotation"]
    assert {dict(labels)["team"] for labels in added} == {"sdr"}
    assert {dict(labels)["member"] for labels in added if dict(labels)["how"] == "rotation"} <= {ANN, BOB, CAL}


def test_without_a_state_assign_and_the_audit_are_503_saying_so(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "teams-test.policy").write_text(teams_policy("round robin"))
    server = Server(folder)
    try:
        status, out = assign(server, "teams-test", lead("n1", "2027-01-05T10:00:00-05:00"))
        assert status == 503 and "started without a state" in out["error"] and "--state" in out["error"]
        status, out = server.call("GET", "/v1/assignments")
        assert status == 503 and "--state" in out["error"]
        assert server.call("POST", "/v1/policies/teams-test/decide", '{"lead": {"email": "a@b.io"}}')[0] == 200
    finally:
        server.stop()


def test_a_state_that_goes_away_is_503_never_a_server_error_and_the_service_goes_on(tmp_path):
    from .pgserver import throwaway_server

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "teams-test.policy").write_text(teams_policy("round robin"))
    with throwaway_server() as conninfo:
        parts = dict(part.split("=", 1) for part in conninfo.split())
        url = f"postgresql://{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}"
        server = Server(folder, "--state", url)
        try:
            assert assign(server, "teams-test", lead("g1", "2027-01-05T10:00:00-05:00"))[0] == 200
        except BaseException:
            server.stop()
            raise
    try:  # the database server is stopped now
        status, out = assign(server, "teams-test", lead("g2", "2027-01-05T10:01:00-05:00"))
        assert status == 503 and "the state cannot be written now" in out["error"], out
        assert server.call("GET", "/healthz")[0] == 200
        assert server.call("POST", "/v1/policies/teams-test/decide", '{"lead": {"email": "a@b.io"}}')[0] == 200
        said = "held leads are not counted until it can"
        assert eventually(lambda: said in server.log.read_text())
        time.sleep(2.5)  # two more polls of the state, each failing: said once, not each second
        assert server.log.read_text().count(said) == 1
    finally:
        server.stop()


def test_the_openapi_document_validates_and_describes_assign_and_the_audit(teams):
    from openapi_spec_validator import validate

    status, document = teams.call("GET", "/openapi.json")
    assert status == 200 and isinstance(document, dict)
    validate(document)
    assign_answers = document["paths"]["/v1/policies/{policy_id}/assign"]["post"]["responses"]
    assert {"200", "400", "401", "404", "413", "422", "503"} <= set(assign_answers)
    assert {"200", "400", "503"} <= set(document["paths"]["/v1/assignments"]["get"]["responses"])
    assert set(document["components"]["schemas"]["AssignRequest"]["properties"]) == {
        "id", "at", "lead", "events", "now", "explain"}


def test_two_workers_on_one_sqlite_file_take_turns_each_lead_once_and_the_shares_exact(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "teams-test.policy").write_text(teams_policy("by weight", (1, 2, 1)))
    server = Server(folder, "--state", str(tmp_path / "state.db"), "--workers", "2")
    try:
        with ThreadPoolExecutor(8) as clients:
            answers = list(clients.map(lambda n: assign(server, "teams-test", lead(
                f"w{n}", f"2027-03-02T10:{n // 60:02d}:{n % 60:02d}-05:00")), range(400)))
        assert {status for status, _ in answers} == {200}
        rows = all_assignments(server, policy="teams-test")
    finally:
        server.stop()
    assert sorted(r["id"] for r in rows) == sorted(f"w{n}" for n in range(400))
    assert {out["id"]: out["assignee"] for _, out in answers} == {r["id"]: r["assignee"] for r in rows}
    shares: dict[str, int] = {}
    for r in rows:
        shares[r["assignee"]] = shares.get(r["assignee"], 0) + 1
    assert shares == {ANN: 100, BOB: 200, CAL: 100}
    assert (tmp_path / "state.db.serve-lock").exists()  # the workers' turns: an flock beside the file


def test_a_state_url_that_cannot_be_opened_is_bad_usage_and_never_shows_its_password(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "leadpolicy", "serve", str(tmp_path), "--state",
                             "postgresql://nobody:s3cret-pw@127.0.0.1:1/leads"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "--state: cannot open the state" in result.stderr, result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr and "nobody:***@127.0.0.1" in result.stderr


def test_assign_and_the_audit_need_the_token_as_the_decision_endpoints_do(tmp_path):
    from .test_serve import TOKEN

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "teams-test.policy").write_text(teams_policy("round robin"))
    (tmp_path / "token.txt").write_text(TOKEN + "\n")
    server = Server(folder, "--state", str(tmp_path / "state.db"), "--token-file", str(tmp_path / "token.txt"))
    try:
        body = lead("t1", "2027-01-05T10:00:00-05:00")
        assert server.call("POST", "/v1/policies/teams-test/assign", body, token=None)[0] == 401
        assert server.call("GET", "/v1/assignments", token="wrong")[0] == 401
        assert all_assignments(server) == []  # nothing was assigned without the token
        assert server.call("POST", "/v1/policies/teams-test/assign", body)[0] == 200
        assert [r["id"] for r in all_assignments(server)] == ["t1"]
    finally:
        server.stop()


def _v3_lead(lead_id: str, at: str, email: str) -> str:
    return json.dumps({"id": lead_id, "at": at, "lead": {"email": email, "employees": 300, "industry": "software"},
                       "events": [{"event": "demo_request", "at": "2026-12-01T10:00:00-05:00"}]})


def test_a_held_lead_decided_again_or_asked_before_it_arrived_is_never_assigned_for_it(tmp_path):
    """A re-ask earlier than the held lead's arrival answers still held; a later decision that routes it to no
    team (a competitor's email) drops its hold, so a release never assigns it."""
    from leadpolicy.assignment import Assigner, open_state

    from .assignment_states import policy_ir

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / V3.name).write_text(V3.read_text("utf-8"))
    server = Server(folder, "--state", str(tmp_path / "state.db"))
    try:
        for lead_id in ("HOLD1", "HOLD2"):
            out = assign(server, "inbound-teams", _v3_lead(lead_id, "2026-12-02T20:00:00-05:00", "s@late.io"))[1]
            assert out["how"] == "held", out
        status, out = assign(server, "inbound-teams", _v3_lead("HOLD1", "2026-12-02T10:00:00-05:00", "s@late.io"))
        assert (status, out["how"], out["assignee"], out["at"]) == (200, "held", None, "2026-12-02T20:00:00-05:00")
        status, out = assign(server, "inbound-teams",
                             _v3_lead("HOLD2", "2026-12-02T21:00:00-05:00", "s@competitor.com"))
        assert (status, out["route"], out["assignee"]) == (200, None, None), out
    finally:
        server.stop()
    state = open_state(str(tmp_path / "state.db"))
    try:
        assert [lead_id for lead_id, *_rest in state.held_leads("inbound-teams")] == ["HOLD1"]
        released = Assigner(policy_ir(V3.read_text("utf-8")), state).release_held(
            dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
        assert [o.lead_id for o in released] == ["HOLD1"]
    finally:
        state.close()


def test_a_lead_id_is_read_as_the_cli_reads_it_trimmed_and_a_fraction_refused_in_the_same_words(teams):
    first = assign(teams, "teams-test", lead("W1", "2027-06-01T10:00:00-04:00"))[1]
    status, again = assign(teams, "teams-test", lead("  W1 ", "2027-06-01T10:05:00-04:00"))
    assert (status, again["id"], again["how"], again["assignee"]) == (200, "W1", "already assigned", first["assignee"])
    for bad in (5.0, 5.5, [1], "x\ny"):
        status, out = assign(teams, "teams-test", json.dumps({"id": bad, "at": "2027-06-01T10:00:00-04:00",
                                                              "lead": {"email": "a@b.io"}}))
        assert status == 400 and out["error"].startswith("id: a lead id is"), out
    rows = [r["id"] for r in all_assignments(teams, policy="teams-test") if r["id"].strip() == "W1"]
    assert rows == ["W1"]
