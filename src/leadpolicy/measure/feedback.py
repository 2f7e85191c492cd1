"""Feedback: what became of the leads a policy decided, as of a past moment.

Every lead is decided as the policy would have decided it at `as_of` (its record and its events up
to then, by `leadpolicy score --events`, so rows are read, checked and rejected as there). Its
outcome is the first outcome event (`outcomes { won when ... lost when ... }`) after `as_of` up to
`now`; on a tie at one instant, lost. Sales' answers, recycling and the time from a handoff to its
first answer are read from the same events after `as_of`. Everything is computed in DuckDB.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlglot import exp

from leadpolicy.api import Policy
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.outputs import default_rejects
from leadpolicy.semantics import ir
from leadpolicy.semantics.logic import fold
from leadpolicy.warehouse.batch import BatchResult, EventInput, output_names, run
from leadpolicy.warehouse.conversion import trimmed
from leadpolicy.warehouse.event_files import EVENTS_TABLE, find_column, lead_id_column
from leadpolicy.warehouse.sqlgen import epoch_us, fold_sql
from leadpolicy.warehouse.staging import DataFileError, quoted

TABLE = "feedback"  # one row per decided lead
STOP = "#="  # the column of a stop event that answers without a reason (no ':', unlike an event's reasons)


class FeedbackError(ValueError):
    """Inputs that cannot be measured: a file that cannot be read or lacks a column (the message says why)."""


class FeedbackUsage(FeedbackError):
    """A request that cannot mean anything: no outcomes to measure against, `as_of` after `now`."""


@dataclass(frozen=True)
class FeedbackInput:
    leads: Path
    events: Path
    as_of: dt.datetime
    now: dt.datetime
    id_column: str = "id"
    by: tuple[str, ...] = ()  # lead fields to group by; default: every `one of` field
    engine: str = "duckdb"
    rejects_folder: Path | None = None  # None: each rejects file beside its data file (see `rejects_files`)
    columns: tuple[tuple[str, str], ...] = ()  # (field, header): a field read from a column named otherwise
    on_read: Callable[[Policy, BatchResult], None] | None = None  # hears how each policy's reading went
    progress: Callable[[Policy], Any] | None = None  # a context per policy, giving `batch.run`'s progress
    on_warning: Callable[[str], None] | None = None  # hears score's warnings (a field that is no column, ...)


def rejects_files(leads: Path, events: Path, folder: Path | None) -> tuple[Path | None, Path | None]:
    """Where the leads' and the events' rejected rows go: LEADS_NAME.rejects.csv and EVENTS_NAME.rejects.csv
    in `folder`, else beside each data file unless its folder holds policies (then nowhere: None)."""
    names = (f"{leads.stem}.rejects.csv", f"{events.stem}.rejects.csv")
    if folder is not None:
        return folder / names[0], folder / names[1]
    return default_rejects(names[0], leads), default_rejects(names[1], events)


def lit(value: Any) -> str:
    return (exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)).sql("duckdb")


@dataclass
class Handoff:
    """What the policy says about handing leads over: the stages owned by a team other than the one owning
    `otherwise` (where leads start), and the team the first of them belongs to."""

    stages: tuple[str, ...]
    team: str

    @classmethod
    def of(cls, policy: ir.Policy) -> "Handoff":
        home = policy.stages[-1].owner if policy.stages else ""
        handed = [s for s in policy.stages if s.owner != home]
        return cls(tuple(s.name for s in handed), handed[0].owner if handed else "")


@dataclass
class Measured:
    """The per-lead table of one policy over the inputs, and what reading them found."""

    policy: Policy
    scored: BatchResult
    con: Any  # a DuckDB connection holding table `feedback`
    table_file: Path  # the same table as Parquet
    by: list[str]  # the group columns, as named in the table
    handoff: Handoff


def measure(policy: Policy, data: FeedbackInput, folder: Path) -> Measured:
    """Decide the leads as of `data.as_of` and attach what happened after; returns table `feedback`. The
    working files go to `folder` (the caller removes it)."""
    import duckdb

    if not policy.ir.outcomes:
        raise FeedbackUsage(f"{policy.id} has no outcomes block: feedback measures decisions against "
                            "`outcomes { won when EVENT  lost when EVENT }`")
    if data.as_of > data.now:
        raise FeedbackUsage(f"--as-of {data.as_of.isoformat()} is after --now {data.now.isoformat()}")
    folder.mkdir(parents=True, exist_ok=True)
    decided = folder / f"{policy.id}.decided.parquet"
    per_lead = folder / f"{policy.id}.feedback.parquet"
    handoff = Handoff.of(policy.ir)
    found: dict[str, Any] = {}

    def attach(con) -> None:
        columns = [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(decided))})").fetchall()]
        try:
            id_col = columns[lead_id_column(columns, data.id_column, data.leads)]
            found["by"] = [columns[_group_column(policy, columns, data, name)]
                           for name in data.by or [f.name for f in policy.ir.fields if f.type == "one of"]]
        except DataFileError as exc:
            raise FeedbackError(str(exc)) from None
        con.execute(f"COPY ({_per_lead_sql(policy, data, decided, id_col, found['by'], handoff)}) "
                    f"TO {lit(str(per_lead))} (FORMAT parquet)")

    leads_rejects, events_rejects = rejects_files(data.leads, data.events, data.rejects_folder)
    try:  # rejects with no place of their own are written into the working folder, which goes away
        with data.progress(policy) if data.progress is not None else contextlib.nullcontext() as progress:
            result, _, _ = run(policy, data.leads, decided, data.as_of, data.engine,
                               rejects=leads_rejects or folder / "leads.rejects.csv",
                               events=EventInput(data.events, data.id_column,
                                                 rejects=events_rejects or folder / "events.rejects.csv",
                                                 one_row_per_lead=True),
                               then=attach, columns=dict(data.columns), progress=progress,
                               on_warning=data.on_warning)
    except DataFileError as exc:
        raise FeedbackError(str(exc)) from None
    if data.on_read is not None:
        data.on_read(policy, result)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM read_parquet({lit(str(per_lead))})")
    return Measured(policy, result, con, per_lead, found["by"], handoff)


def _in(values: list[str] | tuple[str, ...]) -> str:
    """`IN (...)` of text literals (never empty: an empty list matches nothing)."""
    return "IN (" + (", ".join(lit(v) for v in values) or "NULL") + ")"


def _group_column(policy: Policy, columns: list[str], data: FeedbackInput, name: str) -> int:
    """The position of the column grouped by for field `name` (its mapped header, else its own name) among the
    decided file's `columns`. A field no column of the leads file holds is bad usage (FeedbackUsage), naming
    the file's own columns (not the computed ones) and the --column that would map it."""
    header = dict(data.columns).get(name, name)  # a field read from a column named otherwise is grouped by it
    try:
        return find_column(columns, header, data.leads, "to group by", "--by")
    except DataFileError:
        computed = {fold(n) for n in output_names(policy.ir)}
        inputs = [c for c in columns if fold(c) not in computed and not c.startswith("#")]
        hint = _likely_header(header, inputs)
        listed = ", ".join(map(repr, inputs[:12])) + (", ..." if len(inputs) > 12 else "")
        fix = (f"read the field from a column named otherwise with --column {name}=HEADER, or group by other "
               "fields with --by" if name in {f.name for f in policy.ir.fields} else "name a column with --by")
        raise FeedbackUsage(f"{data.leads}: no column {header!r} to group by ({hint + '; ' if hint else ''}the "
                            f"columns are {listed}); {fix}") from None


