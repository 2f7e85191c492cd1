"""`leadpolicy serve` and the files it serves: links, moves, ConfigMap-style swaps, broken companions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import POLICIES
from .test_serve import Server, _eventually

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
