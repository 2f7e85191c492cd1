"""`leadpolicy serve` under load and attack: batch limits, the event loop kept free, shutdown, slow clients."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .conftest import POLICIES
from .test_serve import PATIENCE, Server, _eventually

NOW = "2026-11-20T12:00:00-05:00"
LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "source": "webinar"}
EVENTS = [{"event": event, "at": f"2026-11-{day}T10:00:00-05:00"}  # six events, none a duplicate of another
          for day in (14, 16, 18) for event in ("demo_request", "pricing_page_view")]
HEAVY = {"lead": LEAD, "events": EVENTS, "now": NOW, "explain": True}  # the slowest kind of request to decide


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    served = tmp_path / "policies"
    served.mkdir()
    shutil.copy(POLICIES / "inbound-activity.policy", served / "inbound-activity.policy")
    return served


def _batch(items: int) -> bytes:
    return json.dumps([HEAVY] * items).encode()


def _post_in_background(server: Server, body: bytes) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def post() -> None:
        outcome["status"], outcome["out"] = server.call("POST", "/v1/policies/inbound-activity/decide-batch", body)

    thread = threading.Thread(target=post)
    thread.start()
    return thread, outcome


def _decided(server: Server) -> int:
    """Decisions the server has counted so far (it counts each one as it is made, batches item by item)."""
    status, text = server.call("GET", "/metrics", token=None)
    assert status == 200, text
    return int(sum(float(n) for n in re.findall(r"^leadpolicy_decisions_total\{[^}]*\} (\S+)$", str(text), re.M)))


def _exits(server: Server) -> int:
    """The server's exit code, with a hang guard: a shutdown that never ends fails as such."""
    try:
        return server.process.wait(PATIENCE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"leadpolicy serve hung: no exit {PATIENCE:.0f} s after SIGTERM")


@pytest.mark.slow  # a maximal batch: about 15 s on 2 cores
def test_healthz_answers_while_a_maximal_batch_is_decided(folder):
    """The event loop is never the one deciding: /healthz is answered between two readings of the decision
    count that both fall inside the batch (some decided, not all), which a loop busy deciding could not do."""
    server = Server(folder)
    try:
        thread, outcome = _post_in_background(server, _batch(10_000))
        inside = 0
        deadline = time.monotonic() + PATIENCE  # a hang guard, not a speed claim
        while thread.is_alive() and time.monotonic() < deadline:
            before = _decided(server)
            assert server.call("GET", "/healthz", token=None)[0] == 200
            inside += 0 < before and _decided(server) < 10_000
        thread.join(PATIENCE)
        assert outcome["status"] == 200 and len(outcome["out"]["results"]) == 10_000
        assert inside >= 5, f"/healthz was answered {inside} times while the batch was being decided"
    finally:
        server.stop()


def test_a_batch_over_the_item_limit_is_refused_at_once_naming_the_limit(folder):
    server = Server(folder, "--max-batch-items", "50", "--max-batch-body", str(70 << 20))
    try:
        assert server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(50))[0] == 200
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(51))
        assert status == 413 and "50" in out["error"] and "--max-batch-items" in out["error"]  # type: ignore[index]
        lines = b"\n".join(json.dumps(HEAVY).encode() for _ in range(51))
        status, _ = server.call("POST", "/v1/policies/inbound-activity/decide-batch", lines,
                                headers={"Content-Type": "application/x-ndjson"})
        assert status == 413
        # read item by item: refused at the 51st, never reaching what follows (not JSON: a 400 if parsed)
        cut = b"[" + b",".join([b"{}"] * 51) + b", not JSON" + b" " * 1000 + b"]"
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", cut)
        assert status == 413 and "--max-batch-items" in out["error"], out  # type: ignore[index]
        # 21 million empty requests in 64 MB: refused by the item limit, none of them decided
        flood = b"[" + b",".join([b"{}"] * 21_000_000) + b"]"
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", flood)
        assert status == 413 and "--max-batch-items" in out["error"], out  # type: ignore[index]
        assert _decided(server) == 50  # the first batch's: nothing of a refused batch is decided
        assert server.call("GET", "/healthz", token=None)[0] == 200
    finally:
        server.stop()


