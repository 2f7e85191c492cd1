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
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlglot import exp

from leadpolicy.api import Policy
from leadpolicy.language.diagnostics import did_you_mean
from leadpolicy.semantics import ir
from leadpolicy.semantics.logic import fold
from leadpolicy.warehouse.batch import BatchOptions, BatchResult, EventInput, run
from leadpolicy.warehouse.conversion import trimmed
from leadpolicy.warehouse.event_files import EVENTS_TABLE, LeadId, find_column, lead_id_column
from leadpolicy.warehouse.lead_rows import output_names
from leadpolicy.warehouse.sqlgen import epoch_us, fold_sql
from leadpolicy.warehouse.staging import DataFileError, text_column

TABLE = "feedback"  # one row per decided lead
STOP = "#="  # the column of a stop event that answers without a reason (no ':', unlike an event's reasons)
INPUT = "#input:"  # every group column of table `feedback` (a column of the leads), apart from the computed ones
# score's warning of such a column: measuring writes no lead output, so there is nothing to warn of
REPLACED_IN_OUTPUT = re.compile(r"column .* is replaced in the output by the computed \w+$")


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
    default_groups: bool = True  # without `by`: group by every `one of` field (False: by none, as calibrate)
    # hears the staging database, the per-lead table's file, the leads' columns and the lead id before the
    # staging goes away (`measure.reuse` keeps the checked inputs there for a calibration's later decisions)
    keep_inputs: Callable[[Any, Path, list[str], LeadId | None], None] | None = None
    # inputs kept by `measure.reuse`: the reading of the original files (counts, rejects file), reported as this one
    reading: tuple[BatchResult, Path | None] | None = None


def rejects_files(leads: Path, events: Path, folder: Path | None) -> tuple[Path, Path]:
    """Where the leads' and the events' rejected rows go: LEADS_NAME.rejects.csv and EVENTS_NAME.rejects.csv
    in `folder`, else beside each data file, even where policies are (a proposal written beside the data):
    they are rows of that file, which that folder already holds, so no lead data lands where there was none."""
    names = (f"{leads.stem}.rejects.csv", f"{events.stem}.rejects.csv")
    where = (folder, folder) if folder is not None else (leads.parent, events.parent)
    return where[0] / names[0], where[1] / names[1]


def group_label(column: str) -> str:
    """The name a group column of table `feedback` was asked for by (`Owner`, for the leads' own column)."""
    return column.removeprefix(INPUT)


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
    by: list[str]  # the group columns, as named in the table (`group_label` names each as asked)
    handoff: Handoff
    leads_rejects: Path | None = None  # where the leads' rejected rows were written (None: none were)


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

    def attach(con: duckdb.DuckDBPyConnection) -> None:
        described = exp.Describe(this=exp.select(exp.Star()).from_(parquet_table(decided))).sql("duckdb")
        columns = [d[0] for d in con.execute(described).fetchall()]
        inputs, lead = found["inputs"]
        try:
            id_col = columns[lead_id_column(columns, data.id_column, data.leads)]
            groups = [_group(policy, columns, inputs, data, name) for name in data.by or _default_groups(policy, data)]
        except DataFileError as exc:
            raise FeedbackError(str(exc)) from None
        found["by"] = [column for column, _ in groups]
        con.execute(copy_to_parquet(_PerLead(policy, data, handoff).query(decided, id_col, groups, lead), per_lead))
        if data.keep_inputs is not None:
            data.keep_inputs(con, per_lead, inputs, lead)

    leads_rejects, events_rejects = rejects_files(data.leads, data.events, data.rejects_folder)
    try:
        with data.progress(policy) if data.progress is not None else contextlib.nullcontext() as progress:
            events = EventInput(data.events, data.id_column, rejects=events_rejects, one_row_per_lead=True)
            options = BatchOptions(source=data.leads, now=data.as_of, output=decided, engine=data.engine,
                                   rejects=leads_rejects, events=events, columns=dict(data.columns),
                                   progress=progress, on_warning=_measuring_warnings(data.on_warning),
                                   then=attach, inputs=lambda names, lead: found.update(inputs=(names, lead)))
            result, _, written = run(policy, options)
    except DataFileError as exc:
        raise FeedbackError(str(exc)) from None
    if data.reading is not None:
        result, written = data.reading
    if data.on_read is not None:
        data.on_read(policy, result)
    con = duckdb.connect()
    con.execute(exp.Create(this=exp.to_table(TABLE), kind="TABLE",
                           expression=exp.select(exp.Star()).from_(parquet_table(per_lead))).sql("duckdb"))
    return Measured(policy, result, con, per_lead, found["by"], handoff, written)


