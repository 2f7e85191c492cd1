"""`leadpolicy serve` and hostile requests: every one a 4xx that says why, a batch's bad items in place."""

from __future__ import annotations

import json
import re
import shutil
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadpolicy.service import bodies

from .conftest import POLICIES
from .test_serve import TOKEN, Server, _eventually

LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "source": "webinar"}
EVENTS = [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]
# as JSON text: 1e400 is a valid JSON number that no float holds
BAD_NOWS = ["5", "1e400", "true", "[]", "{}", '"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59Z"',
            '"2026-13-01T00:00:00Z"']


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("requests") / "policies"
    folder.mkdir()
    for name in ("inbound-b2b", "inbound-activity"):
        shutil.copy(POLICIES / f"{name}.policy", folder / f"{name}.policy")
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    log = folder.parent / "decisions.jsonl"
    running = Server(folder, "--token-file", str(folder.parent / "token.txt"), "--decision-log", str(log))
    running.decision_log = log  # type: ignore[attr-defined]
    yield running
    running.stop()


def _batch(server: Server, policy: str, items: list) -> tuple[int, dict]:
    status, out = server.call("POST", f"/v1/policies/{policy}/decide-batch", json.dumps(items))
    assert isinstance(out, dict), out
    return status, out


def _request(now: str) -> str:
    return f'{{"lead": {json.dumps(LEAD)}, "events": {json.dumps(EVENTS)}, "now": {now}}}'


@pytest.mark.parametrize("now", BAD_NOWS)
def test_a_bad_now_is_400_naming_now(server, now):
    status, out = server.call("POST", "/v1/policies/inbound-activity/decide", _request(now))
    assert status == 400 and out["error"].startswith("now: "), out  # type: ignore[index]


def test_a_bad_now_in_a_batch_is_that_items_error(server):
    good = {"lead": LEAD, "events": EVENTS, "now": "2026-11-20T12:00:00-05:00"}
    body = "[" + ", ".join([json.dumps(good), *map(_request, BAD_NOWS), json.dumps(good)]) + "]"
    status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", body)
    assert status == 200 and isinstance(out, dict), out
    results = out["results"]
    assert [r.get("stage") is not None for r in results] == [True] + [False] * len(BAD_NOWS) + [True]
    assert all(r["error"].startswith("now: ") for r in results[1:-1]), results


def _strict(line: str) -> dict:
    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_the_decision_log_is_always_json_and_names_a_lead_only_by_a_plain_id(server):
    log = server.decision_log
    status, out = server.call("POST", "/v1/policies/inbound-b2b/decide", b'{"lead": {"id": NaN, "email": "a@b.io"}}')
    assert status == 400 and "NaN" in out["error"]  # type: ignore[index]  # not JSON (RFC 8259)
    for lead_id in ({"nested": "hidden@secret.io"}, ["hidden@secret.io"], True):
        assert server.decide("inbound-b2b", {"lead": {"id": lead_id, "email": "a@b.io"}})[0] == 200
    body = b'{"lead": {"id": 1e400, "email": "a@b.io"}}'  # a JSON number too large for a float: infinity
    assert server.call("POST", "/v1/policies/inbound-b2b/decide", body)[0] == 200
    assert server.decide("inbound-b2b", {"lead": {"id": "L-1", "email": "a@b.io"}})[0] == 200
    records = [_strict(line) for line in log.read_text().splitlines()]
    assert [r["lead_id"] for r in records[-5:]] == [None, None, None, None, "L-1"]
    assert "hidden@secret.io" not in log.read_text()


