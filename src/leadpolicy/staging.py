"""Data files (CSV, JSON Lines, Parquet) staged in DuckDB as text, with record numbers.

Both the batch scorer and the SLA event reader start here, so a row is numbered, read
and rejected the same way in both. Every cell becomes text in table `raw`, next to
`__lp_row`, its 1-based record number in the file (the CSV header is not a record; a
CSV record is assumed to be one line). Records DuckDB cannot read at all (a malformed
CSV record, a line that is not a JSON object) are returned as problems instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlglot import exp

ROW = "__lp_row"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}
MEMORY_LIMIT = os.environ.get("LEADPOLICY_DUCKDB_MEMORY", "2GB")


class DataFileError(ValueError):
    """A file that cannot be read at all (missing, of another format than it claims)."""


def quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def data_format(path: Path, given: str | None = None) -> str:
    fmt = given or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataFileError(f"{path}: cannot tell the format from the extension {path.suffix!r}; "
                            "use .csv, .jsonl or .parquet")
    return fmt


class Staging:
    """A DuckDB database on disk in a temporary folder: staged rows spill there, so memory stays
    within the limit (LEADPOLICY_DUCKDB_MEMORY, default 2GB) however large the input."""

    def __init__(self, timezone: str = "UTC", progress: bool = False):
        import duckdb

        self.folder = tempfile.TemporaryDirectory(prefix="leadpolicy-")
        self.con = duckdb.connect(str(Path(self.folder.name) / "stage.duckdb"))
        self.con.execute("SET TimeZone = " + exp.Literal.string(timezone).sql("duckdb"))
        self.con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
        self.con.execute("SET memory_limit = " + exp.Literal.string(MEMORY_LIMIT).sql("duckdb"))
        self.con.execute("SET temp_directory = " + exp.Literal.string(self.folder.name).sql("duckdb"))

    def close(self) -> None:
        self.con.close()
        self.folder.cleanup()


def stage(con, path: Path, fmt: str) -> tuple[list[str], list[dict]]:
    """Load the file as text into table `raw`; return its columns and the unreadable records
    (dicts of row, field, problem, raw)."""
    import duckdb

    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    problems: list[dict] = []
    try:
        if fmt == "csv":
            con.execute(f"CREATE TABLE raw AS SELECT row_number() OVER () AS {ROW}, * FROM "
                        "read_csv(?, all_varchar = true, header = true, store_rejects = true)", [str(path)])
            bad = con.execute("SELECT line, any_value(error_message), any_value(csv_line) FROM reject_errors "
                              "GROUP BY line ORDER BY line").fetchall()
            for line, message, text in bad:
                problems.append({"row": int(line) - 1, "field": "", "problem": f"malformed CSV record: {message}",
                                 "raw": text})
            if bad:
                _renumber(con, [int(b[0]) for b in bad])
        elif fmt == "jsonl":
            con.execute(f"CREATE TABLE lines AS SELECT row_number() OVER () AS {ROW}, line FROM read_csv(?, "
                        "columns = {'line': 'VARCHAR'}, delim = '\x1e', quote = '', escape = '', header = false, "
                        "auto_detect = false)", [str(path)])
            con.execute("DELETE FROM lines WHERE trim(line) = ''")
            con.execute("CREATE TABLE checked AS SELECT *, json_valid(line) AND json_type(CASE WHEN "
                        "json_valid(line) THEN line END) = 'OBJECT' AS ok FROM lines")
            for row, line in con.execute(f"SELECT {ROW}, line FROM checked WHERE NOT ok ORDER BY {ROW}").fetchall():
                problems.append({"row": int(row), "field": "", "problem": "not a JSON object", "raw": line[:500]})
            keys = [r[0] for r in con.execute("SELECT DISTINCT unnest(json_keys(line)) FROM checked WHERE ok "
                                              "ORDER BY 1").fetchall()]
            columns = ", ".join(
                exp.alias_(exp.func("json_extract_string", exp.column("line"), exp.Literal.string(f'$."{k}"')),
                           k, quoted=True).sql("duckdb") for k in keys if '"' not in k)
            con.execute(f"CREATE TABLE raw AS SELECT {ROW}{', ' + columns if columns else ''} FROM checked "
                        "WHERE ok")
        else:
            con.execute(f"CREATE TABLE parquet_in AS SELECT file_row_number + 1 AS {ROW}, * "
                        "FROM read_parquet(?, file_row_number = true)", [str(path)])
            cols = [r[0] for r in con.execute("DESCRIBE parquet_in").fetchall() if r[0] != ROW]
            casts = ", ".join(f"CAST({quoted(c)} AS VARCHAR) AS {quoted(c)}" for c in cols)
            con.execute(f"CREATE TABLE raw AS SELECT {ROW}{', ' + casts if casts else ''} FROM parquet_in")
    except duckdb.Error as exc:
        raise DataFileError(f"{path}: cannot read as {fmt}: {str(exc).splitlines()[0]}") from None
    return [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != ROW], problems


def _renumber(con, bad_lines: list[int]) -> None:
    """Give the good CSV records their record numbers: the k-th good record is the k-th data line
    that DuckDB did not reject (line 1 is the header)."""
    total = con.execute("SELECT count(*) FROM raw").fetchall()[0][0] + len(bad_lines)
    con.execute("CREATE TABLE bad_lines AS SELECT unnest(?::BIGINT[]) AS line", [bad_lines])
    con.execute("CREATE TABLE line_map AS SELECT row_number() OVER (ORDER BY l) AS k, l - 1 AS record "
                "FROM range(2, ? + 2) t(l) WHERE l NOT IN (SELECT line FROM bad_lines)", [total])
    con.execute(f"UPDATE raw SET {ROW} = line_map.record FROM line_map WHERE line_map.k = raw.{ROW}")