@pytest.mark.slow  # 64 MB and 10,000 items: about 20 s on 2 cores
def test_the_default_limits_refuse_a_64_mb_batch_by_its_size_and_decide_10000_items(folder):
    server = Server(folder)
    try:
        flood = b"[" + b",".join([b"{}"] * 21_000_000) + b"]"
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", flood)
        assert status == 413 and "--max-batch-body" in out["error"], out  # type: ignore[index]
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(10_000))
        assert status == 200 and len(out["results"]) == 10_000  # type: ignore[index]
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(10_001))
        assert status == 413 and "10000" in out["error"]  # type: ignore[index]
    finally:
        server.stop()


def test_sigterm_finishes_the_request_in_flight_and_then_exits(folder):
    server = Server(folder, "--shutdown-grace", "600")  # the batch has all the time it needs
    try:
        thread, outcome = _post_in_background(server, _batch(3_000))
        assert _eventually(lambda: _decided(server) > 0)  # the batch is being decided
        server.process.send_signal(signal.SIGTERM)
        thread.join(PATIENCE)
        assert outcome["status"] == 200 and len(outcome["out"]["results"]) == 3_000
        assert _exits(server) == 0  # once the batch is answered, not at the end of the 600 s grace
    finally:
        server.stop()


def test_sigterm_exits_when_the_grace_period_ends_though_a_client_never_sends_its_body(folder):
    # the read timeout is far longer than the test's patience: only the grace period can end the stalled request
    server = Server(folder, "--shutdown-grace", "1", "--read-timeout", "3600")
    try:
        stalled = socket.create_connection(("127.0.0.1", server.port))  # a client that never sends its body
        stalled.sendall(b"POST /v1/policies/inbound-activity/decide HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"lead\":")
        # answered on a later connection, after the stalled one was taken in with its headers
        assert server.call("GET", "/healthz", token=None)[0] == 200
        server.process.send_signal(signal.SIGTERM)
        assert _exits(server) == 0
        stalled.close()
    finally:
        server.stop()


def test_slow_clients_get_408_after_the_read_timeout_and_the_service_goes_on(folder):
    server = Server(folder, "--read-timeout", "1")
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        for connection in slow:
            connection.sendall(b"POST /v1/policies/inbound-activity/decide HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            connection.setblocking(False)
        answers: dict[int, bytes] = {}
        closed: set[int] = set()
        # a byte every 0.2 s, as a slow client: 1,000 bytes would take 200 s, the time given is a hang guard;
        # an answer is read until the service closes the connection (its head and body may come apart)
        deadline = time.monotonic() + PATIENCE
        while len(closed) < len(slow) and time.monotonic() < deadline:
            for number, connection in enumerate(slow):
                if number in closed:
                    continue
                try:
                    chunk = connection.recv(4096)
                except BlockingIOError:
                    if number not in answers:
                        connection.sendall(b" ")
                    continue
                except ConnectionResetError:
                    closed.add(number)
                    continue
                if chunk:
                    answers[number] = answers.get(number, b"") + chunk
                else:
                    closed.add(number)
            time.sleep(0.2)
        assert len(answers) == len(slow) and all(a.startswith(b"HTTP/1.1 408") for a in answers.values()), answers
        # the configured timeout, for the whole body: no byte that arrives in time resets it
        assert all(b"the body did not arrive within 1 s" in a for a in answers.values()), answers
        assert server.call("GET", "/healthz", token=None)[0] == 200
    finally:
        for connection in slow:
            connection.close()
        server.stop()


def test_a_batch_still_running_after_the_shutdown_grace_gets_a_json_503_or_a_closed_connection(folder):
    import http.client

    server = Server(folder, "--shutdown-grace", "1")
    outcome: dict = {}

    def post() -> None:
        try:
            outcome["status"], outcome["out"] = server.call("POST", "/v1/policies/inbound-activity/decide-batch",
                                                            _batch(10_000))
        except (http.client.HTTPException, ConnectionError) as exc:  # closed before an answer: fine
            outcome["closed"] = exc

    try:
        thread = threading.Thread(target=post)
        thread.start()
        assert _eventually(lambda: _decided(server) > 0)  # the batch (seconds of work) is under way
        server.process.send_signal(signal.SIGTERM)
        thread.join(PATIENCE)
        assert _exits(server) == 0
        if "closed" not in outcome:
            assert outcome["status"] == 503 and "shutting down" in outcome["out"]["error"], outcome
        log = server.log.read_text()
        assert "Traceback" not in log and "CancelledError" not in log, log
    finally:
        server.stop()
