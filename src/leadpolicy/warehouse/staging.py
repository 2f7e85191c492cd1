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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from leadpolicy import zones
from leadpolicy.warehouse.templates import filled, table_named

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


def scalar(con: DuckDBPyConnection, query: str, parameters: list[object] | None = None) -> Any:
    """The one value a query that always yields one row (a count, a setting) returns."""
    row = con.execute(query, parameters).fetchone()
    if row is None:
        raise RuntimeError(f"no row from a query that always has one: {query}")
    return row[0]


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
def joins_as_written(con: DuckDBPyConnection) -> Iterator[None]:
    """Run the statements inside with DuckDB's joins in the order and on the sides the query writes them
    (the documented way to force a join order: the left input probes, the right is built). Scoring
    joins each lead row to its lead's narrow aggregate of events, and DuckDB, going by an estimate of
    how many leads pass validation, would otherwise build its hash table from the wide lead rows."""
    present = {name for (name,) in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    disabled = [name for name in ("join_order", "build_side_probe_side") if name in present]
    before = str(scalar(con, "SELECT current_setting('disabled_optimizers')"))
    con.execute("SET disabled_optimizers = " + exp.Literal.string(",".join(filter(None, [before, *disabled])))
                .sql("duckdb"))
    try:
        yield
    finally:
        con.execute("SET disabled_optimizers = " + exp.Literal.string(before).sql("duckdb"))


@contextlib.contextmanager
def watch_progress(con: DuckDBPyConnection, on_percent: Callable[[float], None] | None,
                   every: float = 0.2) -> Iterator[None]:
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


# A record that could not be read: row (int), field, problem and raw (str), read by key by every caller.
Problem = dict[str, Any]


@dataclass
class Staged:
    """What `stage` put in table `raw`: the input's column names, in file order, and the records
    DuckDB could not read at all (dicts of row, field, problem, raw)."""

    columns: list[str]
    problems: list[Problem]
    has_originals: bool  # whether `original_column(i)` exists (JSON Lines and Parquet)
    column_types: dict[int, str] = field(default_factory=dict)  # Parquet: each column's DuckDB type
    ordered: bool = False  # whether a scan of `raw` with filters and projections alone yields record order


def stage(con: DuckDBPyConnection, path: Path, fmt: str, table: str = "raw") -> Staged:
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
            return stage_csv(con, source, table)
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


def plain_file(con: DuckDBPyConnection, path: Path, table: str = "input") -> Path:
    """The file as DuckDB and Python read it more than once: `path` itself when it is a regular file its
    name being no pattern; else, in the staging folder (which lives as long as the database), a copy of
    what a pipe or device gives (read once: /dev/stdin, <(...)) or a link to a file named like a pattern
    (`d/[ab].csv` is that file, not d/a.csv and d/b.csv)."""
    if path.is_file() and not GLOB_MARKS & set(str(path)):
        return path
    folder = _temp_directory(con)
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


# A CSV file read as RFC 4180 (never sniffed), `p_columns` naming each column and its type: counted (each line
# DuckDB rejects kept), into `csv_rows` (the same), as the rows of the clean copy made by `stage_csv_records`, and
# as the staged rows of a file DuckDB reads whole (`p_path`: a view holds no parameter; the header skipped).
COUNT_CSV = ("SELECT count(*) FROM read_csv(?, delim = ',', quote = '\"', escape = '\"', header = false, "
             "auto_detect = false, columns = p_columns, store_rejects = true, rejects_table = p_rejects, "
             "rejects_scan = p_scans)")
READ_CSV_KEEPING_REJECTS = (
    "CREATE TABLE csv_rows AS SELECT * FROM read_csv(?, delim = ',', quote = '\"', escape = '\"', header = false, "
    "auto_detect = false, columns = p_columns, store_rejects = true, rejects_table = p_rejects, "
    "rejects_scan = p_scans)")
READ_CLEAN_COPY = ('SELECT CAST(c0 AS BIGINT) AS "#row" FROM read_csv(?, delim = \',\', quote = \'"\', '
                   "escape = '\"', new_line = '\\n', header = false, auto_detect = false, columns = p_columns)")
READ_HEADER = ("SELECT * FROM read_csv(?, delim = ',', quote = '\"', escape = '\"', header = false, "
               "auto_detect = false, columns = p_columns) LIMIT 1")
READ_RECORDS = ('SELECT row_number() OVER () AS "#row" FROM read_csv(p_path, delim = \',\', quote = \'"\', '
                "escape = '\"', header = true, auto_detect = false, columns = p_columns)")
BROKEN_QUOTE = "UNQUOTED VALUE"  # DuckDB's error type for a quote never closed, or text after a closing quote


def _temp_directory(con: DuckDBPyConnection) -> Path:
    return Path(str(scalar(con, "SELECT current_setting('temp_directory')") or "."))


def _helpers(table: str, *parts: str) -> dict[str, str]:
    """The names of `table`'s helper tables, by part: `csv_in` is `{table}_csv_in`."""
    return {part: f"{table}_{part}" for part in parts}


def _rejects_kept(table: str) -> dict[str, exp.Expr]:
    """Where DuckDB keeps the lines it rejects reading for `table` (read_csv's `store_rejects`)."""
    return {"p_rejects": exp.Literal.string(f"{table}_reject_errors"),
            "p_scans": exp.Literal.string(f"{table}_reject_scans")}


def _create(kind: str, name: str, query: exp.Expr) -> str:
    return exp.Create(this=table_named(name), kind=kind, expression=query).sql("duckdb")


def stage_csv(con: DuckDBPyConnection, path: Path, table: str) -> Staged:
    """RFC 4180 as written (comma, double quotes; never sniffed, so broken rows cannot change how the
    rest is read), as wide as the header. A first pass counts the rows and keeps the lines DuckDB cannot
    read; a file it reads whole is staged as a view of the file itself (nothing copied), one with unreadable
    lines as a table of the rest, numbered around them. A record with a broken quote makes DuckDB read on as
    one field, so then the file is read record by record instead (`stage_csv_records`)."""
    # Read without a header, so the header's cells arrive exactly as written (DuckDB would rename
    # "Email" and "email" to "Email" and "email_1"); they are record 0.
    width = _header_width(path)
    try:
        bad = _lines_rejected(con, path, table, width)
    except Exception as exc:
        if not _mixed_line_ends(exc):
            raise
        return stage_csv_records(con, path, table)  # Python's csv module reads CRLF and LF alike
    if any(broken for *_, broken in bad):
        return stage_csv_records(con, path, table)
    if not bad:
        return _csv_view(con, path, table, width)
    return _csv_table_around_rejects(con, path, table, width, bad)


def _lines_rejected(con: DuckDBPyConnection, path: Path, table: str, width: int) -> list[tuple[Any, ...]]:
    """The lines DuckDB cannot read as records of `width` cells, as (line, message, text, broken quote), read
    in a pass that stores nothing."""
    names = _helpers(table, "reject_errors", "reject_scans")
    counted = filled(COUNT_CSV, pieces={"p_columns": _varchar_columns(width), **_rejects_kept(table)})
    con.execute(counted.sql("duckdb"), [str(path)]).fetchall()
    bad = con.execute(filled("SELECT line, any_value(error_message), any_value(csv_line), bool_or(error_type = "
                             "p_broken) FROM reject_errors GROUP BY line ORDER BY line", tables=names,
                             values={"p_broken": BROKEN_QUOTE}).sql("duckdb")).fetchall()
    for helper in ("reject_errors", "reject_scans"):  # a later read keeps its rejects under the same names
        con.execute(filled("DROP TABLE helper", tables={"helper": names[helper]}).sql("duckdb"))
    return bad


def _csv_table_around_rejects(con: DuckDBPyConnection, path: Path, table: str, width: int,
                              bad: list[tuple[Any, ...]]) -> Staged:
    """`table` as the rows DuckDB read, each numbered by the record it is, when DuckDB rejected the lines of
    `bad` (line, message, text, broken quote); those after the header are the problems."""
    names = _helpers(table, "csv_in", "csv_rows", "line_map")
    read = filled(READ_CSV_KEEPING_REJECTS, tables=names,
                  pieces={"p_columns": _varchar_columns(width), **_rejects_kept(table)})
    con.execute(read.sql("duckdb"), [str(path)])
    # The k-th row read, numbered by the table's row id (rows are stored in the order read): a window
    # (row_number() OVER ()) would hold every row in memory at once, and spill, on a large file.
    con.execute(filled('CREATE VIEW csv_in AS SELECT rowid + 1 AS "#n", * FROM csv_rows', tables=names)
                .sql("duckdb"))
    problems: list[Problem] = [
        {"row": int(line) - 1, "field": "", "problem": f"malformed CSV record: {message}", "raw": text}
        for line, message, text, _ in bad if int(line) > 1]
    _map_lines(con, names["csv_in"], [int(b[0]) for b in bad], names["line_map"])
    header_row = con.execute(filled('SELECT * EXCLUDE ("#n") FROM csv_in JOIN line_map ON k = "#n" '
                                    "WHERE record = 0", tables=names).sql("duckdb")).fetchall()
    if not header_row:
        raise DataFileError(f"{path}: no header line")
    rows = filled('SELECT record AS "#row" FROM csv_in JOIN line_map ON k = "#n" WHERE record > 0', tables=names)
    con.execute(_create("TABLE", table, _with_cells(rows, width, first=0)))
    return Staged(_header_names(header_row[0][:-2]), problems, False)


def _with_cells(select: exp.Expr, width: int, first: int) -> exp.Expr:
    """`select` projecting also the `width` text cells read as columns c{first}, c{first + 1}..., each under
    its staged name (`text_column`)."""
    assert isinstance(select, exp.Select)
    return select.select(*(exp.alias_(exp.column(f"c{first + i}", quoted=True), text_column(i), quoted=True)
                           for i in range(width)), copy=False)


def _csv_view(con: DuckDBPyConnection, path: Path, table: str, width: int) -> Staged:
    """`table` as a view of the file itself when DuckDB read every line: the k-th row read after the header
    is record k, so nothing is copied, and a scan of the view yields the rows in record order. Its row
    number is a window that a scan leaves out unless it reads `#row` (finding the bad rows, which only a
    run with some does)."""
    columns = {"p_columns": _varchar_columns(width)}
    header_row = con.execute(filled(READ_HEADER, pieces=columns).sql("duckdb"), [str(path)]).fetchall()
    if not header_row:
        raise DataFileError(f"{path}: no header line")
    rows = filled(READ_RECORDS, values={"p_path": str(path)}, pieces=columns)
    con.execute(_create("VIEW", table, _with_cells(rows, width, first=0)))
    return Staged(_header_names(header_row[0]), [], False, ordered=True)


def _varchar_columns(width: int) -> exp.Expr:
    """read_csv's `columns`: c0, c1, ... each read as text."""
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(f"c{i}"),
                                                  expression=exp.Literal.string("VARCHAR")) for i in range(width)])


