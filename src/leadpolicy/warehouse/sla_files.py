"""Event logs and lead files staged for the SQL SLA engine, each bad row rejected as the reference reader
(`warehouse.event_log.EventLogReader`) rejects it: the column rules of `semantics.events`, the same reasons,
one per row, so read = used + rejected.

The checked events become table `lp_sla_events` (seq, lead, event, at_us, reason) and the leads table
`lp_leads` (the typed fields and `#id`, the id as trimmed text; for an id given twice, its last row, as
the reference keeps the last record).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from leadpolicy.runtime import as_instant
from leadpolicy.semantics.events import LOG_FIELDS, duplicate_words, problem_words
from leadpolicy.semantics.ir import Policy as IrPolicy
from leadpolicy.semantics.primitives.sql import at_or_before_now_sql
from leadpolicy.sla.calendar_tables import to_us
from leadpolicy.sla.engine import SlaEngine
from leadpolicy.sla.engine import tier_fallbacks as engine_tier_fallbacks
from leadpolicy.sla.events import EventFileError, ReadStats, Reject
from leadpolicy.warehouse import staging
from leadpolicy.warehouse.conversion import convert_fields, problem, trimmed
from leadpolicy.warehouse.event_files import lead_id, lead_id_column
from leadpolicy.warehouse.event_log import convert_log, lacks_columns, repeated_columns
from leadpolicy.warehouse.sla_run import CLOCKS, EVENTS, insert_rows
from leadpolicy.warehouse.sqlgen import fold_sql
from leadpolicy.warehouse.templates import filled, literal

ROW = staging.ROW
LEADS = "lp_leads"


@dataclass
class LeadsRead:
    """A leads file's rows read and rejected (row, field, problem)."""

    rejects: list[dict[str, object]] = field(default_factory=list)
    read: int = 0


def _q(name: str) -> str:
    return staging.quoted(name)


# The steps of `stage_events`, each one fixed DuckDB template; "#name" placeholders are filled by
# `templates.filled` with literals (values) or sqlglot expressions (pieces), never pasted text.
_EVENTS_TABLE = ('CREATE OR REPLACE TABLE "#piece_events" '
                 "(seq BIGINT, lead VARCHAR, event VARCHAR, at_us BIGINT, reason VARCHAR)")
_FIRST_PROBLEMS = (
    'SELECT b."#row", b.field, b.code, b.value, r.lead, r.event, r.at, r.reason FROM (SELECT *, ROW_NUMBER() '
    "OVER (PARTITION BY \"#row\" ORDER BY CASE field WHEN 'lead' THEN 0 WHEN 'event' THEN 1 ELSE 2 END) AS n "
    'FROM se_bad) AS b JOIN (SELECT "#row", "#piece_lead" AS lead, "#piece_event" AS event, "#piece_at" AS at, '
    '"#piece_reason" AS reason FROM se_raw) AS r ON r."#row" = b."#row" WHERE n = 1')
_GOOD = ('CREATE TABLE se_good AS SELECT "#row" AS seq, "#piece_trimmed" AS lead, "event", epoch_us("at") AS at_us, '
         "NULLIF(\"#piece_reason\", '') AS reason, \"#piece_at\" AS at_text, \"#piece_lead\" AS lead_text "
         "FROM se_typed")  # the lead and the time as written, for rejects
_KEPT = ('CREATE VIEW se_kept AS SELECT * FROM se_good WHERE "#piece_seen" '
         "AND seq NOT IN (SELECT seq FROM se_dropped)")
_REPEATED_KEYS = ('SELECT count(*) FROM (SELECT 1 FROM se_good WHERE "#piece_seen" '
                  'GROUP BY lead, event, at_us, "#piece_fold" HAVING count(*) > 1)')
_REPEATS = ('SELECT seq, lead_text, event, at_text, reason, first_seq FROM (SELECT *, MIN(seq) OVER '
            '(PARTITION BY lead, event, at_us, "#piece_fold") AS first_seq FROM se_good WHERE "#piece_seen") '
            "WHERE seq <> first_seq")
_FIRSTS = ('CREATE TABLE se_firsts AS SELECT lead, event, MIN(at_us) AS first_us FROM se_kept '
           'WHERE event IN ("#starts") GROUP BY lead, event')
_ORPHANS = 'SELECT seq, lead_text, event, at_text, reason FROM se_kept AS k WHERE "#piece_orphan"'
_INSERT = 'INSERT INTO "#piece_events" SELECT seq, lead, event, at_us, reason FROM se_kept'


