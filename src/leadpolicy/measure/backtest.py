"""Backtest: two versions of a policy side by side on the same leads, events and outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from leadpolicy.api import Policy
from leadpolicy.language.words import quantity
from leadpolicy.measure.feedback import (
    FeedbackInput,
    Measured,
    count_where,
    local_time,
    measure,
    parquet_table,
    won_share,
)
from leadpolicy.measure.render import percent


def backtest(old_policy: Policy, new_policy: Policy, data: FeedbackInput, folder: Path,
             old: Measured | None = None, new: Measured | None = None) -> dict[str, Any]:
    """Both versions decide the leads as of `data.as_of`; compare what each hands off with the outcomes.
    `old`, `new`: a version already measured on the same data (it is not decided again). The working files go
    to `folder`."""
    first = old if old is not None else measure(old_policy, data, folder / "old")
    second = new if new is not None else measure(new_policy, data, folder / "new")
    con = duckdb.connect()
    for name, measured in (("a", first), ("b", second)):
        con.execute(exp.Create(this=exp.to_table(name), kind="TABLE",
                               expression=exp.select(exp.Star()).from_(parquet_table(measured.table_file))
                               ).sql("duckdb"))
    # Leads are matched by id; a lead one version rejected is left out of the comparison and counted.
    con.execute('CREATE TABLE pair AS SELECT a."#id", a.stage AS old_stage, b.stage AS new_stage, '
                'a."#handed" AS old_handed, b."#handed" AS new_handed, a."#outcome" AS outcome '
                'FROM a JOIN b ON a."#id" = b."#id"')
    (both,), (ids,) = (con.execute(sql).fetchone() or (0,) for sql in (
        "SELECT count(*) FROM pair", 'SELECT count(*) FROM (SELECT "#id" FROM a UNION SELECT "#id" FROM b)'))
    versions = {name: _version(con, policy, name) for name, policy in (("old", old_policy), ("new", new_policy))}
    changes = [{"from": f, "to": t, "leads": n, "won": w, "lost": lo, "open": n - w - lo, "won_rate": won_share(w, n)}
               for f, t, n, w, lo in con.execute(
                   "SELECT old_stage, new_stage, count(*), count(*) FILTER (WHERE outcome = 'won'), "
                   "count(*) FILTER (WHERE outcome = 'lost') FROM pair WHERE old_stage IS DISTINCT FROM new_stage "
                   "GROUP BY ALL ORDER BY count(*) DESC, old_stage, new_stage").fetchall()]
    moves = {kind: _group(con, where) for kind, where in (
        ("added", "new_handed AND NOT old_handed"), ("dropped", "old_handed AND NOT new_handed"),
        ("kept", "old_handed AND new_handed"))}
    rows = {"leads_read": first.scored.read, "old_rejected": first.scored.rejected,
            "new_rejected": second.scored.rejected, "leads_rejects_file": _kept(second.leads_rejects, folder)}
    return {"as_of": local_time(data.as_of, new_policy.ir), "now": local_time(data.now, new_policy.ir), "leads": both,
            "rows": rows,
            "not_in_both": ids - both, "old": versions["old"], "new": versions["new"], "moves": moves,
            "changes": changes, "verdict": verdict(first, versions, moves)}


_WON = exp.EQ(this=exp.column("outcome"), expression=exp.Literal.string("won"))


def _group(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, Any]:
    query = exp.select(exp.Count(this=exp.Star()), count_where(_WON.copy())).from_("pair").where(where)
    n, won = con.execute(query.sql("duckdb")).fetchone() or (0, 0)
    return {"leads": n, "won": won, "won_rate": won_share(won, n)}


def _version(con: duckdb.DuckDBPyConnection, policy: Policy, side: str) -> dict[str, Any]:
    handed = exp.column(f"{side}_handed")
    query = exp.select(exp.Count(this=exp.Star()), count_where(handed), count_where(_WON.copy()),
                       count_where(exp.and_(handed.copy(), _WON.copy()))).from_("pair")
    n, handed_off, won, captured = con.execute(query.sql("duckdb")).fetchone() or (0, 0, 0, 0)
    return {"policy": policy.id, "version": policy.version, "fingerprint": policy.fingerprint, "leads": n,
            "handed_off": handed_off, "won": won, "won_captured": captured, "won_missed": won - captured,
            "precision": won_share(captured, handed_off), "recall": won_share(captured, won)}


def verdict(first: Measured, versions: dict[str, Any], moves: dict[str, Any]) -> str:
    """One line a reviewer can paste into the pull request."""
    old, new = versions["old"], versions["new"]
    team = (first.handoff.team or "the other team").capitalize()
    if old["handed_off"]:
        change = (new["handed_off"] - old["handed_off"]) / old["handed_off"] * 100
        amount = f"{abs(change):.0f}% {'more' if change >= 0 else 'fewer'} leads"
    else:
        amount = f"{quantity(new['handed_off'], 'leads')} (none before)"
    added, dropped, kept = moves["added"], moves["dropped"], moves["kept"]
    parts = [f"{new['version']} hands {amount} to {team} ({old['handed_off']:,} → {new['handed_off']:,})"]
    if added["leads"]:
        parts.append(f"the {added['leads']:,} newly handed off win at {percent(added['won_rate'])} against "
                     f"{percent(kept['won_rate'])} for those already handed off")
    if dropped["leads"]:
        parts.append(f"the {dropped['leads']:,} no longer handed off won at {percent(dropped['won_rate'])}")
    parts.append(f"won leads captured: {new['won_captured']:,} of {new['won']:,} (recall {percent(new['recall'])}, "
                 f"was {percent(old['recall'])}); precision {percent(new['precision'])}, "
                 f"was {percent(old['precision'])}")
    return "; ".join(parts) + "."


def _kept(rejects: Path | None, folder: Path) -> str | None:
    """The leads' rejects file as the report names it: None when none was written, or when it is among the
    working files (`folder`), which go away with the run."""
    if rejects is None or rejects.resolve().is_relative_to(folder.resolve()):
        return None
    return str(rejects)


def data_files(folder: Path) -> tuple[Path, Path]:
    """The leads and events files of a backtest data folder: `leads.*` and `events.*` (CSV, JSON Lines or
    Parquet), not the rejects files feedback, backtest and calibrate write beside them (`leads.rejects.csv`)."""
    from leadpolicy.measure.feedback import FeedbackError
    from leadpolicy.warehouse.staging import FORMATS

    found = []
    for stem in ("leads", "events"):
        matches = sorted(p for p in folder.glob(f"{stem}.*") if p.suffix.lower() in FORMATS
                         and not p.name.lower().endswith(".rejects.csv"))
        if len(matches) != 1:
            raise FeedbackError(f"{folder}: needs exactly one {stem}.csv, {stem}.jsonl or {stem}.parquet "
                                f"(found {', '.join(p.name for p in matches) or 'none'})")
        found.append(matches[0])
    return found[0], found[1]


def changed_policies(paths: list[Path], ref: str) -> list[tuple[Path, str]]:
    """The policies among `paths` whose text differs from `ref`'s, with that older text (a policy that is
    new since `ref` has nothing to compare with and is left out)."""
    from leadpolicy.governance.approvals import file_at

    changed = []
    for path in paths:
        old = file_at(ref, path)
        if old is not None and old != path.read_text("utf-8"):
            changed.append((path, old))
    return changed