def _header_names(cells: Iterable[str | None]) -> list[str]:
    return [cell if cell not in (None, "") else f"column{i + 1}" for i, cell in enumerate(cells)]


def _header_width(path: Path) -> int:
    """How many columns the header record has: the width every record must have."""
    for _, cells, _, _ in csv_records(path):
        if cells is None:
            break
        if cells:
            return len(cells)
    raise DataFileError(f"{path}: no header line")


def stage_csv_records(con: DuckDBPyConnection, path: Path, table: str) -> Staged:
    """The same staging as `stage_csv`, read record by record (`csv_records`): used once a quote is
    broken, where DuckDB would read the rest of the file as one field. Good records go through a
    clean copy of the file (each behind its record number), which DuckDB then reads as it is."""
    records = csv_records(path)
    header = next((cells for _, cells, _, _ in records if cells), None)
    if header is None:
        raise DataFileError(f"{path}: no header line")
    width = len(header)
    folder = _temp_directory(con)
    descriptor, name = tempfile.mkstemp(".csv", f"{table}-records-", folder if folder.is_dir() else None)
    copy = Path(name)
    try:
        with open(descriptor, "w", newline="", encoding="utf-8") as handle:
            problems = _write_good_records(handle, records, width)
        rows = filled(READ_CLEAN_COPY, pieces={"p_columns": _varchar_columns(width + 1)})
        con.execute(_create("TABLE", table, _with_cells(rows, width, first=1)), [str(copy)])
    finally:
        copy.unlink(missing_ok=True)
    return Staged(_header_names(header), problems, False)


