"""Each construct's SQL in each dialect (tests/fixtures/sql/constructs.yaml), and every dialect's
full query parses back with sqlglot."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
import yaml
from sqlglot import exp

from leadpolicy.semantics import primitives
from leadpolicy.warehouse.sqlgen import compile_sql

from .conftest import FIXTURES, UPDATE_GOLDEN
from .engines import policy_from_text
from .test_primitives import nodes_in

TABLE_FILE = FIXTURES / "sql" / "constructs.yaml"
TABLE = yaml.safe_load(TABLE_FILE.read_text("utf-8"))
DIALECTS = ["duckdb", "postgres", "spark", "snowflake", "bigquery"]
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
HEAD = ('policy "c" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n  lead {{\n    t text\n    n number\n'
        '    seen timestamp\n    d date\n    f yes/no\n  }}\n  events {{\n    e\n    g\n  }}\n'
        '  score s {{\n    {rule}\n  }}\n'
        '  stages {{\n    rest otherwise owner a\n  }}\n}}\n')


def construct_sql(rule: str, dialect: str) -> tuple[str, list[str]]:
    """The SQL of score `s` of a one-rule policy, and of what it reads outside its own expression (the
    aggregate of the events table that makes its windows, a decay's join of its factors), each as the
    dialect writes it after parsing it back."""
    policy = policy_from_text(HEAD.format(rule=rule))
    text = compile_sql(policy.ir, dialect, "leads", NOW, pretty=False, events_table="events")
    tree = sqlglot.parse_one(text, read=dialect)
    [score] = [a for a in tree.find_all(exp.Alias) if a.alias.upper() == "S"]
    windows = [s for s in tree.find_all(exp.Subquery) if s.alias.upper() == "LPA"]
    factors = [j for j in tree.find_all(exp.Join) if j.this not in windows]  # BigQuery's is an UNNEST
    return score.this.sql(dialect), [part.sql(dialect) for part in [*(w.this for w in windows), *factors]]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("row", TABLE, ids=[r["construct"] for r in TABLE])
def test_construct_sql_per_dialect(row, dialect):
    got, reads = construct_sql(row["rule"], dialect)
    if UPDATE_GOLDEN:
        row["sql"][dialect] = got
        if reads:
            row.setdefault("reads", {})[dialect] = reads
        header = "".join(line + "\n" for line in TABLE_FILE.read_text("utf-8").splitlines() if line.startswith("#"))
        TABLE_FILE.write_text(header + yaml.safe_dump(TABLE, sort_keys=False, allow_unicode=True, width=200), "utf-8")
    assert got == row["sql"][dialect]
    assert reads == row.get("reads", {}).get(dialect, [])


def test_the_table_has_a_row_for_every_primitive():
    """Every node of the table of primitives (and its activity windows) is in some row's policy, as lowering
    makes it: a node no row uses could write wrong SQL for Snowflake or BigQuery and nothing would say so."""
    used: set[type] = set()
    for row in TABLE:
        nodes_in(policy_from_text(HEAD.format(rule=row["rule"])).ir, used)
    required = set(primitives.TABLE) | set(primitives.WINDOWS.nodes)
    missing = sorted(node.__name__ for node in required - used)
    assert not missing, f"no row of {TABLE_FILE.name} uses {missing}"


# Names a user may give for --table/--events-table (and columns): each must end up one quoted identifier.
HOSTILE_NAMES = ['crm.events"x', "crm.x; DROP TABLE canary; --", "crm.a`b'c\\d */ e", "cat.crm.t]--", "leads\\"]
ACTIVITY = "policies/inbound-activity.policy"
B2B = "policies/inbound-b2b.policy"


def _compiled(capsys, argv: list[str]) -> str:
    from leadpolicy.cli.main import main

    from .conftest import ROOT

    argv = [str(ROOT / argv[0]) if argv[0].endswith(".policy") else argv[0], *argv[1:]]
    assert main(["compile", *argv, "--target", "sql", "--now", "2026-11-20T12:00:00Z"]) == 0
    return capsys.readouterr().out


def _compile_commands(name: str, dialect: str) -> list[tuple[list[str], str]]:
    """(compile arguments, the flag that carries `name`): the decisions' and an SLA's query, each table."""
    sla = [ACTIVITY, "--sla", "speed_to_lead", "--dialect", dialect, "--since", "2026-11-15"]
    return [([B2B, "--dialect", dialect, "--table", name], "--table"),
            ([ACTIVITY, "--dialect", dialect, "--events-table", name], "--events-table"),
            ([*sla, "--events-table", name], "--events-table"),
            ([*sla, "--events-table", "ev", "--table", name], "--table")]


def _parts(name: str, dialect: str) -> list[str]:
    return [p.upper() if dialect == "snowflake" else p for p in name.split(".")]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_table_name_is_one_quoted_identifier_in_one_statement(capsys, dialect, name):
    for argv, flag in _compile_commands(name, dialect):
        text = _compiled(capsys, argv)
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
        assert len(statements) == 1 and isinstance(statements[0], exp.Select), (flag, text[:600])
        tree = statements[0]
        assert not list(tree.find_all(exp.Drop, exp.Command)), flag
        parts = _parts(name, dialect)
        tables = [t for t in tree.find_all(exp.Table) if [p.name for p in t.parts] == parts]
        assert tables and all(p.quoted for t in tables for p in t.parts), (flag, [t.sql(dialect) for t in tables])
        # The name is nowhere else: no identifier made of a piece of it, no text literal holding it.
        pieces = {i for i in tree.find_all(exp.Identifier) if i.name in parts or name in i.name}
        assert pieces == {p for t in tables for p in t.parts}, (flag, pieces)
        assert not [s for s in tree.find_all(exp.Literal) if s.is_string and parts[-1] in s.name], flag


UNUSABLE = ["crm.leads\nDROP TABLE canary;\n", "crm.leads\rDROP", "a\x00b", "a\u2028b", "a\u200bb", "", " "]
UNUSABLE_TABLES = ["crm..leads", "a.b.c.d", "crm.", ".leads"]  # a column's name may hold dots
UNUSABLE_ARGS = [(flag, name) for flag in ("--table", "--events-table", "--id-column", "--order-column")
                 for name in UNUSABLE + (UNUSABLE_TABLES if flag.endswith("table") else [])]


@pytest.mark.parametrize("flag, name", UNUSABLE_ARGS)
def test_a_name_that_cannot_be_one_identifier_is_bad_usage(capsys, flag, name):
    from leadpolicy.cli.main import main

    from .conftest import ROOT

    argv = [str(ROOT / ACTIVITY), "--target", "sql", "--sla", "speed_to_lead", "--events-table", "ev", flag, name]
    assert main(["compile", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and flag in captured.err and "Traceback" not in captured.err, captured.err


def test_hostile_names_run_on_duckdb_and_drop_nothing(capsys):
    import duckdb

    events, leads = "crm.events\"x; DROP TABLE canary; --", "crm.it's; DROP TABLE canary; --"
    con = duckdb.connect()
    con.execute("CREATE SCHEMA crm; CREATE TABLE canary (n INTEGER); INSERT INTO canary VALUES (1)")
    con.execute('CREATE TABLE crm."events""x; DROP TABLE canary; --" (lead VARCHAR, event VARCHAR, "at" '
                'TIMESTAMPTZ, reason VARCHAR)')
    con.execute("INSERT INTO crm.\"events\"\"x; DROP TABLE canary; --\" VALUES "
                "('L1', 'became_sql', TIMESTAMPTZ '2026-11-19 15:00:00+00', ''), "
                "('L1', 'first_touch', TIMESTAMPTZ '2026-11-19 15:30:00+00', '')")
    con.execute('CREATE TABLE crm."it\'s; DROP TABLE canary; --" AS SELECT \'L1\' AS id, \'a@b.com\' AS email, '
                '5000 AS employees, \'software\' AS industry, \'webinar\' AS source')
    text = _compiled(capsys, [ACTIVITY, "--sla", "speed_to_lead", "--events-table", events, "--table", leads,
                              "--since", "2026-11-15"])
    clocks = con.execute(text).fetchall()
    assert len(clocks) == 1  # L1's one clock, read from the hostile tables
    con.execute('CREATE TABLE crm."leads; DROP TABLE canary; --" AS SELECT \'a@b.com\' AS email, 5 AS employees, '
                "'software' AS industry, 'VP' AS job_title, 'US' AS country, 'webinar' AS source, 1 AS email_clicks, "
                "0 AS pricing_page_views, false AS demo_requested, TIMESTAMPTZ '2026-11-01 00:00:00+00' "
                "AS last_activity")
    assert len(con.execute(_compiled(capsys, [B2B, "--table", "crm.leads; DROP TABLE canary; --"])).fetchall()) == 1
    assert con.execute("SELECT n FROM canary").fetchall() == [(1,)]


def _sla_queries() -> list[tuple[str, str]]:
    """(policy path, SLA name) of every SLA of the reference policies that compiles to a query."""
    from leadpolicy.semantics.loading import load_policy
    from leadpolicy.semantics.lowering import lower

    from .conftest import POLICIES

    found = []
    for path in sorted(POLICIES.glob("*.policy")):
        policy = load_policy(path).policy
        assert policy is not None
        found += [(str(path), s.name) for s in lower(policy).slas if s.clock is not None or s.counts]
    assert len(found) >= 4, found
    return found


SLA_QUERIES = _sla_queries()


def _tables_read(sql: str, dialect: str) -> tuple[set[str], list[tuple[str, ...]]]:
    """The CTE names a query defines and the tables it reads (as their parts), each name as the dialect
    resolves it (unquoted names folded to its case)."""
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    tree = normalize_identifiers(sqlglot.parse_one(sql, read=dialect), dialect=dialect)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    read = [tuple(part.name for part in t.parts) for t in tree.find_all(exp.Table) if not isinstance(t.this, exp.Func)]
    return ctes, read


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("policy, sla", SLA_QUERIES, ids=[f"{p.rsplit('/', 1)[-1]}:{s}" for p, s in SLA_QUERIES])
def test_every_table_an_sla_query_reads_is_one_of_its_ctes_or_a_given_table(capsys, dialect, policy, sla):
    sql = _compiled(capsys, [policy, "--sla", sla, "--dialect", dialect, "--since", "2026-11-15",
                             "--table", "crm.leads", "--events-table", "events"])
    ctes, read = _tables_read(sql, dialect)
    given = set(_tables_read("SELECT * FROM crm.leads, events", dialect)[1])
    assert ("events",) in {tuple(p.lower() for p in parts) for parts in read}
    for parts in read:
        assert parts in given or (len(parts) == 1 and parts[0] in ctes), (parts, sorted(ctes), sorted(given))