def _likely_header(name: str, headers: list[str]) -> str | None:
    """'did you mean "Lead Source"?' for `source`: a header holding the name as a word, else the closest
    ignoring case."""
    import difflib

    words = [h for h in headers if fold(name) in fold(h).replace("_", " ").split()]
    lowered = {h.lower(): h for h in headers}
    close = words or [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)]
    return f'did you mean "{close[0]}"?' if close else did_you_mean(name, headers)


def _per_lead_sql(policy: Policy, data: FeedbackInput, decided: Path, id_col: str, by: list[str],
                  handoff: Handoff) -> str:
    """One row per decided lead: its decision, whether it was handed off, its outcome, its answers and how
    long each clock of the receiving team ran. Every name and reason from the policy is a quoted literal."""
    reasons = {n.event: list(n.reasons) for sla in policy.ir.slas for n in sla.reasons}  # event -> agreed reasons
    clocks = [sla for sla in policy.ir.slas if sla.clock is not None and sla.owner == handoff.team]
    won = [e for o in policy.ir.outcomes if o.kind == "won" for e in o.events]
    lost = [e for o in policy.ir.outcomes if o.kind == "lost" for e in o.events]
    until = lit(epoch_us(data.now))
    window = f'epoch_us("at") > {lit(epoch_us(data.as_of))} AND epoch_us("at") <= {until}'
    # Reasons as the SLA report reads them: folded as the language compares text, blanks kept.
    reason = fold_sql(exp.Coalesce(this=exp.column("reason", quoted=True), expressions=[exp.Literal.string("")]),
                      "duckdb").sql("duckdb")
    # Per lead, over its events in the window: (column, aggregate, value when the lead has no event there).
    counts: list[tuple[str, str, str]] = []
    for event, agreed in reasons.items():
        for r in agreed:
            counts.append((f"#{event}:{r}", f'count(*) FILTER (WHERE "event" = {lit(event)} AND {reason} = '
                                            f"{lit(fold(r))})", "0"))
        counts.append((f"#{event}:other", f'count(*) FILTER (WHERE "event" = {lit(event)} AND {reason} NOT '
                                          f"{_in([fold(r) for r in agreed])})", "0"))
    # Sales' answers are the stops of the clocks whose SLA needs a reason for one of them (accepted or rejected).
    answering = [sla.clock for sla in policy.ir.slas
                 if sla.clock is not None and any(n.event in sla.clock.stops for n in sla.reasons)]
    accepting = sorted({stop for clock in answering for stop in clock.stops if stop not in reasons})
    counts += [(f"{STOP}{stop}", f'count(*) FILTER (WHERE "event" = {lit(stop)})', "0") for stop in accepting]
    recycled = " OR ".join(f'("event" = {lit(r.event)} AND {reason} = {lit(fold(r.reason))})'
                           for r in policy.ir.recycle) or "false"
    counts.append(("#recycled", f"bool_or({recycled})", "false"))
    starts = [(f"#start{i}", f'min(CASE WHEN "event" {_in(sla.clock.starts)} THEN epoch_us("at") END)')
              for i, sla in enumerate(clocks) if sla.clock is not None]
    aggregates = ", ".join(f"{expr} AS {quoted(name)}" for name, expr, _ in counts) + "".join(
        f", {expr} AS {quoted(name)}" for name, expr in starts)
    # Each clock's first stop at or after its first start, both in the window.
    stops = "".join(
        f' LEFT JOIN (SELECT e."lead", min(epoch_us(e."at")) AS stop FROM {EVENTS_TABLE} e JOIN a ON a."lead" = '
        f'e."lead" WHERE e."event" {_in(sla.clock.stops)} AND epoch_us(e."at") >= a."#start{i}" AND '
        f'epoch_us(e."at") <= {until} GROUP BY e."lead") s{i} ON s{i}."lead" = d."#id"'
        for i, sla in enumerate(clocks) if sla.clock is not None)
    won_case = f'CASE WHEN "event" {_in(won)} THEN 1 ELSE 0 END'
    columns = ['d."#id" AS "#id"', *(f"CAST(d.{quoted(c)} AS VARCHAR) AS {quoted(c)}" for c in by),
               *(quoted(n) for n in output_names(policy.ir)), f'stage {_in(handoff.stages)} AS "#handed"',
               'o.outcome AS "#outcome"',
               *(f"coalesce(a.{quoted(name)}, {none}) AS {quoted(name)}" for name, _, none in counts),
               *(f'(s{i}.stop - a."#start{i}") / 60000000.0 AS {quoted(f"#minutes:{sla.name}")}'
                 for i, sla in enumerate(clocks))]
    id_text = trimmed(exp.cast(exp.column(id_col, quoted=True), "VARCHAR")).sql("duckdb")
    return (f'WITH d AS (SELECT *, {id_text} AS "#id" FROM read_parquet({lit(str(decided))})), '
            # the first outcome event; on a tie at one instant, lost (0) sorts before won (1)
            f"o AS (SELECT \"lead\", arg_min(CASE WHEN {won_case} = 1 THEN 'won' ELSE 'lost' END, "
            f'(epoch_us("at"), {won_case})) AS outcome FROM {EVENTS_TABLE} WHERE "event" {_in([*won, *lost])} '
            f'AND {window} GROUP BY "lead"), '
            f'a AS (SELECT "lead", {aggregates} FROM {EVENTS_TABLE} WHERE {window} GROUP BY "lead") '
            f'SELECT {", ".join(columns)} FROM d LEFT JOIN o ON o."lead" = d."#id" LEFT JOIN a ON a."lead" = d."#id"'
            f"{stops}")


