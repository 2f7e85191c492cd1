"""`leadpolicy serve` and hostile requests: every one a 4xx that says why, a batch's bad items in place."""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import POLICIES
from .test_serve import TOKEN, Server

LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "source": "webinar"}
EVENTS = [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]
BAD_NOWS = [5, 1e400, True, [], {}, "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-13-01T00:00:00Z"]


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


@pytest.mark.parametrize("now", BAD_NOWS, ids=[repr(n) for n in BAD_NOWS])
def test_a_bad_now_is_400_naming_now(server, now):
    status, out = server.decide("inbound-activity", {"lead": LEAD, "events": EVENTS, "now": now})
    assert status == 400 and out["error"].startswith("now: "), out


def test_a_bad_now_in_a_batch_is_that_items_error(server):
    good = {"lead": LEAD, "events": EVENTS, "now": "2026-11-20T12:00:00-05:00"}
    items = [good, *({"lead": LEAD, "events": EVENTS, "now": now} for now in BAD_NOWS), good]
    status, out = _batch(server, "inbound-activity", items)
    assert status == 200, out
    results = out["results"]
    assert [r.get("stage") is not None for r in results] == [True] + [False] * len(BAD_NOWS) + [True]
    assert all(r["error"].startswith("now: ") for r in results[1:-1]), results