def test_the_bearer_scheme_is_case_insensitive_and_the_token_still_compared_exactly(server):
    path, body = "/v1/policies/inbound-b2b/decide", json.dumps({"lead": {"email": "a@b.io"}})
    for header in (f"bearer {TOKEN}", f"BEARER {TOKEN}", f"Bearer  {TOKEN}", f"bEaReR {TOKEN}"):
        assert server.call("POST", path, body, token=None, headers={"Authorization": header})[0] == 200, header
    for header in ("bearer", f"bearer{TOKEN}", f"Basic {TOKEN}", f"bearer {TOKEN.upper()}", f"bearer {TOKEN}x",
                   f"bearer x{TOKEN}", f"bearer {TOKEN[:-1]}", f"Bearer {TOKEN} {TOKEN}", "Bearer "):
        assert server.call("POST", path, body, token=None, headers={"Authorization": header})[0] == 401, header


def test_explain_must_be_a_boolean_and_events_must_be_objects_for_a_policy_that_uses_them(server):
    for explain, kind in ((1, "a number"), ("yes", "text"), ([], "a list"), ({}, "a JSON object")):
        status, out = server.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "explain": explain})
        assert status == 400 and out["error"] == f"explain: true or false, not {kind}", out  # never a type's name
    assert server.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "explain": False})[0] == 200
    status, out = server.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "events": EVENTS})
    assert status == 400 and out["error"].startswith("events: ") and "inbound-b2b" in out["error"], out
    assert server.decide("inbound-b2b", {"lead": {"email": "a@b.io"}, "events": []})[0] == 200
    as_list = [["demo_request", "2026-11-18T10:00:00-05:00"]]
    status, out = server.decide("inbound-activity", {"lead": LEAD, "events": as_list})
    assert status == 400 and out["fields"] == [{"field": "events/1", "message": "an event is {event, at}"}], out
    items = [{"lead": LEAD, "explain": 1}, {"lead": LEAD, "events": as_list}, {"lead": LEAD, "events": EVENTS}]
    status, out = _batch(server, "inbound-activity", items)
    assert status == 200 and [r.get("error") is None for r in out["results"]] == [False, False, True], out


def test_a_client_that_goes_away_is_counted_as_such_never_as_a_server_error(server):
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port)) as gone:
            gone.sendall(b"POST /v1/policies/inbound-b2b/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                         b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n{\"lead\": ")
            time.sleep(0.1)

    def counted(status: str) -> float:
        _, text = server.call("GET", "/metrics")
        found = re.search(rf'leadpolicy_requests_total\{{endpoint="decide",status="{status}"\}} (\S+)', str(text))
        return float(found.group(1)) if found else 0.0

    assert _eventually(lambda: counted("499") >= 3)
    assert counted("500") == 0


def test_errors_number_batch_items_events_and_lines_all_from_1(server):
    bad_event = {"event": "no_such_event", "at": "2026-11-18T10:00:00-05:00"}
    items = [{"lead": LEAD}, {"lead": LEAD, "events": [EVENTS[0], bad_event]}, {"lead": {"employees": "many"}}]
    status, out = _batch(server, "inbound-activity", items)
    assert status == 200, out
    ok, bad_events, bad_lead = out["results"]
    assert "error" not in ok and "item" not in ok
    assert bad_events["item"] == 2 and [f["field"] for f in bad_events["fields"]] == ["events/2/event"], bad_events
    assert bad_lead["item"] == 3 and "index" not in bad_lead
    status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch",
                              json.dumps({"lead": LEAD}) + "\n{\n", headers={"Content-Type": "application/x-ndjson"})
    assert status == 400 and "line 2" in out["error"], out  # type: ignore[index]
    status, out = server.call("POST", "/v1/policies/inbound-activity/decide", b'{"lead": }')
    assert status == 400 and "line 1, column 10" in out["error"] and "char" not in out["error"], out  # type: ignore