def _measuring_warnings(warn: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """score's warnings on reading the leads, but for a column the output replaces: measuring writes none."""
    if warn is None:
        return None
    return lambda text: None if REPLACED_IN_OUTPUT.search(text) else warn(text)


def _default_groups(policy: Policy, data: FeedbackInput) -> list[str]:
    return [f.name for f in policy.ir.fields if f.type == "one of"] if data.default_groups else []


def _group(policy: Policy, columns: list[str], inputs: list[str], data: FeedbackInput, name: str
           ) -> tuple[str, int | None]:
    """The column grouped by for field `name` (its mapped header, else its own name), always a column of the
    leads file (`inputs`), never a computed one, named INPUT + its name in table `feedback` (a leads column
    `#outcome` or `stage` never stands for the computed one): (that name, None) when the decided file kept it,
    or, for a column the decided file replaced by a computed one (Owner, beside the computed owner), (that
    name, its position among `inputs`). A field no column of the leads file holds is bad usage
    (FeedbackUsage), naming the file's own columns and the --column that would map it."""
    header = dict(data.columns).get(name, name)  # a field read from a column named otherwise is grouped by it
    try:
        index = find_column(inputs, header, data.leads, "to group by", "--by")
    except DataFileError:
        hint = _likely_header(header, inputs)
        listed = ", ".join(map(repr, inputs[:12])) + (", ..." if len(inputs) > 12 else "")
        fix = (f"read the field from a column named otherwise with --column {name}=HEADER, or group by other "
               "fields with --by" if name in {f.name for f in policy.ir.fields} else "name a column with --by")
        raise FeedbackUsage(f"{data.leads}: no column {header!r} to group by ({hint + '; ' if hint else ''}the "
                            f"columns are {listed}); {fix}") from None
    kept = columns[:len(columns) - len(output_names(policy.ir))]  # the decided file: the leads' kept columns first
    return INPUT + inputs[index], None if inputs[index] in kept else index


def _likely_header(name: str, headers: list[str]) -> str | None:
    """'did you mean "Lead Source"?' for `source`: a header holding the name as a word, else the closest
    ignoring case."""
    import difflib

    words = [h for h in headers if fold(name) in fold(h).replace("_", " ").split()]
    lowered = {h.lower(): h for h in headers}
    close = words or [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)]
    return f'did you mean "{close[0]}"?' if close else did_you_mean(name, headers)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _epoch(value: exp.Expr) -> exp.Expr:
    """DuckDB's microseconds since the epoch of a timestamp."""
    return exp.Anonymous(this="epoch_us", expressions=[value])


def _in(value: exp.Expr, texts: list[str] | tuple[str, ...]) -> exp.In:
    """`value IN (...)` of text literals (never empty: an empty list matches nothing)."""
    return exp.In(this=value, expressions=[exp.Literal.string(t) for t in texts] or [exp.Null()])


def count_where(condition: exp.Expr) -> exp.Expr:
    """`count(*) FILTER (WHERE condition)`."""
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition))


def is_won() -> exp.Expr:
    """A lead of table `feedback` that was won."""
    return exp.EQ(this=_col("#outcome"), expression=exp.Literal.string("won"))


def parquet_table(path: Path) -> exp.Table:
    """`read_parquet('PATH')` as a table to select from."""
    return exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(path))]))


def copy_to_parquet(query: exp.Query, path: Path) -> str:
    """`COPY (query) TO 'PATH' (FORMAT parquet)`."""
    return exp.Copy(this=exp.Subquery(this=query), kind=False, files=[exp.Literal.string(str(path))],
                    params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("parquet"))]).sql("duckdb")


def _and(*conditions: exp.Expr) -> exp.Expr:
    return exp.and_(*conditions)


