"""A calibration's inputs, read and checked once.

Every decision of a calibration (the current version, the re-fit, the proposal and each raise of its handoff
floors) decides the same leads on the same events: only the points and thresholds differ, never the fields. So
the first decision keeps what it staged and checked, as Parquet in the working folder: the leads it decided,
each input column under its header (as the text the batch read, or the typed value where the batch keeps
originals, as from Parquet), and the checked events of those leads (lead, event, at, reason). Every later
decision reads those instead of the original files (a CSV of 10M events is staged and checked once, not once
per decision) and decides exactly the same leads: the rows the first reading rejected are rows every version
rejects alike, and they are left out; the first reading's counts and rejects file are the ones reported.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlglot import exp

from leadpolicy.measure.feedback import FeedbackInput, Measured, copy_to_parquet, parquet_table
from leadpolicy.warehouse.event_files import EVENTS_TABLE, LeadId
from leadpolicy.warehouse.staging import ROW_NAME, original_column, text_column

LEADS_FILE = "leads.parquet"
EVENTS_FILE = "events.parquet"
# read_parquet's own column, which staging a Parquet file selects beside the file's columns
FILE_ROW_NUMBER = "file_row_number"


@dataclasses.dataclass
class KeptInputs:
    """The checked inputs of a calibration's first decision, in `folder`, for its later ones."""

    folder: Path
    kept: bool = False  # whether the first decision wrote them (leads whose headers Parquet cannot hold: no)

    def first(self, data: FeedbackInput) -> FeedbackInput:
        """`data` keeping what its decision staged and checked."""
        return dataclasses.replace(data, keep_inputs=self.keep)

    def later(self, data: FeedbackInput, first: Measured) -> FeedbackInput:
        """`data` for a later decision: the kept files, their rejects (none are expected) among the working files,
        and the first reading's counts and rejects file reported as its own. `data` itself when nothing was kept."""
        if not self.kept:
            return data
        return dataclasses.replace(data, leads=self.folder / LEADS_FILE, events=self.folder / EVENTS_FILE,
                                   rejects_folder=self.folder, on_warning=None, keep_inputs=None,
                                   reading=(first.scored, first.leads_rejects))

    def keep(self, con: Any, per_lead: Path, headers: list[str], lead: LeadId | None) -> None:
        """Write the decided leads and their checked events from the staging database `con` (`per_lead`: the
        per-lead table, whose `#id` names the decided leads)."""
        if lead is None or not parquet_headers(headers):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        decided = exp.select(exp.column("#id", quoted=True)).from_(parquet_table(per_lead))
        types = {str(name): str(kind) for name, kind, *_ in con.execute(
            exp.Describe(this=exp.to_table("raw")).sql("duckdb")).fetchall()}
        con.execute(copy_to_parquet(leads_query(headers, types, lead, decided), self.folder / LEADS_FILE))
        con.execute(copy_to_parquet(events_query(decided), self.folder / EVENTS_FILE))
        self.kept = True


def parquet_headers(headers: list[str]) -> bool:
    """Whether Parquet holds these headers as they are and a staging of it reads them back: none empty, none
    differing from another only in case (DuckDB would rename one), none named as read_parquet's own column."""
    folded = [h.lower() for h in headers]
    return all(folded) and len(set(folded)) == len(folded) and FILE_ROW_NUMBER not in folded


def leads_query(headers: list[str], types: dict[str, str], lead: LeadId, decided: exp.Select) -> exp.Select:
    """The decided rows of table `raw`, in file order, each input column under its header: its original value
    where staging keeps a typed one (Parquet), else its text as the batch read it (CSV; JSON Lines, whose
    originals are JSON and whose fields are read from their text)."""
    def value(i: int) -> exp.Column:
        original = original_column(i)
        typed = original in types and types[original] != "JSON"
        return exp.column(original if typed else text_column(i), quoted=True)

    return (exp.select(*(exp.alias_(value(i), header, quoted=True) for i, header in enumerate(headers)))
            .from_("raw").where(exp.In(this=lead.text.copy(), query=decided.subquery()))
            .order_by(exp.column(ROW_NAME, quoted=True)))


def events_query(decided: exp.Select) -> exp.Select:
    """The checked events (view `events`: the rows the checks kept, lead as trimmed text, `at` an instant) of
    the decided leads."""
    def text(name: str) -> exp.Expr:
        return exp.alias_(exp.cast(exp.column(name, quoted=True), "VARCHAR"), name, quoted=True)

    return (exp.select(text("lead"), text("event"), exp.column("at", quoted=True), text("reason"))
            .from_(EVENTS_TABLE).where(exp.In(this=exp.column("lead", quoted=True), query=decided.subquery())))
