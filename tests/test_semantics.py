"""One table of semantic cases (tests/semantics/cases.yaml) on every engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from .engines import ENGINES, decide, policy_from_text

CASES = yaml.safe_load((Path(__file__).parent / "semantics" / "cases.yaml").read_text("utf-8"))
DEFAULT_STAGES = "stages {\n  hot when s >= 1 owner b\n  rest otherwise owner a\n}\n"
DEFAULT_NOW = "2026-11-20T12:00:00Z"


def policy_text(case: dict) -> str:
    fields = "\n".join(f"    {line.strip()}" for line in case["fields"].strip().splitlines())
    body = case.get("body", "") + case.get("stages", DEFAULT_STAGES)
    zone = f'  timezone "{case["timezone"]}"\n' if "timezone" in case else ""
    return (f'policy "case" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n{zone}  lead {{\n{fields}\n  }}\n'
            + "".join(f"  {line}\n" for line in body.splitlines()) + "}\n")


def test_the_table_is_well_formed():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)) and len(CASES) >= 20
    for case in CASES:
        assert set(case) <= {"name", "fields", "body", "stages", "timezone", "now", "leads", "unsupported"}, case
        assert case["leads"] and all(set(lead) == {"lead", "expect"} for lead in case["leads"]), case["name"]
        assert set(case.get("unsupported", {})) <= set(ENGINES), case["name"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c["name"][:60] for c in CASES])
def test_case_on_engine(case, engine, request, tmp_path):
    policy = policy_from_text(policy_text(case))
    if engine in case.get("unsupported", {}):
        # An unsupported case must be refused loudly by that engine, never answered wrongly.
        from leadpolicy.warehouse.sqlgen import UnsupportedError, compile_sql

        with pytest.raises(UnsupportedError):
            compile_sql(policy.ir, "duckdb" if engine.startswith("duckdb") else engine, "leads",
                        dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
        return
    now = policy.instant(case.get("now", DEFAULT_NOW))
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}
    leads = [item["lead"] for item in case["leads"]]
    got = decide(engine, policy, leads, now, folder=tmp_path, **servers)
    for item, decision in zip(case["leads"], got):
        assert {k: decision[k] for k in item["expect"]} == item["expect"], (case["name"], item["lead"])


# ---------------------------------------------------------------- activity events on every engine

ACTIVITY = yaml.safe_load((Path(__file__).parent / "semantics" / "activity.yaml").read_text("utf-8"))
# and `leadpolicy score --events --engine python`, whose event files are read as the DuckDB batch reads them
EVENT_ENGINES = [*ENGINES, "python-batch"]


@pytest.mark.parametrize("engine", EVENT_ENGINES)
@pytest.mark.parametrize("case", ACTIVITY, ids=[c["name"][:60] for c in ACTIVITY])
def test_activity_case_on_engine(case, engine, request, tmp_path):
    policy = policy_from_text(policy_text(case))
    now = policy.instant(case.get("now", DEFAULT_NOW))
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}
    got = decide(engine, policy, [i["lead"] for i in case["leads"]], now, folder=tmp_path,
                 events=[i["events"] for i in case["leads"]], **servers)
    for item, decision in zip(case["leads"], got):
        assert {k: decision[k] for k in item["expect"]} == item["expect"], (case["name"], item)


@pytest.mark.parametrize("engine", EVENT_ENGINES)
def test_v2_reference_lead_cases_on_engine(engine, request, tmp_path):
    """Every lead case of the v2 reference as agreed, on every engine (the harness runs the interpreter)."""
    from leadpolicy.testing.harness import load_samples

    from .conftest import REFERENCE_COPY

    policy = __import__("leadpolicy").load(REFERENCE_COPY / "inbound-activity.policy")
    doc, _ = load_samples(REFERENCE_COPY / "inbound-activity.samples.yaml")
    cases = [c for c in doc.data["leads"] if "invalid" not in c["expect"]]
    plain = lambda v: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v  # noqa: E731
    leads = [{k: plain(v) for k, v in c["lead"].items()} for c in cases]
    events = [[{"event": e["event"], "at": plain(e["at"])} for e in c.get("events", [])] for c in cases]
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}
    got = decide(engine, policy, leads, policy.instant(doc.data["now"]), folder=tmp_path, events=events, **servers)
    assert len(cases) == 7
    for case, decision in zip(cases, got):
        want = {k: v for k, v in case["expect"].items() if k != "fired"}
        assert {k: decision[k] for k in want} == want, case["name"]


# ---------------------------------------------------------------- generated leads on every engine

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from .conftest import POLICIES  # noqa: E402
from .strategies import NOWS, event_logs, valid_leads  # noqa: E402

REFERENCE_POLICIES = {name: __import__("leadpolicy").load(POLICIES / f"{name}.policy")
                      for name in ("inbound-b2b", "product-led")}
EXAMPLES = {"duckdb": 40, "duckdb-batch": 15, "postgres": 25, "spark": 4, "interpreter": 40}


@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "python"])
def test_generated_leads_decide_the_same_on_every_engine(engine, request, tmp_path_factory):
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}

    @settings(max_examples=EXAMPLES[engine], deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(st.data())
    def agree(data):
        policy = REFERENCE_POLICIES[data.draw(st.sampled_from(sorted(REFERENCE_POLICIES)))]
        leads = data.draw(st.lists(valid_leads(policy), min_size=1, max_size=30))
        now = data.draw(NOWS)
        got = decide(engine, policy, leads, now, folder=tmp_path_factory.mktemp("leads"), **servers)
        assert got == decide("python", policy, leads, now)

    agree()


# ---------------------------------------------------------------- generated leads with generated event logs

ACTIVITY_MIX = policy_from_text('''policy "activity-mix" version 1.0.0 {
  owner marketing "M"
  owner sales "S"
  timezone "America/New_York"
  lead {
    email text
    employees number
  }
  events {
    visit
    click
    demo
  }
  score heat {
    +3 per visit in last 7 days up to 12
    +2 per click in last 30 days up to 10
    +25 when demo in last 14 days
    -5 when days since last click >= 45
    +1 when count visit in last 1 days >= 2
    decay 20% every 7 days since last visit
  }
  score total {
    +1 per heat up to 50
    +10 when employees >= 100
  }
  stages {
    hot when heat >= 20 or count demo in last 3 days > 0 owner sales
    warm when days since last visit < 10 owner marketing
    cold otherwise owner marketing
  }
}
''')
EVENT_POLICIES = {"inbound-activity": __import__("leadpolicy").load(POLICIES / "inbound-activity.policy"),
                  "activity-mix": ACTIVITY_MIX}
EVENT_EXAMPLES = {"duckdb": 40, "duckdb-batch": 12, "python-batch": 12, "postgres": 25, "spark": 4,
                  "interpreter": 40}


@pytest.mark.parametrize("engine", [e for e in EVENT_ENGINES if e != "python"])
def test_generated_leads_with_event_logs_decide_the_same_on_every_engine(engine, request, tmp_path_factory):
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}

    @settings(max_examples=EVENT_EXAMPLES[engine], deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(st.data())
    def agree(data):
        policy = EVENT_POLICIES[data.draw(st.sampled_from(sorted(EVENT_POLICIES)))]
        now = data.draw(NOWS)
        leads = data.draw(st.lists(valid_leads(policy), min_size=1, max_size=20))
        events = [data.draw(event_logs(policy, now)) for _ in leads]
        got = decide(engine, policy, leads, now, folder=tmp_path_factory.mktemp("leads"), events=events, **servers)
        assert got == decide("python", policy, leads, now, events=events)

    agree()
