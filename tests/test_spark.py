"""The generated Spark SQL on a real Spark (local mode) decides the sample leads as the Python evaluator
(generated leads run on Spark in test_semantics.py)."""

from __future__ import annotations

import datetime as dt

import pytest

import leadpolicy
from leadpolicy.testing.harness import load_samples

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
    now = policy.instant(doc.data["now"])
    assert spark_decisions(spark, policy, leads, now) == python_decisions(policy, leads, now)
