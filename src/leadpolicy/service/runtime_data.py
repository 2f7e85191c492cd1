"""The run-time data of assignment the service reads: `--availability` (member, from, until) and `--accounts`
(domain, owner) files, and only those. Each is read again when its stamp (real path, inode, mtime, size) changes,
checked at most once a second by the service's watcher; a file that goes missing or stops parsing keeps its last
good rows in use, as a broken policy edit keeps the last good version serving.

A file is what `leadpolicy assign` reads: CSV with a header row (`.csv`), JSON Lines (`.jsonl`, `.ndjson`,
`.json`; a `.json` file may also be one JSON list of objects) or Parquet (`.parquet`, `.pq`); it is opened without
waiting (a FIFO is refused, never waited on), and at most 10 MiB are read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadpolicy.language.sources import Unreadable, open_regular, read_at_most

FileStamp = tuple[str, int, int, int]  # real path, inode, mtime ns, size
JSON_LINES = (".jsonl", ".ndjson", ".json")  # a .json file is JSON Lines, as assign reads it, or a JSON list
PARQUET = (".parquet", ".pq")


class DataError(ValueError):
    """A run-time data file that cannot be read or parsed; the message says why, never quoting the file."""


@dataclass(frozen=True)
class Snapshot:
    """One good reading of a file: its rows and a number that grows with each new reading."""

    rows: tuple[Any, ...]
    version: int


def stamp_of(path: Path) -> FileStamp | None:
    try:
        status = path.stat()
        return str(path.resolve()), status.st_ino, status.st_mtime_ns, status.st_size
    except (OSError, ValueError):
        return None


def read_rows(path: Path) -> list[Any]:
    """The rows of a data file (mappings, unless a JSON item is something else: the readers reject it by row)."""
    try:
        with open_regular(path) as handle:
            raw = read_at_most(handle)
    except IsADirectoryError:
        raise DataError(f"{path}: a folder, not a file") from None
    except Unreadable as exc:
        raise DataError(f"{path}: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _parsed(path, raw)


def _parsed(path: Path, raw: bytes) -> list[Any]:
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        return _parquet(path, raw)
    text = _text(path, raw)
    try:
        if suffix == ".json" and text.lstrip().startswith("["):
            return list(json.loads(text))
        if suffix in JSON_LINES:
            return _json_lines(path, text)
        if suffix == ".csv":
            return list(csv.DictReader(io.StringIO(text, newline="")))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (RecursionError, ValueError) as exc:  # nested too deep; a number too long
        raise DataError(f"{path}: not JSON ({str(exc)[:120]})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not CSV ({exc})") from None
    raise DataError(f"{path}: cannot tell the format from the extension {path.suffix!r}; use .csv, .jsonl or "
                    ".parquet (as assign reads them)")


def _text(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _parquet(path: Path, raw: bytes) -> list[Any]:
    """A Parquet file's rows, read by DuckDB from a private copy of the bytes read (so nothing else opens the
    path given)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="leadpolicy-serve-") as private:
        copy = Path(private) / "rows.parquet"
        copy.write_bytes(raw)
        try:
            with duckdb.connect() as con:
                cursor = con.execute("SELECT * FROM read_parquet(?)", [str(copy)])
                names = [column[0] for column in cursor.description or ()]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise DataError(f"{path}: not Parquet ({str(exc).splitlines()[0][:160]})") from None


def _json_lines(path: Path, text: str) -> list[Any]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):  # lines end at \n, as JSON Lines says
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: not JSON at line {number}, column {exc.colno}: {exc.msg}") from None
    return rows


class WatchedFile:
    """A data file named on the command line: its last good rows, and the last failure to read a newer version."""

    def __init__(self, kind: str, path: str):
        self.kind = kind  # availability, accounts
        self.path = Path(os.path.abspath(path))
        self.snapshot = Snapshot((), 0)
        self.stamp: FileStamp | None = None
        self.error: str | None = None

    def refresh(self, force: bool = False) -> str | None:
        """Read the file again when it changed (or `force`); a line for the log when something happened."""
        stamp = stamp_of(self.path)
        if stamp == self.stamp and not force:
            return None
        self.stamp = stamp
        try:
            rows = read_rows(self.path)
        except DataError as exc:
            self.error = str(exc)
            kept = "; the last good rows stay in use" if self.snapshot.version else ""
            return f"--{self.kind} {exc}{kept}"
        self.error = None
        self.snapshot = Snapshot(tuple(rows), self.snapshot.version + 1)  # one assignment: a request sees one whole
        return f"--{self.kind} {self.path}: {len(rows)} row(s) read"
