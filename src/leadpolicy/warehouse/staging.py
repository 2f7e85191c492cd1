"""Data files (CSV, JSON Lines, Parquet) staged in DuckDB as text, with record numbers.

Both the batch scorer and the SLA event reader start here, so a row is numbered, read
and rejected the same way in both. Every cell becomes text in table `raw` under a positional
name, next to `#row`, its 1-based record number in the file (the CSV header is record 0; a quoted
cell with a line break is one record, and so is a line that opens a quote never closed: see
`csv_records`). Records that cannot be read at all (a malformed CSV record, a line that is not a
JSON object) are returned as problems instead.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from leadpolicy import zones

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

ROW_NAME = "#row"  # the record number: no field can be named so, and input columns are renamed
ROW = '"#row"'  # the same, as SQL
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}
MEMORY_LIMIT = os.environ.get("LEADPOLICY_DUCKDB_MEMORY", "2GB")
MAX_LINE = 64 * 1024 * 1024  # the longest JSON Lines record read (DuckDB's default is 2 MB)


class DataFileError(ValueError):
    """A file that cannot be read at all (missing, of another format than it claims)."""


class NotADataFile(Exception):
    """A path that is neither a regular file nor a pipe (a device, a directory, a socket): bad usage, refused
    before a byte is read. Not a DataFileError, so no reader turns it into a problem of the data: it reaches
    the command line, which says it and exits 2."""


class ZoneDataError(ValueError):
    """DuckDB's time-zone data disagrees with the tzdata package's for the zone a run reads times in."""


def quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def data_format(path: Path, given: str | None = None) -> str:
    fmt = given or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataFileError(f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                            "use .csv, .jsonl or .parquet")
    return fmt


FOLDER_PREFIX = "leadpolicy-"


def sweep_stale_folders() -> list[Path]:
    """Remove the staging folders of runs that were killed (their process is gone); returns them."""
    import shutil

    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


class Staging:
    """A DuckDB database on disk in a temporary folder: staged rows spill there, so memory stays
    within the limit (LEADPOLICY_DUCKDB_MEMORY, default 2GB) however large the input."""

    def __init__(self, timezone: str = "UTC", progress: bool = False, memory_limit: str | None = None,
                 now: dt.datetime | None = None):
        """`progress`: DuckDB measures how far each statement is, for `watch_progress` (it never prints a
        bar of its own). `memory_limit`: DuckDB's, when the caller needs less than LEADPOLICY_DUCKDB_MEMORY
        leaves (that variable, when set, wins). `now`: the run reads times in `timezone` in DuckDB, deciding
        as of `now`; raises ZoneDataError when DuckDB's time-zone data for it disagrees with the tzdata
        package's over the years decided."""
        import duckdb

        if now is not None:
            problem = zones.duckdb_disagreement(timezone, *zones.decided_years(now))
            if problem:
                raise ZoneDataError(f"{problem}; use --engine python, which reads the tzdata package")
        sweep_stale_folders()
        self.folder = tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        self.con = duckdb.connect(str(Path(self.folder.name) / "stage.duckdb"))
        self.con.execute("SET TimeZone = " + exp.Literal.string(timezone).sql("duckdb"))
        self.con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
        self.con.execute("SET enable_progress_bar_print = false")
        limit = MEMORY_LIMIT if memory_limit is None or "LEADPOLICY_DUCKDB_MEMORY" in os.environ else memory_limit
        self.con.execute("SET memory_limit = " + exp.Literal.string(limit).sql("duckdb"))
        self.con.execute("SET temp_directory = " + exp.Literal.string(self.folder.name).sql("duckdb"))
        self.con.execute("SET preserve_insertion_order = true")  # the default, which unsorted output relies on

    def close(self) -> None:
        self.con.close()
        self.folder.cleanup()


