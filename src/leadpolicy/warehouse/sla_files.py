"""Event logs and lead files staged for the SQL SLA engine, each bad row rejected as the reference reader
(`sla.events.EventReader`) rejects it: same reasons, one per row, so read = used + rejected.

The checked events become table `lp_sla_events` (seq, lead, event, at_us, reason) and the leads table
`lp_leads` (the typed fields and `#id`, the id as trimmed text; for an id given twice, its last row, as
the reference keeps the last record).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics.events import event_fields, problem_words
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.runtime import as_instant
from leadpolicy.sla.calendar_tables import to_us
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.sla.engine import tier_fallbacks as engine_tier_fallbacks
from leadpolicy.sla.events import EventFileError, ReadStats, Reject
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import convert_fields, problem, trimmed
from leadpolicy.warehouse.event_files import lead_id, lead_id_column
from leadpolicy.warehouse.sla_run import CLOCKS, EVENTS, insert_rows
from leadpolicy.warehouse.sla_sql import fill, literal
from leadpolicy.warehouse.sqlgen import fold_sql

ROW = staging.ROW
LEADS = "lp_leads"
FIELD_ORDER = ("lead", "event", "at")

@dataclass
class LeadsRead:
    """A leads file's rows read and rejected (row, field, problem)."""

    rejects: list[dict] = field(default_factory=list)
    read: int = 0


def _q(name: str) -> str:
    return staging.quoted(name)


