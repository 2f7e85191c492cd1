"""Compiled policies: generated Python agrees with the interpreter; artifacts load safely."""

from __future__ import annotations

import ast as pyast
import datetime as dt
import doctest
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadpolicy
from leadpolicy import api as runtime
from leadpolicy.semantics.codegen import INVALID
from leadpolicy.semantics.interpreter import evaluate as interpret
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.testing.harness import load_samples

from .conftest import FIXTURES, POLICIES, ROOT, golden
from .strategies import NOWS, any_leads

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")


@pytest.fixture(scope="module", params=["inbound-b2b", "product-led"])
def policy(request):
    return leadpolicy.load(POLICIES / f"{request.param}.policy")


def oracle(policy, lead, now=NOW):
    """The interpreter's answer, or the schema errors: the independent reference."""
    values, errors = policy._reader.read(lead)
    if errors:
        return sorted(e.field for e in errors)
    d = interpret(policy.ir, values, now)
    return {"scores": {k: v.value for k, v in d.scores.items()}, "grades": d.grades, "stage": d.stage,
            "owner": d.owner, "route": d.route}


def compiled(policy, lead, now=NOW):
    try:
        d = policy.evaluate(lead, now)
    except leadpolicy.LeadError as exc:
        return sorted(e.field for e in exc.errors)
    return {k: v for k, v in d.as_dict(explain=False).items() if k in ("scores", "grades", "stage", "owner", "route")}


def test_generated_source_is_golden_and_deterministic():
    p = leadpolicy.load(POLICIES / "inbound-b2b.policy")
    golden(FIXTURES / "compiled" / "inbound-b2b.py.golden", p.python_source)
    assert leadpolicy.load(POLICIES / "inbound-b2b.policy").python_source == p.python_source


def test_every_sample_lead_agrees_with_the_interpreter_and_the_samples(policy):
    doc, _ = load_samples(POLICIES / f"{policy.ir.id.replace('-signups', '')}.samples.yaml")
    now = policy.instant(doc.data["now"])
    for case in doc.data["leads"]:
        assert compiled(policy, case["lead"], now) == oracle(policy, case["lead"], now), case["name"]
        if "invalid" in case["expect"]:
            continue
        result = compiled(policy, case["lead"], now)
        for key in ("stage", "route", "owner"):
            if key in case["expect"]:
                assert result[key] == case["expect"][key]


# ---------------------------------------------------------------- generated leads

POLICIES_LOADED = {name: leadpolicy.load(POLICIES / f"{name}.policy") for name in ("inbound-b2b", "product-led")}


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_equals_interpreter_on_generated_leads(data):
    name = data.draw(st.sampled_from(sorted(POLICIES_LOADED)))
    policy = POLICIES_LOADED[name]
    lead = data.draw(any_leads(policy))
    now = data.draw(NOWS)
    assert compiled(policy, lead, now) == oracle(policy, lead, now)


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_fast_path_declines_exactly_the_leads_the_schema_rejects(data):
    policy = POLICIES_LOADED[data.draw(st.sampled_from(sorted(POLICIES_LOADED)))]
    lead = data.draw(any_leads(policy))
    fast = policy._evaluate(lead, NOW)
    has_errors = bool(policy.validate(lead))
    if has_errors:
        assert fast is INVALID
    elif fast is INVALID:  # allowed only for unusual Python types the fast path leaves to the reader
        pytest.fail(f"the fast path declined a valid lead: {lead!r}")


# ---------------------------------------------------------------- API


def test_evaluate_many_streams_and_reports_bad_leads_by_index():
    policy = POLICIES_LOADED["inbound-b2b"]
    results = list(policy.evaluate_many([{"email": "a@b.io"}, {"employees": "x"}, "not a lead",
                                         {"email": "c@d.io", "demo_requested": True, "employees": 500,
                                          "industry": "software"}], now=NOW))
    assert [r.ok for r in results] == [True, False, False, True]
    assert sorted(e.field for e in results[1].errors) == ["email", "employees"]
    assert results[3].decision.stage == "sql"


