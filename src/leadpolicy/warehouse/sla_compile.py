"""`compile --target sql --sla NAME`: one SLA's clocks (or counts) as one self-contained query in any
dialect, for warehouses that hold the event log.

The query reads the events table (lead, event, at, reason) and, for tiers, the leads table; it makes the
calendar tables itself (`sla_calendar`), covering `since` to past every deadline of a clock started by
`now`, so its size does not grow with the days it covers. Events are read as `leadpolicy sla` reads a
file: only the SLA's events, at or before `now`, none without a lead id (NULL or blank), a repeated
(lead, event, at, reason) counted once (`semantics.events.Repeats`); events at one instant are taken in
the order of `order_column` if given (a file's row order), else by event name and reason. Only clocks
starting on or after `since` are reported. Times are epoch microseconds (UTC).
"""

from __future__ import annotations

import datetime as dt

import sqlglot
from sqlglot import exp

from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.sql import at_or_before_now_sql, event_lead_sql
from leadpolicy.sla.calendar_tables import to_us
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.warehouse.sla_calendar import calendar_ctes
from leadpolicy.warehouse.sla_run import calendar_plan
from leadpolicy.warehouse.sla_sql import SlaSql, SlaSqlError, Tables
from leadpolicy.warehouse.sqlgen import (
    DIALECT_ADAPTERS,
    DIALECTS,
    BadName,
    check_name,
    epoch_us_sql,
    fold_sql,
    table_sql,
)
from leadpolicy.warehouse.templates import literal

# How far back --since may reach: the query makes a row per day of its calendar tables (and a few per open
# day), which five years keep small for any warehouse.
MAX_SINCE_DAYS = 5 * 366


def since_problem(policy: ir.Policy, now: dt.datetime, since: dt.date | None) -> str | None:
    """Why `since` cannot be used with `now` (bad usage), or None: it must be on or before now's
    date in the policy's zone, and at most MAX_SINCE_DAYS days before it."""
    if since is None:
        return None
    today = now.astimezone(SlaEngine(policy).tz).date()
    earliest = today - dt.timedelta(days=MAX_SINCE_DAYS)
    if not earliest <= since <= today:
        return (f"--since {since.isoformat()} is outside {earliest.isoformat()} to {today.isoformat()}: "
                f"from at most {MAX_SINCE_DAYS} days before --now ({now.isoformat()}) up to it")
    return None


TABLES = Tables(events="lp_sla_events", segments="lp_segments", open_days="lp_open_days")


def _events(policy: ir.Policy, dialect: str, table: str, now: dt.datetime,
            order_column: str | None) -> exp.Expr:
    names = sorted(SlaEngine(policy).event_names())
    source = table_sql(table, "events table")
    at_us = epoch_us_sql(exp.column("at"), dialect)
    lead = event_lead_sql(exp.column("lead"))
    ties = [exp.column(order_column, quoted=True)] if order_column else [exp.column("event"), exp.column("reason")]
    numbered = exp.select(
        exp.alias_(exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[at_us.copy(), *ties])), "seq"),
        exp.alias_(lead, "lead"), exp.column("event"), exp.alias_(exp.cast(at_us, "BIGINT"), "at_us"),
        exp.alias_(exp.Nullif(this=exp.column("reason"), expression=exp.Literal.string("")), "reason"),
    ).from_(source).where(exp.and_(exp.In(this=exp.column("event"), expressions=[literal(n) for n in names]),
                                   exp.NEQ(this=lead.copy(), expression=exp.Literal.string("")),
                                   exp.Not(this=exp.Is(this=exp.column("at"), expression=exp.Null()))))
    folded = fold_sql(exp.Coalesce(this=exp.column("reason"), expressions=[exp.Literal.string("")]), dialect)
    first = exp.Window(this=exp.RowNumber(), partition_by=[exp.column("lead"), exp.column("event"),
                                                           exp.column("at_us"), folded],
                       order=exp.Order(expressions=[exp.column("seq")]))
    once = exp.select("seq", "lead", "event", "at_us", "reason", exp.alias_(first, "lp_copy")).from_(
        numbered.subquery("lp_numbered"))
    return exp.select("seq", "lead", "event", "at_us", "reason").from_(once.subquery("lp_once")).where(
        exp.and_(exp.EQ(this=exp.column("lp_copy"), expression=exp.Literal.number(1)),
                 at_or_before_now_sql(exp.column("at_us"), exp.Literal.number(to_us(now)))))