def _write_good_records(handle: Any, records: Iterable[tuple[int, list[str] | None, str, str]],
                        width: int) -> list[Problem]:
    """Write each record of `width` cells behind its number to `handle` as CSV; returns the others as problems."""
    import csv

    # Every cell quoted, so a carriage return or line feed in one is text, never a line end (minimal quoting
    # leaves a lone CR bare); DuckDB reads a quoted empty cell as NULL, as it reads an empty one.
    writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
    problems: list[Problem] = []
    for number, cells, why, raw in records:
        if cells is not None and len(cells) == width:
            writer.writerow([number, *cells])
        elif cells is None or cells:  # a blank line is no record, as DuckDB reads it
            why = why or f"Expected Number of Columns: {width} Found: {len(cells or ())}"
            problems.append({"row": number, "field": "", "problem": f"malformed CSV record: {why}", "raw": raw})
    return problems


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


def _stage_jsonl(con: DuckDBPyConnection, path: Path, table: str) -> Staged:
    # One line, one record. A line DuckDB cannot read (a byte that is not UTF-8) is rejected on its own;
    # long lines are fine up to MAX_LINE.
    names = _helpers(table, "lines_in", "reject_errors", "line_map", "lines", "checked")
    try:
        _read_lines(con, path, table, strict=True)
    except Exception as exc:
        if not _mixed_line_ends(exc):
            raise
        _read_lines(con, path, table, strict=False)  # lines with no quotes and one column: only line ends are lenient
    bad = con.execute(filled("SELECT line, any_value(error_message) FROM reject_errors GROUP BY line ORDER BY line",
                             tables=names).sql("duckdb")).fetchall()
    unreadable: list[Problem] = [
        {"row": int(line), "field": "", "problem": f"unreadable line: {message.splitlines()[0]}", "raw": ""}
        for line, message in bad]
    _map_lines(con, names["lines_in"], [int(b[0]) for b in bad], names["line_map"])
    for step in ('CREATE TABLE lines AS SELECT record + 1 AS "#row", line FROM lines_in JOIN line_map ON k = "#n"',
                 "DELETE FROM lines WHERE trim(line) = ''",
                 "CREATE TABLE checked AS SELECT *, json_valid(line) AND json_type(CASE WHEN "
                 "json_valid(line) THEN line END) = 'OBJECT' AS ok FROM lines"):
        con.execute(filled(step, tables=names).sql("duckdb"))
    not_objects = con.execute(filled('SELECT "#row", line FROM checked WHERE NOT ok ORDER BY "#row"', tables=names)
                              .sql("duckdb"))
    problems = unreadable + [{"row": int(row), "field": "", "problem": not_an_object(line), "raw": line[:500]}
                             for row, line in not_objects.fetchall()]
    # The columns are the keys of every JSON object, rejected or not, so a file whose every record gives a
    # key twice still has its columns, and each record is rejected by row for what it is.
    keys = _keys_in_order(con, names["checked"])
    problems += _keys_given_twice(con, names["checked"])
    problems += _not_rfc_json(con, names["checked"])
    rows = filled('SELECT "#row" FROM checked WHERE ok', tables=names)
    assert isinstance(rows, exp.Select)
    for i, key in enumerate(keys):
        path_text = exp.Literal.string("$." + json_quote(key))
        rows.select(exp.alias_(exp.func("json_extract_string", exp.column("line"), path_text.copy()),
                               text_column(i), quoted=True),
                    exp.alias_(exp.func("json_extract", exp.column("line"), path_text), original_column(i),
                               quoted=True), copy=False)
    con.execute(_create("TABLE", table, rows))
    return Staged(keys, problems, True)


