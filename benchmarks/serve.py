"""Decision service benchmark: `leadpolicy serve` on loopback, loaded by wrk with keep-alive.

    python benchmarks/serve.py [--seconds 10] [--workers 2] [--connections 32] [--soak 60]

Measured in the same run:
  (a) the floor: a Starlette app on the same uvicorn setup answering every POST with a fixed
      decision-sized JSON, without reading or deciding anything;
  (b) `POST /v1/policies/inbound-b2b/decide`, one lead per request;
  (c) `POST /decide-batch`, 10,000 leads per request (leads/s);
  (d) a soak: (b) for --soak seconds while the policy file is edited every 5 s (each edit
      reloaded), counting failed requests and the workers' memory before and after.
wrk (Debian's package) is installed with apt-get when missing. Latencies are wrk's percentiles.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEAD = {"lead": {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "job_title": "VP Sales",
                 "country": "US", "demo_requested": True, "email_clicks": 3, "pricing_page_views": 2},
        "now": "2026-11-20T12:00:00-05:00"}
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "%(type)s"
local f = io.open("%(body)s", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "failed": %%d, '
    .. '"p50": %%d, "p95": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration / 1e6, bad, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""
FLOOR = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = (b'{"policy":"inbound-b2b","version":"2.1.0","now":"2026-11-20T12:00:00-05:00",'
        b'"scores":{"fit":65,"engagement":80},"grades":{"fit_grade":"B"},"stage":"sql","owner":"sales",'
        b'"route":"enterprise-ae"}')

async def answer(request):
    return Response(BODY, media_type="application/json")

app = Starlette(routes=[Route("/{path:path}", answer, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, path: str = "/readyz", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server on {port} did not become ready")


def wrk(url: str, body: Path, seconds: int, connections: int, kind: str = "application/json") -> dict:
    script = body.with_suffix(".lua")
    script.write_text(LUA % {"body": body, "type": kind})
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.split("RESULT ", 1)[1].splitlines()[0])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn workers), in MiB."""
    total = 0.0
    for proc in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--soak", type=int, default=60)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["sh", "-c", "apt-get update -qq && apt-get install -y -qq wrk"], check=True,
                       capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "policies"
        folder.mkdir()
        policy_file = folder / "inbound-b2b.policy"
        source = (ROOT / "policies" / "inbound-b2b.policy").read_text()
        policy_file.write_text(source)
        one = Path(tmp) / "one.json"
        one.write_text(json.dumps(LEAD))
        batch = Path(tmp) / "batch.json"
        batch.write_text(json.dumps([LEAD] * 10_000))
        (Path(tmp) / "floor.py").write_text(FLOOR)
        rows = []
        floor_port = free_port()
        floor = subprocess.Popen([sys.executable, "-m", "uvicorn", "floor:app", "--port", str(floor_port),
                                  "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
                                 cwd=tmp)
        try:
            time.sleep(3)
            wrk(f"http://127.0.0.1:{floor_port}/x", one, 2, args.connections)  # warm up
            floor_result = wrk(f"http://127.0.0.1:{floor_port}/x", one, args.seconds, args.connections)
        finally:
            floor.terminate()
            floor.wait()
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "leadpolicy", "serve", str(folder), "--port", str(port),
                                   "--workers", str(args.workers)], stdout=subprocess.DEVNULL)
        try:
            wait_ready(port)
            url = f"http://127.0.0.1:{port}/v1/policies/inbound-b2b/decide"
            wrk(url, one, 2, args.connections)  # warm up
            decide = wrk(url, one, args.seconds, args.connections)
            batch_result = wrk(url + "-batch", batch, args.seconds, 2)
            memory_before = rss_mb(server.pid)
            stop = threading.Event()

            def edit() -> None:
                n = 0
                while not stop.wait(5):
                    n += 1
                    policy_file.write_text(source.replace("version 2.1.0", f"version 2.1.{n}"))

            editor = threading.Thread(target=edit)
            editor.start()
            soak = wrk(url, one, args.soak, args.connections)
            stop.set()
            editor.join()
            memory_after = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait()
    for label, r, per in (("(a) floor: fixed JSON answer, no decision", floor_result, 1),
                          ("(b) decide, one lead per request", decide, 1),
                          ("(c) decide-batch, 10,000 leads per request", batch_result, 10_000),
                          (f"(d) soak {args.soak} s, an edit reloaded every 5 s", soak, 1)):
        rate = r["requests"] / r["seconds"]
        rows.append((label, f"{rate:,.0f}", f"{rate * per:,.0f}", f"{r['p50'] / 1000:.2f}", f"{r['p95'] / 1000:.2f}",
                     f"{r['p99'] / 1000:.2f}", str(r["failed"])))
    print(f"wrk -t2 -c{args.connections} (batch: -c2), {args.seconds} s each, {args.workers} uvicorn workers, "
          "keep-alive, on loopback\n")
    print_table(rows, ("way", "requests/s", "leads/s", "p50 ms", "p95 ms", "p99 ms", "failed"))
    share = (decide["requests"] / decide["seconds"]) / (floor_result["requests"] / floor_result["seconds"])
    print(f"\n(b) vs the floor (a): {share:.2f} of its requests/s; soak memory: {memory_before:.0f} MiB before, "
          f"{memory_after:.0f} MiB after")


if __name__ == "__main__":
    main()
