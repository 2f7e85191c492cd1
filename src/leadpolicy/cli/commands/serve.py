"""`leadpolicy serve`: a decision service over HTTP for the policies under PATHS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from leadpolicy.cli.exit_codes import EXIT_OK, EXIT_USAGE
from leadpolicy.cli.flags import help_formatter, non_negative_int

if TYPE_CHECKING:
    from leadpolicy.cli.shared import Subcommands

TOKEN_FILE_LIMIT = 64 << 10  # bytes of the token file read: its first line is the token


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def port_number(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return int(text)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("serve", formatter_class=help_formatter, help="serve decisions over HTTP",
                       description="Serve every policy under PATHS (sources or compiled artifacts) over HTTP: "
                                   "POST /v1/policies/ID/decide, /decide-batch and /assign, GET /v1/policies, "
                                   "/v1/assignments, /healthz, "
                                   "/readyz, /metrics and /openapi.json. A changed file is re-checked and swapped "
                                   "in; a broken edit keeps the last good version serving. SIGHUP reloads all.",
                       epilog="examples:\n  leadpolicy serve policies/\n"
                              "  leadpolicy serve policies/ build/inbound-b2b.json --port 8181 --token-file token.txt"
                              " --decision-log decisions.jsonl\n\nsee docs/serve.md\n")
    p.add_argument("paths", nargs="*", default=["policies"], help="files or folders to serve (default: policies/)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=8181, help="1 to 65535 (default 8181)")
    p.add_argument("--workers", type=non_negative_int, default=1,
                   help="processes serving requests (each loads the policies and watches the files)")
    p.add_argument("--token-file", metavar="FILE", help="require Authorization: Bearer <the file's first line>")
    p.add_argument("--decision-log", metavar="FILE", help="append one JSON line per decision (time, policy, "
                                                          "fingerprint, lead id, decision, latency)")
    p.add_argument("--log-leads", action="store_true", help="also write each lead into the decision log")
    p.add_argument("--lead-id-field", default="id", metavar="FIELD", help="the lead field the log names (default: id)")
    p.add_argument("--max-body", type=non_negative_int, default=1 << 20, metavar="BYTES",
                   help="largest body of one decision (default 1 MiB; larger is 413)")
    p.add_argument("--max-batch-body", type=non_negative_int, default=8 << 20, metavar="BYTES",
                   help="largest body of a batch (default 8 MiB)")
    p.add_argument("--max-batch-items", type=positive_int, default=10_000, metavar="N",
                   help="most requests in one batch (default 10000; more is 413)")
    p.add_argument("--read-timeout", type=positive_int, default=30, metavar="SECONDS",
                   help="time a request's body may take to arrive (default 30; slower is 408)")
    p.add_argument("--state", metavar="DB", help="where assignment keeps its state, for POST /v1/policies/ID/assign: "
                                                 "a SQLite file (made if missing) or postgresql://USER@HOST/DB")
    p.add_argument("--availability", metavar="FILE", help="out-of-office periods: a .csv, .jsonl or .parquet file "
                                                          "with columns member, from, until; re-read when it changes")
    p.add_argument("--accounts", metavar="FILE", help="account owners: a .csv, .jsonl or .parquet file with columns "
                                                      "domain, owner; re-read when it changes")
    p.add_argument("--shutdown-grace", type=non_negative_int, default=10, metavar="SECONDS",
                   help="on SIGTERM, how long requests in flight may take to finish before the server exits "
                        "(default 10)")


def run(args: argparse.Namespace) -> int:
    import json
    import os

    import uvicorn

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return _refuse(f"no such file or folder: {', '.join(missing)}")
    token, problem = _token(args.token_file) if args.token_file else (None, None)
    problem = problem or _cannot_listen(args.host, args.port) or _cannot_log(args.decision_log)
    problem = problem or _cannot_assign(args)
    if problem:
        return _refuse(problem)
    settings = {"paths": [os.path.abspath(p) for p in args.paths], "token": token, "max_body": args.max_body,
                "max_batch_body": args.max_batch_body, "max_batch_items": args.max_batch_items,
                "read_timeout": args.read_timeout,
                "decision_log": str(Path(args.decision_log).resolve()) if args.decision_log else None,
                "log_leads": args.log_leads, "lead_id_field": args.lead_id_field, "state": _state_where(args.state),
                "availability": _absolute(args.availability), "accounts": _absolute(args.accounts)}
    # Each worker process builds the app from these settings (uvicorn imports the factory by name).
    os.environ["LEADPOLICY_SERVE_SETTINGS"] = json.dumps(settings)
    print(f"leadpolicy serve: http://{args.host}:{args.port}/v1/policies ({args.workers} worker(s))", flush=True)
    print(f"leadpolicy serve: try policies in a browser at http://{args.host}:{args.port}/ui/", flush=True)
    uvicorn.run("leadpolicy.service:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers or 1, log_level="warning", access_log=False, loop="auto", http="auto",
                timeout_graceful_shutdown=args.shutdown_grace)
    return EXIT_OK


def _refuse(problem: str) -> int:
    """Bad usage: the problem on stderr, names in it escaped as the service's log escapes them."""
    from leadpolicy.language.diagnostics import escaped

    print(f"leadpolicy serve: {escaped(problem)}", file=sys.stderr)
    return EXIT_USAGE


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (checked before starting, so it is bad usage), or None."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        return f"--host {host}: not an address of this machine ({getattr(exc, 'strerror', None) or exc})"
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def _cannot_log(path: str | None) -> str | None:
    """Why the decision log could not be appended to, or None."""
    from leadpolicy.service.decisions import open_log

    if path is None:
        return None
    try:
        with open_log(Path(path)):
            return None
    except OSError as exc:
        return f"--decision-log {path}: cannot be written ({exc.strerror or exc})"