def _keys_in_order(con: DuckDBPyConnection, checked: str) -> list[str]:
    """The keys of the JSON objects of `checked`, in the order they first appear: by line, then by place."""
    return [str(r[0]) for r in con.execute(filled(
        "SELECT key FROM (SELECT key, min((row, place)) AS first FROM (SELECT "
        '"#row" AS row, unnest(json_keys(line)) AS key, unnest(range(len(json_keys(line)))) '
        "AS place FROM checked WHERE ok) GROUP BY key) ORDER BY first", tables={"checked": checked})
        .sql("duckdb")).fetchall()]


# Each line of a file as one text column, numbered in the order read (a record separator, which no line of
# JSON holds unescaped, as the delimiter; no quotes).
READ_LINES = ('CREATE OR REPLACE TABLE lines_in AS SELECT row_number() OVER () AS "#n", line FROM '
              "read_csv(?, columns = p_columns, delim = '\x1e', quote = '', escape = '', header = false, "
              "auto_detect = false, store_rejects = true, max_line_size = p_max_line, "
              "strict_mode = p_strict, rejects_table = p_rejects, rejects_scan = p_scans)")


def _read_lines(con: DuckDBPyConnection, path: Path, table: str, strict: bool) -> None:
    """Table `{table}_lines_in` ("#n", line): each line DuckDB read, numbered in the order read."""
    line_as_text = exp.PropertyEQ(this=exp.to_identifier("line"), expression=exp.Literal.string("VARCHAR"))
    options = {"p_columns": exp.Struct(expressions=[line_as_text]), "p_max_line": exp.Literal.number(MAX_LINE),
               "p_strict": exp.Boolean(this=strict), **_rejects_kept(table)}
    con.execute(filled(READ_LINES, tables=_helpers(table, "lines_in"), pieces=options).sql("duckdb"), [str(path)])


