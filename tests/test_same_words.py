"""The same input, the same words and the same rule in every command (issue 26 §2).

- The decision service names a JSON value's kind (`now: 20261102`, `explain: "yes"`) in the words the lead
  reader uses for the same JSON value (`semantics.events.value_kind`), never in words of its own.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

import leadpolicy
from leadpolicy.semantics.leads import shown_value

from .conftest import POLICIES
from .test_serve import TOKEN, Server

LEAD = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software"}
# JSON values of every kind a request can hold where `now` or `explain` goes (1e400: a number no float holds)
OTHER_KINDS = ["20261102", "1e400", "true", "false", "[]", '["2026-11-20T12:00:00-05:00"]', "{}",
               '{"at": "2026-11-20T12:00:00-05:00"}']
NOT_YES_NO = ['"yes"', '"true"', "1", "0", "[]", "[true]", "{}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words") / "policies"
    folder.mkdir()
    shutil.copy(POLICIES / "inbound-b2b.policy", folder / "inbound-b2b.policy")
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    running = Server(folder, "--token-file", str(folder.parent / "token.txt"))
    yield running
    running.stop()


def lead_reader_kind(json_text: str) -> str:
    """The kind the lead reader names this JSON value by, given as a field that wants another kind
    (`expected text, got a number 20261102`)."""
    value = json.loads(json_text)
    field = "employees" if isinstance(value, str) else "email"
    errors = leadpolicy.load(POLICIES / "inbound-b2b.policy").validate({**LEAD, field: value})
    assert len(errors) == 1 and errors[0].field == field, errors
    found = re.fullmatch(r"expected .+?, got (.+) " + re.escape(shown_value(value)), errors[0].message)
    assert found, errors[0].message
    return found.group(1)


def _decide(server: Server, key: str, json_text: str) -> tuple[int, dict]:
    body = f'{{"lead": {json.dumps(LEAD)}, "{key}": {json_text}}}'
    status, out = server.call("POST", "/v1/policies/inbound-b2b/decide", body)
    assert isinstance(out, dict), out
    return status, out


@pytest.mark.parametrize("json_text", OTHER_KINDS)
def test_a_now_of_another_kind_is_named_as_the_lead_reader_names_it(server, json_text):
    status, out = _decide(server, "now", json_text)
    kind = lead_reader_kind(json_text)
    assert status == 400 and out["error"].startswith("now: ") and out["error"].endswith(f", not {kind}"), (kind, out)


@pytest.mark.parametrize("json_text", NOT_YES_NO)
def test_an_explain_of_another_kind_is_named_as_the_lead_reader_names_it(server, json_text):
    status, out = _decide(server, "explain", json_text)
    kind = lead_reader_kind(json_text)
    assert status == 400 and out["error"] == f"explain: true or false, not {kind}", (kind, out)


@pytest.mark.parametrize("key", ["now", "explain"])
def test_null_is_not_given_as_the_lead_reader_reads_a_null_field(server, key):
    """The lead reader reads a null field as missing; a request reads a null `now` or `explain` as not
    given: the same decision as without it (now: the current time; explain: none)."""
    errors = leadpolicy.load(POLICIES / "inbound-b2b.policy").validate({**LEAD, "employees": None})
    assert errors == []
    with_null = _decide(server, key, "null")
    status, out = server.decide("inbound-b2b", {"lead": LEAD})
    assert with_null[0] == status == 200
    assert {k: v for k, v in with_null[1].items() if k != "now"} == {k: v for k, v in out.items() if k != "now"}
    assert ("explanation" in out) is False