def _hostile_requests() -> list[bytes]:
    lead = json.dumps(LEAD).encode()
    return [
        b"", b" ", b"{", b"[", b"]", b"}", b"null", b"0", b"-1", b'"x"', b"true", b"[]", b"{}", b"[[]]", b"[{}]",
        b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf{}", b"{\"lead\": \"\xc3\x28\"}", b'{"lead": null}', b'{"lead": []}',
        b'{"lead": {"email": null}}', b'{"lead": {"email": "\\ud800"}}', b'{"lead": {}, "lead": {"x": 1}}',
        b'{"lead": {"email": "a@b.io", "employees": 1' + b"0" * 5000 + b"}}", b'{"lead": {"employees": -0}}',
        b'{"lead": {"employees": 1e400}}', b'{"lead": {"employees": -1e400}}', b'{"lead": {"__proto__": {}}}',
        b'{"lead": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", b"[" * 200_000, b'{"lead": ' + b'{"a":' * 5000 + b"1"
        + b"}" * 5001, b'{"lead": {"email": "' + b"x" * 500_000 + b'"}}', b'{"lead": ' + lead + b', "events": null}',
        b'{"lead": ' + lead + b', "events": [null, 1, "x", [], {}]}', b'{"lead": ' + lead + b', "events": {}}',
        b'{"lead": ' + lead + b', "events": [{"event": "demo_request", "at": "2026-13-45T99:99:99Z"}]}',
        b'{"lead": ' + lead + b', "events": [{"event": "demo_request", "at": 1e400}]}',
        b'{"lead": ' + lead + b', "events": [{"event": ["demo_request"], "at": {}}]}',
        b'{"lead": ' + lead + b', "now": "2026-11-20T12:00:00+99:00"}', b'{"lead": ' + lead + b', "now": ""}',
        b'{"lead": ' + lead + b', "now": "\\u0000"}', b'{"lead": ' + lead + b', "explain": null, "now": null}',
        b'{"lead": ' + lead + b'} trailing', b'\x00' * 100, "{\"lead\": {\"email\": \"\u2028\u0085\"}}".encode(),
    ]


@pytest.mark.parametrize("policy", ["inbound-b2b", "inbound-activity"])
def test_hostile_bodies_never_get_a_5xx_alone_in_a_batch_or_as_json_lines(server, policy):
    hostile = _hostile_requests()
    for body in hostile:
        status, _ = server.call("POST", f"/v1/policies/{policy}/decide", body)
        assert 400 <= status < 500 or status == 200, body[:60]
        status, _ = server.call("POST", f"/v1/policies/{policy}/decide-batch", b"[" + body + b"]")
        assert 400 <= status < 500 or status == 200, body[:60]
        status, _ = server.call("POST", f"/v1/policies/{policy}/decide-batch", body + b"\n" + body,
                                headers={"Content-Type": "application/x-ndjson"})
        assert 400 <= status < 500 or status == 200, body[:60]
    assert server.call("GET", "/healthz")[0] == 200 and server.process.poll() is None
    assert "Traceback" not in server.log.read_text()


def test_a_chunked_body_over_the_limit_is_refused_as_it_passes_the_limit(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(b"POST /v1/policies/inbound-b2b/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (64 << 10, b" " * (64 << 10))
        for _ in range(18):  # 1.1 MiB, just over the 1 MiB limit; the body's end is never sent
            connection.sendall(chunk)
        answer = b""
        while b"}" not in answer:  # the whole answer, within the timeout: the server did not wait for the rest
            got = connection.recv(4096)
            if not got:
                break
            answer += got
    assert answer.startswith(b"HTTP/1.1 413") and b"--max-body" in answer, answer[:200]


LONE_SURROGATE_BATCHES = [
    b'[{"lead":{"email":"a@b.io"}},{"lead":{"email":"a@b.io"},"\\ud800":1}]',
    b'[{"lead":{"email":"a@b.io"}},{"lead":{"email":"\\ud800@b.io"},"explain":true}]',
    b'[{"lead":{"email":"a@b.io"}},{"lead":{"email":"a@b.io","id":"\\udfff"}}]',
]


def _decisions_counted(server: Server) -> float:
    _, text = server.call("GET", "/metrics")
    return sum(float(n) for n in re.findall(r"^leadpolicy_decisions_total\{.*\} (\S+)$", str(text), re.M))


def test_a_lone_surrogate_is_not_unicode_text_a_400_alone_and_its_own_error_in_a_batch(server):
    for body in LONE_SURROGATE_BATCHES:
        before = _decisions_counted(server)
        status, out = server.call("POST", "/v1/policies/inbound-b2b/decide-batch", body)
        assert status == 200 and isinstance(out, dict), out
        good, bad = out["results"]
        assert good["stage"] and bad["item"] == 2 and "surrogate" in bad["error"], out
        assert _decisions_counted(server) == before + 1  # only the decision returned is counted
        lines = b"\n".join(json.dumps(item).encode() for item in json.loads(body))
        status, out = server.call("POST", "/v1/policies/inbound-b2b/decide-batch", lines,
                                  headers={"Content-Type": "application/x-ndjson"})
        assert status == 200 and out["results"][1]["item"] == 2, out  # type: ignore[index]
        single = json.dumps(json.loads(body)[1]).encode()
        status, out = server.call("POST", "/v1/policies/inbound-b2b/decide", single)
        assert status == 400 and "surrogate" in out["error"], out  # type: ignore[index]
    # a pair of surrogates is one character (U+1F600): a plain lead
    status, out = server.call("POST", "/v1/policies/inbound-b2b/decide", b'{"lead":{"email":"\\ud83d\\ude00@b.io"}}')
    assert status == 200, out
    assert "Traceback" not in server.log.read_text() and "UnicodeEncodeError" not in server.log.read_text()


def test_the_decision_log_never_holds_a_lone_surrogate(server):
    log = server.decision_log
    path = "/v1/policies/inbound-b2b/decide"
    assert server.call("POST", path, b'{"lead":{"email":"a@b.io","id":"\\ud83d"}}')[0] == 400
    assert server.call("POST", path, b'{"lead":{"email":"a@b.io","id":"\\u00e9"}}')[0] == 200
    for line in log.read_text("utf-8").splitlines():
        # strict: valid Unicode all through (jq and other RFC 8259 parsers refuse a lone surrogate)
        json.dumps(_strict(line), ensure_ascii=False).encode("utf-8")
    assert _strict(log.read_text("utf-8").splitlines()[-1])["lead_id"] == "\u00e9"


def _nested(depth: int) -> str:
    """A request whose lead holds {"a": [...]} nested `depth` times (two levels each), as JSON text."""
    return '{"lead": {"email": "a@b.io", "id": "L-deep", "extra": ' + '{"a": [' * depth + '"deep"' + "]}" * depth + "}}"


def test_a_request_nested_beyond_the_documented_depth_is_400_and_every_decision_is_logged(tmp_path):
    from leadpolicy.service.bodies import MAX_DEPTH

    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", folder / "inbound-b2b.policy")
    log = tmp_path / "decisions.jsonl"
    running = Server(folder, "--decision-log", str(log), "--log-leads")
    decide, batch = "/v1/policies/inbound-b2b/decide", "/v1/policies/inbound-b2b/decide-batch"
    try:
        fits = _nested((MAX_DEPTH - 2) // 2)  # the request, its lead, then two levels for each {"a": [...]}
        assert running.call("POST", decide, fits)[0] == 200
        for depth in (MAX_DEPTH // 2, 300, 600):
            status, out = running.call("POST", decide, _nested(depth))
            assert status == 400 and f"{MAX_DEPTH} levels" in out["error"], out  # type: ignore[index]
            status, out = running.call("POST", batch, f"[{fits}, {_nested(depth)}]")
            if depth == 600:  # past what the parser reads: the whole body is refused, for the same reason
                assert status == 400 and f"{MAX_DEPTH} levels" in out["error"], out  # type: ignore[index]
                continue
            results = out["results"]  # type: ignore[index]
            assert status == 200 and results[1]["item"] == 2 and "levels" in results[1]["error"], out
        records = [_strict(line) for line in log.read_text().splitlines()]
        assert len(records) == 3 and all(r["lead"] == json.loads(fits)["lead"] for r in records)  # each, logged
        assert _decisions_counted(running) == 3
        assert "Traceback" not in running.log.read_text() and "RecursionError" not in running.log.read_text()
    finally:
        running.stop()


def _decider(tmp_path, log):
    import datetime as dt

    from leadpolicy.api import load
    from leadpolicy.service.decisions import Decider, Settings
    from leadpolicy.service.metrics import Metrics
    from leadpolicy.service.registry import Loaded

    policy = load(POLICIES / "inbound-b2b.policy")
    loaded = Loaded(policy, POLICIES / "inbound-b2b.policy", dt.datetime.now(dt.timezone.utc), "draft", False)
    metrics = Metrics()
    return Decider(Settings(paths=[], decision_log=log), metrics), loaded, metrics


class CountingLog:
    """A decision log that counts the writes it is given and keeps what they wrote."""

    def __init__(self, real):
        self.real, self.writes, self.flushes, self.written = real, 0, 0, b""

    def write(self, data):
        self.writes += 1
        self.written += bytes(data)
        return self.real.write(data)

    def flush(self):
        self.flushes += 1
        return self.real.flush()

    def close(self):
        return self.real.close()


def test_a_batch_writes_its_decision_log_lines_in_one_write(tmp_path):
    decider, loaded, _ = _decider(tmp_path, tmp_path / "decisions.jsonl")
    counting = decider.log = CountingLog(decider.log)
    items = [{"lead": {**LEAD, "id": n}, "now": "2026-11-20T12:00:00-05:00"} for n in range(200)]
    items[7] = {"lead": "not a lead"}  # refused: no line
    try:
        status, body = decider.batch(loaded, json.dumps(items).encode(), lines=False)
    finally:
        decider.close()
    assert status == 200 and len(json.loads(body)["results"]) == 200
    assert counting.writes == 1 and counting.flushes <= 1
    assert (tmp_path / "decisions.jsonl").read_bytes() == counting.written
    lines = counting.written.decode().splitlines()
    assert [json.loads(line)["lead_id"] for line in lines] == [n for n in range(200) if n != 7]


@pytest.mark.parametrize("endpoint, kind", [("decide", "application/json"), ("decide-batch", "application/json"),
                                            ("decide-batch", "application/x-ndjson")])
def test_a_number_too_long_for_python_is_a_400_that_says_so(server, endpoint, kind):
    request = '{"lead": {"email": "a@b.io", "employees": 1' + "0" * 5000 + "}}"
    body = f"[{request}]" if endpoint == "decide-batch" and kind == "application/json" else request
    status, out = server.call("POST", f"/v1/policies/inbound-b2b/{endpoint}", body, headers={"Content-Type": kind})
    assert status == 400 and "a number too long" in out["error"], out  # type: ignore[index]
    assert "sys." not in out["error"] and "set_int_max_str_digits" not in out["error"]  # type: ignore[index]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=30)


@given(_JSON_VALUES, st.integers(min_value=0, max_value=110), st.booleans(),
       st.sampled_from(["a", "\ud800", "b\udfff"]))
@settings(max_examples=300, deadline=None)
def test_a_request_the_quick_count_passes_is_one_the_walk_finds_nothing_in(value, depth, ascii_only, text):
    """The count over a request's text that spares it the walk (bodies.plain) never passes a request
    the walk (bodies.refused) would refuse: lone surrogates and nesting past the limit included."""
    for _ in range(depth):
        value = [value]
    request = {"lead": {"x": value, "y": text}}
    try:
        raw = json.dumps(request, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate can only be sent escaped
        raw = json.dumps(request).encode("utf-8")
    item, plain = bodies.parse(raw)
    if plain:
        assert bodies.refused(item) is None
    if depth > bodies.MAX_DEPTH:
        assert not plain and bodies.refused(item) is not None