@contextlib.contextmanager
def joins_as_written(con) -> Iterator[None]:
    """Run the statements inside with DuckDB's joins in the order and on the sides the query writes them
    (the documented way to force a join order: the left input probes, the right is built). Scoring
    joins each lead row to its lead's narrow aggregate of events, and DuckDB, going by an estimate of
    how many leads pass validation, would otherwise build its hash table from the wide lead rows."""
    present = {name for (name,) in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    disabled = [name for name in ("join_order", "build_side_probe_side") if name in present]
    (before,) = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
    con.execute("SET disabled_optimizers = " + exp.Literal.string(",".join(filter(None, [before, *disabled])))
                .sql("duckdb"))
    try:
        yield
    finally:
        con.execute("SET disabled_optimizers = " + exp.Literal.string(before).sql("duckdb"))


@contextlib.contextmanager
def watch_progress(con, on_percent: Callable[[float], None] | None, every: float = 0.2) -> Iterator[None]:
    """While the statements inside run on `con`, hear how far the running one is (0 to 100) every `every`
    seconds, from a thread of its own: DuckDB answers `query_progress` while a statement runs. `con` must
    come from a Staging made with `progress`."""
    if on_percent is None:
        yield
        return
    import threading

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every):
            percent = con.query_progress()
            if percent >= 0:
                on_percent(percent)

    watcher = threading.Thread(target=watch, name="leadpolicy-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def text_column(i: int) -> str:
    """The staged text of input column i (0-based)."""
    return f"#{i}"


def original_column(i: int) -> str:
    """The staged original value of input column i: JSON for JSON Lines, the typed value for Parquet."""
    return f"#o{i}"


@dataclass
class Staged:
    """What `stage` put in table `raw`: the input's column names, in file order, and the records
    DuckDB could not read at all (dicts of row, field, problem, raw)."""

    columns: list[str]
    problems: list[dict]
    has_originals: bool  # whether `original_column(i)` exists (JSON Lines and Parquet)
    column_types: dict[int, str] = field(default_factory=dict)  # Parquet: each column's DuckDB type
    ordered: bool = False  # whether a scan of `raw` with filters and projections alone yields record order


def stage(con, path: Path, fmt: str, table: str = "raw") -> Staged:
    """Load the file into table `table` (its helper tables are named after it, so two files can be
    staged in one database).

    Every column is staged under a positional name (`#0`, `#1`, ... as text; `#o0`, ... as
    originals) that no field, score or input column can have, so a column of the file named like
    a computed value or a helper never stands in for one.
    """
    import duckdb

    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    refuse_other_than_file_or_pipe(path)
    source = plain_file(con, path, table)
    try:
        if fmt == "csv":
            return _stage_csv(con, source, table)
        if fmt == "jsonl":
            return _stage_jsonl(con, source, table)
        return _stage_parquet(con, source, table)
    except duckdb.Error as exc:
        raise DataFileError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None
    except DataFileError as exc:
        raise DataFileError(str(exc).replace(str(source), str(path))) from None


KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"),
         (stat.S_ISSOCK, "a socket"))