SURROGATE_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def not_an_object(line: str) -> str:
    """Why DuckDB refused a line as a JSON object: a lone surrogate escape (half of a character, which no
    text holds) is said as such; anything else is not a JSON object."""
    lone = SURROGATE.search(SURROGATE_PAIR.sub("", line))
    if lone and line.lstrip().startswith("{"):
        return f"invalid text: a lone surrogate ({lone.group(0)}), half of a character, is no text"
    return "not a JSON object"


def _keys_given_twice(con: DuckDBPyConnection, checked: str) -> list[Problem]:
    """The records of `checked` with a key given twice, as problems naming the key; they are no longer
    `ok`. DuckDB's JSON functions read the first of the two, Python the last: neither is guessed."""
    from leadpolicy.semantics.leads import given_twice, twice_given_key

    found = con.execute(filled('SELECT "#row", line, keys FROM (SELECT "#row", line, json_keys(line) AS keys '
                               "FROM checked WHERE ok) WHERE len(keys) <> len(list_distinct(keys)) "
                               'ORDER BY "#row"', tables={"checked": checked}).sql("duckdb")).fetchall()
    _no_longer_ok(con, checked, [int(row) for row, _, _ in found])
    return [{"row": int(row), "field": twice_given_key(keys), "problem": given_twice(str(twice_given_key(keys))),
             "raw": line[:500]} for row, line, keys in found]


def _no_longer_ok(con: DuckDBPyConnection, checked: str, rows: list[int]) -> None:
    if rows:
        con.execute(filled('UPDATE checked SET ok = false WHERE "#row" IN (SELECT unnest(CAST(? AS BIGINT[])))',
                           tables={"checked": checked}).sql("duckdb"), [rows])


