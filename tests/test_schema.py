"""The lead block as JSON Schema, and leads read into typed values with errors by field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import jsonschema
import pytest
import yaml

from leadpolicy.semantics.leads import LeadReader, read_text_cell
from leadpolicy.semantics.loading import load_policy
from leadpolicy.semantics.lowering import lower

from .conftest import POLICIES


@pytest.fixture(scope="module")
def policy():
    return lower(load_policy(POLICIES / "inbound-b2b.policy").policy)


@pytest.fixture(scope="module")
def reader(policy):
    return LeadReader(policy)


def test_schema_is_valid_json_schema_and_describes_fields(policy):
    schema = policy.lead_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["email"]
    assert schema["properties"]["employees"]["type"] == ["number", "null"]
    assert schema["properties"]["demo_requested"]["default"] is False
    assert schema["properties"]["industry"]["enum"][:5] == ["software", "fintech", "retail", "healthcare", "other"]


def test_other_validators_accept_what_we_accept(policy):
    lead = {"email": "a@b.io", "employees": 10, "industry": "retail", "demo_requested": True,
            "last_activity": "2026-11-18T10:00:00-05:00", "crm_id": "X-1"}
    jsonschema.validate(lead, policy.lead_schema)


@pytest.mark.parametrize("lead,errors", [
    ({"employees": 3}, {"email": "is required but missing"}),
    ({"email": "  "}, {"email": "is required but missing"}),
    ({"email": "a@b.io", "employees": "lots"}, {"employees": "expected a number, got text 'lots'"}),
    ({"email": "a@b.io", "employees": True}, {"employees": "expected a number, got yes/no true"}),
    ({"email": "a@b.io", "industry": "Sofware"},  # "Software" is software: a choice is read as text is compared
     {"industry": "'Sofware' is not one of: software, fintech, retail, healthcare, other "
                  "(did you mean \"software\"?)"}),
    ({"email": "a@b.io", "demo_requested": "maybe"}, {"demo_requested": "expected yes/no, got text 'maybe'"}),
    ({"email": "a@b.io", "last_activity": "yesterday"},
     {"last_activity": "'yesterday' is not an ISO 8601 timestamp (write it as 2026-11-20T12:00:00-05:00)"}),
    ({"email": "a@b.io", "last_activity": "2026-02-30T10:00:00"},
     {"last_activity": "'2026-02-30T10:00:00' is not a real timestamp"}),
])
def test_bad_values_are_reported_by_field(reader, lead, errors):
    values, found = reader.read(lead)
    assert {e.field: e.message for e in found} == errors
    for name in errors:
        assert values.get(name) is None  # never scored as if it were fine


def test_missing_empty_and_defaults(reader):
    values, errors = reader.read({"email": "a@b.io", "employees": None, "country": "", "email_clicks": ""})
    assert not errors
    assert values["employees"] is None and values["country"] is None
    assert values["email_clicks"] == Decimal(0) and values["demo_requested"] is False


def test_timestamps_without_offset_are_read_in_the_policy_timezone():
    policy = lower(load_policy(POLICIES / "product-led.policy").policy)
    values, errors = LeadReader(policy).read({"email": "a@b.io", "signup_date": "2026-11-01",
                                              "last_seen": "2026-11-20T09:00:00"})
    assert not errors
    assert values["last_seen"] == dt.datetime(2026, 11, 20, 8, tzinfo=dt.timezone.utc)  # 09:00 in Berlin, an instant
    assert values["signup_date"] == dt.date(2026, 11, 1)


def test_yaml_dates_and_timestamps_are_accepted(reader):
    lead = yaml.safe_load("email: a@b.io\nlast_activity: 2026-11-18T10:00:00-05:00\n")
    values, errors = reader.read(lead)
    assert not errors
    assert values["last_activity"] == dt.datetime(2026, 11, 18, 15, tzinfo=dt.timezone.utc)


def test_unknown_fields_are_allowed_except_in_strict_mode(reader):
    assert reader.read({"email": "a@b.io", "employes": 5})[1] == []
    errors = reader.read({"email": "a@b.io", "employes": 5}, strict=True)[1]
    assert [str(e) for e in errors] == ['employes: is not a field of this policy (did you mean "employees"?)']


@pytest.mark.parametrize("raw,kind", [(["x"], "a list"), (None, "null"), (5, "a number"), ("x", "text"),
                                      (True, "yes/no"), (dt.date(2026, 1, 2), "a date")])
def test_a_lead_must_be_a_mapping(reader, raw, kind):
    """The kind in the words an event's value or `now` is named in (events.value_kind), never a Python type."""
    [error] = reader.read(raw)[1]
    assert str(error).endswith(f"must be a mapping of field names to values, not {kind}"), str(error)


@pytest.mark.parametrize("kind,text,value", [
    ("number", "12", 12), ("number", " 1.5 ", 1.5), ("number", "", None), ("number", "abc", "abc"),
    ("number", "NaN", "NaN"), ("yes/no", "Yes", True), ("yes/no", "0", False), ("yes/no", "perhaps", "perhaps"),
    ("text", "x", "x"), ("text", "   ", None),
])
def test_csv_cells_are_converted_by_type(kind, text, value):
    assert read_text_cell(kind, text) == value
