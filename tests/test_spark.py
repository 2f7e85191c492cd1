"""The generated Spark SQL on a real Spark (local mode) agrees with the Python evaluator."""

from __future__ import annotations

import datetime as dt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadpolicy
from leadpolicy.harness import load_samples

from .conftest import POLICIES
from .engines import decide

pytestmark = pytest.mark.spark

NOW = dt.datetime.fromisoformat("2026-11-20T12:00:00-05:00")
POLICY_OBJECTS = {name: leadpolicy.load(POLICIES / f"{name}.policy") for name in ("inbound-b2b", "product-led")}


def spark_decisions(spark, policy, leads: list[dict], now: dt.datetime) -> list[dict]:
    return decide("spark", policy, leads, now, spark=spark)


def python_decisions(policy, leads, now):
    return decide("python", policy, leads, now)


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