def test_evaluate_raises_lead_error_naming_fields():
    with pytest.raises(leadpolicy.LeadError, match="employees: expected a number"):
        POLICIES_LOADED["inbound-b2b"].evaluate({"email": "a@b.io", "employees": "lots"}, now=NOW)


def test_decision_breakdown_and_explanation():
    d = POLICIES_LOADED["inbound-b2b"].evaluate(
        {"email": "omar@ledgerly.com", "employees": 300, "industry": "fintech", "job_title": "VP Finance",
         "email_clicks": 4, "pricing_page_views": 2, "last_activity": "2026-09-01T09:00:00-04:00"}, now=NOW)
    assert d.breakdown["engagement"]["decay_factor"] == 0.5625
    assert "not mql: engagement 23 < 30" in d.explanation
    assert d.as_dict()["scores"] == {"fit": 65, "engagement": 23}


def test_policy_properties_and_doctests(monkeypatch):
    p = POLICIES_LOADED["product-led"]
    assert (p.id, p.version) == ("product-led-signups", "1.0.0")
    assert p.fingerprint.startswith("sha256:") and p.lead_schema["required"] == ["email", "signup_date"]
    monkeypatch.chdir(ROOT)
    for module in (leadpolicy, runtime):
        assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------- artifacts


def artifact():
    return json.loads(POLICIES_LOADED["inbound-b2b"].artifact_json())


def test_artifact_round_trip_and_schema(tmp_path):
    from jsonschema import Draft202012Validator

    data = artifact()
    Draft202012Validator(runtime.artifact_schema()).validate(data)
    path = tmp_path / "inbound.json"
    path.write_text(json.dumps(data))
    loaded = leadpolicy.load(path)
    assert loaded.fingerprint == data["fingerprint"]
    lead = {"email": "ana@bigsoft.io", "employees": 1200, "demo_requested": True}
    assert loaded.evaluate(lead, NOW) == POLICIES_LOADED["inbound-b2b"].evaluate(lead, NOW)


def test_fingerprint_ignores_formatting_and_comments():
    text = (POLICIES / "inbound-b2b.policy").read_text()
    reformatted = text.replace("    +30 when employees >= 200", "  # a new comment\n        +30 when employees>=200")
    a = load_policy_text(text).policy
    b = load_policy_text(reformatted).policy
    from leadpolicy.semantics.lowering import fingerprint

    assert fingerprint(a) == fingerprint(b)
    changed = load_policy_text(text.replace("+30 when employees >= 200", "+31 when employees >= 200")).policy
    assert fingerprint(changed) != fingerprint(a)


@pytest.mark.parametrize("tamper,message", [
    (lambda a: a.__setitem__("source", a["source"].replace("+30", "+99")), "fingerprint mismatch"),
    (lambda a: a["steps"][0]["rules"][0].__setitem__("points", "99"), "does not match its source"),
    (lambda a: a["stages"][0].__setitem__("name", "__import__"), "does not match its source"),
    (lambda a: a.__setitem__("format_version", [4, 0]), "format version 4.0 is not supported"),
    (lambda a: a.__setitem__("format_version", [2, 0]), "format version 2.0 is not supported"),
    (lambda a: a.__setitem__("format_version", [2, 9]), "format version 2.9 is not supported"),
    (lambda a: a.__setitem__("format_version", [1, 0]), "format version 1.0 is not supported"),
    (lambda a: a.__setitem__("format", "other"), "not a leadpolicy compiled policy"),
    (lambda a: a.__setitem__("extra", 1), "does not follow the artifact schema"),
    (lambda a: a["steps"][0]["rules"][0].__setitem__("points", "__import__('os')"),
     "does not follow the artifact schema at steps/0/rules/0"),
    (lambda a: a.pop("source"), "does not follow the artifact schema"),
])
def test_tampered_artifacts_are_refused(tamper, message):
    data = artifact()
    tamper(data)
    with pytest.raises(leadpolicy.PolicyError, match=message):
        leadpolicy.load(data)


def test_unreadable_artifact_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(leadpolicy.PolicyError, match="not a readable compiled policy"):
        leadpolicy.load(path)


