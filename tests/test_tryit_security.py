"""Attacks on the try-it page's routes (`leadpolicy serve`, /ui/): the headers of every answer under /ui/."""

from __future__ import annotations

import http.client
import shutil

import pytest

from .conftest import POLICIES
from .test_serve import TOKEN, Server

TRY = "/ui/api/policies/inbound-activity/try"


@pytest.fixture(scope="module")
def served(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("tryit-attack") / "policies"
    folder.mkdir()
    shutil.copy(POLICIES / "inbound-activity.policy", folder)
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    server = Server(folder, "--token-file", str(folder.parent / "token.txt"), "--max-body", "1000")
    yield server
    server.stop()


def headers_of(server: Server, method: str, path: str, body: bytes | None = None,
               token: str | None = None) -> tuple[int, list[tuple[str, str]]]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        sent = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.read()
        return response.status, [(k.lower(), v) for k, v in response.getheaders()]
    finally:
        connection.close()


ANSWERS = [
    ("GET", "/ui/api/policies/inbound-activity", None, None, 401),  # no token
    ("POST", TRY, b"{}", "wrong", 401),  # a wrong token
    ("GET", "/ui/api/policies/nope", None, TOKEN, 404),  # the API's did-you-mean
    ("POST", "/ui/api/policies/nope/try", b"{}", TOKEN, 404),  # the same, on the trial
    ("PUT", TRY, b"{}", TOKEN, 405),  # the router's
    ("POST", TRY, b"[" * 2000, TOKEN, 413),  # over --max-body (the shared guard's)
    ("POST", TRY, b"{", TOKEN, 400),  # no JSON
    ("GET", "/ui/static/", None, None, 307),  # the router's redirect
    ("GET", "/ui", None, None, 308),  # to the index
    ("GET", "/ui/static/nope.js", None, None, 404),  # no such asset
    ("GET", "/ui/a/b", None, None, 404),  # no route at all
    ("GET", "/ui/", None, None, 200),
    ("GET", "/ui/inbound-activity", None, None, 200),
    ("GET", "/ui/static/tryit.js", None, None, 200),
    ("GET", "/ui/api/policies/inbound-activity", None, TOKEN, 200),
    ("POST", TRY, b'{"lead": {"email": "a@x.io"}}', TOKEN, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "token", "expected"), ANSWERS,
                         ids=[f"{m} {p} {code}" for m, p, _, _, code in ANSWERS])
def test_every_answer_under_ui_carries_the_content_security_policy(served: Server, method: str, path: str,
                                                                   body: bytes | None, token: str | None,
                                                                   expected: int) -> None:
    """docs/serve.md: "every answer of `/ui/` carries `Content-Security-Policy: default-src 'none'; ...`". The
    pages' and the trial's answers did; the token's 401, the API's 404, the router's 405 and redirect and the body
    limit's 413 under /ui/ came without it (and without nosniff). Each header is sent once."""
    status, headers = headers_of(served, method, path, body, token)
    assert status == expected
    named = {name: [v for k, v in headers if k == name] for name in ("content-security-policy",
                                                                    "x-content-type-options", "referrer-policy")}
    assert len(named["content-security-policy"]) == 1, (status, headers)
    policy = dict(part.strip().partition(" ")[::2] for part in named["content-security-policy"][0].split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert named["x-content-type-options"] == ["nosniff"]
    assert named["referrer-policy"] == ["no-referrer"]