def _given(lead: str | None, event: str | None, at: str | None, reason: str | None) -> dict[str, str | None]:
    """A rejected row's values as the log wrote them."""
    return {"lead": lead, "event": event, "at": at, "reason": reason}


class _LogStaging:
    """One event log staged into table `lp_sla_events`, step by step, its rejects collected on the way."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: IrPolicy, now: dt.datetime):
        self.con = con
        self.engine = SlaEngine(policy)
        self.known = sorted(self.engine.event_names())
        seen = at_or_before_now_sql(exp.column("at_us"), literal(to_us(as_instant(now))))  # a row the clocks see
        self.pieces: dict[str, exp.Expr] = {"#piece_events": exp.to_table(EVENTS), "#piece_seen": seen}
        self.stats, self.rejects = ReadStats(), list[Reject]()

    def run(self, template: str, extra: dict[str, object] | None = None) -> list[tuple[Any, ...]]:
        query = filled(template, values=extra or {}, pieces=self.pieces)
        return self.con.execute(query.sql("duckdb")).fetchall()

    def count(self, template: str) -> int:
        rows = self.run(template)
        return int(rows[0][0]) if rows else 0

    def stage(self, path: Path, fmt: str) -> staging.Staged | None:
        """The log staged into table `se_raw`; None for JSON Lines without a line (no events, not a file
        without its columns). Raises EventFileError for a log that cannot be read or lacks a column."""
        try:
            staged = staging.stage(self.con, path, fmt, table="se_raw")
        except staging.DataFileError as exc:
            raise EventFileError(str(exc)) from None
        self.rejects += [Reject(p["row"], p["field"], p["problem"], {"raw": p["raw"]}) for p in staged.problems]
        rows = self.count("SELECT count(*) FROM se_raw")
        self.stats.read = rows + len(staged.problems)
        self.run(_EVENTS_TABLE)
        repeated = repeated_columns(path, staged.columns)
        if repeated:
            raise EventFileError(repeated)
        problem = lacks_columns(path, staged.columns)
        if problem and not rows and not staged.problems:
            return None
        if problem:
            raise EventFileError(problem)
        return staged

    def convert(self, staged: staging.Staged) -> None:
        """Each row checked by the column rules (`semantics.events`), its first problem rejected."""
        position: dict[str, int] = {}
        for i, name in enumerate(staged.columns):
            position.setdefault(name, i)
        texts = {name: staging.text_column(position[name]) for name in (*LOG_FIELDS, "reason") if name in position}
        self.pieces.update({f"#piece_{name}": exp.column(column, quoted=True) for name, column in texts.items()})
        self.pieces.setdefault("#piece_reason", exp.cast(exp.Null(), "VARCHAR"))
        self.pieces["#piece_trimmed"] = trimmed(exp.column("lead", quoted=True))
        self.stats.events = {str(name) for (name,) in self.run('SELECT DISTINCT "#piece_event" FROM se_raw')}
        conversion = convert_log(self.con, self.known, position, list(texts.values()), staged.column_types,
                                 "se_raw", "se_")
        if self.count('SELECT count(*) FROM se_converted WHERE "#bad"'):
            conversion.find_bad(self.con)
            for row, name, code, value, *given in self.run(_FIRST_PROBLEMS):
                self.rejects.append(Reject(int(row), name, problem_words(name, code, value, self.known),
                                           _given(*given)))
        self.run(_GOOD)
        self.stats.after_now = self.count('SELECT count(*) FROM se_good WHERE NOT "#piece_seen"')

    def drop_repeats(self) -> None:
        """Rows repeating an earlier one (lead, event, time and reason) rejected. Repeats are rare: the
        repeated keys are counted with one aggregation, and only then the rows found."""
        self.run("CREATE TABLE se_dropped (seq BIGINT)")
        self.run(_KEPT)
        self.pieces["#piece_fold"] = fold_sql(exp.func("COALESCE", exp.column("reason", quoted=True),
                                                       exp.Literal.string("")), "duckdb")
        if not self.count(_REPEATED_KEYS):
            return
        found = self.run(_REPEATS)
        for seq, lead, event, at, reason, first_seq in found:
            self.rejects.append(Reject(int(seq), "", duplicate_words(int(first_seq)), _given(lead, event, at, reason)))
        insert_rows(self.con, "se_dropped", [(int(row[0]),) for row in found], 1)

    def drop_orphan_stops(self) -> None:
        """Stops of no started clock rejected (as `SlaEngine.orphan_stops`)."""
        orphans = _orphan_condition(self.engine)
        if orphans is None:
            return
        starts = sorted({name for names in self.engine.stop_starts.values() for name in names})
        self.run(_FIRSTS, {"#starts": starts})
        self.pieces["#piece_orphan"] = orphans
        found = self.run(_ORPHANS)
        for seq, lead, event, at, reason in found:
            names = " or ".join(sorted(self.engine.stop_starts[event]))
            self.rejects.append(Reject(int(seq), "event", f"{event} with no {names} before it",
                                       _given(lead, event, at, reason)))
        insert_rows(self.con, "se_dropped", [(int(row[0]),) for row in found], 1)

    def finish(self) -> None:
        """The kept rows into `lp_sla_events`, checking read = used + rejected."""
        self.run(_INSERT)
        self.stats.rejected = len({r.row for r in self.rejects})
        used = self.count('SELECT count(*) FROM "#piece_events"')
        if used + self.stats.after_now != self.stats.used:  # the promise: never silently broken
            raise EventFileError(f"internal count mismatch: read {self.stats.read}, used {used}, "
                                 f"rejected {self.stats.rejected}")


def stage_events(con: duckdb.DuckDBPyConnection, policy: IrPolicy, path: Path, fmt: str,
                 now: dt.datetime) -> tuple[ReadStats, list[Reject]]:
    """Table `lp_sla_events` of the file's good rows at or before `now` (a row after `now` is a good row
    no clock sees: counted in `ReadStats.after_now`, never rejected); the counts and the rejects."""
    log = _LogStaging(con, policy, now)
    staged = log.stage(path, fmt)
    if staged is None:
        log.stats.rejected = len(log.rejects)
        return log.stats, log.rejects
    log.convert(staged)
    log.drop_repeats()
    log.drop_orphan_stops()
    log.finish()
    return log.stats, log.rejects


def _orphan_condition(engine: SlaEngine) -> exp.Expr | None:
    """A stop event whose only part is stopping, with no start of its clocks at or before it (as
    `SlaEngine.orphan_stops`), as a condition over `se_kept AS k`."""
    parts: list[exp.Expr] = []
    for stop, starts in sorted(engine.stop_starts.items()):
        if stop in engine.other_roles:
            continue
        started = exp.select("1").from_(exp.to_table("se_firsts", alias="f")).where(exp.and_(
            exp.column("lead", "f").eq(exp.column("lead", "k")),
            exp.column("event", "f").isin(*(literal(name) for name in sorted(starts))),
            exp.LTE(this=exp.column("first_us", "f"), expression=exp.column("at_us", "k"))))
        parts.append(exp.and_(exp.column("event", "k").eq(literal(stop)), exp.not_(exp.Exists(this=started))))
    return exp.or_(*parts) if parts else None


LEAD_REJECTED_IDS = "lp_lead_rejected_ids"  # the ids whose rows of the leads file were rejected
# The steps of `stage_leads` and the tier counts, fixed templates as above ("#piece_id": the row's id as text).
_LEAD_PIECES = {"#piece_leads": exp.to_table(LEADS), "#piece_rejectedids": exp.to_table(LEAD_REJECTED_IDS),
                "#piece_clocks": exp.to_table(CLOCKS)}
_IDS = 'CREATE TEMP TABLE ld_ids AS SELECT "#row", "#piece_id" AS "#id" FROM ld_raw'
_NO_IDS = """SELECT "#row" FROM ld_ids WHERE coalesce("#id", '') = ''"""
_REPEATED_IDS = """SELECT "#id", list("#row" ORDER BY "#row") FROM ld_ids WHERE "#id" <> '' GROUP BY "#id"
HAVING count(*) > 1"""
_REJECTED_IDS = """CREATE OR REPLACE TABLE "#piece_rejectedids" AS SELECT DISTINCT "#id" FROM ld_ids WHERE "#id" <> ''
AND ("#row" IN (SELECT "#row" FROM ld_bad) OR "#id" IN (SELECT "#id" FROM ld_ids WHERE "#id" <> ''
GROUP BY "#id" HAVING count(*) > 1))"""
_GOOD_LEADS = """CREATE OR REPLACE TABLE "#piece_leads" AS SELECT t.*, "#piece_id" AS "#id" FROM ld_typed AS t
WHERE coalesce("#piece_id", '') <> '' AND "#piece_id" NOT IN (SELECT "#id" FROM "#piece_rejectedids")"""
_TIER_FALLBACKS = """SELECT count(*) FILTER (WHERE NOT rejected), count(*) FILTER (WHERE rejected) FROM (SELECT lead IN
(SELECT "#id" FROM "#piece_rejectedids") AS rejected FROM "#piece_clocks" WHERE sla IN ("#tiered") AND lead NOT IN
(SELECT "#id" FROM "#piece_leads"))"""
_TIERED_CLOCKS = 'SELECT sla, count(*) FROM "#piece_clocks" WHERE sla IN ("#tiered") GROUP BY sla'


def _run(con: duckdb.DuckDBPyConnection, template: str, values: dict[str, Any] | None = None,
         pieces: dict[str, exp.Expr] | None = None) -> list[tuple[Any, ...]]:
    query = filled(template, values=values, pieces={**_LEAD_PIECES, **(pieces or {})})
    return con.execute(query.sql("duckdb")).fetchall()


def stage_leads(con: duckdb.DuckDBPyConnection, policy: IrPolicy, path: Path, id_column: str, fmt: str | None = None,
                columns: dict[str, str] | None = None) -> LeadsRead:
    """Table `lp_leads`: each good lead's typed fields and `#id`; the file's rows read and rejected, as
    `lead_rows.lead_records` reads them: a row that does not fit the schema, has no id, or whose id is on
    another row too (every such row) is rejected by row and field, and its id kept in LEAD_REJECTED_IDS.
    `columns`: field -> the header it is read from (`lead_rows.plan_columns`)."""
    from leadpolicy.warehouse.lead_rows import ColumnMapError, file_format, name_mapped_columns, plan_columns

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
    for row, name, code, value in _run(con, 'SELECT "#row", field, code, value FROM ld_bad'):
        read.rejects.append({"row": int(row), "field": name, "problem": problem(fields[name], code, value)})
    id_piece = {"#piece_id": lead.text}
    _run(con, _IDS, pieces=id_piece)
    read.rejects += [{"row": int(row), "field": id_name, "problem": "missing lead id"} for (row,) in _run(con, _NO_IDS)]
    read.rejects += _repeated_id_rejects(_run(con, _REPEATED_IDS), id_name)
    _run(con, _REJECTED_IDS)
    _run(con, _GOOD_LEADS, pieces=id_piece)
    read.read = len(staged.problems) + int(_run(con, "SELECT count(*) FROM ld_raw")[0][0])
    name_mapped_columns(read.rejects, plan)
    read.rejects.sort(key=lambda r: (int(str(r["row"])), str(r["field"])))
    return read


def _repeated_id_rejects(repeated: list[tuple[Any, ...]], id_name: str) -> list[dict[str, object]]:
    """Every row of an id that other rows have too, naming them."""
    rejects: list[dict[str, object]] = []
    for lead_key, rows in repeated:
        for row in rows:
            others = ", ".join(str(r) for r in rows if r != row)
            rejects.append({"row": int(row), "field": id_name, "problem": f"lead id {lead_key!r} is also on row "
                            f"{others}: which row counts would be a guess"})
    return rejects


def tier_fallbacks(con: duckdb.DuckDBPyConnection, policy: IrPolicy) -> dict[str, int]:
    """How many clocks of tiered SLAs took `otherwise` because their lead had no good row in the leads
    file: none at all, or only rejected ones (as `SlaEngine.tier_of` counts them)."""
    tiered = [sla.name for sla in policy.slas if sla.tiers]
    if not tiered:
        return engine_tier_fallbacks(0, 0)
    ((no_record, rejected_record),) = _run(con, _TIER_FALLBACKS, {"#tiered": tiered})
    return engine_tier_fallbacks(int(no_record), int(rejected_record))


def clocks_per_tiered_sla(con: duckdb.DuckDBPyConnection, policy: IrPolicy) -> dict[str, int]:
    """How many clocks each tiered SLA has (every one took `otherwise` when no leads file was given), counted
    as `SlaEngine.tier_of` counts them: every clock judged."""
    tiered = [sla.name for sla in policy.slas if sla.tiers]
    if not tiered:
        return {}
    return {str(sla): int(count) for sla, count in _run(con, _TIERED_CLOCKS, {"#tiered": tiered}) if count}
