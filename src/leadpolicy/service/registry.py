"""The policies a decision service serves, read only from the paths it was given, reloaded when they change.

A changed file is loaded and checked in full before it replaces anything; a broken edit never
replaces the last good version, which goes on serving while the failure and its diagnostics are
shown. Each swap is one assignment of an immutable entry, so a request sees one version whole.

A served file whose real path (links followed) leaves the served paths is refused, and no error
shows the content of a file that is not a policy: a policy's diagnostic is `FILE:LINE:COL: code: message; hint:
HINT`, as `check` gives it; one of a file the grammar does not read is `FILE:LINE:COL: code: what the code means`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat as stat_kind
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from leadpolicy.api import Policy, PolicyError, load
from leadpolicy.language.diagnostics import Diagnostic, escaped
from leadpolicy.language.sources import Unreadable, open_regular, read_at_most

SERVED_SUFFIXES = (".policy", ".json")
CHECK_HINT = "run `leadpolicy check` on the file for the details"
FileStamp = tuple[str, int, int, int]  # real path, inode, mtime ns, size
Stamp = tuple[FileStamp | None, ...]  # a file's stamp, then those of its approvals and samples files


class Refused(Exception):
    """A served file that cannot be loaded; `lines` say why without quoting the file."""

    def __init__(self, lines: list[str]):
        super().__init__(lines[0])
        self.lines = lines


class Missing(Refused):
    """A file that is not there (any more)."""


class Outside(Refused):
    """A file whose real path lies outside the served paths."""


@dataclass(frozen=True)
class Loaded:
    """One good version of a policy, as served."""

    policy: Policy
    source: Path
    loaded_at: dt.datetime
    approval: str  # draft, partly approved, agreed; unknown for an artifact or without its files
    uses_events: bool  # it declares events, or its decision counts some: a request may send events


@dataclass
class Entry:
    """A served file: its last good version, and the last failure to load a newer one."""

    source: Path
    current: Loaded | None = None
    stamp: Stamp | None = None  # (real path, inode, mtime ns, size) of the version last read, and companions
    reloads: int = 0
    error: list[str] = field(default_factory=list)  # diagnostics of the last failed load; empty when it is good
    failed_at: dt.datetime | None = None
    clash: str | None = None  # why its good version is not served: another file serves that policy id

    @property
    def problems(self) -> list[str]:
        return self.error or ([self.clash] if self.clash else [])


@dataclass(frozen=True)
class Change:
    """What one reload did to one served file, as the service logs and counts it."""

    source: Path
    # loaded (a first version), swapped (a newer one), failed (kept the last good one, if any), clash
    # (it loads, but another file serves its id), removed (an id no file defines now), gone (the file)
    outcome: str
    policy: str | None  # the policy id, when known
    message: str


class Registry:
    """Every policy found under `paths` (files, or folders searched for `*.policy` and compiled
    `*.json` artifacts), by id. Nothing outside `paths` is read."""

    def __init__(self, paths: Sequence[str | Path]):
        given = [Path(os.path.abspath(p)) for p in paths]
        self.folders = [p.resolve() for p in given if p.is_dir()]
        self.named = [p for p in given if not p.is_dir()]  # files named: served through their links as they are now
        self.entries: dict[Path, Entry] = {}
        self.by_id: dict[str, Loaded] = {}
        self.ready = False
        self.lock = threading.Lock()  # one reload at a time; requests read `by_id` without it

    def inside(self, path: Path) -> bool:
        """Whether a file's real path is a file named (where its links point now) or lies in a folder served."""
        real = path.resolve()
        return any(real.is_relative_to(f) for f in self.folders) or any(real == f.resolve() for f in self.named)

    def shown(self, path: Path) -> str:
        """A served file as the service names it to its clients (listings, metrics' labels): its path
        under the served folder it was found in, or the name of a file named on the command line;
        never the absolute path, which tells the machine's layout. Escaped (`escaped`): a name that is
        not UTF-8 holds lone surrogates, which no JSON answer or metrics page could encode."""
        for root in self.folders:
            if path.is_relative_to(root):
                return escaped(path.relative_to(root).as_posix())
        return escaped(path.name)

    def files(self) -> list[Path]:
        """The files served, as found (links not followed): the files named, and every policy and
        artifact under the folders named, but none in or named like a hidden (dot) folder or file, as a
        Kubernetes ConfigMap's `..data` and its versions are. A FIFO, socket or device named like a
        policy is found too, so that its load fails ("not a regular file") and it is listed as not
        loaded, rather than skipped in silence."""
        found: list[Path] = []
        for root in self.folders:
            found += sorted(p for p in root.rglob("*") if p.suffix in SERVED_SUFFIXES
                            and not p.name.endswith(".schema.json")
                            and not any(part.startswith(".") for part in p.relative_to(root).parts)
                            and _file_like(p))
        return found + [p for p in self.named if _file_like(p)]

    def read(self, path: Path) -> bytes:
        """A served file's bytes, from the file its real path names once opened; Refused when that
        lies outside the served paths or is not a regular file."""
        try:
            handle = open_regular(path)
        except (IsADirectoryError, Unreadable):
            raise Refused([f"{path}: not a regular file"]) from None
        except OSError as exc:
            kind = Missing if isinstance(exc, FileNotFoundError) else Refused
            raise kind([f"{path}: cannot be read ({exc.strerror})"]) from None
        with handle:
            opened = f"/proc/self/fd/{handle.fileno()}"
            real = Path(os.readlink(opened)) if os.path.islink(opened) else path.resolve()
            if not self.inside(real):
                raise Outside([f"{path}: refused: a link to a file outside the served paths"])
            try:
                return read_at_most(handle)
            except Unreadable as exc:
                raise Refused([f"{path}: {exc}"]) from None

    def reload(self, force: bool = False) -> list[Change]:
        """Read every new or changed file (all of them with `force`), then serve each id from the file
        that defines it now; returns what changed. A file that is gone (deleted, or moved: a move is
        a new file replacing the old one) is forgotten, and so is an id that no file defines any more."""
        with self.lock:
            found = self.files()
            gone = [self.entries.pop(path) for path in sorted(set(self.entries) - set(found))]
            said = []
            for path in found:
                entry = self.entries.setdefault(path, Entry(path))
                stamp = _stamp(path)
                if stamp is None or (stamp == entry.stamp and not force):
                    continue
                entry.stamp = stamp
                failed = self._load(entry)
                if failed is not None:
                    said.append(failed)
            said += self._serve()
            said += [Change(e.source, "gone", e.current.policy.id if e.current else None,
                            f"{e.source}: deleted or moved away; forgotten") for e in gone]
            self.ready = True
            return said

    def not_serving(self) -> list[Entry]:
        """The files with a problem that serve nothing: never loaded, or their id is served from another file."""
        return [e for _, e in sorted(self.entries.items()) if e.problems and (
            e.current is None or self.by_id.get(e.current.policy.id) is not e.current)]

    def _load(self, entry: Entry) -> Change | None:
        """Read a new version of a file: its good version is replaced, or the failure is returned."""
        now = dt.datetime.now(dt.timezone.utc)
        try:
            policy = self._policy(entry.source)
            approval = self._approval(entry.source, policy)
        except Refused as exc:
            entry.failed_at = now
            entry.error = exc.lines
            known = entry.current.policy.id if entry.current else None
            kept = f"; still serving {entry.current.policy.version}" if entry.current else ""
            return Change(entry.source, "failed", known, f"{entry.source}: not loaded{kept}: {entry.error[0]}")
        if entry.current is not None:
            entry.reloads += 1
        entry.current = Loaded(policy, entry.source, now, approval, _uses_events(policy))
        entry.error, entry.failed_at, entry.clash = [], None, None
        return None

    def _serve(self) -> list[Change]:
        """Each id from the file whose good version defines it; when two files define one id, the file
        already serving it keeps it (else the first by name) and the other is told so."""
        claims: dict[str, list[Entry]] = {}
        for _, entry in sorted(self.entries.items()):
            if entry.current is not None:
                claims.setdefault(entry.current.policy.id, []).append(entry)
        by_id: dict[str, Loaded] = {}
        said = []
        for policy_id, entries in claims.items():
            serving = self.by_id.get(policy_id)
            keep = next((e for e in entries if serving is not None and e.source == serving.source), entries[0])
            assert keep.current is not None
            by_id[policy_id], keep.clash = keep.current, None
            for other in entries:
                clash = f"{other.source}: policy {policy_id} is already served from {keep.source}"
                if other is not keep and other.clash != clash:
                    other.clash, other.failed_at = clash, dt.datetime.now(dt.timezone.utc)
                    said.append(Change(other.source, "clash", policy_id, clash))
        for policy_id, loaded in by_id.items():
            if self.by_id.get(policy_id) is not loaded:
                said.append(Change(loaded.source, "swapped" if policy_id in self.by_id else "loaded", policy_id,
                                   f"{loaded.source}: serving {policy_id} {loaded.policy.version} "
                                   f"({loaded.policy.fingerprint[:19]})"))
        for policy_id, loaded in self.by_id.items():
            if policy_id not in by_id:
                said.append(Change(loaded.source, "removed", policy_id, f"{loaded.source}: {policy_id} no longer "
                                   "served (no file defines it now)"))
        self.by_id = by_id  # one assignment: a request sees the old set of versions or the new one
        return said

    def _policy(self, path: Path) -> Policy:
        """The policy a served file holds; Refused, with content-free diagnostics, when it has errors."""
        raw = self.read(path)
        if path.suffix == ".json":
            return _artifact(path, raw)
        from leadpolicy.api import from_tree
        from leadpolicy.language.diagnostics import CODES
        from leadpolicy.semantics.loading import load_policy_text

        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Refused([f"{path}: unreadable-file: {CODES['unreadable-file'][1]}"]) from None
        if "\x00" in text:
            raise Refused([f"{path}: unreadable-file: {CODES['unreadable-file'][1]}"])
        loaded = load_policy_text(text, str(path))
        errors = sorted((d for d in loaded.diagnostics if d.is_error), key=lambda d: d.sort_key())
        if errors or loaded.policy is None:
            raise Refused([_error_line(d, parsed=loaded.policy is not None) for d in errors] + [CHECK_HINT])
        return from_tree(loaded.policy)

    def _approval(self, source: Path, policy: Policy) -> str:
        """The approval status from the approvals file beside a source policy, read only when it is
        served; Refused when that file does not load (the policy's own failure to load).

        The approvals and samples files are read as the policy is (`read`: never waiting on a FIFO,
        regular files only, their real path checked on the file opened), and loaded from private
        copies of the bytes read, so nothing else ever opens the served paths."""
        if source.suffix != ".policy":
            return "unknown"
        from leadpolicy.governance.approvals import approvals_path
        from leadpolicy.language.loader import samples_for

        companions = [approvals_path(source), samples_for(source)]
        if not all(self.inside(p) for p in companions):
            return "unknown"
        try:
            contents = [self._companion(p) for p in companions]
        except Outside:
            return "unknown"
        except Refused as exc:
            raise Refused([*exc.lines, CHECK_HINT]) from None
        with tempfile.TemporaryDirectory(prefix="leadpolicy-serve-") as private:
            return _approval_of(source, policy, Path(private) / source.name, contents)

    def _companion(self, path: Path) -> bytes | None:
        """A companion file's bytes, or None when there is none."""
        try:
            return self.read(path)
        except Missing:
            return None