@dataclass
class _PerLead:
    """The SQL of one row per decided lead. Every name and reason from the policy is a quoted literal or
    identifier."""

    policy: Policy
    data: FeedbackInput
    handoff: Handoff

    def __post_init__(self) -> None:
        slas = self.policy.ir.slas
        self.reasons = {n.event: list(n.reasons) for sla in slas for n in sla.reasons}  # event -> agreed reasons
        self.clocks = [sla.clock for sla in slas if sla.clock is not None and sla.owner == self.handoff.team]
        self.clock_names = [sla.name for sla in slas if sla.clock is not None and sla.owner == self.handoff.team]
        self.won = [e for o in self.policy.ir.outcomes if o.kind == "won" for e in o.events]
        self.lost = [e for o in self.policy.ir.outcomes if o.kind == "lost" for e in o.events]
        self.until = exp.Literal.number(epoch_us(self.data.now))
        # Reasons as the SLA report reads them: folded as the language compares text, blanks kept.
        self.reason = fold_sql(exp.Coalesce(this=_col("reason"), expressions=[exp.Literal.string("")]), "duckdb")

    def window(self) -> exp.Expr:
        """Events after `as_of`, up to `now`."""
        at = _epoch(_col("at"))
        return _and(exp.GT(this=at, expression=exp.Literal.number(epoch_us(self.data.as_of))),
                    exp.LTE(this=at.copy(), expression=self.until.copy()))

    def is_event(self, event: str) -> exp.Expr:
        return exp.EQ(this=_col("event"), expression=exp.Literal.string(event))

    def counts(self) -> list[tuple[str, exp.Expr, exp.Expr]]:
        """Per lead, over its events in the window: (column, aggregate, value when the lead has no event there)."""
        zero = exp.Literal.number(0)
        counts: list[tuple[str, exp.Expr, exp.Expr]] = []
        for event, agreed in self.reasons.items():
            for r in agreed:
                reason_is = exp.EQ(this=self.reason.copy(), expression=exp.Literal.string(fold(r)))
                counts.append((f"#{event}:{r}", count_where(_and(self.is_event(event), reason_is)), zero))
            other = exp.Not(this=_in(self.reason.copy(), [fold(r) for r in agreed]))
            counts.append((f"#{event}:other", count_where(_and(self.is_event(event), other)), zero))
        # Sales' answers are the stops of the clocks whose SLA needs a reason for one of them (accepted or rejected).
        answering = [sla.clock for sla in self.policy.ir.slas
                     if sla.clock is not None and any(n.event in sla.clock.stops for n in sla.reasons)]
        accepting = sorted({stop for clock in answering for stop in clock.stops if stop not in self.reasons})
        counts += [(f"{STOP}{stop}", count_where(self.is_event(stop)), zero) for stop in accepting]
        recycled = [_and(self.is_event(r.event), exp.EQ(this=self.reason.copy(),
                                                         expression=exp.Literal.string(fold(r.reason))))
                    for r in self.policy.ir.recycle]
        counts.append(("#recycled", exp.func("bool_or", exp.or_(*recycled) if recycled else exp.false(),
                                             dialect="duckdb"), exp.false()))
        return counts

    def outcomes(self) -> exp.Select:
        """The first outcome event of each lead; on a tie at one instant, lost (0) sorts before won (1)."""
        won_case = exp.Case().when(_in(_col("event"), self.won), exp.Literal.number(1)).else_(exp.Literal.number(0))
        outcome = exp.Case().when(exp.EQ(this=won_case.copy(), expression=exp.Literal.number(1)),
                                  exp.Literal.string("won")).else_(exp.Literal.string("lost"))
        first = exp.func("arg_min", outcome, exp.Tuple(expressions=[_epoch(_col("at")), won_case]), dialect="duckdb")
        return (exp.select(_col("lead"), exp.alias_(first, "outcome")).from_(EVENTS_TABLE)
                .where(_and(_in(_col("event"), [*self.won, *self.lost]), self.window())).group_by(_col("lead")))

    def aggregates(self, counts: list[tuple[str, exp.Expr, exp.Expr]]) -> exp.Select:
        starts = [exp.alias_(exp.Min(this=exp.Case().when(_in(_col("event"), clock.starts), _epoch(_col("at")))),
                             f"#start{i}", quoted=True) for i, clock in enumerate(self.clocks)]
        return (exp.select(_col("lead"), *(exp.alias_(aggregate, name, quoted=True) for name, aggregate, _ in counts),
                           *starts).from_(EVENTS_TABLE).where(self.window()).group_by(_col("lead")))

    def first_stop(self, i: int, clock: ir.Clock) -> exp.Select:
        """Each lead's first stop of clock `i` at or after its first start, both in the window."""
        at = _epoch(_col("at", "e"))
        where = _and(_in(_col("event", "e"), clock.stops), exp.GTE(this=at, expression=_col(f"#start{i}", "a")),
                     exp.LTE(this=at.copy(), expression=self.until.copy()))
        return (exp.select(_col("lead", "e"), exp.alias_(exp.Min(this=at.copy()), "stop"))
                .from_(exp.to_table(EVENTS_TABLE).as_("e"))
                .join("a", on=exp.EQ(this=_col("lead", "a"), expression=_col("lead", "e")))
                .where(where).group_by(_col("lead", "e")))

    def columns(self, by: list[tuple[str, int | None]], counts: list[tuple[str, exp.Expr, exp.Expr]]
                ) -> list[exp.Expr]:
        return [exp.alias_(_col("#id", "d"), "#id", quoted=True),
                *(exp.alias_(exp.cast(_col(c, "d" if i is None else "g"), "VARCHAR"), c, quoted=True) for c, i in by),
                *(_col(n) for n in output_names(self.policy.ir)),
                exp.alias_(_in(exp.column("stage"), self.handoff.stages), "#handed", quoted=True),
                exp.alias_(exp.column("outcome", table="o"), "#outcome", quoted=True),
                *(exp.alias_(exp.Coalesce(this=_col(name, "a"), expressions=[none]), name, quoted=True)
                  for name, _, none in counts),
                *(exp.alias_(exp.Div(this=exp.Paren(this=exp.Sub(this=exp.column("stop", table=f"s{i}"),
                                                                 expression=_col(f"#start{i}", "a"))),
                                     expression=exp.Literal.number("60000000.0")), f"#minutes:{name}", quoted=True)
                  for i, name in enumerate(self.clock_names))]

    def query(self, decided: Path, id_col: str, by: list[tuple[str, int | None]], lead: LeadId | None
              ) -> exp.Select:
        """`by`: each group column, from the decided file `d`, or at its position among the leads' columns
        (table `raw` of the staging database, joined as `g` by the lead id `lead`) when `d` has it no more.
        `d` holds the lead id, the outputs and the group columns only, each under its own name: a leads column
        named as a computed one (`#id`, `#outcome`) is never read in its place."""
        counts = self.counts()
        lead_id = exp.alias_(trimmed(exp.cast(_col(id_col), "VARCHAR")), "#id", quoted=True)
        kept = [exp.alias_(_col(c.removeprefix(INPUT)), c, quoted=True) for c, i in by if i is None]
        outputs = [_col(n) for n in output_names(self.policy.ir)]
        query = (exp.select(*self.columns(by, counts)).from_("d")
                 .join("o", on=exp.EQ(this=exp.column("lead", table="o", quoted=True), expression=_col("#id", "d")),
                       join_type="left")
                 .join("a", on=exp.EQ(this=_col("lead", "a"), expression=_col("#id", "d")), join_type="left"))
        replaced = [(c, i) for c, i in by if i is not None]
        if replaced and lead is not None:
            inputs = exp.select(exp.alias_(lead.text, "#gid", quoted=True),
                                *(exp.alias_(_col(text_column(i)), c, quoted=True) for c, i in replaced)).from_("raw")
            query = query.join(exp.Subquery(this=inputs, alias=exp.TableAlias(this=exp.to_identifier("g"))),
                               on=exp.EQ(this=_col("#gid", "g"), expression=_col("#id", "d")), join_type="left")
        for i, clock in enumerate(self.clocks):
            query = query.join(exp.Subquery(this=self.first_stop(i, clock), alias=exp.TableAlias(
                this=exp.to_identifier(f"s{i}"))), on=exp.EQ(this=exp.column("lead", table=f"s{i}", quoted=True),
                                                             expression=_col("#id", "d")), join_type="left")
        return (query.with_("d", exp.select(lead_id, *outputs, *kept).from_(parquet_table(decided)))
                .with_("o", self.outcomes()).with_("a", self.aggregates(counts)))


