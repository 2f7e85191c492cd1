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
        from leadpolicy.sqlgen import UnsupportedError, compile_sql

        with pytest.raises(UnsupportedError):
            compile_sql(policy.ir, "duckdb" if engine.startswith("duckdb") else engine, "leads",
                        dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc))
        return
    now = policy._now(case.get("now", DEFAULT_NOW))
    servers = {name: request.getfixturevalue(name) if engine == name else None for name in ("spark", "postgres")}
    leads = [item["lead"] for item in case["leads"]]
    got = decide(engine, policy, leads, now, folder=tmp_path, **servers)
    for item, decision in zip(case["leads"], got):
        assert {k: decision[k] for k in item["expect"]} == item["expect"], (case["name"], item["lead"])