def _approval_of(source: Path, policy: Policy, stand_in: Path, contents: list[bytes | None]) -> str:
    """The approval status of `source` from its companions' bytes, written beside `stand_in`;
    Refused naming the real approvals file's lines when that does not load."""
    from leadpolicy.governance.approvals import approvals_path, load_approvals, samples_fingerprint, status
    from leadpolicy.language.diagnostics import CODES
    from leadpolicy.language.loader import samples_for

    real = {str(approvals_path(stand_in)): str(approvals_path(source)),
            str(samples_for(stand_in)): str(samples_for(source))}  # each copy's name: its real file's
    for copy, content in zip(real, contents):
        if content is not None:
            Path(copy).write_bytes(content)
    try:
        approvals, problems = load_approvals(approvals_path(stand_in))
        if not problems:
            return status(policy.tree, approvals, samples_fingerprint(stand_in))[0]
    except Exception:  # noqa: BLE001 - whatever a companion file trips on, it is this policy's failure
        problems = []
    where = [real.get(d.file, d.file) + (f":{d.span.line}:{d.span.column}" if d.span.line else "") for d in problems]
    meaning = CODES["bad-approvals"][1]
    raise Refused([f"{place}: bad-approvals: {meaning}" for place in where or [str(approvals_path(source))]]
                  + [CHECK_HINT])