def stage_events(con, policy: IrPolicy, path: Path, fmt: str, now: dt.datetime) -> tuple[ReadStats, list[Reject]]:
    """Table `lp_sla_events` of the file's good rows at or before `now`; the counts and the rejects."""
    now = as_instant(now)
    engine = SlaEngine(policy)
    known = sorted(engine.event_names())
    try:
        staged = staging.stage(con, path, fmt, table="se_raw")
    except staging.DataFileError as exc:
        raise EventFileError(str(exc)) from None
    stats, rejects = ReadStats(), []
    for p in staged.problems:
        rejects.append(Reject(p["row"], p["field"], p["problem"], {"raw": p["raw"]}))
    position: dict[str, int] = {}
    for i, name in enumerate(staged.columns):
        position.setdefault(name, i)
    (rows,) = con.execute("SELECT count(*) FROM se_raw").fetchone() or (0,)
    stats.read = rows + len(staged.problems)
    missing = [c for c in FIELD_ORDER if c not in position]
    if missing and not rows and not staged.problems:
        missing = []  # JSON Lines without a line: no events, not a file without its columns
        empty = True
    else:
        empty = False
    if missing:
        hint = "; ".join(f"{c}: {did_you_mean(c, staged.columns) or 'no such column'}" for c in missing)
        raise EventFileError(f"{path}: lacks column{'s' if len(missing) > 1 else ''} {', '.join(missing)} ({hint}); "
                             "an event log has lead, event, at and reason")
    con.execute(f"CREATE OR REPLACE TABLE {EVENTS} (seq BIGINT, lead VARCHAR, event VARCHAR, at_us BIGINT, "
                "reason VARCHAR)")
    if empty:
        stats.rejected = len(rejects)
        return stats, rejects
    texts = {name: _q(staging.text_column(position[name])) for name in (*FIELD_ORDER, "reason") if name in position}
    stats.events = {name for (name,) in con.execute(f'SELECT DISTINCT {texts["event"]} FROM se_raw').fetchall()}
    fields = event_fields(known)
    keep = [staging.text_column(position[name]) for name in (*FIELD_ORDER, "reason") if name in position]
    conversion = convert_fields(con, fields, {c: position[c] for c in FIELD_ORDER}, keep, staged.column_types,
                                source_table="se_raw", prefix="se_", find_bad=False, json_types=False,
                                exact_choices=True)  # event names as written, as the Python reader reads them
    values = f'{texts["lead"]} AS lead, {texts["event"]} AS event, {texts["at"]} AS at, ' + (
        f'{texts["reason"]} AS reason' if "reason" in texts else "CAST(NULL AS VARCHAR) AS reason")
    (bad,) = con.execute('SELECT count(*) FROM se_converted WHERE "#bad"').fetchone() or (0,)
    if bad:
        conversion.find_bad(con)
        first = con.execute(
            f"SELECT b.{ROW}, b.field, b.code, b.value, r.* EXCLUDE ({ROW}) FROM (SELECT *, ROW_NUMBER() OVER "
            f"(PARTITION BY {ROW} ORDER BY CASE field WHEN 'lead' THEN 0 WHEN 'event' THEN 1 ELSE 2 END) AS n "
            f"FROM se_bad) AS b JOIN (SELECT {ROW}, {values} FROM se_raw) AS r ON r.{ROW} = b.{ROW} WHERE n = 1"
        ).fetchall()
        for row, name, code, value, *texts_of in first:
            given = dict(zip(("lead", "event", "at", "reason"), texts_of))
            rejects.append(Reject(int(row), name, problem_words(name, code, value, known), given))
    # The good rows: those after now, repeated ones and stops of no clock are rejected in turn.
    lead = trimmed(exp.column("lead", quoted=True)).sql("duckdb")
    reason = fold_sql(exp.func("COALESCE", exp.column("reason", quoted=True), exp.Literal.string("")),
                      "duckdb").sql("duckdb")
    keep_reason = texts.get("reason", "CAST(NULL AS VARCHAR)")
    con.execute(f'CREATE TABLE se_good AS SELECT {ROW} AS seq, {lead} AS lead, "event", epoch_us("at") AS at_us, '
                f"NULLIF({keep_reason}, '') AS reason, {texts['at']} AS at_text, {texts['lead']} AS lead_text "
                "FROM se_typed")  # the lead and the time as written, for rejects
    now_us = to_us(now)
    (stats.after_now,) = con.execute(f"SELECT count(*) FROM se_good WHERE at_us > {now_us}").fetchone() or (0,)
    # Repeats are rare: find the repeated keys with one aggregation, and only then the rows.
    con.execute("CREATE TABLE se_dropped (seq BIGINT)")
    key = f"lead, event, at_us, {reason}"
    (repeated,) = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM se_good WHERE at_us <= {now_us} GROUP BY {key} "
                              "HAVING count(*) > 1)").fetchone() or (0,)
    if repeated:
        found = con.execute(
            f"SELECT seq, lead_text, event, at_text, reason, first_seq FROM (SELECT *, MIN(seq) OVER "
            f"(PARTITION BY {key}) AS first_seq FROM se_good WHERE at_us <= {now_us}) "
            "WHERE seq <> first_seq").fetchall()
        for seq, lead_id_, event, at, why, first_seq in found:
            rejects.append(Reject(int(seq), "", f"duplicate of row {first_seq}",
                                  {"lead": lead_id_, "event": event, "at": at, "reason": why}))
        insert_rows(con, "se_dropped", [(int(row[0]),) for row in found], 1)
    kept = f"(SELECT * FROM se_good WHERE at_us <= {now_us} AND seq NOT IN (SELECT seq FROM se_dropped))"
    orphans = _orphan_condition(engine)
    if orphans:
        starts = sorted({name for names in engine.stop_starts.values() for name in names})
        con.execute(f"CREATE TABLE se_firsts AS SELECT lead, event, MIN(at_us) AS first_us FROM {kept} "
                    f"WHERE event IN ({', '.join(literal(n).sql('duckdb') for n in starts)}) GROUP BY lead, event")
        condition = fill(orphans[0], orphans[1])
        found = con.execute(f"SELECT seq, lead_text, event, at_text, reason FROM {kept} AS k "
                            f"WHERE {condition}").fetchall()
        for seq, lead_id_, event, at, why in found:
            names = sorted(engine.stop_starts[event])
            rejects.append(Reject(int(seq), "event", f"{event} with no {' or '.join(names)} before it",
                                  {"lead": lead_id_, "event": event, "at": at, "reason": why}))
        insert_rows(con, "se_dropped", [(int(row[0]),) for row in found], 1)
    con.execute(f"INSERT INTO {EVENTS} SELECT seq, lead, event, at_us, reason FROM se_good WHERE at_us <= {now_us} "
                "AND seq NOT IN (SELECT seq FROM se_dropped)")
    stats.rejected = len({r.row for r in rejects})
    (used,) = con.execute(f"SELECT count(*) FROM {EVENTS}").fetchone() or (0,)
    if used + stats.after_now != stats.used:  # the promise: read = used + rejected, never silently broken
        raise EventFileError(f"internal count mismatch: read {stats.read}, used {used}, rejected {stats.rejected}")
    return stats, rejects


def _orphan_condition(engine: SlaEngine) -> tuple[str, dict] | None:
    """A stop event whose only part is stopping, with no start of its clocks at or before it (as
    `SlaEngine.orphan_stops`), as a condition over `se_kept AS k`."""
    parts: list[str] = []
    values: dict[str, object] = {}
    for number, (stop, starts) in enumerate(sorted(engine.stop_starts.items())):
        if stop in engine.other_roles:
            continue
        values[f"#s{number}"], values[f"#a{number}"] = stop, sorted(starts)
        parts.append(f'(k.event = "#s{number}" AND NOT EXISTS (SELECT 1 FROM se_firsts AS f WHERE f.lead = k.lead '
                     f'AND f.event IN ("#a{number}") AND f.first_us <= k.at_us))')
    return (" OR ".join(parts), values) if parts else None


LEAD_REJECTED_IDS = "lp_lead_rejected_ids"  # the ids whose rows of the leads file were rejected


