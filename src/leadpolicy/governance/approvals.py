"""Agreement governance: approvals bound to content, and version bumps that match the change.

Approvals live in `NAME.approvals.yaml` next to `NAME.policy`, kept in git. Each approval
names a team, a person, the policy version and its content fingerprint (ir.fingerprint:
reformatting keeps it, any change of meaning or wording voids it), and when it was given.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import semver
import yaml

from leadpolicy.language import ast
from leadpolicy.language.diagnostics import Diagnostic, did_you_mean
from leadpolicy.language.words import quantity
from leadpolicy.semantics.lowering import fingerprint

APPROVALS_SUFFIX = ".approvals.yaml"
HEADER = ("# Approvals of {name}, written by `leadpolicy approve`. Each approval is bound to the\n"
          "# policy's content fingerprint: any change of meaning or wording voids it.\n")


@functools.lru_cache(maxsize=1)
def approvals_schema() -> dict[str, Any]:
    text = resources.files("leadpolicy").joinpath("schemas/approvals.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def approvals_path(policy_file: str | Path) -> Path:
    path = Path(policy_file)
    stem = path.name[: -len(".policy")] if path.name.endswith(".policy") else path.name
    return path.with_name(stem + APPROVALS_SUFFIX)


@dataclass(frozen=True)
class Approval:
    team: str
    by: str
    version: str
    fingerprint: str
    at: str
    samples: str = ""  # the agreed samples' fingerprint; an approval without one covers no samples
    where: ast.Span = field(default=ast.NO_SPAN, compare=False, repr=False)  # its `by:` in the file read

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "by": self.by, "version": self.version, "fingerprint": self.fingerprint,
                "samples": self.samples, "at": self.at}


def samples_fingerprint(policy_file: str | Path) -> str:
    """What the agreed sample cases say, as a fingerprint: their data, not their YAML layout, so
    reformatting keeps approvals while removing or changing a case voids them. "none" without a file."""
    import hashlib
    import json

    from leadpolicy.language.loader import samples_for
    from leadpolicy.language.sources import read_capped
    from leadpolicy.language.yamldoc import load_yaml

    path = samples_for(policy_file)
    if not path.exists():
        return "none"
    doc, _ = load_yaml(path, "bad-samples", "")
    if doc is not None:
        content = json.dumps(doc.data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    else:  # bad YAML: its bytes, read as every samples file is (a regular file, capped), or none at all
        try:
            content = read_capped(path)
        except OSError:
            return "unreadable"
    return "sha256:" + hashlib.sha256(content).hexdigest()


def approver(policy: ast.Policy, team: str, by: str) -> str:
    """The owner of `team` that `by` names (the whole "Name <email>", the name, or the email);
    raises ValueError when `by` is not a listed owner of that team."""
    wanted = by.strip().casefold()
    people = [o.person for o in policy.owners if o.team == team]
    for person in people:
        name, _, email = person.partition("<")
        if wanted in {person.casefold(), name.strip().casefold(), email.rstrip(">").strip().casefold()}:
            return person
    raise ValueError(f"{by.strip() or 'nobody'} is not an owner of team {team} in {policy.id}; "
                     f"owners of {team}: {'; '.join(people)}")


def load_approvals(path: Path) -> tuple[list[Approval], list[Diagnostic]]:
    """The approvals in a file (none when it does not exist), or diagnostics naming the line."""
    from leadpolicy.language.yamldoc import load_yaml, schema_errors

    if not path.exists():
        return [], []
    doc, diags = load_yaml(path, "bad-approvals", "an approvals file is a mapping with policy and approvals")
    if doc is None:
        return [], diags
    problems = [Diagnostic("bad-approvals", f"{label}: {error.message}", doc.file, doc.span(where),
                           hint="approvals are written by `leadpolicy approve`; do not edit them by hand")
                for error, where, label in schema_errors(doc, approvals_schema())]
    if problems:
        return [], problems
    records = enumerate(doc.data.get("approvals", []))
    return [Approval(**a, where=doc.span(("approvals", i, "by"))) for i, a in records], []


def is_owner(policy: ast.Policy, team: str, by: str) -> bool:
    """Whether `by` names a listed owner of `team` (as `approve` requires)."""
    try:
        approver(policy, team, by)
    except ValueError:
        return False
    return True


def status(policy: ast.Policy, approvals: list[Approval], samples: str) -> tuple[str, list[str], list[str]]:
    """('draft' | 'partly approved' | 'agreed', teams that approved this content and these samples,
    teams still to approve)."""
    current = fingerprint(policy)
    approved = [t for t in policy.teams if any(a.team == t and a.fingerprint == current and a.samples == samples
                                               and is_owner(policy, t, a.by) for a in approvals)]
    missing = [t for t in policy.teams if t not in approved]
    state = "agreed" if not missing else ("partly approved" if approved else "draft")
    return state, approved, missing


def approve(policy_file: str | Path, policy: ast.Policy, team: str, by: str,
            now: dt.datetime | None = None) -> tuple[Path, Approval]:
    """Record that `by` approves the policy's current content for `team`. Raises ValueError on a bad team,
    OutputError when the approvals file cannot be written (a symbolic link there)."""
    if team not in policy.teams:
        hint = did_you_mean(team, policy.teams)
        raise ValueError(f"team {team!r} does not own {policy.id}" + (f" ({hint})" if hint else "")
                         + f"; owning teams: {', '.join(policy.teams)}")
    person = approver(policy, team, by)
    path = approvals_path(policy_file)
    if path.is_symlink():
        from leadpolicy.outputs import OutputError

        # a link there (dangling or not) would have the record written, or a file made, wherever it points
        raise OutputError(f"{path}: a symbolic link where the approvals file goes; approve writes only a real "
                          "file beside the policy (replace the link by the file)")
    approvals, problems = load_approvals(path)
    if problems:
        raise ValueError(f"{path}: cannot add to an invalid approvals file: {problems[0].message}")
    at = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat()
    record = Approval(team, person, policy.version, fingerprint(policy), at, samples_fingerprint(policy_file))
    data = {"policy": policy.id, "approvals": [a.as_dict() for a in approvals] + [record.as_dict()]}
    text = HEADER.format(name=Path(policy_file).name) + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    from leadpolicy.outputs import write_text

    write_text(path, text)
    return path, record


def not_by_owners(policy: ast.Policy, approvals: list[Approval], file: str) -> list[Diagnostic]:
    """A `bad-approvals` error for each approval of the current content whose `by` is not a listed owner
    of its team (an approvals file edited by hand); older approvals may name people no longer owners."""
    current = fingerprint(policy)
    return [Diagnostic("bad-approvals", f"{a.by} is not a listed owner of team {a.team} in {policy.id}, so cannot "
                       "approve it", file, a.where, hint="approvals are written by `leadpolicy approve`, which "
                       "takes only a listed owner of the team; do not edit them by hand")
            for a in approvals if a.fingerprint == current and not is_owner(policy, a.team, a.by)]


def approval_diagnostics(policy_file: str, policy: ast.Policy, required: bool) -> tuple[str, list[Diagnostic]]:
    """The approval status, and diagnostics: a broken approvals file always; missing approvals when
    `required`; an effective date that passed without agreement, as a warning."""
    path = approvals_path(policy_file)
    approvals, diags = load_approvals(path)
    diags += not_by_owners(policy, approvals, str(path))
    state, _, missing = status(policy, approvals, samples_fingerprint(policy_file))
    if required and missing and not diags:
        owners = {o.team: o.person for o in policy.owners}
        for team in missing:
            diags.append(Diagnostic(
                "not-approved", f"team {team} has not approved this content of {policy.id} {policy.version}",
                policy_file, policy.id_span,
                hint=f'leadpolicy approve {policy_file} --team {team} --by "{owners.get(team, "NAME <EMAIL>")}"'))
    if policy.effective and state != "agreed":
        try:
            passed = dt.date.fromisoformat(policy.effective) <= dt.date.today()
        except ValueError:
            passed = False
        if passed:
            eff = policy.of(ast.Effective)[0]
            diags.append(Diagnostic("effective-unapproved", f"effective since {policy.effective} but {state}: "
                                    f"{', '.join(missing)} must still approve", policy_file, eff.span))
    return state, diags


# ---------------------------------------------------------------- versions


def _meaning(policy: ast.Policy) -> str:
    """The fingerprint of what a policy does, without its wording (titles, labels, reasons)."""
    from dataclasses import replace

    def strip(node: ast.Node) -> ast.Node:
        if isinstance(node, ast.Title):
            return replace(node, text="")
        if isinstance(node, (ast.Score, ast.Sla)):
            items = tuple(strip(i) for i in node.items)
            return replace(node, label=None, items=items)
        if isinstance(node, (ast.PointsRule, ast.PerRule)):
            return replace(node, reason=None)
        if isinstance(node, ast.Owner):
            return replace(node, person="")
        return node
    return fingerprint(replace(policy, items=tuple(strip(i) for i in policy.items)))


def required_bump(old: ast.Policy, new: ast.Policy) -> tuple[str | None, list[str]]:
    """('major' | 'minor' | 'patch' | None, reasons): the least version bump the change needs.

    major: a lead field removed, retyped or newly required; a stage removed; an owning team removed;
           an SLA removed or tightened (a shorter limit, a higher target, more events, a shorter window).
    minor: any other change of meaning (rules, thresholds, routes, new fields, stages or SLAs).
    patch: only wording: titles, labels, reasons, people; formatting and comments change nothing.
    """
    if fingerprint(old) == fingerprint(new):
        return None, []
    reasons: list[str] = []
    old_fields, new_fields = {f.name: f for f in old.fields}, {f.name: f for f in new.fields}
    for name, f in old_fields.items():
        g = new_fields.get(name)
        if g is None:
            reasons.append(f"lead field {name} removed")
        elif g.type != f.type:
            reasons.append(f"lead field {name} retyped")
        elif g.required and not f.required:
            reasons.append(f"lead field {name} now required")
    for stage in {s.name for s in old.stages} - {s.name for s in new.stages}:
        reasons.append(f"stage {stage} removed")
    for team in set(old.teams) - set(new.teams):
        reasons.append(f"owning team {team} removed")
    new_slas = {s.name: s for s in new.slas}
    for sla in old.slas:
        other = new_slas.get(sla.name)
        if other is None:
            reasons.append(f"sla {sla.name} removed")
            continue
        reasons += [f"sla {sla.name}: {r}" for r in _tightened(sla, other)]
    if reasons:
        return "major", sorted(reasons)
    if _meaning(old) != _meaning(new):
        return "minor", ["rules, thresholds, routes or other meaning changed"]
    return "patch", ["wording changed"]


def _tightened(old: ast.Sla, new: ast.Sla) -> list[str]:
    out = []
    t_old, t_new = old.first(ast.Target), new.first(ast.Target)
    if isinstance(t_old, ast.Target) and isinstance(t_new, ast.Target) and t_new.percent > t_old.percent:
        out.append(f"target {t_old.percent}% -> {t_new.percent}%")
    l_old, l_new = old.first(ast.ClockLimit), new.first(ast.ClockLimit)
    if isinstance(l_old, ast.ClockLimit) and isinstance(l_new, ast.ClockLimit):
        if l_old.unit == l_new.unit and l_new.amount < l_old.amount:
            out.append(f"within {quantity(l_old.amount, l_old.unit)} -> {quantity(l_new.amount, l_new.unit)}")
        elif l_old.unit != l_new.unit:
            out.append(f"limit unit {l_old.unit} -> {l_new.unit}")
    c_old, c_new = old.first(ast.CountRule), new.first(ast.CountRule)
    if isinstance(c_old, ast.CountRule) and isinstance(c_new, ast.CountRule):
        if c_new.count > c_old.count:
            out.append(f"at least {c_old.count} -> {c_new.count}")
        if c_new.window < c_old.window:
            before, after = quantity(c_old.window, c_old.window_unit), quantity(c_new.window, c_new.window_unit)
            out.append(f"window {before} -> {after}")
    v_old, v_new = old.first(ast.VolumeRule), new.first(ast.VolumeRule)
    if isinstance(v_old, ast.VolumeRule) and isinstance(v_new, ast.VolumeRule) and v_new.count > v_old.count:
        out.append(f"volume {v_old.count} -> {v_new.count} per {v_new.period}")
    return out


def _semver(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        return None


def _announced(version: semver.Version) -> str:
    """The bump a release announces over the one before it: 3.0.0 major, 2.2.0 minor, 2.1.1 patch."""
    return "major" if version.minor == version.patch == 0 else "minor" if version.patch == 0 else "patch"


def bump_of(old_version: str, new_version: str) -> str | None:
    """The bump from one version to another: 'major', 'minor', 'patch', or None (not higher).

    Versions are ordered by semver precedence (2.2.0-rc.1 < 2.2.0 < 2.2.1). Moving within the
    pre-releases of a version, or from one to the release, counts as the bump that version
    announces: 2.2.0-rc.1 -> 2.2.0-rc.2 or 2.2.0 is a minor bump, like 2.1.x -> 2.2.0.
    """
    old, new = _semver(old_version), _semver(new_version)
    if old is None or new is None or new.compare(old) <= 0:
        return None
    if old.prerelease and new.finalize_version() == old.finalize_version():
        return _announced(new.finalize_version())
    if new.major != old.major:
        return "major"
    return "minor" if new.minor != old.minor else "patch"


RANK = {None: 0, "patch": 1, "minor": 2, "major": 3}


def suggest(version: str, level: str) -> str:
    """The next version with at least a `level` bump (a pre-release may simply be released)."""
    current = _semver(version)
    assert current is not None
    if current.prerelease and RANK[_announced(current.finalize_version())] >= RANK[level]:
        return str(current.finalize_version())
    return str({"major": current.bump_major, "minor": current.bump_minor, "patch": current.bump_patch}[level]())


class GitError(ValueError):
    """A git reference or path that cannot be read."""


def git(*args: str, cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git is not available: {exc}") from None
    if out.returncode != 0:
        raise GitError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"git {' '.join(args)} failed")
    return out.stdout


def base_branches(cwd: Path) -> list[str]:
    """Where a change is going, most specific first: the pull request's base (GITHUB_BASE_REF),
    the remote's default branch, then main and master, locally and on origin."""
    import os

    names = []
    target = os.environ.get("GITHUB_BASE_REF", "").strip()
    if target:
        names += [f"origin/{target}", target]
    try:
        head = git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", cwd=cwd).strip()
        names.append(head.removeprefix("refs/remotes/"))
    except GitError:
        pass
    names += ["main", "master", "origin/main", "origin/master"]
    return list(dict.fromkeys(names))


