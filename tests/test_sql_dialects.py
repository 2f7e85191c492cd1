"""Each construct's SQL in each dialect (tests/fixtures/sql/constructs.yaml), and every dialect's
full query parses back with sqlglot."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
import yaml
from sqlglot import exp

from leadpolicy.warehouse.sqlgen import compile_sql

from .conftest import FIXTURES, UPDATE_GOLDEN
from .engines import policy_from_text

TABLE_FILE = FIXTURES / "sql" / "constructs.yaml"
TABLE = yaml.safe_load(TABLE_FILE.read_text("utf-8"))
DIALECTS = ["duckdb", "postgres", "spark", "snowflake", "bigquery"]
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
HEAD = ('policy "c" version 1.0.0 {{\n  owner a "A"\n  owner b "B"\n  lead {{\n    t text\n    n number\n'
        '    seen timestamp\n    d date\n    f yes/no\n  }}\n  score s {{\n    {rule}\n  }}\n'
        '  stages {{\n    rest otherwise owner a\n  }}\n}}\n')


def score_sql(rule: str, dialect: str) -> str:
    """The SQL of score `s` of a one-rule policy, as the dialect writes it after parsing it back."""
    policy = policy_from_text(HEAD.format(rule=rule))
    tree = sqlglot.parse_one(compile_sql(policy.ir, dialect, "leads", NOW, pretty=False), read=dialect)
    [score] = [a for a in tree.find_all(exp.Alias) if a.alias.upper() == "S"]
    return score.this.sql(dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("row", TABLE, ids=[r["construct"] for r in TABLE])
def test_construct_sql_per_dialect(row, dialect):
    got = score_sql(row["rule"], dialect)
    if UPDATE_GOLDEN:
        row["sql"][dialect] = got
        header = "".join(line + "\n" for line in TABLE_FILE.read_text("utf-8").splitlines() if line.startswith("#"))
        TABLE_FILE.write_text(header + yaml.safe_dump(TABLE, sort_keys=False, allow_unicode=True, width=200), "utf-8")
    assert got == row["sql"][dialect]


def test_the_table_covers_every_condition_and_rule_kind():
    rules = " ".join(r["rule"] for r in TABLE)
    for word in ("=", "ends with", "starts with", "contains", "not in", "is missing", "between", "days since",
                 " per "):
        assert word in rules, word
