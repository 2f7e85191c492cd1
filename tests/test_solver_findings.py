"""The solver's soundness and its witnesses, as an audit found them wanting (issue 27): `diff --prove` across a
change of zone or of a default, numbers and texts a lead file can hold exactly, offsets refined without
spending the witnesses' rounds, and a round `now` kept when it costs nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import z3

from leadpolicy import runtime, zones
from leadpolicy.cli.main import main
from leadpolicy.proofs import prove
from leadpolicy.proofs.exhaustive import reachability
from leadpolicy.proofs.moves import moves
from leadpolicy.semantics.primitives import smt
from leadpolicy.semantics.symbolic import Found, Impossible, SymbolicLead, find

from .engines import policy_from_text

HEAD = """policy "p" version 1.0.0 {
  title "t"
  owner marketing "a <a@example.com>"
  owner sales "b <b@example.com>"
  timezone "%s"
"""
STAGES = """  stages {
    hot when s >= 1 owner sales
    cold otherwise owner marketing
  }
"""


def policy(zone: str, body: str, guarantees: str = "") -> Any:
    block = f"  guarantees {{\n{guarantees}  }}\n" if guarantees else ""
    return policy_from_text(HEAD % zone + body + STAGES + block + "}\n")


def decided_stage(p: Any, lead: dict[str, Any], now: str, events: list[dict[str, Any]] | None = None) -> str:
    return str(p.evaluate(lead, now, events or []).stage)


def possible_moves(old: Any, new: Any) -> dict[tuple[str, str], Any]:
    return {(m.old, m.new): m for m in moves(old, new, timeout=30.0) if m.status == "possible"}


def assert_witnessed(old: Any, new: Any, move: Any) -> None:
    """The move's witness is decided its old stage by the old version and its new stage by the new one."""
    shown = json.loads(json.dumps(move.witness.as_json()))
    assert decided_stage(old, shown["lead"], shown["now"], shown["events"]) == move.old
    assert decided_stage(new, shown["lead"], shown["now"], shown["events"]) == move.new


# ---------------------------------------------------------------- F2: a changed zone


DAYS_SINCE = """  lead {
    d date required
  }
  score s {
    +1 when days since d >= 1
  }
"""


def test_a_changed_zone_moves_a_lead_both_ways_and_diff_prove_says_so():
    old, new = policy("UTC", DAYS_SINCE), policy("Pacific/Kiritimati", DAYS_SINCE)
    # the premise: at noon UTC it is already the next day in Kiritimati (UTC+14)
    lead, now = {"d": "2026-11-20"}, "2026-11-20T12:00:00Z"
    assert (decided_stage(old, lead, now), decided_stage(new, lead, now)) == ("cold", "hot")
    found = possible_moves(old, new)
    assert ("cold", "hot") in found
    for move in found.values():
        assert_witnessed(old, new, move)


def test_each_version_reads_today_in_its_own_zone_for_the_same_now():
    old, new = policy("UTC", DAYS_SINCE), policy("Pacific/Kiritimati", DAYS_SINCE)
    a = SymbolicLead(old.ir)
    b = a.under(new.ir)
    found = find(lambda x, y: z3.And(x.today() != y.today(), x.vars.now == a.vars.now), [a, b], 20.0)
    assert isinstance(found, Found), found
    w = found.witnesses[0]
    assert w.now.astimezone(dt.timezone.utc).date() != w.now.astimezone(zones.zone("Pacific/Kiritimati")).date()


# ---------------------------------------------------------------- F4: a changed default


def default_body(default: str) -> str:
    return f"""  lead {{
    x number{default}
  }}
  score s {{
    +1 when x > 3
  }}
"""


def test_a_changed_default_moves_a_lead_without_the_field_and_diff_prove_says_so():
    old, new = policy("UTC", default_body("")), policy("UTC", default_body(" default 5"))
    assert (decided_stage(old, {}, "2026-11-20T12:00:00Z"), decided_stage(new, {}, "2026-11-20T12:00:00Z")) == (
        "cold", "hot")
    found = possible_moves(old, new)
    assert set(found) == {("cold", "hot"), ("hot", "hot"), ("cold", "cold")}
    assert "x" not in found[("cold", "hot")].witness.lead  # the lead gives no x: each version takes its default
    for move in found.values():
        assert_witnessed(old, new, move)


# ---------------------------------------------------------------- F3: numbers a lead file holds exactly


NARROW = """  lead {
    x number required
  }
  score s {
    +1 when x > 999999999.000000001 and x < 999999999.000000003
  }
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.policy"
    path.write_text(text, "utf-8")
    return str(path)


def test_a_number_no_reader_reads_proves_its_claim_and_never_exits_3(tmp_path, capsys):
    p = policy("UTC", NARROW, '    "not that one": x != 123456789.123456789\n'
                              '    "narrow": not (x > 999999999.000000001 and x < 999999999.000000003)\n')
    # every reader reads a number through a float: 123456789.123456789 is read as 123456789.12345679
    assert runtime.read_number(Decimal("123456789.123456789")) != Decimal("123456789.123456789")
    assert [(r.name, r.status) for r in prove(p)] == [("not that one", "proved"), ("narrow", "proved")]
    path = write(tmp_path, HEAD % "UTC" + NARROW + STAGES + "}\n")
    assert main(["check", path]) in (0, 1)
    capsys.readouterr()


def test_a_stage_only_unreadable_numbers_reach_is_proved_unreachable():
    p = policy("UTC", NARROW)
    reaches = {r.place.name: r for r in reachability(p, seconds=60.0, per_search=30.0)}
    assert reaches["stage hot"].status in ("unreachable", "never-true"), reaches["stage hot"]


def test_a_fractional_witness_is_read_as_the_solver_found_it():
    body = """  lead {
    x number required
  }
  score s {
    +1 when x > 0.000000001 and x < 0.000000002
  }
"""
    p = policy("UTC", body, '    "never hot": stage != hot\n')
    [result] = prove(p)
    assert result.status == "violated"
    x = result.counterexample["lead"]["x"]
    assert Decimal("0.000000001") < runtime.read_number(Decimal(repr(x))) < Decimal("0.000000002")


# ---------------------------------------------------------------- F5: offsets refined apart from the rounds


ALONG_TS = """  lead {
    d date
    ts timestamp
  }
  events {
    demo
  }
  score s {
    +1 when ts >= d
    +1 when days since ts < 3
    +1 when days since d <= 1
    +2 when demo in last 7 days
    decay 50% every 2 days since last demo
  }
"""


def test_true_claims_along_a_timestamp_in_a_zone_with_clock_changes_are_proved():
    p = policy("America/New_York", ALONG_TS, '    "s ts": s never decreases with ts\n'
                                             '    "h ts": handoff never lost with ts\n')
    results = prove(p, timeout=20.0)
    assert [(r.name, r.status) for r in results] == [("s ts", "proved"), ("h ts", "proved")], results


# ---------------------------------------------------------------- F6: texts in folded form


def test_no_folded_text_holds_a_capital_the_fold_lowers():
    p = policy("UTC", """  lead {
    name text required
  }
  score s {
    +1 when name contains "x"
  }
""")
    capital = smt.text("\u020c")  # Ȍ, which every reader folds to ȍ
    assert runtime.fold("\u020c") == "\u020d"
    found = find(lambda lead: z3.Contains(lead.field("name").value, capital), [SymbolicLead(p.ir)], 20.0)
    assert isinstance(found, Impossible), found


def test_witness_texts_are_their_own_fold():
    p = policy("UTC", """  lead {
    name text required
    other text required
  }
  score s {
    +1 when name contains "\u00fc" and other contains "\u00f1"
  }
""", '    "same": stage = hot implies name = other\n')
    [result] = prove(p, timeout=20.0)
    assert result.status == "violated"
    lead = result.counterexample["lead"]
    assert all(runtime.fold(v) == v for v in lead.values()), lead


# ---------------------------------------------------------------- F7: a round now


def test_a_counterexample_keeps_the_round_now_when_the_claim_does_not_read_time():
    p = policy("America/New_York", """  lead {
    name text
  }
  score s {
    +1 when name contains "\u00df"
  }
""", '    "name ss": name contains "ss" implies stage != hot\n')
    [result] = prove(p, timeout=20.0)
    assert result.status == "violated"
    assert result.counterexample["now"] == "2026-11-20T12:00:00-05:00"


def test_a_witness_keeps_a_round_now_even_when_the_preferences_had_no_time(monkeypatch):
    from leadpolicy.semantics.symbolic import search

    monkeypatch.setattr(search, "PREFERENCE_SECONDS", 0.0)  # the preferences get no time: the raw model's now
    p = policy("America/New_York", """  lead {
    name text required
  }
  score s {
    +1 when name contains "\u00df"
  }
""")
    found = find(lambda lead: lead.stage_is(0), [SymbolicLead(p.ir)], 20.0)
    assert isinstance(found, Found), found
    assert found.witnesses[0].now.isoformat() == "2026-11-20T12:00:00-05:00"
