"""Four `leadpolicy serve` processes assigning 500 leads each on one PostgreSQL state (issue 28), one of them killed
mid-run: every lead is assigned (or held) exactly once, the caps hold, the weighted shares are exact, and the leads
the killed process was given are assigned by another process when the client asks again (idempotent by lead id)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from leadpolicy.assignment import open_state

from .assignment_states import fresh_postgres_url
from .test_serve import Server

ANN, BOB, CAL = "Ann Lee <ann@example.com>", "Bob Roe <bob@example.com>", "Cal Ode <cal@example.com>"
DAN, EVE = "Dan Ng <dan@example.com>", "Eve Ito <eve@example.com>"
PROCESSES, EACH, CAP, KILL_AFTER = 4, 500, 40, 150

POLICY = f'''policy "race" version 1.0.0 {{
  owner marketing "Mia Lane <mia@example.com>"
  owner sales "Sam Roy <sam@example.com>"
  timezone "America/New_York"
  lead {{
    email text required
    employees number
  }}
  stages {{
    sql otherwise owner sales
  }}
  route for sql {{
    "capped" when employees >= 1000
    "sdr" otherwise
  }}
  team sdr {{
    assign by weight
    member "{ANN}"
    member "{BOB}" weight 2
    member "{CAL}"
  }}
  team capped {{
    assign round robin
    member "{DAN}" cap {CAP} per day
    member "{EVE}" cap {CAP} per day
    when nobody is available hold
  }}
}}
'''


def body(number: int) -> bytes:
    """Lead `number`: every fifth to the capped team; all on one day, a second apart."""
    lead = {"email": f"buyer{number}@shop{number}.io", "employees": 5000 if number % 5 == 0 else 50}
    at = f"2027-03-02T10:{number // 60 % 60:02d}:{number % 60:02d}-05:00"
    return json.dumps({"id": f"L{number}", "at": at, "lead": lead}).encode()


class Client:
    """Sends leads to one server on a kept-alive connection; when it fails, to the next server still alive."""

    def __init__(self, servers: list[Server], first: int, dead: set[int]):
        self.servers, self.index, self.dead = servers, first, dead
        self.connection: http.client.HTTPConnection | None = None

    def assign(self, payload: bytes) -> dict:
        for _ in range(2 * len(self.servers)):
            try:
                return self._send(payload)
            except (OSError, http.client.HTTPException):
                self.dead.add(self.index)
                self.connection = None
                self.index = next(i for i in range(len(self.servers)) if i not in self.dead)
        raise AssertionError("no server answered")

    def _send(self, payload: bytes) -> dict:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.servers[self.index].port, timeout=60)
        self.connection.request("POST", "/v1/policies/race/assign", body=payload,
                                headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
        return answer


def test_four_processes_on_one_postgresql_state_assign_each_lead_once_one_killed_mid_run(postgres, tmp_path):
    url = fresh_postgres_url(postgres)
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "race.policy").write_text(POLICY)
    open_state(url).close()  # migrated before the processes start, as an operator would
    with ThreadPoolExecutor(PROCESSES) as starting:
        servers = list(starting.map(lambda _: Server(folder, "--state", url), range(PROCESSES)))
    dead: set[int] = set()
    answers: dict[str, dict] = {}
    answered_by_first = threading.Semaphore(0)

    def run(index: int) -> None:
        client = Client(servers, index, dead)
        for number in range(index, PROCESSES * EACH, PROCESSES):
            answers[f"L{number}"] = client.assign(body(number))
            if index == 0:
                answered_by_first.release()

    try:
        with ThreadPoolExecutor(PROCESSES) as clients:
            running = [clients.submit(run, index) for index in range(PROCESSES)]
            for _ in range(KILL_AFTER):
                answered_by_first.acquire()
            os.kill(servers[0].process.pid, signal.SIGKILL)  # while its client has a request in flight
            for future in running:
                future.result()
    finally:
        for server in servers:
            server.stop()
    assert 0 in dead and len(dead) == 1  # the killed process's leads went to another

    state = open_state(url)
    try:
        stored = state.all_assignments("race")
        held = [lead_id for lead_id, *_ in state.held_leads("race")]
    finally:
        state.close()
    ids = [row.lead_id for row in stored] + held
    assert sorted(ids) == sorted(f"L{n}" for n in range(PROCESSES * EACH))  # each lead once, assigned or held
    by_team = {team: Counter(row.member for row in stored if row.team == team) for team in ("sdr", "capped")}
    assert by_team["sdr"] == {ANN: 400, BOB: 800, CAL: 400}  # 1,600 leads: 400 whole windows of weights 1, 2, 1
    assert by_team["capped"] == {DAN: CAP, EVE: CAP} and len(held) == 400 - 2 * CAP
    member_of = {row.lead_id: row.member for row in stored}
    assert {lead_id: answer["assignee"] for lead_id, answer in answers.items()} == {
        lead_id: member_of.get(lead_id) for lead_id in answers}  # what each client was told is what the state holds


def test_assignments_waiting_for_their_teams_lock_never_hold_up_decisions(postgres, tmp_path):
    import time

    import psycopg

    url = fresh_postgres_url(postgres)
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "race.policy").write_text(POLICY)
    server = Server(folder, "--state", url)
    try:
        assert Client([server], 0, set()).assign(body(1))["assignee"] == BOB  # the team's row is there now
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
            holder.execute("SELECT 1 FROM assignment_teams WHERE team = 'sdr' FOR UPDATE")  # as another process
            with ThreadPoolExecutor(4) as waiting:
                pending = [waiting.submit(Client([server], 0, set()).assign, body(n)) for n in (2, 3, 4, 6)]
                time.sleep(1.0)
                assert not any(future.done() for future in pending)  # they wait for the lock
                started = time.monotonic()
                status, decided = server.call("POST", "/v1/policies/race/decide", '{"lead": {"email": "a@b.io"}}')
                assert status == 200 and decided["route"] == "sdr" and time.monotonic() - started < 5
                holder.rollback()  # the other process is done
                assert [future.result()["how"] for future in pending] == ["rotation"] * 4
    finally:
        server.stop()
