"""`leadpolicy serve` under load and attack: batch limits, the event loop kept free, shutdown, slow clients."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import statistics
import threading
import time
from pathlib import Path

import pytest

from .conftest import POLICIES
from .test_serve import Server

NOW = "2026-11-20T12:00:00-05:00"
LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "source": "webinar"}
EVENTS = [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"},
          {"event": "pricing_page_view", "at": "2026-11-19T10:00:00-05:00"}] * 3
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
        outcome["done"] = time.monotonic()

    thread = threading.Thread(target=post)
    thread.start()
    return thread, outcome


@pytest.mark.slow  # a maximal batch: about 15 s on 2 cores
def test_healthz_answers_within_100_ms_while_a_maximal_batch_is_decided(folder):
    server = Server(folder)
    try:
        thread, outcome = _post_in_background(server, _batch(10_000))
        time.sleep(0.3)  # the body is sent; the decisions are under way
        probes = []
        while "done" not in outcome and len(probes) < 20:
            started = time.monotonic()
            assert server.call("GET", "/healthz", token=None)[0] == 200
            probes.append((time.monotonic() - started, time.monotonic()))
            time.sleep(0.05)
        thread.join(60)
        assert outcome["status"] == 200 and len(outcome["out"]["results"]) == 10_000
        during = [took for took, ended in probes if ended < outcome["done"]]
        assert len(during) >= 5, f"the batch ended before enough probes: {probes}"
        assert statistics.median(during) < 0.1, during
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
        # 21 million empty requests in 64 MB: refused without deciding (or even parsing) them all
        flood = b"[" + b",".join([b"{}"] * (21_000_000 // 1)) + b"]"
        started = time.monotonic()
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", flood)
        assert status == 413 and "--max-batch-items" in out["error"], out  # type: ignore[index]
        assert time.monotonic() - started < 5
        assert server.call("GET", "/healthz", token=None)[0] == 200
    finally:
        server.stop()


@pytest.mark.slow  # 64 MB and 10,000 items: about 20 s on 2 cores
def test_the_default_limits_refuse_a_64_mb_batch_by_its_size_and_decide_10000_items(folder):
    server = Server(folder)
    try:
        flood = b"[" + b",".join([b"{}"] * 21_000_000) + b"]"
        started = time.monotonic()
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", flood)
        assert status == 413 and time.monotonic() - started < 5, out
        assert "--max-batch-body" in out["error"]  # type: ignore[index]
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(10_000))
        assert status == 200 and len(out["results"]) == 10_000  # type: ignore[index]
        status, out = server.call("POST", "/v1/policies/inbound-activity/decide-batch", _batch(10_001))
        assert status == 413 and "10000" in out["error"]  # type: ignore[index]
    finally:
        server.stop()


def test_sigterm_finishes_the_request_in_flight_and_exits_within_the_grace_period(folder):
    server = Server(folder, "--shutdown-grace", "2")
    try:
        stalled = socket.create_connection(("127.0.0.1", server.port))  # a client that never sends its body
        stalled.sendall(b"POST /v1/policies/inbound-activity/decide HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"lead\":")
        thread, outcome = _post_in_background(server, _batch(3_000))
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        thread.join(30)
        assert outcome["status"] == 200 and len(outcome["out"]["results"]) == 3_000
        assert server.process.wait(10) == 0
        assert time.monotonic() - signalled < 2 + 3
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
        started = time.monotonic()
        while len(answers) < len(slow) and time.monotonic() - started < 6:  # a byte every 0.2 s, as a slow client
            for number, connection in enumerate(slow):
                if number in answers:
                    continue
                try:
                    answers[number] = connection.recv(4096)
                except BlockingIOError:
                    connection.sendall(b" ")
            time.sleep(0.2)
        took = time.monotonic() - started
        assert len(answers) == len(slow) and all(a.startswith(b"HTTP/1.1 408") for a in answers.values()), answers
        assert took < 4, took
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
        time.sleep(0.5)  # the batch (seconds of work) is under way
        server.process.send_signal(signal.SIGTERM)
        thread.join(30)
        assert server.process.wait(10) == 0
        if "closed" not in outcome:
            assert outcome["status"] == 503 and "shutting down" in outcome["out"]["error"], outcome
        log = server.log.read_text()
        assert "Traceback" not in log and "CancelledError" not in log, log
    finally:
        server.stop()