def _computed_once(ctes: list[tuple[str, exp.Expr]], dialect: str) -> list[tuple[str, exp.Expr]]:
    """The calendar CTEs, those the query reads many times computed once on Spark. Spark writes a CTE into
    each place that reads it unless the CTE is non-deterministic, and the clocks read the segments a dozen
    times or more: a filter that always holds but is not deterministic (`rand() >= 0`) keeps them one
    plan, run once (as VALUES they were cheap to copy; made by a query, each copy is a plan of joins)."""
    if dialect != "spark":
        return ctes
    once = exp.GTE(this=exp.Rand(), expression=exp.Literal.number(0))
    return [(name, exp.select("*").from_(exp.Subquery(this=cte, alias=exp.TableAlias(this=exp.to_identifier(
                "lp_once")))).where(once.copy())
             if name in (TABLES.segments, TABLES.open_days) else cte) for name, cte in ctes]


def _prefixed(tree: exp.Expr, prefix: str) -> exp.Expr:
    """The query with its CTEs renamed: Spark refuses a CTE name used again inside another CTE. A reference
    is matched whatever its case or quotes (a piece built for Snowflake names `"LP_CLOCK_LEADS"`) and
    written as the renamed CTE is, unquoted, so it resolves in every dialect."""
    names = {cte.alias.lower(): cte.alias for cte in tree.find_all(exp.CTE)}

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CTE):
            node.set("alias", exp.TableAlias(this=exp.to_identifier(prefix + node.alias)))
        elif isinstance(node, exp.Table) and not node.args.get("db") and node.name.lower() in names:
            node.set("this", exp.to_identifier(prefix + names[node.name.lower()]))
        return node

    return tree.transform(rename)


def _hoisted(tree: exp.Expr, name: str) -> list[tuple[str, exp.Expr]]:
    """The query's own CTEs, then the query without them as `name`: every CTE at the top, for Spark's analyzer
    copies the query's calendar CTEs into a WITH nested in a CTE wherever it reads them (it ran out of memory)."""
    with_ = tree.args.get("with")
    if with_ is None:
        return [(name, tree)]
    tree = tree.copy()
    tree.set("with", None)
    return [*((cte.alias, cte.this) for cte in with_.expressions), (name, tree)]


def _refuse_captured_tables(query: exp.Query, tables: dict[str, str | None]) -> None:
    """Raise BadName for a table given without its schema whose name is one of the query's top CTEs (whatever
    the case: engines fold or compare names without it), which the tables are read beside: the CTE would be
    read in its place. (CTEs nested inside a CTE are seen only there, where no given table is read.)"""
    ctes = {cte.alias_or_name.lower() for cte in query.ctes}
    for flag, name in tables.items():
        if name is not None and "." not in name and name.lower() in ctes:
            raise BadName(f"{flag}: {name!r} is also the name of a table the query makes for itself, which would be "
                          f"read in its place; give it with its schema (SCHEMA.{name})")


class SlaChoiceError(SlaSqlError):
    """`--sla` names no SLA of the policy, or one with no query (a volume): bad usage of the flag."""


def _check_usage(dialect: str, id_column: str, order_column: str | None) -> None:
    if dialect not in DIALECTS:
        raise SlaSqlError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    for column, what in ((id_column, "id column"), (order_column, "order column")):
        if column is not None:
            check_name(column, what)


