"""Published docs: a Markdown page per policy (with pictures), an index, and a MkDocs site."""

from __future__ import annotations

import functools
import html
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from jinja2 import Environment, PackageLoader, StrictUndefined

from leadpolicy.language import ast
from leadpolicy.language.formatter import field_type, format_policy, literal
from leadpolicy.outputs import CONTROL_OR_LINE_BREAK, INVISIBLE_FORMAT, md
from leadpolicy.publish import english
from leadpolicy.publish.calibration import Calibrations, section_of
from leadpolicy.publish.cases import sample_cases
from leadpolicy.publish.pictures import escalation_ladder, score_chart, stage_ladder, team_picture
from leadpolicy.semantics import ir, primitives
from leadpolicy.semantics.lowering import lower
from leadpolicy.semantics.primitives.conditions import OPS

if TYPE_CHECKING:
    from leadpolicy.language.diagnostics import Diagnostic


def visible(value: Any) -> str:
    """Text with every control, line-breaking and invisible format character as U+FFFD (the site name)."""
    text = "" if value is None else str(value)
    return INVISIBLE_FORMAT.sub("\ufffd", CONTROL_OR_LINE_BREAK.sub("\ufffd", text))


# An event name as the policy language spells them: all that may go into an emphasis' title.
EVENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def md_with_emphasis(say: Callable[[], str], policy_text: str, labels: dict[str, str] | None = None) -> str:
    """`md` of the English `say()` writes, keeping the emphasis it puts around events (and only that):
    an event becomes `<em title="NAME">its label or name in words</em>`. The English marks events with
    three private-use characters that `policy_text` (every text of the policy and its samples) does not
    hold, and the text is escaped whole before the marks become markup, so no text of the policy can
    make markup; the title is only ever an event name."""
    start, between, end = [ch for ch in map(chr, range(0xE000, 0xF900)) if ch not in policy_text][:3]
    with english.wording(labels or {}, (start, between, end)):
        text = say()
    marked = re.compile(f"{start}([^{between}{end}]*){between}([^{end}]*){end}")
    return marked.sub(_emphasis, md(text))


def _emphasis(match: re.Match[str]) -> str:
    event_name = match.group(1).replace("\\", "")
    if not EVENT_NAME.fullmatch(event_name):
        return match.group(2)
    return f'<em title="{event_name}">{match.group(2)}</em>'


class Prose:
    """One policy's plain English as Markdown, events named by their labels (see `md_with_emphasis`)."""

    def __init__(self, policy: ast.Policy, texts: str):
        self.labels = english.labels_of(policy)
        self.texts = texts

    def __call__(self, say: Callable[[], str]) -> str:
        return md_with_emphasis(say, self.texts, self.labels)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("leadpolicy.publish", "templates"), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md
    return env


_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _log_records(log: str) -> list[tuple[str, str, str]]:
    """(hash, date, subject) from `git log -z --format=%H%x00%ad%x00%s`: fields and records are NUL-separated,
    so a subject holding a carriage return or another line break stays one subject. A record whose hash is
    not a full hex object name is dropped, so no text of a commit message ever reaches git as a revision."""
    fields = log.split("\0")
    records = []
    for i in range(0, len(fields) - 2, 3):
        commit, date, subject = fields[i].strip("\n"), fields[i + 1], fields[i + 2]
        if _COMMIT.fullmatch(commit):
            records.append((commit, date, subject))
    return records


def changelog(path: Path, limit: int = 20) -> list[dict[str, Any]]:
    """(version, date, summary of changes) for each commit that touched the file, newest first."""
    from leadpolicy.governance.approvals import GitError, git
    from leadpolicy.governance.diff import changes
    from leadpolicy.semantics.loading import load_policy_text

    try:
        cwd = path.resolve().parent
        top = Path(git("rev-parse", "--show-toplevel", cwd=cwd).strip())
        relative = path.resolve().relative_to(top).as_posix()
        log = git("log", "-z", f"-{limit}", "--follow", "--format=%H%x00%ad%x00%s", "--date=short", "--", relative,
                  cwd=top)
    except (GitError, ValueError):
        return []
    entries = []
    versions = []
    for commit, date, subject in _log_records(log):
        try:
            text = git("show", f"{commit}:{relative}", cwd=top)
        except GitError:
            continue
        loaded = load_policy_text(text, relative)
        versions.append((commit, date, subject, loaded.policy if not loaded.has_errors else None))
    for i, (_, date, subject, policy) in enumerate(versions):
        older = versions[i + 1][3] if i + 1 < len(versions) else None
        if policy is not None and older is not None:
            lines = [_comparisons_in_words(c.text) for c in changes(older, policy) if c.kind != "version"]
            summary = "; ".join(lines[:3]) + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else "") or subject
        else:
            summary = subject
        entries.append({"version": policy.version if policy else "?", "date": date, "summary": summary})
    return entries


