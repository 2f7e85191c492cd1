"""Attacks on the try-it page's routes (`leadpolicy serve`, /ui/): the headers of every answer under /ui/, and
the copied samples case read back exactly as the lead was tried."""

from __future__ import annotations

import http.client
import json
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpolicy.language.yamldoc import read_yaml

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


@pytest.mark.parametrize("value", ["a\x85b@x.io", "a\u2028b@x.io", " yes ", "null", "1e3", "0123", "é\u202eb"],
                         ids=["NEL", "LS", "spaces", "null", "1e3", "0123", "RTL"])
def test_the_copied_case_reads_back_as_the_lead_tried(served: Server, value: str) -> None:
    """The case a reviewer copies must hold the lead as tried. YAML's NEL (U+0085) is a line break: PyYAML with
    allow_unicode writes it raw inside a quoted scalar, and reading it back folds it to a space ('a b@x.io'),
    so the pasted case tests another lead than the one tried."""
    lead = {"email": value, "employees": 5}
    status, tried = served.call("POST", TRY, json.dumps({"name": "c", "lead": lead, "now": "2026-11-20T12:00"}))
    assert status == 200, tried
    assert isinstance(tried, dict) and tried["case"] is not None
    case = yaml.safe_load("leads:\n" + tried["case"])["leads"][0]
    assert case["lead"] == lead


# Text a JSON body can hold (no lone surrogates: JSON text cannot carry them), heavy in what YAML reads apart:
# its line breaks (NEL, LS, PS, CR, LF), the BOM, tabs, control characters, quotes, and words YAML reads as
# another type.
TRICKY = st.sampled_from(["\x85", "\u2028", "\u2029", "\ufeff", "\r", "\n", "\t", "\x00", "\x1b", "\x7f",
                          "\x9f", "'", '"', "#", ":", " ", "\\", "\ufffe", "\U0001f600"])
WORDS = st.sampled_from(["yes", "~", "null", "1e3", "0o17", "2026-01-02", ": ", "- ", "&a", "*a", "!!str"])
BREAKS = st.text(st.sampled_from("ab é'\"\n\x85\u2028\u2029"), min_size=1, max_size=8)  # quoted, not escaped
TEXTS = st.lists(st.one_of(WORDS, BREAKS, st.text(st.one_of(TRICKY, st.characters(exclude_categories=["Cs"])),
                                                  max_size=8)), max_size=4).map("".join)


@given(email=TEXTS.filter(lambda text: text.strip(" \t\n\r\f")), name=TEXTS.filter(bool))  # blank: missing
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_copied_reads_back_exactly(served: Server, email: str, name: str) -> None:
    """Whatever text the lead and the case's name hold, the copied case reads back as tried, by YAML and by
    leadpolicy's own samples reader (a NEL, LS or PS was written raw in a quoted scalar and read as a space)."""
    lead = {"email": email, "employees": 5}
    body = json.dumps({"name": name, "lead": lead, "now": "2026-11-20T12:00"}, ensure_ascii=False)
    status, tried = served.call("POST", TRY, body.encode())
    assert status == 200, tried
    assert isinstance(tried, dict) and isinstance(tried["case"], str)
    for read in (yaml.safe_load, read_yaml):
        case = read("leads:\n" + tried["case"])["leads"][0]
        assert (case["name"], case["lead"]) == (name, lead)
