"""SQL for every dialect, and batch scoring of lead files on DuckDB."""