def _chosen(policy: ir.Policy, name: str) -> ir.Sla:
    """The SLA `--sla` names, which must have a query of its own (a clock or counts)."""
    sla = next((s for s in policy.slas if s.name == name), None)
    compiled = sorted(s.name for s in policy.slas if s.clock is not None or s.counts)
    if sla is None:
        from leadpolicy.language.diagnostics import did_you_mean

        hint = did_you_mean(name, [s.name for s in policy.slas])
        raise SlaChoiceError(f"--sla: no sla {name!r} in policy {policy.id} ("
                             + (f"{hint}; " if hint else "") + f"its SLAs with a query: {', '.join(compiled)})")
    if sla.clock is None and not sla.counts:
        raise SlaChoiceError(f"--sla: sla {name} counts per period (a volume), which has no query of its own: "
                             f"`leadpolicy sla` reports it (the SLAs with a query: {', '.join(compiled)})")
    return sla


def _tier_inputs(policy: ir.Policy, sla: ir.Sla, now: dt.datetime, dialect: str, leads_table: str,
                 id_column: str) -> list[tuple[str, exp.Expr]]:
    """The CTEs that give each clock its tier (`lp_tiers`): the leads, and the tier query's own CTEs."""
    leads = exp.select(exp.Star(), exp.alias_(exp.cast(exp.column(id_column, quoted=True), "VARCHAR"), "#id",
                                              quoted=True)).from_(table_sql(leads_table))
    tier_tree = SlaSql(policy, sla, now, TABLES).tiers_tree("lp_leads", dialect)
    return [("lp_leads", leads), *_hoisted(_prefixed(tier_tree, "lp_tier_"), "lp_tiers")]


def _header(policy: ir.Policy, sla: ir.Sla, now: dt.datetime, since: dt.date, events_table: str,
            leads_table: str, id_column: str) -> str:
    return (f"-- Generated by leadpolicy from policy {policy.id} version {policy.version} ({policy.fingerprint}).\n"
            f"-- SLA {sla.name} at {now.isoformat()}, clocks starting on or after {since.isoformat()}; "
            "times are epoch microseconds (UTC).\n"
            f"-- Reads {events_table} (lead, event, at, reason)"
            + (f" and {leads_table} (its {id_column} is the lead)" if sla.tiers else "")
            + ". Do not edit: recompile the policy.\n")


def compile_sla(policy: ir.Policy, name: str, dialect: str, now: dt.datetime, events_table: str,
                leads_table: str = "leads", id_column: str = "id", since: dt.date | None = None,
                order_column: str | None = None) -> str:
    """The query of one SLA's clocks (columns `sla_sql.CLOCK_COLUMNS`) or counts (`COUNT_COLUMNS`)."""
    _check_usage(dialect, id_column, order_column)
    sla = _chosen(policy, name)
    problem = since_problem(policy, now, since)
    if problem is not None:
        raise SlaSqlError(problem)
    since = since or (now.astimezone(SlaEngine(policy).tz).date() - dt.timedelta(days=365))
    first = dt.datetime.combine(since, dt.time(0), tzinfo=SlaEngine(policy).tz)
    inputs: list[tuple[str, exp.Expr]] = [
        ("lp_sla_events", _events(policy, dialect, events_table, now, order_column)),
        *_computed_once(calendar_ctes(calendar_plan(policy, first, now, only=sla)), dialect),
    ]
    tables = TABLES
    if sla.tiers:
        inputs += _tier_inputs(policy, sla, now, dialect, leads_table, id_column)
        tables = Tables(events=TABLES.events, segments=TABLES.segments, open_days=TABLES.open_days, tiers="lp_tiers")
    sql = SlaSql(policy, sla, now, tables)
    inputs.append(("lp_result", sql.clocks() if sla.clock is not None else sql.counts()))
    select = exp.select("*").from_("lp_result").where(
        exp.GTE(this=exp.column("start_us"), expression=exp.Literal.number(to_us(first))))
    for cte_name, cte in inputs:
        select = select.with_(cte_name, as_=cte)
    _refuse_captured_tables(select, {"--events-table": events_table, "--table": leads_table if sla.tiers else None})
    query: exp.Expr = select
    for adapt in DIALECT_ADAPTERS.get(dialect, ()):
        query = query.transform(adapt)
    return (_header(policy, sla, now, since, events_table, leads_table, id_column)
            + query.sql(dialect=dialect, pretty=True, unsupported_level=sqlglot.ErrorLevel.RAISE) + "\n")
