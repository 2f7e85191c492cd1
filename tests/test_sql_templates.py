"""The one filler of fixed SQL templates (`warehouse/templates.py`, issue 26: one way to do it): names, values
and pieces go in as sqlglot nodes, whatever their text, and the filled tree means the same in every dialect."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from leadpolicy.warehouse.templates import filled, filled_select, literal

# Every character a value could use to leave its literal or be read again as a name.
HOSTILE = ["it's", "back\\slash\\", 'a "#other" inside', "line\r\nbreak\rand\nmore", "nul\x00inside",
           "' OR 1=1 --", "#other", "\\'; DROP TABLE t; --", "ü 🙂", ""]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_hostile_value_is_one_literal_read_back_equal(con, value):
    query = filled('SELECT "#value" AS value, "#other" AS other', values={"#value": value, "#other": "other's"})
    assert con.execute(query.sql("duckdb")).fetchall() == [(value, "other's")]
    assert [lit.this for lit in query.find_all(exp.Literal)] == [value, "other's"]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_hostile_value_in_a_list_is_one_item(con, value):
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.execute("INSERT INTO t VALUES (?), ('other')", [value])
    query = filled('SELECT x FROM t WHERE x IN ("#items") ORDER BY x', values={"#items": [value, "#items"]})
    assert con.execute(query.sql("duckdb")).fetchall() == [(value,)]


def test_an_empty_list_matches_nothing_and_its_negation_everything(con):
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.execute("INSERT INTO t VALUES ('a'), ('b'), (NULL)")
    empty = filled('SELECT count(*) FROM t WHERE x IN ("#items")', values={"#items": []})
    assert con.execute(empty.sql("duckdb")).fetchall() == [(0,)]
    negated = filled('SELECT count(*) FROM t WHERE NOT x IN ("#items")', values={"#items": []})
    assert con.execute(negated.sql("duckdb")).fetchall() == [(3,)]
    some = filled('SELECT count(*) FROM t WHERE x IN ("#items")', values={"#items": ["b", "c"]})
    assert con.execute(some.sql("duckdb")).fetchall() == [(1,)]


@pytest.mark.parametrize("name", ['we"ird', "dotted.name", "it's", "lp_events"])
def test_a_table_name_stays_one_identifier(con, name):
    con.execute(filled("CREATE TABLE t (x INTEGER)", tables={"t": name}).sql("duckdb"))
    con.execute(filled("INSERT INTO t VALUES (1)", tables={"t": name}).sql("duckdb"))
    query = filled("SELECT t.x, a.x FROM t JOIN t AS a ON a.x = t.x", tables={"t": name})
    assert con.execute(query.sql("duckdb")).fetchall() == [(1, 1)]
    tables = list(sqlglot.parse_one(query.sql("duckdb"), read="duckdb").find_all(exp.Table))
    assert [(table.name, table.db) for table in tables] == [(name, ""), (name, "")]


def test_a_piece_is_put_in_as_a_tree_never_read_again_for_names(con):
    con.execute("CREATE TABLE events (lead VARCHAR)")
    con.execute("INSERT INTO events VALUES ('a'), ('b')")
    lead = exp.func("upper", exp.column("lead"))
    query = filled('SELECT "#lead" AS lead, "#n" AS n FROM "#events" WHERE "#events".lead <> "#skip" ORDER BY 1',
                   values={"#skip": '"#lead"'}, pieces={"#lead": lead, "#events": exp.to_table("events"),
                                                       "#n": exp.select("count(*)").from_("events")})
    assert con.execute(query.sql("duckdb")).fetchall() == [("A", 2), ("B", 2)]


def test_a_query_put_in_for_a_table_is_a_subquery_under_the_templates_alias(con):
    rows = exp.select("1 AS one").union(exp.select("2 AS one"), distinct=False)
    query = filled_select('SELECT sum(r.one) FROM "#rows" AS r', pieces={"#rows": rows})
    assert con.execute(query.sql("duckdb")).fetchall() == [(3,)]


def test_a_template_is_filled_afresh_each_time():
    template = 'SELECT "#v" AS v'
    first = filled(template, values={"#v": 1})
    first.find(exp.Literal).replace(exp.Literal.number(99))  # a caller changing its tree changes no later one
    assert filled(template, values={"#v": 2}).sql("duckdb") == "SELECT 2 AS v"
    assert filled(template).sql("duckdb") == 'SELECT "#v" AS v'


def test_a_select_template_is_asked_of_a_select():
    with pytest.raises(TypeError, match="not a SELECT"):
        filled_select("DROP TABLE t")


def test_literals_of_every_kind():
    written = [literal(v).sql("duckdb") for v in (None, True, False, 12, -3, 10**30, "x")]
    assert written == ["NULL", "TRUE", "FALSE", "12", "-3", "1" + "0" * 30, "'x'"]


TEMPLATE = ('SELECT s.lead, "#label" AS label FROM "#events" AS s WHERE s.event IN ("#names") AND s.reason = '
            '"#reason" AND s.at_us <= "#now" AND NOT s.lead IN ("#none")')
VALUES = {"#label": "it's \\ \"#now\"\r\n", "#names": ["a'b", "c\\d", "#now"], "#reason": "\\'", "#now": -12,
          "#none": []}


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "spark"])
def test_the_same_template_means_the_same_in_every_dialect(dialect):
    query = filled(TEMPLATE, values=VALUES, pieces={"#events": exp.to_table("lp_events")})
    read_back = sqlglot.parse_one(query.sql(dialect, unsupported_level=sqlglot.ErrorLevel.RAISE), read=dialect)
    assert read_back == query
    literals = sorted(str(lit.this) for lit in read_back.find_all(exp.Literal) if lit.is_string)
    assert literals == sorted(["it's \\ \"#now\"\r\n", "a'b", "c\\d", "#now", "\\'"])