def default_base(cwd: Path) -> str:
    """The merge base with the branch the change is going to (see `base_branches`)."""
    tried = base_branches(cwd)
    for branch in tried:
        try:
            return git("merge-base", "HEAD", branch, cwd=cwd).strip()
        except GitError:
            continue
    raise GitError(f"no merge base with {', '.join(tried)}: pass --against REF")


def file_at(ref: str, path: Path) -> str | None:
    """A file's text at a git ref (None when the file did not exist there). Raises GitError on a bad ref."""
    cwd = path.resolve().parent
    top = Path(git("rev-parse", "--show-toplevel", cwd=cwd).strip())
    git("rev-parse", "--verify", "--quiet", ref + "^{commit}", cwd=cwd)
    relative = path.resolve().relative_to(top).as_posix()
    try:
        return git("show", f"{ref}:{relative}", cwd=cwd)
    except GitError:
        return None


def version_diagnostics(policy_file: str, policy: ast.Policy, ref: str) -> list[Diagnostic]:
    """Errors when the policy changed since `ref` but its version did not move enough."""
    from leadpolicy.semantics.loading import load_policy_text

    try:
        text = file_at(ref, Path(policy_file))
    except GitError as exc:
        return [Diagnostic("bad-ref", f"cannot compare with {ref!r}: {exc}", policy_file)]
    if text is None:
        return []  # a new policy: any version will do
    old = load_policy_text(text, f"{ref}:{policy_file}")
    if old.policy is None or old.has_errors:
        return []  # the old one was broken; nothing to compare with
    level, reasons = required_bump(old.policy, policy)
    if level is None:
        return []
    bumped = bump_of(old.policy.version, policy.version)
    if RANK[bumped] >= RANK[level]:
        return []
    what = "changed" if bumped is None else f"needs a {level} bump, not a {bumped} one"
    return [Diagnostic("version-not-bumped",
                       f"{policy.id} {what} since {ref[:12]} (version {old.policy.version} -> {policy.version}): "
                       + "; ".join(reasons), policy_file, policy.version_span,
                       hint=f"set the version to {suggest(old.policy.version, level)} or higher")]