# ---------------------------------------------------------------- the report

def tally(m: Measured, keys: list[str]) -> list[dict[str, Any]]:
    """Counts per combination of `keys` (columns of table `feedback`); one row overall without keys."""
    columns = _columns(m)
    answers = [c for c in columns if _is_answer(c)]
    minutes = [c for c in columns if c.startswith("#minutes:")]
    stops = [c for c in columns if c.startswith(STOP)]
    handed, recycled = _col("#handed"), _col("#recycled")
    won, lost = (exp.EQ(this=_col("#outcome"), expression=exp.Literal.string(o)) for o in ("won", "lost"))
    measures = [
        exp.alias_(exp.Count(this=exp.Star()), "leads"), exp.alias_(count_where(handed), "handed_off"),
        exp.alias_(count_where(won), "won"), exp.alias_(count_where(lost), "lost"),
        exp.alias_(count_where(_and(handed.copy(), won.copy())), "won_handed_off"),
        exp.alias_(count_where(recycled), "recycled"),
        exp.alias_(count_where(_and(recycled.copy(), won.copy())), "recycled_won"),
        exp.alias_(count_where(_and(recycled.copy(), lost.copy())), "recycled_lost"),
        *(exp.alias_(exp.Sum(this=_col(c)), c, quoted=True) for c in [*stops, *answers]),
        *(exp.alias_(exp.func("median", _col(c), dialect="duckdb"), c, quoted=True) for c in minutes)]
    query = exp.select(*(_col(k) for k in keys), *measures).from_(TABLE)
    if keys:
        query = query.group_by(*(_col(k) for k in keys)).order_by(
            *(exp.Ordered(this=_col(k), nulls_first=False) for k in keys))
    cursor = m.con.execute(query.sql("duckdb"))
    names = [d[0] for d in cursor.description]
    return [_shape(dict(zip(names, row)), keys) for row in cursor.fetchall()]


