"""The calibration section of a policy's page, from the JSON `leadpolicy calibrate --format json` writes.

Every text of the JSON (rules, reasons, places, the verdict line) is the policy's or the report's and goes
through `md` in the template; every number is checked to be one before the page formats it, so a hand-edited
or hostile file can make neither markup nor a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from leadpolicy.semantics import ir
from leadpolicy.semantics.primitives.conditions import OPS

_NUMBER = {"type": "number"}
_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"]}
_INTERVAL = {"type": ["array", "null"], "items": _NUMBER, "minItems": 2, "maxItems": 2}
_TEXT = {"type": "string"}
_RULE = {"type": "object",
         "required": ["score", "rule", "points", "fired", "won_rate_fired", "won_rate_not", "lift", "ci", "verdict"],
         "properties": {"score": _TEXT, "rule": _TEXT, "reason": {"type": ["string", "null"]}, "points": _NUMBER,
                        "kind": {"enum": ["points", "per", "decay"]}, "fired": _COUNT, "not_fired": _COUNT,
                        "won_rate_fired": _RATE, "won_rate_not": _RATE, "lift": _RATE, "ci": _INTERVAL,
                        "verdict": {"enum": ["supported", "contradicted", "no evidence"]}, "why": _TEXT}}
_SAME_COUNT = {"type": ["object", "null"], "required": ["value", "leads", "won_rate"],
               "properties": {"value": _NUMBER, "leads": _COUNT, "won_rate": _RATE}}
_THRESHOLD = {"type": "object",
              "required": ["place", "score", "op", "value", "leads_past", "won_rate_past", "leads_above",
                           "won_rate_above", "leads_below", "won_rate_below"],
              "properties": {"place": _TEXT, "score": _TEXT, "op": {"enum": [">=", ">", "<=", "<"]}, "value": _NUMBER,
                             "handoff": {"type": "boolean"}, "band": _NUMBER, "leads_past": _COUNT,
                             "won_rate_past": _RATE, "leads_above": _COUNT, "won_rate_above": _RATE,
                             "leads_below": _COUNT, "won_rate_below": _RATE, "same_count": _SAME_COUNT,
                             "ci_past": _INTERVAL, "ci_above": _INTERVAL, "ci_below": _INTERVAL,
                             "condition": {"type": ["string", "null"]},
                             "refit": {"enum": ["points", "inputs", None]}}}
_CHANGED = {"type": ["number", "string"]}  # points or a threshold's value; a string is shown as text
_CHANGE = {"type": "object", "required": ["where", "from", "to"],
           "properties": {"what": _TEXT, "where": _TEXT, "from": _CHANGED, "to": _CHANGED, "why": _TEXT}}
_PROPOSAL = {"type": ["object", "null"], "required": ["version", "changes"],
             "properties": {"file": _TEXT, "version": _TEXT, "changes": {"type": "array", "items": _CHANGE}}}
SCHEMA = {"type": "object",
          "required": ["policy", "fingerprint", "as_of", "now", "leads", "won", "rules", "thresholds", "verdict"],
          "properties": {"policy": _TEXT, "version": _TEXT, "fingerprint": _TEXT, "as_of": _TEXT, "now": _TEXT,
                         "leads": _COUNT, "won": _COUNT, "rules": {"type": "array", "items": _RULE},
                         "thresholds": {"type": "array", "items": _THRESHOLD}, "proposal": _PROPOSAL,
                         "verdict": _TEXT}}


class CalibrationFileError(ValueError):
    """A calibration JSON the page cannot use (unreadable, not JSON, not the calibration's shape, or a second
    one of the same policy); the message names the file and says why."""


@dataclass
class Calibrations:
    """The calibration JSONs given to `docs`, by policy id. `section` hands a policy's page its section when
    the JSON is of that very policy (its fingerprint); every JSON left without a page is a warning."""

    found: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def section(self, policy_id: str, fingerprint: str) -> dict[str, Any] | None:
        if policy_id not in self.found:
            return None
        self.used.add(policy_id)
        path, data = self.found[policy_id]
        if data["fingerprint"] != fingerprint:
            self.warnings.append(f"{path}: the calibration of another version of policy {policy_id} (its "
                                 "fingerprint differs from the published policy's): no calibration section")
            return None
        return section(data)

    def unused(self) -> list[str]:
        """Warnings for the JSONs of policies this run did not publish, and every mismatch `section` found."""
        return self.warnings + [f"{path}: the calibration of policy {policy_id}, which is not published here: "
                                "no calibration section" for policy_id, (path, _) in self.found.items()
                                if policy_id not in self.used]


def section_of(calibrations: Calibrations | None, policy_id: str, fingerprint: str) -> dict[str, Any] | None:
    """The calibration section of a policy's page, or None (no calibrations, none of this policy, or one of
    another version: see `Calibrations.section`)."""
    return calibrations.section(policy_id, fingerprint) if calibrations is not None else None


def read_calibrations(paths: Sequence[Path]) -> Calibrations:
    """Read and check each calibration JSON; raises CalibrationFileError for the first that cannot be used."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in paths:
        data = _read(path)
        if data["policy"] in found:
            raise CalibrationFileError(f"{path}: a second calibration of policy {data['policy']} (the first: "
                                       f"{found[data['policy']][0]}); give one per policy")
        found[data["policy"]] = (path, data)
    return Calibrations(found)


