"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, on 127.0.0.1
and a free port, stopped and removed at the end. The server is the system's, built with ICU
(tests/components.py finds it); without one the PostgreSQL tests are skipped, or fail under CI=true."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from .components import require_postgres_binaries


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a cluster and yield its connection string; stop and remove it afterwards."""
    bin_dir = require_postgres_binaries()
    folder = Path(tempfile.mkdtemp(prefix="leadpolicy-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use Debian's postgres user
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run(as_user + list(args), check=True, capture_output=True, text=True)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--locale=C")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as exc:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log[-2000:]}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