def _uses_events(policy: Policy) -> bool:
    from leadpolicy.semantics.ir import DaysSinceEvent, EventCount

    return policy.ir.declares_events or any(isinstance(n, (EventCount, DaysSinceEvent)) for n in policy.ir.walk())


def _file_like(path: Path) -> bool:
    """Whether a path (through its links) is there and is no folder: a regular file, or a FIFO, socket or
    device, which `Registry.read` refuses without reading."""
    try:
        return not stat_kind.S_ISDIR(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def _stamp(path: Path) -> Stamp | None:
    """What identifies the version of a file: its real path (a swapped link changes it), inode, time
    and size; for a source policy, those of its approvals and samples files too (they make its status)."""
    from leadpolicy.governance.approvals import approvals_path
    from leadpolicy.language.loader import samples_for

    own = _stamp_of(path)
    if own is None:
        return None
    companions = (_stamp_of(approvals_path(path)), _stamp_of(samples_for(path))) if path.suffix == ".policy" else ()
    return own, *companions


def _stamp_of(path: Path) -> FileStamp | None:
    try:
        status = path.stat()
        return str(path.resolve()), status.st_ino, status.st_mtime_ns, status.st_size
    except OSError:
        return None


def _error_line(diag: Diagnostic, parsed: bool) -> str:
    """`FILE:LINE:COL: code: message; hint: ...` for a file the grammar read as a policy; for one it did not
    (it may be any file at all), what the code means in place of the message, which could quote the file."""
    from leadpolicy.language.diagnostics import CODES

    place = f"{diag.file}:{diag.span.line}:{diag.span.column}" if diag.span.line else diag.file
    if not parsed:
        return f"{place}: {diag.code}: {CODES[diag.code][1]}"
    return f"{place}: {diag.code}: {diag.message}" + (f"; hint: {diag.hint}" if diag.hint else "")


def _artifact(path: Path, raw: bytes) -> Policy:
    """A compiled artifact's policy; Refused naming only where the JSON breaks, or that it is no artifact."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Refused([f"{path}:{exc.lineno}:{exc.colno}: not JSON"]) from None
    except (ValueError, RecursionError):
        raise Refused([f"{path}: not JSON (not UTF-8, or nested too deeply)"]) from None
    try:
        return load(data)
    except PolicyError:
        raise Refused([f"{path}: not a valid compiled policy (its format, schema or fingerprint does not "
                       "check out); leadpolicy.load() on the file says why"]) from None
