"""Diagnostics as data: stable codes, severities, spans, hints, and one renderer."""

from __future__ import annotations

import difflib
import os
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from leadpolicy.language.ast import NO_SPAN, Span

MAX_SHOWN = 100  # characters of a source line shown under a diagnostic

ERROR = "error"
WARNING = "warning"

# The one table of diagnostic codes. docs/diagnostics.md is generated from it
# and a test keeps the two in step.
CODES: dict[str, tuple[str, str]] = {
    # code: (severity, what it means)
    "unreadable-file": (ERROR, "The path does not exist, or the file is binary or not UTF-8, not a regular file "
                               "(a device, a pipe), or larger than 10 MiB."),
    "empty-file": (ERROR, "The policy file holds no policy."),
    "syntax-error": (ERROR, "The text does not follow the grammar of the language."),
    "control-character": (ERROR, "A text or comment holds a control character (`\\n`, `\\r`, escape, bell, ...) "
                                 "or an invisible format character (Unicode category Cf: bidi controls such as "
                                 "U+202E, zero-width characters, U+FEFF); only the tab is allowed."),
    "too-deep": (ERROR, "A condition is nested more deeply than the language allows (100 levels)."),
    "bad-version": (ERROR, "The policy version is not MAJOR.MINOR.PATCH semver."),
    "bad-id": (ERROR, "The policy id, or a team's name, is not a slug (lowercase letters, digits, dashes)."),
    "missing-title": (WARNING, "The policy has no title."),
    "too-few-owners": (ERROR, "A policy needs at least two owning teams to be an agreement."),
    "duplicate-name": (ERROR, "Two things of the same kind (fields, scores, stages, teams, ...) share a name."),
    "duplicate-block": (ERROR, "A block that may appear once (title, timezone, stages, ...) appears twice, or a "
                               "team gives its `calendar`, `assign`, `match accounts` or `when nobody is "
                               "available` line twice."),
    "reserved-name": (ERROR, "A field or an event is named after a word that conditions reserve (in a policy "
                             "with guarantees also `handoff`)."),
    "unknown-name": (ERROR, "A condition names something that is not a lead field, score or grade (inside "
                            "`guarantees` also the decided `stage`, `route`, `owner`, `handoff`), or a guarantee "
                            "a score, field or event the policy does not have."),
    "used-before-defined": (ERROR, "A score or grade is used above the place it is defined, or inside itself."),
    "type-mismatch": (ERROR, "Two things of different types are compared, or an operator does not fit a type."),
    "duplicate-choice": (ERROR, "A `one of` field lists one value twice: the same text, or two spellings that "
                                "differ only in case (`\"EMEA\", \"emea\"`), which a value read ignoring case "
                                "could not tell apart."),
    "duplicate-member": (ERROR, "A team lists one person twice: the same email or the same name (ignoring case), "
                                "which run-time data (availability, accounts) could not tell apart."),
    "not-a-choice": (ERROR, "A value is not one of a `one of` field's choices."),
    "unknown-stage": (ERROR, "A route or recycle rule, or a guarantee's `stage = NAME`, names a stage that is not "
                             "defined."),
    "unknown-label": (ERROR, "A guarantee compares the decided route with a label no route entry gives."),
    "unknown-event": (ERROR, "A policy with an `events` block uses an event it does not declare (in a score, a "
                             "stage, an SLA, `outcomes` or `recycle`); a stage name hints its `became_STAGE` event."),
    "unknown-calendar": (ERROR, "An SLA, a team or a team's member names a calendar that is not defined."),
    "unknown-team": (ERROR, "An owner team is not one of the teams that own the policy, or a team's "
                            "`when nobody is available to TEAM` names no `team` block."),
    "fallback-cycle": (ERROR, "The fallbacks of teams (`when nobody is available to TEAM`) form a cycle, so a lead "
                              "nobody can take would never stop falling back."),
    "unknown-timezone": (ERROR, "The timezone is not an IANA zone name such as America/New_York."),
    "unknown-holidays": (ERROR, "The holidays package knows no such country or subdivision."),
    "bad-value": (ERROR, "A number, date, time, day or unit is out of range or malformed, or a default or a `one of` "
                         "choice is blank text (which counts as missing); in a team, a weight below 0, a cap below "
                         "1 (or not whole, or not per day or week), or a member not written \"Name <email>\"."),
    "otherwise-not-last": (ERROR, "An `otherwise` entry is followed by more entries."),
    "missing-otherwise": (ERROR, "The stages have no `otherwise`, so a lead could have no stage."),
    "unreachable": (ERROR, "An entry can never be chosen because earlier entries always match first."),
    "incomplete-sla": (ERROR, "An SLA lacks a part its kind needs (owner, clock, limit, target)."),
    "incomplete-team": (ERROR, "A team has no members, or no `assign` line (round robin, by weight, least loaded "
                               "today)."),
    "bad-samples": (ERROR, "A samples file is not valid YAML, does not follow the samples schema, "
                           "or names a missing policy."),
    "untested": (ERROR, "A policy has no samples file next to it (NAME.samples.yaml), so nothing tests it."),
    "low-coverage": (ERROR, "With --min-coverage: the sample cases cover less of the policy than the floor."),
    "sample-failed": (ERROR, "A sample case fails: what the policy decides differs from what the case agreed, or "
                             "the case cannot run as written (the code SARIF and the language server give it, on "
                             "the case's line of the samples file)."),
    "bad-approvals": (ERROR, "An approvals file is not valid YAML, does not follow the approvals schema, or "
                             "holds an approval by someone who is not a listed owner of the team."),
    "not-approved": (ERROR, "With --require-approvals: an owning team has not approved the current content."),
    "version-not-bumped": (ERROR, "With --against: the policy changed but its version did not move enough."),
    "bad-ref": (ERROR, "With --against: the git reference or the file at it cannot be read."),
    "not-formatted": (ERROR, "With `leadpolicy ci`: the policy is not in canonical form (`leadpolicy fmt`)."),
    "effective-unapproved": (WARNING, "The policy's effective date has passed but not every team approved it."),
    "no-sql-form": (WARNING, "A construct the SQL target cannot express yet: the policy runs in Python only."),
    "never-true": (WARNING, "A condition can never be true, so its rule never fires."),
    "guarantee-violated": (ERROR, "A guarantee does not hold: the solver found a lead (with its events and `now`) "
                                  "that breaks it, shown with its decision."),
    "guarantee-unknown": (WARNING, "A guarantee was neither proved nor refuted: the solver ran out of time, or the "
                                   "claim reads something it cannot reason about; it is never reported as proved."),
    "route-gap": (WARNING, "A routed stage admits a lead that no route entry matches, and the route block has no "
                           "`otherwise`: such a lead reaches the stage with no queue."),
    "always-true": (WARNING, "A rule's condition is always true; write it as a constant or `otherwise`."),
    "event-named-like-stage": (WARNING, "Without an `events` block: an event is named like a stage (`from sql "
                                        "until ...`); entering a stage is logged as `became_sql`, so the event "
                                        "would never occur."),
    "no-route-otherwise": (WARNING, "A route has no `otherwise`: some leads of its stages get no queue."),
    "label-like-team": (WARNING, "A route label is not a team's name but comes close to one (did you mean): a label "
                                 "that names no team stays a queue name, and its leads are assigned to nobody."),
    "grade-no-otherwise": (WARNING, "A grade has no `otherwise`: some leads get no grade."),
    "team-all-paused": (WARNING, "Every member of a team has weight 0 (paused) and it falls back to no other team: "
                                 "each lead it gets is held and never assigned."),
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in one file."""

    code: str
    message: str
    file: str
    span: Span = NO_SPAN
    hint: str | None = None
    severity: str = field(default="")

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code!r}")
        if not self.severity:
            object.__setattr__(self, "severity", CODES[self.code][0])

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.span.line, self.span.column, self.code, self.message)

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean "x"?' hint from the closest candidate, if any is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f'did you mean "{close[0]}"?' if close else None


def source_lines(text: str) -> list[str]:
    """The lines of a policy as the parser counts them: split at "\\n" only (U+2028, form feeds and
    other separators that str.splitlines() also breaks at stay inside their line)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


# Control characters act in a terminal; format characters (bidi controls, zero-width characters) make a
# line read other than it runs (Trojan Source); separators break a line; lone surrogates (a file name that
# is not UTF-8) cannot be printed at all.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(line: str) -> str:
    """A line safe to show in a terminal: control, format and separator characters become U+FFFD,
    one for one, so the caret below still points at the right column."""
    return "".join("\ufffd" if unicodedata.category(ch) in UNSAFE_CATEGORIES else ch for ch in line)


def escaped(text: str) -> str:
    """A name safe to print as part of one line (the CLI's messages, the service's log): every character
    that is not printable (a newline, an escape code, a bidi control, a line separator, the lone surrogate
    of a file name that is not UTF-8) as its escape, `\\n`, `\\x1b`, `\\u202e`, so a file's name can neither
    forge a line, drive the terminal nor read other than it is."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that `printable` would replace, except a tab."""
    return next((ch for ch in text if ch != "\t" and unicodedata.category(ch) in UNSAFE_CATEGORIES), None)


def character_kind(ch: str) -> str:
    """What an unsafe character is, in words: 'control character U+001B', 'invisible format character U+202E'."""
    kind = {"Cf": "invisible format character", "Zl": "line separator", "Zp": "paragraph separator",
            "Cs": "lone surrogate"}.get(unicodedata.category(ch), "control character")
    return f"{kind} U+{ord(ch):04X}"


# ANSI SGR styles, as ruff and cargo colour their diagnostics on a terminal.
BOLD, RED, YELLOW, CYAN, RESET = "1", "31", "33", "36", "0"
SEVERITY_COLOUR = {ERROR: RED, WARNING: YELLOW}


def colour_wanted(stream: object) -> bool:
    """Colour for `stream`: never with NO_COLOR set to anything (no-color.org; it wins, as in Python's
    own tracebacks), always with FORCE_COLOR set, else only on a terminal that is not TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _paint(text: str, *styles: str, on: bool = True) -> str:
    """`text` in the given SGR styles, closed at its end; `text` itself when colour is off."""
    return f"\x1b[{';'.join(styles)}m{text}\x1b[{RESET}m" if on and text else text


def render(diag: Diagnostic, source: str | None, colour: bool = False) -> str:
    """`FILE:LINE:COL: CODE: message`, the source line, a caret, and a hint; with `colour`, the same
    text with ANSI styles on the place, the code, the severity, the caret and the hint."""
    tint = SEVERITY_COLOUR.get(diag.severity, RED)
    prefix = f"{escaped(diag.file)}:{diag.span.line}:{diag.span.column}" if diag.span.line else escaped(diag.file)
    head = f"{_paint(prefix, BOLD, on=colour)}: {_paint(diag.code, BOLD, tint, on=colour)}: "
    if diag.severity == WARNING:
        head += _paint("warning", tint, on=colour) + ": "
    out = [head + printable(diag.message)]
    if source is not None and diag.span.line:
        lines = source_lines(source)
        if 0 < diag.span.line <= len(lines):
            text, col, width = _excerpt(lines[diag.span.line - 1], diag.span)
            out.append("    " + text)
            out.append("    " + " " * (col - 1) + _paint("^" * max(width, 1), BOLD, tint, on=colour))
    if diag.hint:
        out.append(f"    {_paint('hint', BOLD, CYAN, on=colour)}: {printable(diag.hint)}")
    return "\n".join(out)


def _excerpt(line: str, span: Span) -> tuple[str, int, int]:
    """The source line as shown (a window of a very long one), and the caret's column and width in it."""
    text = printable(line.expandtabs(1))
    col = max(span.column, 1)
    if span.end_line == span.line and span.end_column > col:
        width = span.end_column - col
    else:
        width = max(len(text.rstrip()) - col + 1, 1)
    width = max(width, 1)
    if len(text) > MAX_SHOWN:
        # Show a window of a very long line around the caret.
        start = max(0, min(col - 1 - MAX_SHOWN // 3, len(text) - MAX_SHOWN))
        shown = text[start:start + MAX_SHOWN]
        prefix_dots = "..." if start else ""
        text = prefix_dots + shown + ("..." if start + MAX_SHOWN < len(text) else "")
        col = col - start + len(prefix_dots)
        width = min(width, MAX_SHOWN - (col - 1 - len(prefix_dots)))
    return text, col, width


def render_all(diags: Iterable[Diagnostic], sources: dict[str, str], colour: bool = False) -> str:
    return "\n".join(render(d, sources.get(d.file), colour) for d in sorted(diags, key=Diagnostic.sort_key))


def codes_markdown() -> str:
    """The documentation table of every code."""
    rows = ["| code | severity | meaning |", "| --- | --- | --- |"]
    rows += [f'| <a id="{code}"></a>`{code}` | {sev} | {text} |' for code, (sev, text) in CODES.items()]
    return "\n".join(rows) + "\n"
