"""A guarantee's result in words: the decided values of a counter-example, the counter-example as a case
`leadpolicy explain --lead` reads, and the one line the published page shows."""

from __future__ import annotations

import json
import shlex
from typing import Any

from leadpolicy import api
from leadpolicy.proofs.claims import handed_off
from leadpolicy.proofs.guarantees import GuaranteeResult


def decided_values(policy: api.Policy, decision: api.Decision) -> str:
    """`stage nurture (owner marketing), route none, no handoff; fit 0, engagement 40; tier C`."""
    stage = f"stage {decision.stage} (owner {decision.owner})" if decision.stage else "no stage"
    handoff = "handed off" if handed_off(policy, decision) else "no handoff"
    parts = [f"{stage}, route {decision.route if decision.route is not None else 'none'}, {handoff}"]
    if decision.scores:
        parts.append(", ".join(f"{name} {value}" for name, value in decision.scores.items()))
    if decision.grades:
        parts.append(", ".join(f"{name} {label if label is not None else 'none'}"
                               for name, label in decision.grades.items()))
    return "; ".join(parts)


def cases(result: GuaranteeResult) -> list[tuple[str, dict[str, Any]]]:
    """The counter-example as samples cases `{lead, events, now}`: ("", case) for one lead, ("before", ...)
    and ("after", ...) for a pair."""
    shown = result.counterexample
    if shown is None:
        return []
    if "before" not in shown:
        return [("", {"lead": shown["lead"], "events": shown["events"], "now": shown["now"]})]
    return [(side, {"lead": shown[side]["lead"], "events": shown[side]["events"], "now": shown["now"]})
            for side in ("before", "after")]


SHOWN_EVENTS = 10  # a history longer than this is said in short (`prove --format json` has it whole)
LONGEST_COMMAND = 4_000  # characters of an explain command a hint gives (the shell takes 128 KiB; a terminal less)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=True)


def events_said(events: list[dict[str, Any]]) -> str:
    """A history as JSON when short, else in short: `9,000 email_click from AT to AT` per event."""
    if len(events) <= SHOWN_EVENTS:
        return compact(events)
    spans: dict[str, list[Any]] = {}
    for event in events:
        span = spans.setdefault(event["event"], [0, event["at"], event["at"]])
        span[0] += 1
        span[2] = event["at"]
    return "; ".join(f"{count:,} {compact(name)[1:-1]} from {first} to {last}"
                     for name, (count, first, last) in spans.items())


def broken_by(policy: api.Policy, result: GuaranteeResult) -> str:
    """The counter-example and its decided values, on one line."""
    shown = cases(result)
    if result.after is None:
        case = shown[0][1]
        return (f"now {case['now']}, lead {compact(case['lead'])}, events {events_said(case['events'])}: decided "
                + (decided_values(policy, result.before) if result.before is not None else "?"))
    said = [f"now {shown[0][1]['now']}"]
    for (side, case), decision in zip(shown, (result.before, result.after)):
        assert decision is not None, "a pair's counter-example has both decisions"
        said.append(f"{side}: lead {compact(case['lead'])}, events {events_said(case['events'])}: decided "
                    + decided_values(policy, decision))
    return said[0] + "; " + " | ".join(said[1:])


def unknown_said(policy: api.Policy, result: GuaranteeResult) -> str | None:
    """For a condition claim's counter-example that lacks values: which parts of the claim were unknown and why
    (`industry is missing, so `industry in (...)` is unknown`); None when none was."""
    from leadpolicy.proofs.unknowns import unknown_parts

    claim = next((g for g in policy.ir.guarantees if g.name == result.name), None)
    shown = result.counterexample
    if claim is None or shown is None or "lead" not in shown:
        return None
    parts = unknown_parts(policy.ir, [claim.condition, claim.then], shown["lead"])
    return "; ".join(parts) + ", and an unknown condition does not hold" if parts else None


def explain_commands(file: str, result: GuaranteeResult) -> list[str]:
    """`leadpolicy explain FILE --lead '{...}'`, one per lead of the counter-example; for a counter-example too
    long for a command line, where to find it whole and how to explain it from a file."""
    commands = [f"leadpolicy explain {shlex.quote(file)} --lead {shlex.quote(compact(case))}"
                for _, case in cases(result)]
    if all(len(command) <= LONGEST_COMMAND for command in commands):
        return commands
    which = "its now, lead and events" if result.after is None else "its now and the before (or after) lead and events"
    return [f"leadpolicy prove {shlex.quote(file)} --format json shows the whole counter-example of "
            f"{compact(result.name)}; save {which} as {{\"now\", \"lead\", \"events\"}} in case.json",
            f"leadpolicy explain {shlex.quote(file)} --lead case.json"]


def page_status(policy: api.Policy, result: GuaranteeResult) -> tuple[str, str]:
    """(status, one line) for the published page: the counter-example in short, or why it is unknown."""
    if result.status == "violated":
        return result.status, "for example " + broken_by(policy, result)
    if result.status == "unknown":
        return result.status, result.reason or ""
    return result.status, ""


CHANGES = {("proved", "violated"): "held before, broken now", ("violated", "proved"): "broken before, holds now"}
# the order diff --prove says guarantees in: what a reviewer needs first, first
FIRST = ("held before, broken now", "violated", "unknown", "broken before, holds now", "proved")


def compared_guarantees(old: api.Policy, new: api.Policy, timeout: float) -> list[dict[str, Any]]:
    """`diff --prove`: each guarantee of the new version, proved, violated (with its counter-example, whole and in
    one line) or unknown, beside its status in the old version (a guarantee of the same name; None when the old
    version has none), what broke first."""
    from leadpolicy.proofs.guarantees import prove

    if not new.ir.guarantees:
        return []
    names = {g.name for g in new.ir.guarantees}
    before = {r.name: r.status for r in prove(old, timeout)} if any(g.name in names for g in old.ir.guarantees) \
        else {}
    out = [compared(new, result, before.get(result.name)) for result in prove(new, timeout)]
    return sorted(out, key=lambda g: FIRST.index(g["change"] if g["change"] in FIRST else g["status"]))


def compared(new: api.Policy, result: GuaranteeResult, old_status: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": result.name, "claim": result.claim, "status": result.status,
                           "old_status": old_status, "seconds": round(result.seconds, 3)}
    out["change"] = ("new" if old_status is None else "unchanged" if old_status == result.status else
                     CHANGES.get((old_status, result.status), f"{old_status} before, {result.status} now"))
    if result.reason is not None:
        out["reason"] = result.reason
    if result.status == "violated" and result.counterexample is not None:
        out.update(counterexample=result.counterexample, example=broken_by(new, result))
    return out