def _is_answer(column: str) -> bool:
    """Whether a column of table `feedback` counts the answers of an event by reason (`#EVENT:REASON`)."""
    return column.startswith("#") and ":" in column and not column.startswith(("#minutes:", INPUT))


def _columns(m: Measured) -> list[str]:
    return [r[0] for r in m.con.execute(exp.Describe(this=exp.to_table(TABLE)).sql("duckdb")).fetchall()]


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
        if _is_answer(name):
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
    deciles = exp.Array(expressions=[exp.Literal.number(f"0.{i}") for i in range(1, 10)])
    cut_query = exp.select(exp.func("quantile_disc", _col(score), deciles, dialect="duckdb")).from_(TABLE)
    (cuts,) = m.con.execute(cut_query.sql("duckdb")).fetchone() or ([],)
    bounds = sorted({c for c in (cuts or []) if c is not None})
    above: list[exp.Expr] = [
        exp.Case().when(exp.GT(this=_col(score), expression=exp.Literal.number(c)), exp.Literal.number(1))
        .else_(exp.Literal.number(0)) for c in bounds]
    band: exp.Expr = exp.Literal.number(0)
    if above:
        band = functools.reduce(lambda total, one: exp.Add(this=total, expression=one), above[1:], above[0])
    query = (exp.select(exp.alias_(band, "band"), exp.Min(this=_col(score)), exp.Max(this=_col(score)),
                        exp.Count(this=exp.Star()),
                        count_where(is_won()))
             .from_(TABLE).group_by(exp.column("band")).order_by(exp.column("band")))
    rows = m.con.execute(query.sql("duckdb")).fetchall()
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
            groups.append({"by": group_label(column), "value": value, **row})
    return {"policy": m.policy.id, "version": m.policy.version, "fingerprint": m.policy.fingerprint,
            "as_of": local_time(data.as_of, ir_), "now": local_time(data.now, ir_), "handoff_to": m.handoff.team,
            "handoff_stages": list(m.handoff.stages), "rows": reading_rows(m.scored), "overall": overall,
            "groups": groups}


def reading_rows(scored: BatchResult) -> dict[str, int]:
    """How reading the leads and events went, as the reports count it."""
    events = scored.events
    return {"leads_read": scored.read, "leads_decided": scored.scored, "leads_rejected": scored.rejected,
            "events_read": events.read if events else 0, "events_used": events.used if events else 0,
            "events_rejected": events.rejected if events else 0}


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
