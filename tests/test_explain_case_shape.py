"""`explain --lead` reads a samples lead case: the keys it takes are the samples schema's, never a drifting copy."""

from __future__ import annotations

from leadpolicy.cli.main import main
from leadpolicy.testing.case_shape import CASE_EVENT_KEYS, LEAD_CASE_KEYS
from leadpolicy.testing.harness import samples_schema

from .conftest import POLICIES


def test_the_case_keys_are_the_samples_schemas():
    definitions = samples_schema()["$defs"]
    assert {*LEAD_CASE_KEYS, "expect"} == set(definitions["leadCase"]["properties"])
    assert set(CASE_EVENT_KEYS) == set(definitions["event"]["properties"])


def test_explain_names_the_keys_of_a_case_for_an_unknown_one(capsys):
    lead = '{"lead": {"email": "a@b.io"}, "nwo": "2026-11-20T12:00:00Z"}'
    assert main(["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", lead]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'nwo' in a lead case" in err
    assert err.rstrip().endswith("a lead case has " + ", ".join(LEAD_CASE_KEYS))
