"""The generated Spark SQL on a real Spark (local mode) agrees with the Python evaluator."""

from __future__ import annotations

import datetime as dt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadpolicy
from leadpolicy.harness import load_samples
from leadpolicy.sqlgen import compile_sql

from .conftest import POLICIES

pytestmark = pytest.mark.spark

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY_OBJECTS = {name: leadpolicy.load(POLICIES / f"{name}.policy") for name in ("inbound-b2b", "product-led")}


SPARK_TYPES = {"text": "string", "one of": "string", "number": "double", "yes/no": "boolean", "date": "date",
               "timestamp": "timestamp"}


def typed(policy, lead: dict) -> dict:
    """The lead's values as Spark columns hold them (the warehouse contract: typed columns)."""
    values, errors = policy._reader.read(lead)
    assert not errors
    out = {}
    for f in policy.ir["fields"]:
        raw = lead.get(f["name"])
        value = values[f["name"]]
        if f["type"] in ("text", "one of"):
            out[f["name"]] = raw if isinstance(raw, str) else None
        elif f["type"] == "number":
            out[f["name"]] = None if raw in (None, "") else float(raw)
        elif f["type"] == "yes/no":
            out[f["name"]] = raw if isinstance(raw, bool) else None
        elif f["type"] == "timestamp":
            out[f["name"]] = None if raw in (None, "") else value.astimezone(dt.timezone.utc)
        else:
            out[f["name"]] = value if raw not in (None, "") else None
    return out


def spark_decisions(spark, policy, leads: list[dict], now: dt.datetime) -> list[dict]:
    schema = ", ".join(f"`{f['name']}` {SPARK_TYPES[f['type']]}" for f in policy.ir["fields"]) + ", case_no int"
    rows = [{**typed(policy, lead), "case_no": i} for i, lead in enumerate(leads)]
    names = [f["name"] for f in policy.ir["fields"]] + ["case_no"]
    frame = spark.createDataFrame([tuple(r[n] for n in names) for r in rows], schema)
    frame.createOrReplaceTempView("leads")
    query = compile_sql(policy.ir, "spark", "leads", now)
    result = spark.sql(query).orderBy("case_no").collect()
    decision_names = ([s["name"] for s in policy.ir["scores"]] + [g["name"] for g in policy.ir["grades"]]
                      + ["stage", "owner", "route"])
    return [{k: row[k] for k in decision_names} for row in result]


def python_decisions(policy, leads, now):
    out = []
    for lead in leads:
        d = policy.evaluate(lead, now)
        out.append({**d.scores, **d.grades, "stage": d.stage, "owner": d.owner, "route": d.route})
    return out


@pytest.mark.parametrize("name", sorted(POLICY_OBJECTS))
def test_sample_leads_on_spark(spark, name):
    policy = POLICY_OBJECTS[name]
    doc, _ = load_samples(POLICIES / f"{name}.samples.yaml")
    leads = [{k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in c["lead"].items()}
             for c in doc.data["leads"] if "invalid" not in c["expect"]]
    now = policy._now(doc.data["now"])
    assert spark_decisions(spark, policy, leads, now) == python_decisions(policy, leads, now)


TEXTS = st.sampled_from(["VP Sales", "vp of sales", "Head of Growth", "CHIEF of staff", "Engineer", "sam@gmail.com",
                         "SAM@GMAIL.COM", "x@competitor.com", "ana@bigsoft.io", "DE", "de", "Uk", "US", "", "  "])


@st.composite
def valid_leads(draw, policy):
    lead = {}
    for f in policy.ir["fields"]:
        if not f["required"] and draw(st.integers(0, 5)) == 0:
            continue
        kind = f["type"]
        if kind == "one of":
            lead[f["name"]] = draw(st.sampled_from(f["choices"]))
        elif kind == "text":
            lead[f["name"]] = draw(TEXTS.filter(lambda t: t.strip())) if f["required"] else draw(TEXTS)
        elif kind == "number":
            lead[f["name"]] = draw(st.one_of(st.integers(-3, 1500), st.sampled_from([50, 199, 200, 1000, 7.5, 199.5])))
        elif kind == "yes/no":
            lead[f["name"]] = draw(st.booleans())
        elif kind == "date":
            lead[f["name"]] = draw(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31))).isoformat()
        else:
            lead[f["name"]] = draw(st.datetimes(dt.datetime(2026, 5, 1), dt.datetime(2026, 12, 31),
                                                timezones=st.just(dt.timezone.utc))).isoformat()
    return lead


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(st.data())
def test_generated_leads_on_spark(spark, data):
    name = data.draw(st.sampled_from(sorted(POLICY_OBJECTS)))
    policy = POLICY_OBJECTS[name]
    leads = data.draw(st.lists(valid_leads(policy), min_size=50, max_size=120))
    now = data.draw(st.sampled_from([NOW, dt.datetime.fromisoformat("2026-12-31T23:00:00+00:00")]))
    assert spark_decisions(spark, policy, leads, now) == python_decisions(policy, leads, now)
