"""`leadpolicy serve`: a real server on 127.0.0.1 (a free port), real HTTP requests."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import leadpolicy
from leadpolicy.testing.harness import load_samples

from .components import require_node
from .conftest import POLICIES, REFERENCE_COPY

DOCS = Path(__file__).resolve().parent.parent / "docs"
TOKEN = "s3cret-token"


# How long a test waits for what the server does on its own time (starting, a reload polled each second,
# a counter): a guard against a hang, not a speed claim, as a check that holds ends the wait at once.
PATIENCE = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, folder: Path, *extra: str):
        self.port = free_port()
        self.log = folder.parent / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "leadpolicy", "serve", str(folder), "--port", str(self.port), *extra],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.1)
        self.stop()  # never left running after the test
        raise AssertionError("the server did not become ready: " + self.log.read_text())

    def call(self, method: str, path: str, body: bytes | str | None = None, token: str | None = TOKEN,
             headers: dict | None = None) -> tuple[int, object]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {"Content-Type": "application/json", **(headers or {})}
            if token:
                sent["Authorization"] = f"Bearer {token}"
            connection.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            kind = response.getheader("content-type", "")
            return response.status, json.loads(raw) if kind.startswith("application/json") else raw.decode()
        finally:
            connection.close()

    def decide(self, policy: str, request: dict) -> tuple[int, dict]:
        status, out = self.call("POST", f"/v1/policies/{policy}/decide", json.dumps(request, default=str))
        assert isinstance(out, dict)
        return status, out

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served") / "policies"
    folder.mkdir()
    for name in ("inbound-b2b", "inbound-activity"):
        shutil.copy(POLICIES / f"{name}.policy", folder / f"{name}.policy")
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    log = folder.parent / "decisions.jsonl"
    server = Server(folder, "--token-file", str(folder.parent / "token.txt"), "--decision-log", str(log),
                    "--max-body", "20000")
    server.folder, server.decision_log = folder, log  # type: ignore[attr-defined]
    yield server
    server.stop()


def plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


@pytest.mark.parametrize("name", ["inbound-b2b", "inbound-activity"])
def test_every_reference_sample_lead_over_http_is_what_evaluate_decides(served, name):
    policy = leadpolicy.load(REFERENCE_COPY / f"{name}.policy")
    doc, _ = load_samples(REFERENCE_COPY / f"{name}.samples.yaml")
    now = doc.data["now"]
    cases = [c for c in doc.data["leads"] if "invalid" not in c["expect"]]
    assert cases
    for case in cases:
        lead = {k: plain(v) for k, v in case["lead"].items()}
        events = [{"event": e["event"], "at": plain(e["at"])} for e in case.get("events", [])]
        status, out = served.decide(policy.id, {"lead": lead, "events": events, "now": plain(now)})
        want = policy.evaluate(lead, plain(now), events=events)
        assert status == 200, out
        assert {k: out[k] for k in ("scores", "grades", "stage", "owner", "route")} == {
            "scores": want.scores, "grades": want.grades, "stage": want.stage, "owner": want.owner,
            "route": want.route}, case["name"]
        assert (out["policy"], out["version"], out["fingerprint"]) == (policy.id, policy.version, policy.fingerprint)


def test_explain_and_now_default(served):
    status, out = served.decide("inbound-b2b", {"lead": {"email": "a@bigsoft.io", "employees": 300}, "explain": True})
    assert status == 200 and out["explanation"] and "breakdown" in out
    used = dt.datetime.fromisoformat(out["now"])
    assert abs((used - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60


def test_bad_requests_get_clear_errors_and_never_crash_the_server(served):
    policy = leadpolicy.load(POLICIES / "inbound-b2b.policy")
    bad = {"email": 5, "employees": "many", "industry": "mining"}
    status, out = served.decide("inbound-b2b", {"lead": bad})
    assert status == 400 and out["error"] == "invalid lead"
    assert out["fields"] == [{"field": e.field, "message": e.message} for e in policy.validate(bad)]
    status, out = served.decide("inbound-activity", {"lead": {"email": "a@b.io"}, "events": [{"event": "x"}]})
    assert status == 400 and out["fields"][0]["field"].startswith("events/1")
    assert served.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "now": "tuesday"})[0] == 400
    assert served.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "nowww": 1})[0] == 400
    status, out = served.decide("inbound-b2c", {"lead": {}})
    assert status == 404 and "inbound-b2b" in out["hint"]
    for body in (b"{", b"\xff\xfe", b"[" * 100000 + b"]" * 100000, b'{"lead": [1]}', b"null", b'{"lead": {"email": '
                 b'"a@b.io", "employees": 1e999}}'):
        status, _ = served.call("POST", "/v1/policies/inbound-b2b/decide", body)
        assert status in (400, 413), body[:20]
    too_big = json.dumps({"lead": {"email": "x" * 30000}})
    assert served.call("POST", "/v1/policies/inbound-b2b/decide", too_big)[0] == 413
    assert served.call("GET", "/v1/policies/..%2F..%2Fetc%2Fpasswd")[0] == 404
    assert served.call("GET", "/healthz")[0] == 200 and served.process.poll() is None


def test_a_token_is_required_and_compared_exactly(served):
    lead = json.dumps({"lead": {"email": "a@b.io"}})
    assert served.call("POST", "/v1/policies/inbound-b2b/decide", lead, token=None)[0] == 401
    assert served.call("POST", "/v1/policies/inbound-b2b/decide", lead, token=TOKEN + "x")[0] == 401
    assert served.call("GET", "/v1/policies", token=None)[0] == 401
    assert served.call("GET", "/healthz", token=None)[0] == 200  # probes and metrics need no token
    assert served.call("GET", "/metrics", token=None)[0] == 200


def test_batches_answer_in_order_with_errors_in_place(served):
    leads = [{"lead": {"email": "a@bigsoft.io", "employees": 1200, "industry": "software", "demo_requested": True}},
             {"lead": {"employees": "many"}}, {"lead": {"email": "c@d.io"}}]
    status, out = served.call("POST", "/v1/policies/inbound-b2b/decide-batch", json.dumps(leads))
    assert status == 200 and isinstance(out, dict)
    results = out["results"]
    assert [r.get("stage") for r in results] == ["sql", None, "nurture"]
    assert results[1]["item"] == 2 and results[1]["error"] == "invalid lead"  # items count from 1
    lines = "\n".join(json.dumps(x) for x in leads) + "\n"
    status, again = served.call("POST", "/v1/policies/inbound-b2b/decide-batch", lines,
                                headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and [r.get("stage") for r in again["results"]] == ["sql", None, "nurture"]  # type: ignore


def test_policies_list_detail_metrics_and_decision_log(served):
    status, out = served.call("GET", "/v1/policies")
    assert status == 200 and isinstance(out, dict)
    listed = {p["id"]: p for p in out["policies"]}
    assert {"inbound-b2b", "inbound-activity"} <= set(listed)
    assert listed["inbound-b2b"]["approval"] in ("draft", "partly approved", "agreed", "unknown")
    assert listed["inbound-b2b"]["fingerprint"] == leadpolicy.load(POLICIES / "inbound-b2b.policy").fingerprint
    status, detail = served.call("GET", "/v1/policies/inbound-b2b")
    assert status == 200 and detail["lead_schema"]["properties"]["email"]  # type: ignore[index]
    served.decide("inbound-b2b", {"lead": {"id": "L-77", "email": "log@bigsoft.io", "employees": 10}})
    records = [json.loads(line) for line in served.decision_log.read_text().splitlines()]
    mine = [r for r in records if r["lead_id"] == "L-77"]
    assert mine and set(mine[0]) == {"time", "policy", "fingerprint", "lead_id", "decision", "latency_ms"}
    assert "log@bigsoft.io" not in served.decision_log.read_text()  # no lead data without --log-leads
    _, text = served.call("GET", "/metrics")
    assert re.search(r'leadpolicy_decisions_total\{policy="inbound-b2b",stage="\w+"\} [1-9]', str(text))
    assert re.search(r'leadpolicy_request_seconds_bucket\{endpoint="decide",le="0.01"\} [1-9]', str(text))


def test_the_openapi_document_validates_and_names_every_lead_schema(served):
    from openapi_spec_validator import validate

    status, document = served.call("GET", "/openapi.json")
    assert status == 200 and isinstance(document, dict)
    validate(document)
    assert {"Lead.inbound-b2b", "Lead.inbound-activity"} <= set(document["components"]["schemas"])
    for endpoint in ("decide", "decide-batch"):  # every answer the service gives is documented
        responses = document["paths"][f"/v1/policies/{{policy_id}}/{endpoint}"]["post"]["responses"]
        assert {"200", "400", "401", "404", "408", "413", "503"} <= set(responses), responses


def test_hot_reload_swaps_a_good_edit_and_keeps_serving_through_a_broken_one(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    source = (POLICIES / "inbound-b2b.policy").read_text()
    (folder / "inbound-b2b.policy").write_text(source)
    log = tmp_path / "decisions.jsonl"
    server = Server(folder, "--decision-log", str(log), "--log-leads", "--lead-id-field", "email")
    try:
        lead = {"lead": {"email": "a@bigsoft.io", "employees": 1200}}
        assert server.decide("inbound-b2b", lead)[1]["version"] == "2.1.0"
        logged = json.loads(log.read_text().splitlines()[0])
        assert logged["lead_id"] == "a@bigsoft.io" and logged["lead"] == lead["lead"]  # --log-leads
        (folder / "inbound-b2b.policy").write_text(source.replace("version 2.1.0", "version 2.2.0"))
        assert _eventually(lambda: server.decide("inbound-b2b", lead)[1]["version"] == "2.2.0")
        (folder / "inbound-b2b.policy").write_text(source.replace("version 2.1.0", "version 2.3.0")
                                                   .replace("owner sales", "owner salez", 1))
        assert _eventually(lambda: (_info(server)["last_error"] or []) != [])
        info = _info(server)
        # a policy's diagnostics as check gives them: place, code, message and hint
        assert info["version"] == "2.2.0" and any(line.endswith(
            'inbound-b2b.policy:48:65: unknown-team: team "sales" does not own this policy; hint: did you mean '
            '"salez"?') for line in info["last_error"])
        assert server.decide("inbound-b2b", lead)[1]["version"] == "2.2.0"  # the last good version serves
        _, text = server.call("GET", "/metrics")
        assert re.search(r"leadpolicy_reload_failures_total\{source=\".*inbound-b2b.policy\"\} 1", str(text))
        assert re.search(r'leadpolicy_reloads_total\{policy="inbound-b2b"\} 1', str(text))
        # SIGHUP reloads too: the same content again is one more swap, and the fixed file serves
        (folder / "inbound-b2b.policy").write_text(source.replace("version 2.1.0", "version 2.4.0"))
        os.kill(server.process.pid, signal.SIGHUP)
        assert _eventually(lambda: server.decide("inbound-b2b", lead)[1]["version"] == "2.4.0")
        assert _info(server)["last_error"] is None
    finally:
        server.stop()


def test_a_compiled_artifact_is_served_like_its_source(tmp_path):
    policy = leadpolicy.load(POLICIES / "product-led.policy")
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "product-led.json").write_text(policy.artifact_json())
    (tmp_path / "served" / "notes.json").write_text('{"not": "a policy"}')
    server = Server(tmp_path / "served")
    try:
        status, listed = server.call("GET", "/v1/policies", token=None)
        assert status == 200 and isinstance(listed, dict)
        assert [p["id"] for p in listed["policies"]] == [policy.id]
        assert listed["policies"][0]["approval"] == "unknown"
        assert [b["source"] for b in listed["not_loaded"]] == ["notes.json"] and listed["not_loaded"][0]["error"]
        doc, _ = load_samples(POLICIES / "product-led.samples.yaml")
        for case in [c for c in doc.data["leads"] if "invalid" not in c["expect"]]:
            lead = {k: plain(v) for k, v in case["lead"].items()}
            status, out = server.decide(policy.id, {"lead": lead, "now": plain(doc.data["now"])})
            assert status == 200 and out["stage"] == policy.evaluate(lead, plain(doc.data["now"])).stage
    finally:
        server.stop()


def test_companion_files_outside_the_served_paths_are_never_read(tmp_path):
    shutil.copy(POLICIES / "inbound-b2b.policy", tmp_path / "inbound-b2b.policy")
    shutil.copy(POLICIES / "inbound-b2b.samples.yaml", tmp_path / "inbound-b2b.samples.yaml")
    server = Server(tmp_path / "inbound-b2b.policy")  # one file: its samples beside it are not served
    try:
        assert _info(server, token=None)["approval"] == "unknown"
    finally:
        server.stop()


def test_the_javascript_client_in_the_docs_works_against_the_server(served, tmp_path):
    node = require_node()
    page = (DOCS / "serve.md").read_text()
    script = re.search(r"```js\n(.*?)```", page, re.S)
    assert script is not None
    (tmp_path / "client.mjs").write_text(script.group(1))
    env = {**os.environ, "LEADPOLICY_URL": f"http://127.0.0.1:{served.port}", "LEADPOLICY_TOKEN": TOKEN}
    try:
        result = subprocess.run([node, str(tmp_path / "client.mjs")], capture_output=True, text=True,
                                timeout=PATIENCE, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the documented client hung (no exit in {PATIENCE:.0f} s)")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    want = leadpolicy.load(POLICIES / "inbound-b2b.policy").evaluate(
        {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "demo_requested": True},
        "2026-11-20T12:00:00-05:00")
    assert (out["stage"], out["route"], out["scores"]) == (want.stage, want.route, want.scores)


def _info(server: Server, token: str | None = None) -> dict:
    status, out = server.call("GET", "/v1/policies/inbound-b2b", token=token)
    assert status == 200 and isinstance(out, dict), out
    return out


def _eventually(check) -> bool:
    """Whether `check` comes true before PATIENCE runs out, asked every 50 ms."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_key_given_twice_is_refused_as_every_reader_refuses_it(served):
    """`{"employees": 5, "employees": 6000}` means 5 to one reader and 6000 to another: a bad request."""
    twice = b'{"lead": {"email": "a@bigsoft.io", "employees": 5, "employees": 6000}}'
    status, out = served.call("POST", "/v1/policies/inbound-b2b/decide", twice)
    assert status == 400 and "employees" in json.dumps(out) and "twice" in json.dumps(out)
    nested = b'[{"lead": {"email": "a@b.io"}}, {"lead": {"email": "c@d.io"}, "lead": {"email": "e@f.io"}}]'
    status, out = served.call("POST", "/v1/policies/inbound-b2b/decide-batch", nested)
    assert status == 400 and "'lead' is given twice" in json.dumps(out)  # as a body that is not JSON
