"""The SLA SQL (`warehouse/sla_sql.py`) is built as sqlglot trees: fixed templates whose "#name" placeholders
are filled with trees, policy text only as literals (issue 26 §4)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlglot import exp

from leadpolicy.semantics.loading import load_policy, load_policy_text
from leadpolicy.semantics.lowering import lower
from leadpolicy.sla.engine import Event, SlaEngine
from leadpolicy.warehouse.sla_sql import SlaSql

from .conftest import POLICIES
from .test_sla_sql import differences, run_sql

NOW = dt.datetime(2026, 11, 30, 17, tzinfo=dt.timezone.utc)
# The columns the tier query really names as the templates' placeholders are named ("#" and lower-case words:
# the lead's decision reads them); no other such name may be left in a query: it would be a placeholder never
# filled. (The decision's own columns, such as "#fold-raw:email", are named otherwise.)
TIER_COLUMNS = {"#id", "#clock", "#lead", "#start_row", "#now_us", "#today"}


def _hash_names(query: exp.Expr) -> set[str]:
    return {node.name for node in query.find_all(exp.Column, exp.Table) if re.fullmatch("#[a-z_]+", node.name)}


def _slas():
    for name in ("inbound-b2b", "inbound-activity", "product-led"):
        policy = lower(load_policy(POLICIES / f"{name}.policy").policy)
        for sla in policy.slas:
            if sla.clock is not None or sla.counts:
                yield pytest.param(policy, sla, id=f"{name}: {sla.name}")


@pytest.mark.parametrize("policy,sla", list(_slas()))
def test_every_placeholder_of_an_sla_query_is_filled(policy, sla):
    assert _hash_names(SlaSql(policy, sla, NOW).query()) == set()
    if sla.tiers:
        tiers = SlaSql(policy, sla, NOW).tiers_tree("lp_leads", "duckdb")
        assert _hash_names(tiers) <= TIER_COLUMNS and "#id" in _hash_names(tiers)


# Policy text spelled as the templates' own placeholders, quotes and SQL.
TRICKY = "\"#now\" '#x' #tier_text \"#sla\" ' OR 1=1 --"


def test_policy_text_spelled_as_a_template_placeholder_stays_a_literal_in_business_hours(tmp_path):
    from .test_sla_v2 import HEAD

    escaped = TRICKY.replace('"', '\\"')
    sla = f'''  sla speed {{
    owner sales
    target 90%
    from handed_off each time until accepted
    within 2 business hours on ny when email = "{escaped}"
    within 4 hours otherwise
    paused from waiting until replied
    warn at 50%
    escalate to "{escaped}" at 100%
  }}
'''
    loaded = load_policy_text(HEAD + sla + "}\n", "tricky.policy")
    assert not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    policy = lower(loaded.policy)
    at = dt.datetime(2026, 11, 30, 14, tzinfo=dt.timezone.utc)  # 09:00 in New York, a Monday
    events = [Event("T", "handed_off", at, None, 1), Event("T", "waiting", at + dt.timedelta(minutes=30), None, 2),
              Event("T", "replied", at + dt.timedelta(hours=1), None, 3), Event("U", "handed_off", at, None, 4)]
    records = {"T": {"email": TRICKY}, "U": {"email": "u@example.com"}}
    python = SlaEngine(policy, records).evaluate(events, NOW)
    sql = run_sql(policy, events, NOW, records, tmp_path)
    assert differences(python, sql) == {}
    by_lead = {c.lead: c for c in sql.clocks}
    assert by_lead["T"].tier == f'email = "{escaped}"' and by_lead["U"].tier == "otherwise"
    assert by_lead["T"].escalated_to == TRICKY and by_lead["T"].paused == dt.timedelta(minutes=30)