# ---------------------------------------------------------------- the report

def tally(m: Measured, keys: list[str]) -> list[dict[str, Any]]:
    """Counts per combination of `keys` (columns of table `feedback`); one row overall without keys."""
    answers = [c for c in _columns(m) if c.startswith("#") and ":" in c and not c.startswith("#minutes:")]
    minutes = [c for c in _columns(m) if c.startswith("#minutes:")]
    stops = [c for c in _columns(m) if c.startswith(STOP)]
    measures = [
        "count(*) AS leads", 'count(*) FILTER (WHERE "#handed") AS handed_off',
        'count(*) FILTER (WHERE "#outcome" = \'won\') AS won', 'count(*) FILTER (WHERE "#outcome" = \'lost\') AS lost',
        'count(*) FILTER (WHERE "#handed" AND "#outcome" = \'won\') AS won_handed_off',
        'count(*) FILTER (WHERE "#recycled") AS recycled',
        'count(*) FILTER (WHERE "#recycled" AND "#outcome" = \'won\') AS recycled_won',
        'count(*) FILTER (WHERE "#recycled" AND "#outcome" = \'lost\') AS recycled_lost',
        *(f"sum({quoted(c)}) AS {quoted(c)}" for c in [*stops, *answers]),
        *(f"median({quoted(c)}) AS {quoted(c)}" for c in minutes)]
    group = ", ".join(quoted(k) for k in keys)
    sql = (f"SELECT {group + ', ' if keys else ''}{', '.join(measures)} FROM {TABLE}"
           + (f" GROUP BY {group} ORDER BY {group} NULLS LAST" if keys else ""))
    cursor = m.con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [_shape(dict(zip(names, row)), keys) for row in cursor.fetchall()]