# A comparison between spaces in a change as the policy writes it, or a quoted text (kept as written).
_COMPARISON = re.compile(r'"(?:[^"\\]|\\.)*"|(?<= )(>=|<=|!=|=|>|<)(?= )')


def _comparisons_in_words(change: str) -> str:
    """`fit >= 40 → fit >= 50` as the page says it: `fit is at least 40 → fit is at least 50`."""
    return _COMPARISON.sub(lambda m: OPS[ir.Op(m.group(1))] if m.group(1) else m.group(0), change)


# A guarantee's status on the page, as the proofs give it: "proved", "violated" or "unknown", and one line
# saying why (the counter-example in short, or what stopped the solver). Statuses are keyed by guarantee name.
GuaranteeStatus = tuple[str, str]
Statuses = Mapping[str, GuaranteeStatus]
# Given a policy's path and syntax tree, the statuses of its guarantees (how `leadpolicy docs` asks the proofs).
StatusSource = Callable[[Path, ast.Policy], Statuses]


def policy_context(path: Path, policy: ast.Policy, statuses: Statuses | None = None,
                   calibrations: Calibrations | None = None) -> dict[str, Any]:
    """What the policy's page says; its conditions, rules and decay are said from its IR (lowered once).
    `statuses` are its guarantees' (by name); a guarantee without one is "not proved yet". `calibrations`
    give it a calibration section when one of them is of this very policy."""
    from leadpolicy.governance.approvals import approvals_path, load_approvals, samples_fingerprint, status
    from leadpolicy.language.loader import samples_for

    lowered = lower(policy)
    calendars = {c.name: english.calendar(c) for c in policy.calendars}
    approvals, _ = load_approvals(approvals_path(path))
    state, approved, missing = status(policy, approvals, samples_fingerprint(path))
    source = format_policy(policy).rstrip()
    say = Prose(policy, source + _text_of(samples_for(path)))
    home = policy.stages[-1].owner if policy.stages else ""
    cases = sample_cases(path, policy, say)
    labels = english.labels_of(policy)
    with english.wording(labels):
        stages_svg, chart_svg = stage_ladder(lowered), score_chart(policy, cases.points)
    return {
        "p": policy,
        "fingerprint": lowered.fingerprint,
        "approval": {"status": state, "approved": approved, "missing": missing},
        "types": {f.name: field_type(f.type) for f in policy.fields},
        "defaults": {f.name: literal(f.default) if f.default is not None else "" for f in policy.fields},
        "scores": [_score(s, say) for s in lowered.scores],
        "grades": [{"name": g.name, "source": g.source, "entries": [_entry(e, say) for e in g.entries]}
                   for g in lowered.grades],
        "stages": [{"name": s.name, "owner": s.owner, "handoff": s.owner != home,
                    "when": say(functools.partial(english.condition, s.condition)) if s.condition else "otherwise"}
                   for s in lowered.stages],
        "routes": [{"stages": list(r.stages), "entries": [_route_entry(e, say, lowered.teams) for e in r.entries]}
                   for r in lowered.routes],
        "guarantees": [_guarantee(g, lowered, say, (statuses or {}).get(g.name)) for g in lowered.guarantees],
        "teams": [_team(t, calendars) for t in lowered.teams],
        "slas": [{"name": s.name, "label": s.label or s.name,
                  "text": say(functools.partial(english.sla, s, calendars, s_ir)), "ladder_svg": _ladder_figure(s)}
                 for s, s_ir in zip(policy.slas, lowered.slas)],
        "recycle": [{"event": say(functools.partial(english.event, r.event)), "reason": r.reason, "stage": r.stage,
                     "after": english.quantity(r.after, "days")} for r in policy.recycle_rules],
        "samples": cases.samples,
        "sample_problems": cases.problems,
        "timelines": cases.timelines,
        "now": cases.now,
        "score_names": [s.name for s in policy.scores],
        "stages_svg": stages_svg,
        "chart_svg": chart_svg,
        "changelog": changelog(path),
        "calibration": section_of(calibrations, policy.id, lowered.fingerprint),
        "source": source,
    }