HOSTILE = '''policy "hostile" version 1.0.0 {
  title "'); import os; os.system('echo pwned') #"
  owner marketing "\\"\\"\\" + __import__('os').getcwd() + \\"\\"\\""
  owner sales "S"
  lead {
    email text required
    note text
  }
  score s "'''  # noqa
HOSTILE += '''x\\" ) or __import__('os') #" {
    +10 when note = "'); __import__('os').system('echo pwned'); ('" "reason'); exit(1); ('"
    +5 when note contains "\\\\x00\\t\\" ''' + "'''" + '''"
  }
  stages {
    hot when s >= 10 owner sales
    rest otherwise owner marketing
  }
  route for hot {
    "'); raise SystemExit('pwned') #" otherwise
  }
}
'''


def test_text_from_a_policy_or_lead_never_becomes_code(capfd):
    loaded = load_policy_text(HOSTILE, "hostile.policy")
    assert not loaded.has_errors, loaded.diagnostics
    policy = runtime.from_tree(loaded.policy)
    tree = pyast.parse(policy.python_source)
    names = {n.id for n in pyast.walk(tree) if isinstance(n, pyast.Name)}
    allowed = {"lead", "now", "today", "INVALID", "Decimal", "BLANK", "isfinite", "DAY", "TZ", "fold", "local_date",
               "MAX_NUMBER_INT", "floor_units", "floor_div", "round_half_away", "round_billionths", "read_date",
               "read_timestamp", "read_number", "int", "max", "min", "repr", "str", "bool", "float", "True", "False",
               "None",
               "Exception", "error", "policy_note", "LINE_MAP", "POLICY_FILE"}  # these five: an exception's note
    assert all(n in allowed or n[0] in "vdpustgreK" and n.rstrip("0123456789") in
               {"v", "d", "p", "u", "s", "total", "g", "gl", "stage", "route", "entry", "K"} for n in names), names
    assert not [n for n in pyast.walk(tree) if isinstance(n, (pyast.Import, pyast.ImportFrom))]
    calls = {n.func.id for n in pyast.walk(tree) if isinstance(n, pyast.Call) and isinstance(n.func, pyast.Name)}
    assert calls <= allowed
    d = policy.evaluate({"email": "a@b.io", "note": "'); __import__('os').system('echo pwned'); ('"}, now=NOW)
    assert (d.stage, d.route) == ("hot", "'); raise SystemExit('pwned') #")
    assert "pwned" not in capfd.readouterr().out
    again = leadpolicy.load(json.loads(policy.artifact_json()))
    assert again.evaluate({"email": "a@b.io", "note": "x"}, now=NOW).stage == "rest"


def test_artifact_schema_in_docs_is_the_shipped_one():
    shipped = (ROOT / "src" / "leadpolicy" / "schemas" / "artifact.schema.json").read_text()
    assert (ROOT / "docs" / "artifact.schema.json").read_text() == shipped


def test_every_value_validate_accepts_evaluates_as_the_interpreter_reads_it():
    import datetime as dt

    policy = leadpolicy.load(POLICIES / "inbound-b2b.policy")
    now = "2026-11-20T12:00:00-05:00"
    for stamp in (dt.date(2026, 10, 1), dt.datetime(2026, 10, 1, 9, 30), dt.datetime(2026, 10, 1, 9, 30,
                                                                                     tzinfo=dt.timezone.utc)):
        lead = {"email": "a@b.io", "email_clicks": 4, "last_activity": stamp}
        assert policy.validate(lead) == []
        decision = policy.evaluate(lead, now)
        as_text = policy.evaluate({**lead, "last_activity": stamp.isoformat()}, now)
        assert decision.scores == as_text.scores
        assert decision.scores["engagement"] == decision.breakdown["engagement"]["value"]
        assert decision.breakdown["engagement"]["decay_periods"] == 1  # 50 days before now: one 30-day period