def _read(path: Path) -> dict[str, Any]:
    import jsonschema

    from leadpolicy.language.sources import Unreadable, read_capped

    try:
        data = json.loads(read_capped(path).decode("utf-8-sig"))
    except FileNotFoundError:
        raise CalibrationFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CalibrationFileError(f"{path}: is a directory, not a calibration JSON") from None
    except Unreadable as exc:
        raise CalibrationFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CalibrationFileError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CalibrationFileError(f"{path}: not JSON; give the file `leadpolicy calibrate --format json` "
                                   "wrote") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        raise CalibrationFileError(f"{path}: not a calibration ({_where(error)}: {_expected(error)}); give the "
                                   "file `leadpolicy calibrate --format json` wrote")
    return dict(data)


def _where(error: Any) -> str:
    """The JSON path of a schema error, from the schema's keys and the indexes only (never the file's text)."""
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "the file" + "".join(parts) if parts else "the file"


def _expected(error: Any) -> str:
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"no {missing[0]}" if missing else "a required key is missing"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return "expected " + " or ".join(kinds)
    if error.validator == "enum":
        return "expected one of " + ", ".join(json.dumps(v) for v in error.validator_value)
    return f"does not fit ({error.validator})"


def section(data: dict[str, Any]) -> dict[str, Any]:
    """What the page's calibration section says, every number formatted and every text as in the JSON."""
    proposal = data.get("proposal")
    return {
        "version": data.get("version") or "", "as_of": data["as_of"], "now": data["now"],
        "leads": f"{data['leads']:,}", "won": f"{data['won']:,}",
        "won_rate": percent(data["won"] / data["leads"]) if data["leads"] else "—",
        "verdict": data["verdict"],
        "rules": [_rule(r) for r in data["rules"]],
        "thresholds": [_threshold(t) for t in data["thresholds"]],
        "proposal": None if proposal is None else {
            "version": proposal["version"], "file": proposal.get("file") or "",
            "changes": [{"where": c["where"], "from": _changed(c["from"]), "to": _changed(c["to"]),
                         "why": c.get("why") or ""} for c in proposal["changes"]]},
    }


def _changed(value: float | str) -> str:
    return value if isinstance(value, str) else number(value)


def _rule(rule: dict[str, Any]) -> dict[str, str]:
    interval = rule["ci"]
    lift = "—" if rule["lift"] is None else f"{rule['lift']:.2f}"
    if rule["lift"] is not None and interval is not None:
        lift += f" ({interval[0]:.2f} to {interval[1]:.2f})"
    return {"score": rule["score"], "rule": rule["rule"], "reason": rule.get("reason") or "",
            "points": _points(rule), "verdict": rule["verdict"], "why": rule.get("why") or "",
            "fired": f"{rule['fired']:,}", "won_rate_fired": percent(rule["won_rate_fired"]),
            "won_rate_not": percent(rule["won_rate_not"]), "lift": lift}


UNITS = {"per": " per unit", "decay": " per point it takes"}  # what a rule's points are counted per (page and report)


def _points(rule: dict[str, Any]) -> str:
    """A rule's points as the report shows them: signed, with what they are counted per (+5 per unit)."""
    points = rule["points"]
    shown = number(points) if points <= 0 else "+" + number(points)
    return shown + UNITS.get(rule.get("kind") or "points", "")


def _same_count(found: dict[str, Any]) -> str:
    """The threshold keeping as many leads on the re-fitted points; "no re-fit" when its score keeps its values
    (the cell would repeat the row), as the report says it."""
    same = found.get("same_count")
    if same is None:
        return ""
    if "refit" in found:
        kept = found["refit"] is None
    else:  # a JSON written before it said why a score changes goes by the figures
        kept = same["value"] == found["value"] and same["leads"] == found["leads_past"]
    if kept:
        return "no re-fit"
    said = f"{number(same['value'])}: {_leads_at(same['leads'], same['won_rate'])}"
    return f"{said} (its inputs were re-fitted)" if found.get("refit") == "inputs" else said


def _threshold(found: dict[str, Any]) -> dict[str, str]:
    condition = found.get("condition")
    return {"place": found["place"] + (f": {condition}" if condition else ""), "score": found["score"],
            "op": OPS[ir.Op(found["op"])],
            "value": number(found["value"]), "handoff": "yes" if found.get("handoff") else "",
            "past": _leads_at(found["leads_past"], found["won_rate_past"], found.get("ci_past")),
            "above": _leads_at(found["leads_above"], found["won_rate_above"], found.get("ci_above")),
            "below": _leads_at(found["leads_below"], found["won_rate_below"], found.get("ci_below")),
            "same_count": _same_count(found)}


def _leads_at(leads: int, rate: float | None, interval: list[float] | None = None) -> str:
    """Leads and their won rate, with the rate's 95% interval when the JSON has one."""
    shown = f"{leads:,} leads, {percent(rate)} won"
    return shown if interval is None else f"{shown} ({percent(interval[0])} to {percent(interval[1])})"


def percent(rate: float | None) -> str:
    """A rate (0 to 1) as the page says it: 31.2%; "—" when there is none (no leads)."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def number(value: float) -> str:
    """Points or a threshold as the policy writes them: 10, -5, 2.5 (a JSON number, never a float's noise)."""
    return format(Decimal(repr(value)).normalize(), "f") if isinstance(value, float) else str(value)