def stage_leads(con, policy: IrPolicy, path: Path, id_column: str, fmt: str | None = None,
                columns: dict[str, str] | None = None) -> LeadsRead:
    """Table `lp_leads`: each good lead's typed fields and `#id`; the file's rows read and rejected, as
    `batch.lead_records` reads them: a row that does not fit the schema, has no id, or whose id is on
    another row too (every such row) is rejected by row and field, and its id kept in LEAD_REJECTED_IDS.
    `columns`: field -> the header it is read from (`batch.plan_columns`)."""
    from leadpolicy.warehouse.batch import ColumnMapError, file_format, name_mapped_columns, plan_columns

    staged = staging.stage(con, path, file_format(path, fmt), table="ld_raw")
    try:
        index = lead_id_column(staged.columns, id_column, path)
    except staging.DataFileError as exc:  # --id-column names no column: bad usage, as a mapping would
        raise ColumnMapError(str(exc)) from None
    id_name = staged.columns[index]
    lead = lead_id(index, staged.column_types.get(index))
    plan = plan_columns(policy, staged.columns, mapping=columns, source=path)
    convert_fields(con, policy.fields, plan.field_column, [lead.column], staged.column_types, source_table="ld_raw",
                   prefix="ld_", find_bad=True)
    fields = {f.name: f for f in policy.fields}
    read = LeadsRead(rejects=[{k: p[k] for k in ("row", "field", "problem")} for p in staged.problems])
    for row, name, code, value in con.execute(f"SELECT {ROW}, field, code, value FROM ld_bad").fetchall():
        read.rejects.append({"row": int(row), "field": name, "problem": problem(fields[name], code, value)})
    con.execute(f'CREATE TEMP TABLE ld_ids AS SELECT {ROW}, {lead.sql} AS "#id" FROM ld_raw')
    for (row,) in con.execute(f"""SELECT {ROW} FROM ld_ids WHERE coalesce("#id", '') = ''""").fetchall():
        read.rejects.append({"row": int(row), "field": id_name, "problem": "missing lead id"})
    repeated = con.execute(f'SELECT "#id", list({ROW} ORDER BY {ROW}) FROM ld_ids WHERE "#id" <> \'\' GROUP BY "#id" '
                           "HAVING count(*) > 1").fetchall()
    for lead_key, rows in repeated:
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            read.rejects.append({"row": int(row), "field": id_name, "problem": f"lead id {lead_key!r} is also on row "
                                 f"{others}: which row counts would be a guess"})
    con.execute(f'CREATE OR REPLACE TABLE {LEAD_REJECTED_IDS} AS SELECT DISTINCT "#id" FROM ld_ids WHERE "#id" <> \'\' '
                f'AND ({ROW} IN (SELECT {ROW} FROM ld_bad) OR "#id" IN (SELECT "#id" FROM ld_ids WHERE "#id" <> \'\' '
                'GROUP BY "#id" HAVING count(*) > 1))')
    con.execute(f'CREATE OR REPLACE TABLE {LEADS} AS SELECT t.*, {lead.sql} AS "#id" FROM ld_typed AS t '
                f"WHERE coalesce({lead.sql}, '') <> '' AND {lead.sql} NOT IN (SELECT \"#id\" FROM {LEAD_REJECTED_IDS})")
    read.read = len(staged.problems) + con.execute("SELECT count(*) FROM ld_raw").fetchone()[0]
    name_mapped_columns(read.rejects, plan)
    read.rejects.sort(key=lambda r: (r["row"], r["field"]))
    return read


def tier_fallbacks(con, policy: IrPolicy) -> dict[str, int]:
    """How many clocks of tiered SLAs took `otherwise` because their lead had no good row in the leads
    file: none at all, or only rejected ones (as `SlaEngine.tier_of` counts them)."""
    tiered = [sla.name for sla in policy.slas if sla.tiers]
    if not tiered:
        return engine_tier_fallbacks(0, 0)
    names = ", ".join(literal(name).sql("duckdb") for name in tiered)
    (no_record, rejected_record) = con.execute(
        f'SELECT count(*) FILTER (WHERE NOT rejected), count(*) FILTER (WHERE rejected) FROM (SELECT lead IN '
        f'(SELECT "#id" FROM {LEAD_REJECTED_IDS}) AS rejected FROM {CLOCKS} WHERE sla IN ({names}) AND lead NOT IN '
        f'(SELECT "#id" FROM {LEADS}))').fetchone()
    return engine_tier_fallbacks(int(no_record), int(rejected_record))


def clocks_per_tiered_sla(con, policy: IrPolicy) -> dict[str, int]:
    """How many clocks each tiered SLA has (every one took `otherwise` when no leads file was given), counted
    as `SlaEngine.tier_of` counts them: every clock judged."""
    tiered = [sla.name for sla in policy.slas if sla.tiers]
    if not tiered:
        return {}
    names = ", ".join(literal(name).sql("duckdb") for name in tiered)
    rows = con.execute(f"SELECT sla, count(*) FROM {CLOCKS} WHERE sla IN ({names}) GROUP BY sla").fetchall()
    return {str(sla): int(count) for sla, count in rows if count}