def _ladder_figure(sla: ast.Sla) -> str:
    """The SLA's escalation ladder with its caption (`Speed to lead: escalation`), or "" without one."""
    picture = escalation_ladder(sla)
    if not picture:
        return ""
    caption = html.escape(CONTROL_OR_LINE_BREAK.sub(" ", sla.label or sla.name))
    return f"{picture}\n<figcaption>{caption}: escalation</figcaption>"


def _text_of(path: Path) -> str:
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _score(score: ir.Score, say: Prose) -> dict[str, Any]:
    """A score's rules in plain English, and notes on its decay, range and rounding."""
    notes = []
    decay, clamp = score.decay, score.clamp
    if decay is not None:
        notes.append(say(lambda: "Decay: " + english.decay(decay) + "."))
    if clamp is not None:
        notes.append(md(f"The score {english.clamp(clamp)}."))
    steps = ["added up"] + (["decayed"] if score.decay is not None else []) + [
        "rounded to a whole number (halves away from zero)"] + (["kept in range"] if score.clamp is not None else [])
    notes.append(md(f"Points are {steps[0]}, then " + (", ".join(steps[1:-1]) + " and " if len(steps) > 2 else "")
                    + steps[-1] + "."))
    return {"name": score.name, "label": score.label or score.name, "notes": notes,
            "rules": [{"points": primitives.rule_row(r).amount.format(points=english.points(r.points)),
                       "rule": say(functools.partial(english.rule, r)), "reason": r.reason or ""}
                      for r in score.rules]}


def _guarantee(node: ir.Guarantee, policy: ir.Policy, say: Prose, status: GuaranteeStatus | None
               ) -> dict[str, str]:
    """A guarantee's name, its claim in plain English (Markdown) and its status and detail ("" when it has none:
    the page says "not proved yet")."""
    word, detail = status or ("", "")
    return {"name": node.name, "claim": say(functools.partial(english.guarantee, node, policy)), "status": word,
            "detail": detail}


def _team(node: ir.Team, calendars: dict[str, str]) -> dict[str, Any]:
    """A team on the page: how it assigns, in plain text, each member's weight, cap and hours (the template
    escapes every one of them), and its picture (drawn escaped)."""
    return {"name": node.name, "label": node.label or node.name, "text": english.team_text(node),
            "picture_svg": team_picture(node, calendars),
            "members": [{"person": m.person, "weight": english.member_weight(m, node), "cap": english.member_cap(m),
                         "hours": english.member_hours(m, node, calendars)} for m in node.members]}


def _route_entry(entry: ir.Entry, say: Prose, teams: tuple[ir.Team, ...]) -> dict[str, str]:
    """A route entry, with the title of the team its label names ("" when it names none: a queue)."""
    team = next((t for t in teams if t.name == entry.label), None)
    return {**_entry(entry, say), "team": (team.label or team.name) if team is not None else ""}


def _entry(entry: ir.Entry, say: Prose) -> dict[str, str]:
    # A grade or route entry in plain English.
    return {"label": entry.label,
            "when": say(functools.partial(english.condition, entry.condition)) if entry.condition else "otherwise"}


def render_site(paths: list[str], out: Path, site_name: str = "Lead policies",
                inputs: dict[str, Path] | None = None, statuses: StatusSource | None = None
                ) -> tuple[list[Path], list[Diagnostic]]:
    """Write mkdocs.yml and docs/ for every policy without errors (its samples file's included); returns the
    pages and the diagnostics. `statuses` gives each policy's guarantees their status (see `site_files`).
    Raises leadpolicy.outputs.OutputError, having written nothing, when a file of the site cannot be
    replaced (see `write_site`)."""
    files, pages, diags = site_files(paths, out, site_name, statuses)
    write_site(out, files, inputs)
    return pages, diags


