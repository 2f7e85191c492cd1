"""The policies a decision service serves, read only from the paths it was given, reloaded when they change.

A changed file is loaded and checked in full before it replaces anything; a broken edit never
replaces the last good version, which goes on serving while the failure and its diagnostics are
shown. Each swap is one assignment of an immutable entry, so a request sees one version whole.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from leadpolicy.api import Policy, PolicyError, load

SERVED_SUFFIXES = (".policy", ".json")


@dataclass(frozen=True)
class Loaded:
    """One good version of a policy, as served."""

    policy: Policy
    source: Path
    loaded_at: dt.datetime
    approval: str  # draft, partly approved, agreed; unknown for an artifact or without its files


@dataclass
class Entry:
    """A served file: its last good version, and the last failure to load a newer one."""

    source: Path
    current: Loaded | None = None
    stamp: tuple[int, int] | None = None  # (mtime ns, size) of the version last read
    reloads: int = 0
    error: list[str] = field(default_factory=list)  # diagnostics of the last failed load; empty when it is good
    failed_at: dt.datetime | None = None


@dataclass(frozen=True)
class Change:
    """What one reload did to one served file, as the service logs and counts it."""

    source: Path
    outcome: str  # loaded (first version), swapped (a newer one), failed (kept the last good one), removed
    policy: str | None  # the policy id, when known
    message: str


class Registry:
    """Every policy found under `paths` (files, or folders searched for `*.policy` and compiled
    `*.json` artifacts), by id. Nothing outside `paths` is read."""

    def __init__(self, paths: Sequence[str | Path]):
        self.roots = [Path(p).resolve() for p in paths]
        self.entries: dict[Path, Entry] = {}
        self.by_id: dict[str, Loaded] = {}
        self.ready = False
        self.lock = threading.Lock()  # one reload at a time; requests read `by_id` without it

    def inside(self, path: Path) -> bool:
        """Whether a file is one of the paths served or lies in a folder served."""
        resolved = path.resolve()
        return any(resolved == root or (root.is_dir() and resolved.is_relative_to(root)) for root in self.roots)

    def files(self) -> list[Path]:
        found: list[Path] = []
        for root in self.roots:
            if root.is_dir():
                found += sorted(p.resolve() for p in root.rglob("*") if p.is_file() and p.suffix in SERVED_SUFFIXES
                                and not p.name.endswith(".schema.json"))
            elif root.is_file():
                found.append(root)
        return found

    def reload(self, force: bool = False) -> list[Change]:
        """Read every new or changed file (all of them with `force`); returns what changed."""
        with self.lock:
            said = []
            for path in self.files():
                entry = self.entries.setdefault(path, Entry(path))
                try:
                    stat = path.stat()
                except OSError:
                    continue
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp == entry.stamp and not force:
                    continue
                entry.stamp = stamp
                said.append(self._load(entry))
            for path in [p for p in self.entries if not p.exists()]:
                gone = self.entries.pop(path)
                if gone.current is not None and self.by_id.get(gone.current.policy.id) is gone.current:
                    self.by_id = {k: v for k, v in self.by_id.items() if v is not gone.current}
                    policy_id = gone.current.policy.id
                    said.append(Change(path, "removed", policy_id, f"{path}: removed, {policy_id} no longer served"))
            self.ready = True
            return said

    def _load(self, entry: Entry) -> Change:
        now = dt.datetime.now(dt.timezone.utc)
        known = entry.current.policy.id if entry.current else None
        try:
            policy = load(entry.source)
        except PolicyError as exc:
            entry.failed_at = now
            entry.error = [line for line in str(exc).splitlines() if line.strip()]
            kept = f"; still serving {entry.current.policy.version}" if entry.current else ""
            return Change(entry.source, "failed", known,
                          f"{entry.source}: not loaded{kept}: {entry.error[0] if entry.error else 'error'}")
        other = self.by_id.get(policy.id)
        if other is not None and other.source != entry.source:
            entry.failed_at = now
            entry.error = [f"{entry.source}: policy {policy.id} is already served from {other.source}"]
            return Change(entry.source, "failed", known, entry.error[0])
        loaded = Loaded(policy, entry.source, now, self._approval(entry.source, policy))
        swapped = entry.current is not None
        if swapped:
            entry.reloads += 1
        entry.current, entry.error, entry.failed_at = loaded, [], None
        self.by_id = {**self.by_id, policy.id: loaded}
        return Change(entry.source, "swapped" if swapped else "loaded", policy.id,
                      f"{entry.source}: serving {policy.id} {policy.version} ({policy.fingerprint[:19]})")

    def _approval(self, source: Path, policy: Policy) -> str:
        """The approval status from the approvals file beside a source policy, read only when it is served."""
        if source.suffix != ".policy":
            return "unknown"
        from leadpolicy.governance.approvals import approvals_path, load_approvals, samples_fingerprint, status
        from leadpolicy.language.loader import samples_for

        companions = [approvals_path(source), samples_for(source)]
        if not all(self.inside(p) for p in companions):
            return "unknown"
        approvals, problems = load_approvals(companions[0])
        if problems:
            return "unknown"
        return status(policy.tree, approvals, samples_fingerprint(source))[0]