def _columns(m: Measured) -> list[str]:
    return [r[0] for r in m.con.execute(f"DESCRIBE {TABLE}").fetchall()]


def won_share(part: int, whole: int) -> float | None:
    """part / whole to four places (a rate of the report), None when there are no leads."""
    return round(part / whole, 4) if whole else None


def _shape(row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A tally row as the report says it: counts, rates, answers by reason, median minutes by SLA."""
    leads, won = int(row["leads"]), int(row["won"])
    handed, won_handed = int(row["handed_off"]), int(row["won_handed_off"])
    out: dict[str, Any] = {k: row[k] for k in keys}
    out |= {"leads": leads, "handed_off": handed, "won": won, "lost": int(row["lost"]),
            "open": leads - won - int(row["lost"]), "won_rate": won_share(won, leads),
            "precision": won_share(won_handed, handed), "recall": won_share(won_handed, won)}
    rejected: dict[str, dict[str, int]] = {}
    for name, value in row.items():
        if name.startswith("#") and ":" in name and not name.startswith("#minutes:"):
            event, reason = name[1:].split(":", 1)
            rejected.setdefault(event, {})[reason] = int(value or 0)
    stops = {name[len(STOP):]: int(value or 0) for name, value in row.items() if name.startswith(STOP)}
    out["answers"] = {"stops": {**stops, **rejected},
                      "recycled": int(row["recycled"]), "recycled_won": int(row["recycled_won"]),
                      "recycled_lost": int(row["recycled_lost"])}
    out["median_minutes"] = {name[len("#minutes:"):]: None if value is None else round(float(value), 1)
                             for name, value in row.items() if name.startswith("#minutes:")}
    return out


def score_bands(m: Measured, score: str) -> list[dict[str, Any]]:
    """Won rate by band of a score: the deciles' cut points over every decided lead (fewer bands when
    many leads share a value)."""
    (cuts,) = m.con.execute(f"SELECT quantile_disc({quoted(score)}, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) "
                            f"FROM {TABLE}").fetchone() or ([],)
    bounds = sorted({c for c in (cuts or []) if c is not None})
    band = " + ".join(f"CASE WHEN {quoted(score)} > {lit(c)} THEN 1 ELSE 0 END" for c in bounds) or "0"
    rows = m.con.execute(f'SELECT {band} AS band, min({quoted(score)}), max({quoted(score)}), count(*), '
                         f'count(*) FILTER (WHERE "#outcome" = \'won\') FROM {TABLE} GROUP BY band ORDER BY band'
                         ).fetchall()
    return [{"band": f"{low}-{high}" if low != high else str(low), "low": low, "high": high, "leads": n,
             "won": w, "won_rate": won_share(w, n)} for _, low, high, n, w in rows]


def feedback_report(m: Measured, data: FeedbackInput) -> dict[str, Any]:
    """Overall and per group of each `--by` column: leads, stages, grades, handoffs, outcomes, rates."""
    ir_ = m.policy.ir
    overall = tally(m, [])[0]
    overall["stages"] = _by_stage(m, [], overall["won"])
    overall["grades"] = {g.name: tally(m, [g.name]) for g in ir_.grades}
    overall["score_bands"] = {s.name: score_bands(m, s.name) for s in ir_.scores}
    groups = []
    for column in m.by:
        for row in tally(m, [column]):
            value = row.pop(column)
            row["stages"] = _by_stage(m, [column], row["won"], value)
            groups.append({"by": column, "value": value, **row})
    scored = m.scored
    events = scored.events
    return {"policy": m.policy.id, "version": m.policy.version, "fingerprint": m.policy.fingerprint,
            "as_of": local_time(data.as_of, ir_), "now": local_time(data.now, ir_), "handoff_to": m.handoff.team,
            "handoff_stages": list(m.handoff.stages),
            "rows": {"leads_read": scored.read, "leads_decided": scored.scored, "leads_rejected": scored.rejected,
                     "events_read": events.read if events else 0, "events_used": events.used if events else 0,
                     "events_rejected": events.rejected if events else 0},
            "overall": overall, "groups": groups}


def local_time(instant: dt.datetime, policy: ir.Policy) -> str:
    """An instant as ISO text in the policy's timezone, as the reports show as_of and now."""
    from leadpolicy import zones

    return instant.astimezone(zones.zone(policy.timezone)).isoformat()


def _by_stage(m: Measured, keys: list[str], won: int, value: Any = None) -> list[dict[str, Any]]:
    """Per stage: leads, outcomes, won rate; for a handoff stage its precision (won among the leads handed
    off to it) and recall (its share of every won lead)."""
    rows = tally(m, [*keys, "stage"])
    out = []
    for row in rows:
        if keys and row[keys[0]] != value:
            continue
        handoff = row["stage"] in m.handoff.stages
        out.append({"stage": row["stage"], "handoff": handoff, "leads": row["leads"], "won": row["won"],
                    "lost": row["lost"], "open": row["open"], "won_rate": row["won_rate"],
                    "precision": row["won_rate"] if handoff else None,
                    "recall": won_share(row["won"], won) if handoff else None})
    return out
