"""Feedback and backtest reports as text, Markdown or JSON."""

from __future__ import annotations

import json
from typing import Any

from leadpolicy.language.diagnostics import escaped
from leadpolicy.language.words import quantity
from leadpolicy.outputs import md, shown
from leadpolicy.publish.pictures import bars


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def count(value: int) -> str:
    """A count of leads or rows as every report writes it: 1,310."""
    return f"{value:,}"


def leads(value: int) -> str:
    """A number of leads as every report writes it: 1 lead, 1,310 leads."""
    return f"{value:,} {'lead' if value == 1 else 'leads'}"


def table(header: list[str], rows: list[list[Any]], markdown: bool) -> list[str]:
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    if markdown:  # every cell may come from lead data: no HTML, no markup, no column break
        lines = ["| " + " | ".join(md(c) for c in cells[0]) + " |", "|" + " --- |" * len(header)]
        return lines + ["| " + " | ".join(md(c) for c in r) + " |" for r in cells[1:]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]


def _answers(row: dict[str, Any]) -> str:
    a = row["answers"]
    stops = [f"{event} {n}" for event, n in a["stops"].items() if not isinstance(n, dict)]
    rejected = [f"{event} {reason} {n}" for event, reasons in a["stops"].items() if isinstance(reasons, dict)
                for reason, n in reasons.items() if n]
    recycled = f"recycled {a['recycled']} (won {a['recycled_won']}, lost {a['recycled_lost']})" if a["recycled"] else ""
    return "; ".join([*stops, *rejected, *([recycled] if recycled else [])]) or "none"


def render_feedback(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, default=str)
    markdown = fmt == "markdown"
    head = "## " if markdown else ""
    o = report["overall"]
    lines = _feedback_overall(report, markdown)
    lines += ["", f"{head}Per stage", ""]
    lines += table(["stage", "handoff", "leads", "won", "lost", "open", "won rate", "precision", "recall"],
                    [[s["stage"], "yes" if s["handoff"] else "",
                      *(count(s[k]) for k in ("leads", "won", "lost", "open")),
                      percent(s["won_rate"]), percent(s["precision"]), percent(s["recall"])]
                     for s in o["stages"]], markdown)
    for grade, grade_rows in o["grades"].items():
        lines += ["", f"{head}Per grade: {grade}", ""]
        lines += table([grade, "leads", "handed off", "won", "won rate"],
                        [[g[grade], count(g["leads"]), count(g["handed_off"]), count(g["won"]), percent(g["won_rate"])]
                         for g in grade_rows], markdown)
    for score, bands in o["score_bands"].items():
        lines += _score_bands(score, bands, markdown)
    for column in dict.fromkeys(g["by"] for g in report["groups"]):
        groups = [g for g in report["groups"] if g["by"] == column]
        lines += _feedback_groups(column, groups, report["handoff_to"] or "the other team", markdown)
    return finished(lines, markdown)


def finished(lines: list[str], markdown: bool) -> str:
    """A report's lines as its text: Markdown escapes its cells itself; plain text shows every character of
    lead data that is not printable (an escape sequence, a bidi override) as its escape."""
    text = "\n".join(lines) + "\n"
    return text if markdown else shown(text)


def _feedback_overall(report: dict[str, Any], markdown: bool) -> list[str]:
    """The title, the rows read, and the overall figures."""
    head = "## " if markdown else ""
    o, rows = report["overall"], report["rows"]
    team = report["handoff_to"] or "the other team"
    lines = [f"{'# ' if markdown else ''}{report['policy']} {report['version']}: decided as of {report['as_of']}, "
             f"outcomes up to {report['now']}", "",
             f"leads: read {count(rows['leads_read'])}, decided {count(rows['leads_decided'])}, rejected "
             f"{count(rows['leads_rejected'])}; events: read {count(rows['events_read'])}, used "
             f"{count(rows['events_used'])}, rejected {count(rows['events_rejected'])}",
             "", f"{head}Overall", "",
             f"{quantity(o['leads'], 'leads')}, {count(o['handed_off'])} handed off to {team}; won {count(o['won'])}, "
             f"lost {count(o['lost'])}, open {count(o['open'])}; won rate {percent(o['won_rate'])}; "
             f"handoff precision {percent(o['precision'])} "
             f"(won among handed off), recall {percent(o['recall'])} (share of won leads that were handed off)",
             f"Sales' answers: {_answers(o)}"]
    if o["median_minutes"]:
        lines.append("median minutes from start to stop: " + ", ".join(
            f"{k} {v if v is not None else '-'}" for k, v in o["median_minutes"].items()))
    return lines