def _absolute(path: str | None) -> str | None:
    import os

    return None if path is None else os.path.abspath(path)


def _state_where(where: str | None) -> str | None:
    """A state as every worker opens it: a SQLite file by its absolute path, a URL as it is."""
    if where is None or "://" in where or where in ("", ":memory:"):
        return where
    return _absolute(where)


def _cannot_assign(args: argparse.Namespace) -> str | None:
    """Why the state or a data file of assignment cannot be used (checked before starting), or None."""
    from leadpolicy.service.runtime_data import DataError, read_rows

    for flag, path in (("--availability", args.availability), ("--accounts", args.accounts)):
        if path is not None:
            try:
                read_rows(Path(path))
            except DataError as exc:
                return f"{flag} {exc}"
    if args.state is None:
        return None
    if args.state in ("", ":memory:"):
        return "--state: a state in memory would be one per worker and lost at exit: name a file or a database URL"
    from leadpolicy.assignment import StateError, open_state
    from leadpolicy.assignment.state import hiding_password

    try:
        open_state(_state_where(args.state) or "").close()
    except StateError as exc:
        return f"--state: {hiding_password(str(exc), args.state)}"
    return None


def _token(path: str) -> tuple[str | None, str | None]:
    """(the token: the first line of a regular file, printable ASCII, as HTTP headers carry it), or
    (None, why not). Opened without waiting, so a FIFO is refused, never waited on."""
    from leadpolicy.language.sources import Unreadable, open_regular

    try:
        handle = open_regular(Path(path))
    except (IsADirectoryError, Unreadable):
        return None, f"--token-file {path}: not a regular file"
    except OSError as exc:
        return None, f"--token-file {path}: cannot be read ({exc.strerror or exc})"
    with handle:
        try:
            text = handle.read(TOKEN_FILE_LIMIT).decode("utf-8")
        except (OSError, UnicodeError) as exc:
            return None, f"--token-file {path}: cannot read a token ({exc})"
    token = text.split("\n", 1)[0].strip()  # lines end at \n only: a U+2028 inside is refused below
    if not token:
        return None, f"--token-file {path}: the token is empty"
    if not (token.isascii() and token.isprintable()):
        return None, (f"--token-file {path}: the token must be printable ASCII (an HTTP header carries it; "
                      "no accents, no control characters)")
    return token, None
