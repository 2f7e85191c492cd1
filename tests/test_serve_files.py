"""`leadpolicy serve` and the files it serves: links, moves, ConfigMap-style swaps, broken companions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import POLICIES
from .test_serve import PATIENCE, Server, _eventually, _info

SECRETS = {".env": "API_KEY=sk-live-0123456789", "token.txt": "tok-9f8e7d6c5b4a"}


def _listing(server: Server) -> dict:
    status, out = server.call("GET", "/v1/policies", token=None)
    assert status == 200 and isinstance(out, dict), out
    return out


def test_a_link_out_of_the_served_folder_is_refused_and_no_file_content_is_ever_shown(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for name, text in SECRETS.items():
        (outside / name).write_text(text + "\n")
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", folder / "inbound-b2b.policy")
    (folder / "x.policy").symlink_to("../outside/.env")
    (folder / "token.policy").symlink_to(outside / "token.txt")
    (folder / "passwd.policy").symlink_to("/etc/passwd")
    (folder / "env.json").symlink_to("../outside/.env")
    (folder / "broken.policy").write_text("SECRET-LINE-42 policy {\n")  # inside, broken: named, never shown
    server = Server(folder)
    try:
        listing = _listing(server)
        assert [p["id"] for p in listing["policies"]] == ["inbound-b2b"]
        errors = {entry["source"]: entry["error"] for entry in listing["not_loaded"]}
        assert set(errors) == {"x.policy", "token.policy", "passwd.policy", "env.json", "broken.policy"}
        for name in ("x.policy", "token.policy", "passwd.policy", "env.json"):
            assert any("outside the served paths" in line for line in errors[name]), errors[name]
        assert any(line.endswith("broken.policy:1:1: syntax-error: " + _meaning("syntax-error"))
                   for line in errors["broken.policy"]), errors["broken.policy"]
        shown = json.dumps(listing) + server.log.read_text()
        passwd_first = Path("/etc/passwd").read_text().splitlines()[0]
        for secret in [*SECRETS.values(), passwd_first, "SECRET-LINE-42"]:
            assert secret not in shown
    finally:
        server.stop()


def _meaning(code: str) -> str:
    from leadpolicy.language.diagnostics import CODES

    return CODES[code][1]


LEAD = {"lead": {"email": "a@bigsoft.io", "employees": 1200}}


def _served(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(POLICIES / f"{name}.policy", folder / f"{name}.policy")


def _version(server: Server, policy: str = "inbound-b2b") -> str | int:
    """The version that decides, or the status when none does."""
    status, out = server.decide(policy, LEAD)
    return out["version"] if status == 200 else status


def test_a_moved_policy_file_goes_on_serving_from_its_new_name(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    server = Server(folder)
    try:
        (folder / "inbound-b2b.policy").rename(folder / "b2b.policy")
        assert _eventually(lambda: [p["source"] for p in _listing(server)["policies"]] == ["b2b.policy"])
        assert _version(server) == "2.1.0" and server.call("GET", "/readyz")[0] == 200
        assert _listing(server)["not_loaded"] == []
    finally:
        server.stop()


def test_an_id_a_file_no_longer_defines_is_dropped_and_free_for_another_file(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b", "inbound-activity")
    source = (POLICIES / "inbound-b2b.policy").read_text()
    server = Server(folder)
    try:
        (folder / "inbound-b2b.policy").write_text(source.replace('policy "inbound-b2b"', 'policy "inbound-b2c"'))
        assert _eventually(lambda: _version(server, "inbound-b2c") == "2.1.0")
        assert _version(server) == 404  # the id the file no longer defines
        (folder / "again.policy").write_text(source.replace("version 2.1.0", "version 2.5.0"))
        assert _eventually(lambda: _version(server) == "2.5.0")
        assert _listing(server)["not_loaded"] == []
        (folder / "inbound-b2b.policy").unlink()
        assert _eventually(lambda: _version(server, "inbound-b2c") == 404)
        assert _version(server) == "2.5.0"
    finally:
        server.stop()


def test_a_configmap_style_swap_of_the_data_link_serves_the_new_content_without_a_gap(tmp_path):
    folder = tmp_path / "config"
    source = (POLICIES / "inbound-b2b.policy").read_text()
    _served(folder / "..2026_12_06_x", "inbound-activity")
    (folder / "..2026_12_06_x" / "inbound-b2b.policy").write_text(source)
    (folder / "..data").symlink_to("..2026_12_06_x")
    for name in ("inbound-b2b.policy", "inbound-activity.policy"):
        (folder / name).symlink_to(Path("..data") / name)
    server = Server(folder)
    try:
        assert _version(server) == "2.1.0" and _version(server, "inbound-activity") == "3.0.0"
        assert _listing(server)["not_loaded"] == []
        _served(folder / "..2026_12_06_y", "inbound-activity")
        (folder / "..2026_12_06_y" / "inbound-b2b.policy").write_text(source.replace("version 2.1.0",
                                                                                      "version 2.2.0"))
        (folder / "..data_tmp").symlink_to("..2026_12_06_y")
        (folder / "..data_tmp").rename(folder / "..data")  # atomic, as the kubelet does it
        shutil.rmtree(folder / "..2026_12_06_x")
        seen = []
        assert _eventually(lambda: seen.append((_version(server), _version(server, "inbound-activity")))
                           or seen[-1] == ("2.2.0", "3.0.0")), seen
        assert {b2b for b2b, _ in seen} <= {"2.1.0", "2.2.0"} and {a for _, a in seen} == {"3.0.0"}, seen
        listing = _listing(server)
        assert listing["not_loaded"] == [] and server.call("GET", "/readyz")[0] == 200
        assert sorted(p["source"] for p in listing["policies"]) == ["inbound-activity.policy", "inbound-b2b.policy"]
    finally:
        server.stop()


def test_an_approvals_file_that_does_not_load_is_its_policys_load_failure_and_the_rest_serve(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b", "inbound-activity")
    approvals = folder / "inbound-b2b.approvals.yaml"
    approvals.write_text("policy: !custom x\napprovals: []\n")
    server = Server(folder)
    try:
        listing = _listing(server)
        assert [p["id"] for p in listing["policies"]] == ["inbound-activity"]
        [failed] = listing["not_loaded"]
        assert failed["source"] == "inbound-b2b.policy"
        assert any(line.startswith(f"{approvals}:1:9: bad-approvals: ") for line in failed["error"]), failed
        approvals.unlink()  # the approvals file is watched with its policy
        assert _eventually(lambda: _version(server) == "2.1.0")
        source = (POLICIES / "inbound-b2b.policy").read_text()
        approvals.write_text("policy: !custom x\napprovals: []\n")
        (folder / "inbound-b2b.policy").write_text(source.replace("version 2.1.0", "version 2.2.0"))
        assert _eventually(lambda: _info(server)["last_error"] is not None)
        assert any("bad-approvals" in line for line in _info(server)["last_error"])
        assert _version(server) == "2.1.0"  # the last good version goes on serving
        _, metrics = server.call("GET", "/metrics")
        assert re.search(r'leadpolicy_reload_failures_total\{source=".*inbound-b2b.policy"\} [1-9]', str(metrics))
        assert re.search(r'leadpolicy_policy_broken\{source=".*inbound-b2b.policy"\} 1', str(metrics))
    finally:
        server.stop()


def test_a_tampered_artifact_is_refused_without_showing_it(tmp_path):
    import leadpolicy

    policy = leadpolicy.load(POLICIES / "product-led.policy")
    artifact = json.loads(policy.artifact_json())
    artifact["source"] = artifact["source"].replace(policy.version, "9.9.9")
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    (folder / "product-led.json").write_text(json.dumps(artifact))
    server = Server(folder)
    try:
        listing = _listing(server)
        assert [p["id"] for p in listing["policies"]] == ["inbound-b2b"]
        [refused] = listing["not_loaded"]
        assert refused["source"] == "product-led.json" and "not a valid compiled policy" in refused["error"][0]
        assert "9.9.9" not in json.dumps(listing)
    finally:
        server.stop()


def _swaps(answers: list[tuple]) -> int:
    """How many times the version deciding changed from one answer to the next."""
    return sum(before[0] != after[0] for before, after in zip(answers, answers[1:]))


def test_hot_reloads_under_load_never_answer_with_a_mixed_version(tmp_path):
    import threading

    import leadpolicy

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    source = (POLICIES / "inbound-b2b.policy").read_text()
    variants = {"2.1.0": source, "2.2.0": source.replace("version 2.1.0", "version 2.2.0").replace("+40", "+35")}
    lead = {"email": "a@bigsoft.io", "employees": 1200, "demo_requested": True}
    want = {}
    for version, text in variants.items():
        (tmp_path / f"{version}.policy").write_text(text)
        policy = leadpolicy.load(tmp_path / f"{version}.policy")
        want[version] = (policy.fingerprint, policy.evaluate(lead, "2026-11-20T12:00:00Z").scores)
    assert want["2.1.0"][1] != want["2.2.0"][1]  # the two versions decide differently
    server = Server(folder)
    stop = threading.Event()

    def edit() -> None:
        while not stop.is_set():
            for text in variants.values():
                (folder / "inbound-b2b.policy").write_text(text)
                time.sleep(0.35)  # a 0.7 s cycle: the 1 s polls fall in both halves of it

    editor = threading.Thread(target=edit)
    editor.start()
    try:
        answers: list[tuple] = []
        deadline = time.monotonic() + PATIENCE  # a guard against reloads that stop, not a speed claim
        while _swaps(answers) < 6 and time.monotonic() < deadline:
            status, out = server.decide("inbound-b2b", {"lead": lead, "now": "2026-11-20T12:00:00Z"})
            assert status == 200, out
            answers.append((out["version"], out["fingerprint"], out["scores"]))
        mixed = [a for a in answers if (a[1], a[2]) != want[a[0]]]
        assert not mixed and _swaps(answers) >= 6, (mixed[:3], len(answers), _swaps(answers))
    finally:
        stop.set()
        editor.join()
        server.stop()


def test_a_single_file_served_through_a_configmap_link_follows_the_swap(tmp_path):
    folder = tmp_path / "config"
    source = (POLICIES / "inbound-b2b.policy").read_text()
    (folder / "..2026_12_06_x").mkdir(parents=True)
    (folder / "..2026_12_06_x" / "inbound-b2b.policy").write_text(source)
    (folder / "..data").symlink_to("..2026_12_06_x")
    (folder / "inbound-b2b.policy").symlink_to(Path("..data") / "inbound-b2b.policy")
    server = Server(folder / "inbound-b2b.policy")
    try:
        assert _version(server) == "2.1.0"
        (folder / "..2026_12_06_y").mkdir()
        (folder / "..2026_12_06_y" / "inbound-b2b.policy").write_text(source.replace("version 2.1.0",
                                                                                      "version 2.2.0"))
        (folder / "..data_tmp").symlink_to("..2026_12_06_y")
        (folder / "..data_tmp").rename(folder / "..data")
        shutil.rmtree(folder / "..2026_12_06_x")
        seen: list = []
        assert _eventually(lambda: seen.append(_version(server)) or seen[-1] == "2.2.0"), seen
        assert set(seen) <= {"2.1.0", "2.2.0"} and _listing(server)["not_loaded"] == [], seen
    finally:
        server.stop()


def _last_errors(server: Server) -> dict:
    """The last load error of each file that has one, whether it serves an older version or none."""
    listing = _listing(server)
    return {**{p["source"]: p["last_error"] for p in listing["policies"] if p["last_error"]},
            **{entry["source"]: entry["error"] for entry in listing["not_loaded"]}}


def test_a_fifo_named_like_a_companion_file_is_a_load_error_and_never_stops_reloads_or_shutdown(tmp_path):
    import os
    import signal

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b", "inbound-activity")
    (folder / "other.policy").write_text((POLICIES / "inbound-b2b.policy").read_text()
                                         .replace('policy "inbound-b2b"', 'policy "other"'))
    server = Server(folder)
    try:
        os.mkfifo(folder / "inbound-b2b.approvals.yaml")  # nothing ever writes into them: an open() would wait
        os.mkfifo(folder / "inbound-activity.samples.yaml")
        assert _eventually(lambda: set(_last_errors(server)) == {"inbound-b2b.policy", "inbound-activity.policy"})
        for name, errors in _last_errors(server).items():
            companion = name.replace(".policy", ".approvals.yaml" if "b2b" in name else ".samples.yaml")
            assert any(companion in line and "not a regular file" in line for line in errors), errors
        source = (folder / "other.policy").read_text()
        (folder / "other.policy").write_text(source.replace("version 2.1.0", "version 2.3.0"))
        assert _eventually(lambda: _version(server, "other") == "2.3.0")  # the reloads go on
        server.process.send_signal(signal.SIGTERM)
        try:
            assert server.process.wait(PATIENCE) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("leadpolicy serve hung on SIGTERM")
    finally:
        server.stop()


def test_file_names_are_printed_with_their_control_characters_escaped_never_forging_a_log_line(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    forged = "nl\nleadpolicy serve: FORGED serving evil 9.9.9.policy"
    (folder / forged).write_text("policy {\n")  # broken: its name is printed with the error
    source = (POLICIES / "inbound-b2b.policy").read_text().replace('policy "inbound-b2b"', 'policy "ansi"')
    (folder / "ansi\x1b[2J\x1b[31m.policy").write_text(source)  # good: its name is printed as it is served
    server = Server(folder)
    try:
        assert _version(server, "ansi") == "2.1.0"
        log = server.log.read_text("utf-8")
        assert not any(line.startswith("leadpolicy serve: FORGED") for line in log.splitlines()), log
        assert "\x1b" not in log, log
        assert "nl\\nleadpolicy serve: FORGED serving evil 9.9.9.policy: not loaded" in log, log
        assert "ansi\\x1b[2J\\x1b[31m.policy: serving ansi 2.1.0" in log, log
    finally:
        server.stop()


def _serve_exits(folder: Path, *extra: str) -> tuple[int, str]:
    import sys

    from .test_serve import free_port

    argv = [sys.executable, "-m", "leadpolicy", "serve", str(folder), "--port", str(free_port()), *extra]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"leadpolicy serve {' '.join(extra)} hung instead of refusing to start")
    return result.returncode, result.stdout + result.stderr


def test_a_fifo_as_token_file_or_decision_log_is_bad_usage_at_start_never_a_hang(tmp_path):
    import os

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    os.mkfifo(tmp_path / "fifo")
    code, said = _serve_exits(folder, "--token-file", str(tmp_path / "fifo"))
    assert code == 2 and "--token-file" in said and "not a regular file" in said and "Traceback" not in said, said
    code, said = _serve_exits(folder, "--decision-log", str(tmp_path / "fifo"))  # nothing reads it
    assert code == 2 and "--decision-log" in said and "no reader" in said and "Traceback" not in said, said


def test_the_decision_log_may_be_a_pipe_with_a_reader_or_a_device_as_a_container_logs_to_stdout(tmp_path):
    import os
    import threading

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    os.mkfifo(tmp_path / "fifo")
    # The reader holds the pipe open for reading and writing, as a container's stdout stays open
    # while writers come and go (the server opens the log once to check it, then to use it).
    pipe = os.open(tmp_path / "fifo", os.O_RDWR)
    received = bytearray()

    def read() -> None:
        while chunk := os.read(pipe, 65536):
            received.extend(chunk)

    threading.Thread(target=read, daemon=True).start()
    server = Server(folder, "--decision-log", str(tmp_path / "fifo"))
    try:
        status, _ = server.decide("inbound-b2b", {"lead": {"email": "ana@bigsoft.io", "employees": 1200}})
        assert status == 200
        assert _eventually(lambda: received.endswith(b"\n")), received
        assert json.loads(received.decode("utf-8"))["policy"] == "inbound-b2b"
    finally:
        server.stop()
    device = Server(folder, "--decision-log", "/dev/null")
    try:
        assert device.decide("inbound-b2b", {"lead": {"email": "ana@bigsoft.io"}})[0] == 200
    finally:
        device.stop()
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_token_must_be_printable_ascii_as_http_headers_carry_it(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    for token in ("s3crét", "tok\x7fen", "tok\u2028en"):
        (tmp_path / "token.txt").write_text(token + "\n", "utf-8")
        code, said = _serve_exits(folder, "--token-file", str(tmp_path / "token.txt"))
        assert code == 2 and "printable ASCII" in said and "Traceback" not in said, said


def test_metrics_name_files_by_their_path_under_the_served_folder(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    (folder / "sub").mkdir()
    (folder / "sub" / "broken.policy").write_text("policy {\n")
    server = Server(folder)
    try:
        _, metrics = server.call("GET", "/metrics")
        assert re.search(r'^leadpolicy_policy_broken\{source="sub/broken.policy"\} 1', str(metrics), re.M), metrics
        assert re.search(r'^leadpolicy_policy_broken\{source="inbound-b2b.policy"\} 0', str(metrics), re.M), metrics
        assert str(tmp_path) not in str(metrics)
    finally:
        server.stop()


def _series(server: Server) -> dict[tuple[str, str], float]:
    """(metric, source) -> value of the per-file series."""
    _, text = server.call("GET", "/metrics")
    found = re.findall(r'^(leadpolicy_policy_broken|leadpolicy_reload_failures_total)\{source="([^"]*)"\} (\S+)$',
                       str(text), re.M)
    return {(metric, source): float(value) for metric, source, value in found}


def test_a_deleted_files_series_are_dropped_and_a_duplicate_id_is_broken_but_no_reload_failure(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    (folder / "never.policy").write_text("policy {\n")
    server = Server(folder)
    try:
        series = _series(server)
        assert series[("leadpolicy_policy_broken", "never.policy")] == 1
        assert series[("leadpolicy_reload_failures_total", "never.policy")] == 1
        (folder / "never.policy").unlink()
        assert _eventually(lambda: not any(source == "never.policy" for _, source in _series(server)))
        shutil.copy(folder / "inbound-b2b.policy", folder / "zz.policy")  # the same id: not served from here
        assert _eventually(lambda: _series(server).get(("leadpolicy_policy_broken", "zz.policy")) == 1)
        assert ("leadpolicy_reload_failures_total", "zz.policy") not in _series(server)  # it loads: no failure
        assert _series(server)[("leadpolicy_policy_broken", "inbound-b2b.policy")] == 0
        (folder / "zz.policy").unlink()
        assert _eventually(lambda: not any(source == "zz.policy" for _, source in _series(server)))
        assert _version(server) == "2.1.0"
    finally:
        server.stop()


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_never_breaks_the_listing_or_metrics(tmp_path):
    import os

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    with open(os.path.join(os.fsencode(folder), b"bad\xff\n.policy"), "w") as broken:
        broken.write("policy {\n")
    server = Server(folder)
    try:
        assert _eventually(lambda: server.call("GET", "/v1/policies", token=None)[0] == 200)
        [entry] = _listing(server)["not_loaded"]
        assert entry["source"] == "bad\\udcff\\n.policy" and all("\\udcff" in line for line in entry["error"][:1])
        status, metrics = server.call("GET", "/metrics")
        assert status == 200 and 'leadpolicy_policy_broken{source="bad\\\\udcff\\\\n.policy"} 1.0' in str(metrics)
        assert "Traceback" not in server.log.read_text() and "reload failed" not in server.log.read_text()
    finally:
        server.stop()


def test_a_served_file_over_the_size_every_reader_allows_is_refused_unread(tmp_path):
    """A 20 GiB sparse file named like a policy is refused by its size, never read into memory."""
    import resource

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    with open(folder / "huge.policy", "wb") as handle:
        handle.truncate(20 * 1024**3)
    server = Server(folder)
    try:
        assert _version(server) == "2.1.0"
        not_loaded = _listing(server)["not_loaded"]
        assert [n["source"] for n in not_loaded] == ["huge.policy"], not_loaded
        assert "larger than 10 MiB" in " ".join(not_loaded[0]["error"]), not_loaded
    finally:
        server.stop()
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024 * 1024  # KiB: never 20 GiB


def test_a_decision_log_that_cannot_be_written_answers_503_and_counts_it(tmp_path):
    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    server = Server(folder, "--decision-log", "/dev/full")
    try:
        status, out = server.decide("inbound-b2b", {"lead": {"email": "ana@bigsoft.io", "employees": 1200}})
        assert (status, out) == (503, {"error": "decision log cannot be written"})
        batch = json.dumps([{"lead": {"email": "ana@bigsoft.io"}}] * 3)
        status, out = server.call("POST", "/v1/policies/inbound-b2b/decide-batch", batch)
        assert (status, out) == (503, {"error": "decision log cannot be written"})
        assert server.decide("inbound-b2b", {"lead": "not a lead"})[0] == 400  # nothing to log
        status, metrics = server.call("GET", "/metrics")
        counted = re.search(r"^leadpolicy_decision_log_errors_total (\S+)$", str(metrics), re.M)
        assert status == 200 and counted and float(counted.group(1)) == 2, metrics
        assert server.call("GET", "/healthz", token=None)[0] == 200 and server.process.poll() is None
    finally:
        server.stop()
    said = server.log.read_text()
    assert said.count("decision log cannot be written") == 1 and "Traceback" not in said, said


def test_a_fifo_named_like_a_policy_in_a_served_folder_is_listed_as_not_loaded(tmp_path):
    import os

    folder = tmp_path / "served"
    _served(folder, "inbound-b2b")
    os.mkfifo(folder / "fifo.policy")  # nothing ever writes into it: reading it must not wait
    server = Server(folder)
    try:
        status, out = server.call("GET", "/v1/policies")
        assert status == 200 and [p["id"] for p in out["policies"]] == ["inbound-b2b"], out  # type: ignore[index]
        listed = {e["source"]: e["error"] for e in out["not_loaded"]}  # type: ignore[index]
        assert list(listed) == ["fifo.policy"] and "not a regular file" in listed["fifo.policy"][0], out
    finally:
        server.stop()