def _score_bands(score: str, bands: list[dict[str, Any]], markdown: bool) -> list[str]:
    """The won rate by decile of one score (in Markdown with its bar chart)."""
    lines = ["", f"{'## ' if markdown else ''}Won rate by {score} band (deciles)", ""]
    if markdown:
        lines += [_picture(bars(f"won rate by {score} band", [
            (b["band"], b["won_rate"] or 0.0, f"{percent(b['won_rate'])} of {count(b['leads'])}") for b in bands],
            "leadpolicy-calibration")), ""]
    return lines + table([score, "leads", "won", "won rate"],
                          [[b["band"], count(b["leads"]), count(b["won"]), percent(b["won_rate"])] for b in bands],
                          markdown)


def _feedback_groups(column: str, groups: list[dict[str, Any]], team: str, markdown: bool) -> list[str]:
    """The figures by value of one `--by` column (in Markdown with a funnel per value)."""
    lines = ["", f"{'## ' if markdown else ''}By {column}", ""]
    if markdown:
        for g in groups:
            value = "(missing)" if g["value"] is None else escaped(str(g["value"]))  # no control character in SVG
            lines += [_picture(bars(f"{column} {value}: funnel", [
                ("leads", g["leads"], count(g["leads"])), (f"handed off to {team}", g["handed_off"],
                                                           count(g["handed_off"])),
                ("won", g["won"], f"{count(g['won'])} ({percent(g['won_rate'])})")], "leadpolicy-funnel")), ""]
    return lines + table([column, "leads", "handed off", "won", "lost", "open", "won rate", "precision", "recall",
                           "answers"],
                          [[g["value"], *(count(g[k]) for k in ("leads", "handed_off", "won", "lost", "open")),
                            percent(g["won_rate"]), percent(g["precision"]), percent(g["recall"]), _answers(g)]
                           for g in groups], markdown)


def _picture(svg: str) -> str:
    """An SVG on its own lines in a Markdown page (the text in it is escaped where it is drawn)."""
    return f'<div class="leadpolicy-diagram">{svg}</div>'


def render_backtest(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, default=str)
    markdown = fmt == "markdown"
    head = "## " if markdown else ""
    old, new = report["old"], report["new"]
    lines = [f"{'# ' if markdown else ''}Backtest: {old['policy']} {old['version']} → {new['version']}, decided as of "
             f"{report['as_of']}, outcomes up to {report['now']}", "", report["verdict"], ""]
    lines += table(["", "leads", "handed off", "won", "won captured", "won missed", "precision", "recall"],
                    [[v["version"],
                      *(count(v[k]) for k in ("leads", "handed_off", "won", "won_captured", "won_missed")),
                      percent(v["precision"]), percent(v["recall"])] for v in (old, new)], markdown)
    if report["changes"]:
        lines += ["", f"{head}Leads that change stage", ""]
        lines += table(["from", "to", "leads", "won", "lost", "open", "won rate"],
                        [[c["from"], c["to"], *(count(c[k]) for k in ("leads", "won", "lost", "open")),
                          percent(c["won_rate"])]
                         for c in report["changes"]], markdown)
    if report["not_in_both"]:
        lines += ["", f"{count(report['not_in_both'])} lead(s) were decided by only one version (rejected by the "
                      "other)"]
    rows = report["rows"]
    if rows["old_rejected"] or rows["new_rejected"]:
        listed = rows.get("leads_rejects_file")  # None: in no file that outlives the run
        lines += ["", f"lead rows: read {count(rows['leads_read'])}, rejected {count(rows['old_rejected'])} by "
                      f"{old['version']} and {count(rows['new_rejected'])} by {new['version']}"
                      + (f" ({new['version']}'s listed in {listed})" if listed else "")]
    return finished(lines, markdown)