@pytest.mark.parametrize("mutate", [
    lambda a: a.__setitem__("format_version", [1, "x"]),
    lambda a: a.__setitem__("format_version", [10**5000]),
    lambda a: a.__setitem__("source", "\ud800"),
    lambda a: a.__setitem__("source", 5),
    lambda a: a.__setitem__("fields", None),
    lambda a: a.pop("source"),
], ids=["version-text", "version-huge", "surrogate", "source-int", "fields-null", "no-source"])
def test_every_malformed_artifact_is_a_policy_error(mutate):
    import copy

    data = copy.deepcopy(json.loads(leadpolicy.load(POLICIES / "inbound-b2b.policy").artifact_json()))
    mutate(data)
    with pytest.raises(leadpolicy.PolicyError):
        leadpolicy.load(data)


def test_a_deeply_nested_artifact_file_is_a_policy_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(leadpolicy.PolicyError, match="not a readable compiled policy"):
        leadpolicy.load(path)


def test_the_shipped_artifact_schema_is_derived_from_the_ir_dataclasses():
    from leadpolicy.semantics import ir

    shipped = json.loads((ROOT / "src" / "leadpolicy" / "schemas" / "artifact.schema.json").read_text())
    assert shipped == ir.json_schema(), "regenerate: python -m leadpolicy.semantics.ir > src/leadpolicy/schemas/…"


@pytest.mark.parametrize("name", ["inbound-b2b", "product-led"])
def test_every_artifact_field_comes_from_the_ir_and_validates(name):
    from jsonschema import Draft202012Validator

    from leadpolicy.semantics import ir

    policy = leadpolicy.load(POLICIES / f"{name}.policy")
    artifact = json.loads(policy.artifact_json())
    Draft202012Validator(ir.json_schema()).validate(artifact)
    assert {k: v for k, v in artifact.items() if k != "source"} == json.loads(ir.dumps(ir.artifact_ir(policy.ir)))
    tags = {node["node"] for node in _dicts(artifact) if "node" in node}
    assert {"Score", "Grade", "PointsRule", "Ref", "Const"} <= tags


def _dicts(value):
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[+-][0-9]{2}:[0-9]{2}|Z)?",
                     fullmatch=True) | st.text(alphabet="0123456789-:TZ +.", max_size=30))
def test_the_usual_timestamp_shape_is_a_subset_of_the_schema_pattern(text):
    import re

    from leadpolicy.semantics.leads import TIMESTAMP_PATTERN
    from leadpolicy.semantics.leads import USUAL_SHAPE as USUAL_TIMESTAMP

    if USUAL_TIMESTAMP.fullmatch(text):
        assert re.fullmatch(TIMESTAMP_PATTERN, text)


def test_evaluate_with_events_and_bad_events_name_the_row_and_field():
    policy = leadpolicy.load(POLICIES / "inbound-activity.policy")
    lead = {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software", "source": "webinar"}
    now = "2026-11-20T12:00:00-05:00"
    events = [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"},
              {"event": "pricing_page_view", "at": dt.datetime(2026, 11, 17, 14, tzinfo=dt.timezone.utc)}]
    decision = policy.evaluate(lead, now=now, events=events)
    assert (decision.stage, decision.scores["engagement"]) == ("sql", 50)
    assert any("demo_request in the last 30 days (Nov 18)" in line for line in decision.explanation)
    assert policy.evaluate(lead, now=now).stage == "nurture"  # the same lead without what it did
    with pytest.raises(leadpolicy.LeadError) as caught:
        policy.evaluate(lead, now=now, events=[{"event": "demo_requst", "at": "2026-11-18T10:00:00Z"},
                                               {"event": "touch", "at": "yesterday"}])
    fields = [e.field for e in caught.value.errors]
    assert fields == ["events/1/event", "events/2/at"]
    assert "did you mean" in str(caught.value) and "demo_request" in str(caught.value)
    results = list(policy.evaluate_many([{**lead, "id": 7}, {**lead, "id": 8}, {**lead, "id": 9}], now=now,
                                        events={7: events, 8: [{"event": "nope", "at": now}]}))
    assert results[0].decision.stage == "sql" and not results[1].ok and results[2].decision.stage == "nurture"
    assert results[1].errors[0].field == "events/1/event"
