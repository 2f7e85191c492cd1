"""Recipes the docs show, run as written: the dbt models of docs/warehouse.md (leads, and leads with their
events for a v2 policy), and the `check` summary docs/cli.md shows is what `leadpolicy check policies/` prints."""

from __future__ import annotations

import datetime as dt
import re
import shlex

import duckdb
import pytest

import leadpolicy
from leadpolicy.cli.main import main

from .conftest import POLICIES, ROOT

NOW = "2026-11-20T12:00:00Z"


def _dbt_recipes() -> list[list[list[str]]]:
    """Each ```sh block of the dbt recipe that writes models/scored_leads.sql, as its commands' argv."""
    text = (ROOT / "docs" / "warehouse.md").read_text()
    section = text[text.index("**dbt**"):text.index("## Which engines the tests execute")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    recipes = []
    for block in blocks:
        if "models/scored_leads.sql" not in block:
            continue
        lines = block.replace("\\\n", " ").strip().splitlines()
        recipes.append([shlex.split(line.replace('"$(date -u +%Y-%m-%dT%H:%M:%SZ)"', NOW)) for line in lines])
    return recipes


RECIPES = _dbt_recipes()


def test_the_dbt_recipe_shows_a_v2_policy_with_its_events_table():
    assert len(RECIPES) == 2
    compiled = [argv for recipe in RECIPES for argv in recipe if argv[0] == "leadpolicy"]
    assert any("--events-table" in argv and "inbound-activity.policy" in argv[2] for argv in compiled)


def _model(recipe: list[list[str]], dialect: str, tmp_path, monkeypatch, capsys) -> tuple[str, dict[str, str]]:
    """The model the recipe writes (in `dialect`), and each placeholder table name -> the ref it became."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir(exist_ok=True)
    compile_argv, sed_argv = recipe
    assert compile_argv[:2] == ["leadpolicy", "compile"] and sed_argv[:2] == ["sed", "-i"]
    argv = compile_argv[1:compile_argv.index(">")]
    argv[1] = str(ROOT / argv[1])
    argv[argv.index("--dialect") + 1] = dialect
    assert main(argv) == 0
    sql = capsys.readouterr().out
    refs = {}
    for expression in (a for a in sed_argv[2:-1] if a.startswith("s/")):
        _, pattern, replacement, _ = expression.split("/")
        if dialect in ("bigquery", "spark"):  # as the docs say: these dialects quote names with backticks
            pattern = pattern.replace('"', "`")
        assert sql.count(pattern) == 1, (pattern, dialect)  # the name the query reads, once
        sql = sql.replace(pattern, replacement)
        refs[pattern.strip('"`')] = replacement
    return sql, refs


@pytest.mark.parametrize("recipe", RECIPES, ids=["leads", "leads and events"])
def test_every_placeholder_of_the_dbt_recipe_becomes_a_ref_in_every_dialect(recipe, tmp_path, monkeypatch, capsys):
    for dialect in ("snowflake", "bigquery", "spark", "duckdb", "postgres"):
        sql, refs = _model(recipe, dialect, tmp_path, monkeypatch, capsys)
        body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
        assert not any(name in body for name in refs), dialect
        assert all(ref in body for ref in refs.values()), dialect


def test_the_v2_dbt_model_decides_leads_with_their_events_as_the_policy_does(tmp_path, monkeypatch, capsys):
    recipe = next(r for r in RECIPES if "--events-table" in r[0])
    sql, refs = _model(recipe, "duckdb", tmp_path, monkeypatch, capsys)
    for ref in refs.values():  # dbt renders a ref as the relation's name
        sql = sql.replace(ref, re.search(r'ref\("(\w+)"\)', ref).group(1))
    leads = [("A1", "ana@bigsoft.io", 1500, "software", "webinar"), ("B2", "bo@shop.fr", 20, "retail", "organic")]
    events = [("A1", "demo_request", "2026-11-10T10:00:00Z"), ("A1", "email_click", "2026-11-11T10:00:00Z"),
              ("B2", "pricing_page_view", "2026-11-12T10:00:00Z")]
    con = duckdb.connect()
    con.execute("CREATE TABLE stg_leads (email VARCHAR, employees INTEGER, industry VARCHAR, source VARCHAR, "
                "lead_id VARCHAR)")
    con.executemany("INSERT INTO stg_leads VALUES (?, ?, ?, ?, ?)", [(*lead[1:], lead[0]) for lead in leads])
    con.execute('CREATE TABLE stg_lead_events (lead VARCHAR, event VARCHAR, "at" TIMESTAMPTZ)')
    con.executemany("INSERT INTO stg_lead_events VALUES (?, ?, ?)", events)
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    found = {row["lead_id"]: (row["stage"], row["engagement"]) for row in rows}
    policy = leadpolicy.load(POLICIES / "inbound-activity.policy")
    now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    want = {}
    for lead_id, email, employees, industry, source in leads:
        decision = policy.evaluate({"email": email, "employees": employees, "industry": industry, "source": source},
                                   now, [{"event": e, "at": at} for who, e, at in events if who == lead_id])
        want[lead_id] = (decision.stage, decision.scores["engagement"])
    assert found == want
    assert want["A1"][1] > 0  # the events were read


def _tokens(lines: list[str]) -> list[list[str]]:
    return [line.split() for line in lines if line.strip()]


def test_the_check_summary_in_cli_md_is_what_check_prints_today(monkeypatch, capsys):
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## `leadpolicy check [PATHS]`"):]
    sample = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    assert main(["check", "policies/"]) == 0
    printed = capsys.readouterr().out
    assert any(line.startswith("policy ") and "approval" in line for line in sample.splitlines())
    assert _tokens(sample.splitlines()) == _tokens(printed.splitlines())