def refuse_other_than_file_or_pipe(path: Path) -> None:
    """Raises NotADataFile unless `path` (links followed) is a regular file or a pipe (/dev/stdin, <(...)):
    a device such as /dev/zero never ends, and the copy a pipe is read through would fill the disk."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # gone or unreadable: the reader says so
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return
    kind = next((name for test, name in KINDS if test(mode)), "not a file")
    raise NotADataFile(f"{path}: {kind}, not data: a data file is a regular file or a pipe "
                       "(such as /dev/stdin or <(...))")


GLOB_MARKS = frozenset("*?[")  # what DuckDB would expand in a file name, reading other files


def plain_file(con, path: Path, table: str = "input") -> Path:
    """The file as DuckDB and Python read it more than once: `path` itself when it is a regular file its
    name being no pattern; else, in the staging folder (which lives as long as the database), a copy of
    what a pipe or device gives (read once: /dev/stdin, <(...)) or a link to a file named like a pattern
    (`d/[ab].csv` is that file, not d/a.csv and d/b.csv)."""
    if path.is_file() and not GLOB_MARKS & set(str(path)):
        return path
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or ".")
    private = tempfile.mkdtemp(prefix=f"{table}-input-", dir=folder if folder.is_dir() else None)
    if not folder.is_dir():  # a database in memory: no staging folder removes it
        atexit.register(shutil.rmtree, private, True)
    plain = Path(private) / ("input" + "".join(c for c in path.suffix if c.isalnum() or c == "."))
    if path.is_file():
        os.symlink(os.path.abspath(path), plain)
    else:
        with open(path, "rb") as given, open(plain, "wb") as copy:
            shutil.copyfileobj(given, copy)
    return plain


CSV_DIALECT = "delim = ',', quote = '\"', escape = '\"', header = false, auto_detect = false"  # RFC 4180, never sniffed
BROKEN_QUOTE = "UNQUOTED VALUE"  # DuckDB's error type for a quote never closed, or text after a closing quote


def _stage_csv(con, path: Path, table: str) -> Staged:
    """RFC 4180 as written (comma, double quotes; never sniffed, so broken rows cannot change how the
    rest is read), as wide as the header. A record with a broken quote makes DuckDB read on as one
    field, so then the file is read record by record instead (`_stage_csv_records`)."""
    # Read without a header, so the header's cells arrive exactly as written (DuckDB would rename
    # "Email" and "email" to "Email" and "email_1"); they are record 0.
    width = _header_width(path)
    csv_in, csv_rows, errors, line_map = (quoted(f"{table}_{part}")
                                          for part in ("csv_in", "csv_rows", "reject_errors", "line_map"))
    try:
        con.execute(f"CREATE TABLE {csv_rows} AS SELECT * FROM "
                    f"read_csv(?, {CSV_DIALECT}, columns = {_varchar_columns(width)}, store_rejects = true, "
                    f"rejects_table = {_text(table + '_reject_errors')}, "
                    f"rejects_scan = {_text(table + '_reject_scans')})", [str(path)])
    except Exception as exc:
        if not _mixed_line_ends(exc):
            raise
        return _stage_csv_records(con, path, table)  # Python's csv module reads CRLF and LF alike
    # The k-th row read, numbered by the table's row id (rows are stored in the order read): a window
    # (row_number() OVER ()) would hold every row in memory at once, and spill, on a large file.
    numbered = exp.select(exp.alias_(exp.Add(this=exp.column("rowid"), expression=exp.Literal.number(1)), "#n",
                                     quoted=True), exp.Star()).from_(_table(f"{table}_csv_rows"))
    con.execute(exp.Create(this=_table(f"{table}_csv_in"), kind="VIEW", expression=numbered).sql("duckdb"))
    bad = con.execute(f"SELECT line, any_value(error_message), any_value(csv_line), bool_or(error_type = "
                      f"{_text(BROKEN_QUOTE)}) FROM {errors} GROUP BY line ORDER BY line").fetchall()
    if any(broken for *_, broken in bad):
        con.execute(f"DROP VIEW {csv_in}")
        for helper in (csv_rows, errors, quoted(f"{table}_reject_scans")):
            con.execute(f"DROP TABLE {helper}")
        return _stage_csv_records(con, path, table)
    problems = [{"row": int(line) - 1, "field": "", "problem": f"malformed CSV record: {message}", "raw": text}
                for line, message, text, _ in bad if int(line) > 1]
    if not bad:
        return _csv_view(con, path, table, width)
    _map_lines(con, csv_in, [int(b[0]) for b in bad], line_map)
    header_row = con.execute(f"SELECT * EXCLUDE (\"#n\") FROM {csv_in} JOIN {line_map} ON k = \"#n\" "
                             "WHERE record = 0").fetchall()
    if not header_row:
        raise DataFileError(f"{path}: no header line")
    names = _header_names(header_row[0][:-2])
    columns = ", ".join(f"{quoted(f'c{i}')} AS {quoted(text_column(i))}" for i in range(width))
    con.execute(f"CREATE TABLE {quoted(table)} AS SELECT record AS {ROW}, {columns} FROM {csv_in} "
                f"JOIN {line_map} ON k = \"#n\" WHERE record > 0")
    return Staged(names, problems, False)


def _csv_view(con: DuckDBPyConnection, path: Path, table: str, width: int) -> Staged:
    """`table` as a view of `{table}_csv_in` when DuckDB read every line: the k-th line read is record
    k - 1, so no line map is joined and the rows are not copied again; a scan of the view yields them in
    record order."""
    number = exp.column("#n", quoted=True)
    cells = [exp.column(f"c{i}", quoted=True) for i in range(width)]
    header = exp.select(*cells).from_(_table(f"{table}_csv_in")).where(
        exp.EQ(this=number, expression=exp.Literal.number(1)))
    header_row = con.execute(header.sql("duckdb")).fetchall()
    if not header_row:
        raise DataFileError(f"{path}: no header line")
    rows = exp.select(exp.alias_(exp.Sub(this=number.copy(), expression=exp.Literal.number(1)), ROW_NAME, quoted=True),
                      *(exp.alias_(cell.copy(), text_column(i), quoted=True) for i, cell in enumerate(cells))).from_(
        _table(f"{table}_csv_in")).where(exp.GT(this=number.copy(), expression=exp.Literal.number(1)))
    con.execute(exp.Create(this=_table(table), kind="VIEW", expression=rows).sql("duckdb"))
    return Staged(_header_names(header_row[0]), [], False, ordered=True)


def _table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _varchar_columns(width: int) -> str:
    return "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"


def _header_names(cells) -> list[str]:
    return [cell if cell not in (None, "") else f"column{i + 1}" for i, cell in enumerate(cells)]


def _header_width(path: Path) -> int:
    """How many columns the header record has: the width every record must have."""
    for _, cells, _, _ in csv_records(path):
        if cells is None:
            break
        if cells:
            return len(cells)
    raise DataFileError(f"{path}: no header line")


def _stage_csv_records(con, path: Path, table: str) -> Staged:
    """The same staging as `_stage_csv`, read record by record (`csv_records`): used once a quote is
    broken, where DuckDB would read the rest of the file as one field. Good records go through a
    clean copy of the file (each behind its record number), which DuckDB then reads as it is."""
    import csv

    records = csv_records(path)
    header = next((cells for _, cells, _, _ in records if cells), None)
    if header is None:
        raise DataFileError(f"{path}: no header line")
    width = len(header)
    problems = []
    folder = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or ".")
    descriptor, name = tempfile.mkstemp(".csv", f"{table}-records-", folder if folder.is_dir() else None)
    copy = Path(name)
    try:
        with open(descriptor, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")  # one kind of line end, as a quoted one is
            for number, cells, why, raw in records:
                if cells is not None and len(cells) == width:
                    writer.writerow([number, *cells])
                elif cells is None or cells:  # a blank line is no record, as DuckDB reads it
                    why = why or f"Expected Number of Columns: {width} Found: {len(cells or ())}"
                    problems.append({"row": number, "field": "", "problem": f"malformed CSV record: {why}",
                                     "raw": raw})
        columns = ", ".join(f"{quoted(f'c{i + 1}')} AS {quoted(text_column(i))}" for i in range(width))
        con.execute(f"CREATE TABLE {quoted(table)} AS SELECT CAST(c0 AS BIGINT) AS {ROW}, {columns} "
                    f"FROM read_csv(?, {CSV_DIALECT}, columns = {_varchar_columns(width + 1)})", [str(copy)])
    finally:
        copy.unlink(missing_ok=True)
    return Staged(_header_names(header), problems, False)


def _mixed_line_ends(exc: Exception) -> bool:
    """Whether DuckDB failed to read a file as its strict mode does with CRLF and LF lines mixed (it takes
    the first line end it sees for the file's own)."""
    import duckdb

    return isinstance(exc, duckdb.InvalidInputException) and "state machine reached an invalid state" in str(exc)


UNCLOSED_QUOTE = ("a quote opened on this line is not closed where its field ends (the line is rejected and "
                  "reading resumes on the next line)")


def _text_of(lines: list[bytes]) -> str:
    """A record's text as the rejects show it (at most 500 characters, undecodable bytes replaced)."""
    return b"".join(lines).decode("utf-8", "replace").rstrip("\r\n")[:500]


def csv_records(path: Path) -> Iterator[tuple[int, list[str] | None, str, str]]:
    """Each record of a CSV file as (record number, cells, problem, text), the header being record 0.

    A record that cannot be read (a quote never closed, text after a closing quote, a line that is
    not UTF-8) is the physical line it starts on: it comes with cells None and the problem, and
    reading resumes on the line after it, so one broken quote costs one line, not the rest of the
    file. A blank line is a record of no cells (numbered, as DuckDB numbers it, but not a lead).
    """
    import csv
    from collections import deque

    with open(path, "rb") as handle:
        pending: deque[bytes] = deque()  # lines read past a broken record's first, to read again
        taken: list[bytes] = []  # the lines of the record being read

        def lines() -> Iterator[str]:
            while True:
                line = pending.popleft() if pending else handle.readline()
                if not line:
                    return
                taken.append(line)
                yield line.decode("utf-8")

        first = handle.read(3)
        if first != b"\xef\xbb\xbf":  # a UTF-8 byte order mark is not part of the header
            handle.seek(0)
        number = 0
        reader = csv.reader(lines(), strict=True)
        while True:
            taken.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                pending.extendleft(reversed(taken[1:]))
                why = "a line that is not UTF-8" if isinstance(exc, UnicodeDecodeError) else UNCLOSED_QUOTE
                yield number, None, why, _text_of(taken[:1])
                reader = csv.reader(lines(), strict=True)
            else:
                yield number, cells, "", _text_of(taken)
            number += 1


def _stage_jsonl(con, path: Path, table: str) -> Staged:
    # One line, one record. A line DuckDB cannot read (a byte that is not UTF-8) is rejected on its own;
    # long lines are fine up to MAX_LINE.
    lines_in, errors, line_map, lines, checked = (
        quoted(f"{table}_{part}") for part in ("lines_in", "reject_errors", "line_map", "lines", "checked"))
    def read_lines(strict: bool) -> None:
        con.execute(f"CREATE OR REPLACE TABLE {lines_in} AS SELECT row_number() OVER () AS \"#n\", line FROM "
                    "read_csv(?, columns = {'line': 'VARCHAR'}, delim = '\x1e', quote = '', escape = '', "
                    f"header = false, auto_detect = false, store_rejects = true, max_line_size = {MAX_LINE}, "
                    f"strict_mode = {str(strict).lower()}, rejects_table = {_text(table + '_reject_errors')}, "
                    f"rejects_scan = {_text(table + '_reject_scans')})", [str(path)])

    try:
        read_lines(strict=True)
    except Exception as exc:
        if not _mixed_line_ends(exc):
            raise
        read_lines(strict=False)  # lines with no quotes and one column: only the line ends are read leniently
    bad = con.execute(f"SELECT line, any_value(error_message) FROM {errors} GROUP BY line ORDER BY line"
                      ).fetchall()
    unreadable = [{"row": int(line), "field": "", "problem": f"unreadable line: {message.splitlines()[0]}",
                   "raw": ""} for line, message in bad]
    _map_lines(con, lines_in, [int(b[0]) for b in bad], line_map)
    con.execute(f"CREATE TABLE {lines} AS SELECT record + 1 AS {ROW}, line FROM {lines_in} "
                f"JOIN {line_map} ON k = \"#n\"")
    con.execute(f"DELETE FROM {lines} WHERE trim(line) = ''")
    con.execute(f"CREATE TABLE {checked} AS SELECT *, json_valid(line) AND json_type(CASE WHEN "
                f"json_valid(line) THEN line END) = 'OBJECT' AS ok FROM {lines}")
    problems = unreadable + [
        {"row": int(row), "field": "", "problem": not_an_object(line), "raw": line[:500]}
        for row, line in con.execute(f"SELECT {ROW}, line FROM {checked} WHERE NOT ok ORDER BY {ROW}").fetchall()]
    problems += _keys_given_twice(con, checked)
    problems += _not_rfc_json(con, checked)
    # Keys in the order they first appear: by line, then by place in the line.
    keys = [r[0] for r in con.execute(
        "SELECT key FROM (SELECT key, min((row, place)) AS first FROM (SELECT "
        f"{ROW} AS row, unnest(json_keys(line)) AS key, unnest(range(len(json_keys(line)))) "
        f"AS place FROM {checked} WHERE ok) GROUP BY key) ORDER BY first").fetchall()]
    parts = []
    for i, key in enumerate(keys):
        path_text = exp.Literal.string("$." + json_quote(key))
        parts.append(exp.alias_(exp.func("json_extract_string", exp.column("line"), path_text.copy()),
                                text_column(i), quoted=True).sql("duckdb"))
        parts.append(exp.alias_(exp.func("json_extract", exp.column("line"), path_text),
                                original_column(i), quoted=True).sql("duckdb"))
    con.execute(f"CREATE TABLE {quoted(table)} AS SELECT {ROW}{''.join(', ' + p for p in parts)} "
                f"FROM {checked} WHERE ok")
    return Staged(keys, problems, True)


SURROGATE_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def not_an_object(line: str) -> str:
    """Why DuckDB refused a line as a JSON object: a lone surrogate escape (half of a character, which no
    text holds) is said as such; anything else is not a JSON object."""
    lone = SURROGATE.search(SURROGATE_PAIR.sub("", line))
    if lone and line.lstrip().startswith("{"):
        return f"invalid text: a lone surrogate ({lone.group(0)}), half of a character, is no text"
    return "not a JSON object"


def _keys_given_twice(con, checked: str) -> list[dict]:
    """The records of `checked` with a key given twice, as problems naming the key; they are no longer
    `ok`. DuckDB's JSON functions read the first of the two, Python the last: neither is guessed."""
    from leadpolicy.semantics.leads import given_twice, twice_given_key

    found = con.execute(f"SELECT {ROW}, line, keys FROM (SELECT {ROW}, line, json_keys(line) AS keys FROM {checked} "
                        f"WHERE ok) WHERE len(keys) <> len(list_distinct(keys)) ORDER BY {ROW}").fetchall()
    if found:
        con.execute(f"UPDATE {checked} SET ok = false WHERE {ROW} IN (SELECT unnest(?::BIGINT[]))",
                    [[int(row) for row, _, _ in found]])
    return [{"row": int(row), "field": twice_given_key(keys), "problem": given_twice(str(twice_given_key(keys))),
             "raw": line[:500]} for row, line, keys in found]


# What DuckDB's JSON reader accepts beyond RFC 8259, or checks only at the top: a trailing comma, NaN and
# Infinity, a nested object (whose keys may be given twice). Few lines hold any of these, so only those
# are read again by the one JSON reader (`leads.read_json`), which explain and the API use.
NOT_RFC_JSON_HINT = r",[ \t\n\r]*[\]}]|NaN|Infinity|\{.*\{"


def _not_rfc_json(con, checked: str) -> list[dict]:
    """The records of `checked` that the one JSON reader refuses, as problems; they are no longer `ok`."""
    from leadpolicy.semantics.leads import read_json

    problems = []
    suspects = con.execute(f"SELECT {ROW}, line FROM {checked} WHERE ok AND regexp_matches(line, ?) ORDER BY {ROW}",
                           [NOT_RFC_JSON_HINT]).fetchall()
    for row, line in suspects:
        try:
            read_json(line)
        except ValueError as exc:
            problems.append({"row": int(row), "field": "", "problem": f"not a JSON object (RFC 8259): {exc}",
                             "raw": line[:500]})
    if problems:
        con.execute(f"UPDATE {checked} SET ok = false WHERE {ROW} IN (SELECT unnest(?::BIGINT[]))",
                    [[p["row"] for p in problems]])
    return problems


def _map_lines(con, table: str, bad_lines: list[int], line_map: str) -> None:
    """Table `line_map` (k, record): the k-th row DuckDB read is the k-th line it did not reject;
    lines count from 1, and `record` is the line number less one."""
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] + len(bad_lines)
    con.execute(f"CREATE TABLE {line_map} AS SELECT row_number() OVER (ORDER BY l) AS k, l - 1 AS record "
                "FROM range(1, ? + 1) t(l) WHERE l NOT IN (SELECT unnest(?::BIGINT[]))", [total, bad_lines])


def _text(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


def json_quote(key: str) -> str:
    """A JSON object key as a quoted JSONPath member (DuckDB reads backslash escapes in it)."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stage_parquet(con, path: Path, table: str) -> Staged:
    """A view, not a copy: Parquet is already columnar and typed, so each later step reads only the
    columns it needs, and a column's text is worked out only where a field reads its text."""
    source = f"read_parquet({exp.Literal.string(str(path)).sql('duckdb')}, file_row_number = true)"
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()[:-1]
    names = [r[0] for r in described]
    parts = []
    for i, name in enumerate(names):
        parts.append(f"CAST({quoted(name)} AS VARCHAR) AS {quoted(text_column(i))}")
        parts.append(f"{quoted(name)} AS {quoted(original_column(i))}")
    con.execute(f"CREATE VIEW {quoted(table)} AS SELECT file_row_number + 1 AS {ROW}{''.join(', ' + p for p in parts)} "
                f"FROM {source}")
    return Staged(names, [], True, {i: str(r[1]) for i, r in enumerate(described)}, ordered=True)