def site_files(paths: list[str], out: Path, site_name: str = "Lead policies", statuses: StatusSource | None = None,
               calibrations: Calibrations | None = None) -> tuple[dict[Path, str], list[Path], list[Diagnostic]]:
    """The text of every file of the site (mkdocs.yml, docs/index.md, a page per policy without errors),
    the policy pages and the diagnostics; nothing is written. `statuses`, when given, is asked for the status of
    each published policy's guarantees; without it, each is "not proved yet". `calibrations` give each page
    whose policy they measured its calibration section (the ones left unused are `calibrations.unused()`)."""
    from leadpolicy.language.loader import discover
    from leadpolicy.semantics.loading import load_policy

    env = environment()
    policies, _, problems = discover(paths)
    diags = list(problems)
    files: dict[Path, str] = {}
    index = []
    for path in policies:
        loaded = load_policy(path)
        if loaded.has_errors or loaded.policy is None:
            diags.extend(d for d in loaded.diagnostics if d.is_error)
            continue
        policy = loaded.policy
        context = policy_context(path, policy, statuses(path, policy) if statuses and policy.guarantees else None,
                                 calibrations)
        if context["sample_problems"]:  # published with its agreed cases, or not at all
            diags.extend(context["sample_problems"])
            continue
        files[out / "docs" / "policies" / f"{policy.id}.md"] = env.get_template("policy.md.j2").render(**context)
        index.append({"id": policy.id, "title": policy.title or policy.id, "version": policy.version,
                      "owners": [o.team for o in policy.owners], "approval": context["approval"]["status"]})
    pages = list(files)
    files[out / "docs" / "index.md"] = env.get_template("index.md.j2").render(policies=index)
    files[out / "docs" / "leadpolicy.css"] = env.get_template("leadpolicy.css.j2").render()
    files[out / "mkdocs.yml"] = env.get_template("mkdocs.yml.j2").render(policies=index, site_name=visible(site_name))
    return files, pages, diags


def write_site(out: Path, files: dict[Path, str], inputs: dict[str, Path] | None = None) -> None:
    """Check every file of the site, then write each through leadpolicy.outputs (a link in the site is
    replaced, never followed). Raises OutputError before writing anything when one cannot be written;
    OSError when a folder cannot be made."""
    from leadpolicy.outputs import check_tree, write_text

    check_tree(out, files, inputs)
    for folder in dict.fromkeys(path.parent for path in files):
        folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        write_text(path, text, follow_link=False)


def check_site_folder(out: Path) -> None:
    """Raise OutputError unless OUT/site, where `build` puts the static site, is new or a real folder:
    the build replaces it whole, so a link there would have it empty the folder the link points to."""
    from leadpolicy.outputs import OutputError

    site = out / "site"
    if site.is_symlink():
        raise OutputError(f"{site}: a symbolic link where the built site goes; leadpolicy replaces only a real "
                          "folder there (remove the link)")
    if site.exists() and not site.is_dir():
        raise OutputError(f"{site}: not a folder, where the built site goes; remove it")


def build(out: Path, files: dict[Path, str]) -> tuple[int, str]:
    """Run `mkdocs build --strict` on a private copy of the site's files (`files`, under `out`), so only
    the pages this run wrote are published, never another file lying in OUT/docs; then put the built
    site in place of OUT/site. Raises OutputError when OUT/site became a link meanwhile."""
    import shutil
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=".leadpolicy-build-", dir=out))
    try:
        for path, text in files.items():
            copy = staging / path.relative_to(out)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(text, "utf-8")
        result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                                 str(staging / "mkdocs.yml")], capture_output=True, text=True)
        if result.returncode != 0:
            return result.returncode, (result.stdout + result.stderr).strip()
        check_site_folder(out)
        if (out / "site").exists():
            os.rename(out / "site", staging / "earlier-site")
        os.rename(staging / "site", out / "site")
        return 0, (result.stdout + result.stderr).strip()
    finally:
        shutil.rmtree(staging, ignore_errors=True)