# What DuckDB's JSON reader accepts beyond RFC 8259, or checks only at the top: a trailing comma, NaN and
# Infinity, a nested object (whose keys may be given twice). Few lines hold any of these, so only those
# are read again by the one JSON reader (`leads.read_json`), which explain and the API use.
NOT_RFC_JSON_HINT = r",[ \t\n\r]*[\]}]|NaN|Infinity|\{.*\{"


def _not_rfc_json(con: DuckDBPyConnection, checked: str) -> list[Problem]:
    """The records of `checked` that the one JSON reader refuses, as problems; they are no longer `ok`."""
    from leadpolicy.semantics.leads import read_json

    problems: list[Problem] = []
    suspects = con.execute(filled('SELECT "#row", line FROM checked WHERE ok AND regexp_matches(line, ?) '
                                  'ORDER BY "#row"', tables={"checked": checked}).sql("duckdb"),
                           [NOT_RFC_JSON_HINT]).fetchall()
    for row, line in suspects:
        try:
            read_json(line)
        except ValueError as exc:
            problems.append({"row": int(row), "field": "", "problem": f"not a JSON object (RFC 8259): {exc}",
                             "raw": line[:500]})
    _no_longer_ok(con, checked, [p["row"] for p in problems])
    return problems


def _map_lines(con: DuckDBPyConnection, table: str, bad_lines: list[int], line_map: str) -> None:
    """Table `line_map` (k, record): the k-th row DuckDB read is the k-th line it did not reject;
    lines count from 1, and `record` is the line number less one."""
    names = {"lines_read": table, "line_map": line_map}
    total = int(scalar(con, filled("SELECT count(*) FROM lines_read", tables=names).sql("duckdb"))) + len(bad_lines)
    con.execute(filled("CREATE TABLE line_map AS SELECT row_number() OVER (ORDER BY l) AS k, l - 1 AS record "
                       "FROM range(1, ? + 1) AS t(l) WHERE l NOT IN (SELECT unnest(CAST(? AS BIGINT[])))",
                       tables=names).sql("duckdb"), [total, bad_lines])


def json_quote(key: str) -> str:
    """A JSON object key as a quoted JSONPath member (DuckDB reads backslash escapes in it)."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stage_parquet(con: DuckDBPyConnection, path: Path, table: str) -> Staged:
    """A view, not a copy: Parquet is already columnar and typed, so each later step reads only the
    columns it needs, and a column's text is worked out only where a field reads its text."""
    source = filled("SELECT * FROM read_parquet(p_path, file_row_number = true)", values={"p_path": str(path)})
    described = con.execute(exp.Describe(this=source).sql("duckdb")).fetchall()[:-1]
    names = [str(r[0]) for r in described]
    rows = filled('SELECT file_row_number + 1 AS "#row" FROM read_parquet(p_path, file_row_number = true)',
                  values={"p_path": str(path)})
    assert isinstance(rows, exp.Select)
    for i, (name, column_type) in enumerate(zip(names, (str(r[1]) for r in described))):
        column = exp.column(name, quoted=True)
        rows.select(exp.alias_(typed_text(column, column_type), text_column(i), quoted=True),
                    exp.alias_(column.copy(), original_column(i), quoted=True), copy=False)
    con.execute(_create("VIEW", table, rows))
    return Staged(names, [], True, {i: str(r[1]) for i, r in enumerate(described)}, ordered=True)


def typed_text(column: exp.Expr, column_type: str) -> exp.Expr:
    """A typed value's text, as rejects and reasons name it. A TIMESTAMPTZ has no written form: it is
    named by its UTC form, as Parquet stores it and as its year is held to the supported years, so every
    engine names it alike whatever the session's time zone (an infinity as DuckDB writes it)."""
    if column_type != "TIMESTAMP WITH TIME ZONE":
        return exp.cast(column, "VARCHAR")
    utc = exp.DPipe(this=exp.cast(exp.func("timezone", exp.Literal.string("UTC"), column.copy()), "VARCHAR"),
                    expression=exp.Literal.string("+00"))
    return exp.Case().when(exp.func("isfinite", column.copy()), utc).else_(exp.cast(column.copy(), "VARCHAR"))
