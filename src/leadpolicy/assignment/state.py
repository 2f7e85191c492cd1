"""Where assignment keeps its state: SQLite by default (a file, or in memory), PostgreSQL given a URL, through
SQLAlchemy Core, with versioned schema migrations.

Every assignment is one transaction that first locks its team's row: `SELECT ... FOR UPDATE` on PostgreSQL,
`BEGIN IMMEDIATE` (the whole database) on SQLite. Assigners sharing one state therefore take turns per team, so
a lead is assigned once, no cap is exceeded and the smooth-weight values stay exact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

UTC = dt.timezone.utc
metadata = sa.MetaData()

schema_version = sa.Table(
    "leadpolicy_schema", metadata,
    sa.Column("version", sa.Integer, nullable=False),
)
teams = sa.Table(  # one row per team: its lock, and the member last assigned by rotation (round robin)
    "assignment_teams", metadata,
    sa.Column("policy_id", sa.String(200), primary_key=True),
    sa.Column("team", sa.String(200), primary_key=True),
    sa.Column("last_member", sa.String(400), nullable=True),
)
weights = sa.Table(  # the smooth-weight current value of each member (by weight)
    "assignment_weights", metadata,
    sa.Column("policy_id", sa.String(200), primary_key=True),
    sa.Column("team", sa.String(200), primary_key=True),
    sa.Column("member", sa.String(400), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
assignments = sa.Table(
    "assignments", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy_id", sa.String(200), nullable=False),
    sa.Column("lead_id", sa.String(400), nullable=False),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("member", sa.String(400), nullable=False),
    sa.Column("at_us", sa.BigInteger, nullable=False),  # microseconds since the epoch, UTC: compared in any zone
    sa.Column("how", sa.String(40), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("fingerprint", sa.String(80), nullable=False),
    sa.UniqueConstraint("policy_id", "lead_id", name="assignments_once"),
    sa.Index("assignments_by_member", "policy_id", "team", "member", "at_us"),
)
held = sa.Table(
    "held_leads", metadata,
    sa.Column("policy_id", sa.String(200), primary_key=True),
    sa.Column("lead_id", sa.String(400), primary_key=True),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("route", sa.String(200), nullable=False),
    sa.Column("email", sa.String(400), nullable=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
)


# The statements of one assignment, built once (building a statement costs more than running it on SQLite);
# values go in as bound parameters.
_P = sa.bindparam
_TEAM = (teams.c.policy_id == _P("pid"), teams.c.team == _P("tname"))
_LAST_MEMBER = sa.select(teams.c.last_member).where(*_TEAM)
_LAST_MEMBER_LOCKED = _LAST_MEMBER.with_for_update()
_SET_LAST_MEMBER = teams.update().where(*_TEAM).values(last_member=_P("who"))
_WEIGHTS = sa.select(weights.c.member, weights.c.value).where(weights.c.policy_id == _P("pid"),
                                                              weights.c.team == _P("tname"))
_SET_WEIGHT = (weights.update().where(weights.c.policy_id == _P("pid"), weights.c.team == _P("tname"),
                                      weights.c.member == _P("m")).values(value=_P("v")))
_NEW_WEIGHT = weights.insert().values(policy_id=_P("pid"), team=_P("tname"), member=_P("m"), value=_P("v"))
_ASSIGNED = (sa.select(assignments.c.team, assignments.c.member, assignments.c.at_us, assignments.c.how)
             .where(assignments.c.policy_id == _P("pid"), assignments.c.lead_id == _P("lid")))
_MEMBER = (assignments.c.policy_id == _P("pid"), assignments.c.team == _P("tname"),
           assignments.c.member == _P("who"))
_COUNT = (sa.select(sa.func.count()).select_from(assignments)
          .where(*_MEMBER, assignments.c.at_us >= _P("start"), assignments.c.at_us < _P("end")))
_LAST_ASSIGNED = sa.select(sa.func.max(assignments.c.at_us)).where(*_MEMBER)
_HELD = (held.c.policy_id == _P("pid"), held.c.lead_id == _P("lid"))
# Whether a lead is assigned (its assignment) or held (a row of `how` 'held'), in one round trip.
# A held row gives its route where an assignment gives its member.
_LOOKUP = sa.union_all(_ASSIGNED, sa.select(held.c.team, held.c.route, held.c.at_us,
                                            sa.literal_column("'held'")).where(*_HELD))
_UNHOLD = held.delete().where(*_HELD)
_IS_HELD = sa.select(held.c.lead_id).where(*_HELD)
_HELD_AS = sa.select(held.c.team, held.c.route, held.c.at_us).where(*_HELD)
_MOVE_HOLD = held.update().where(*_HELD).values(team=_P("tname"), route=_P("route"), email=_P("email"))
_RECORD = assignments.insert().values(policy_id=_P("pid"), lead_id=_P("lid"), team=_P("tname"), member=_P("who"),
                                      at_us=_P("at"), how=_P("how"), version=_P("ver"), fingerprint=_P("fp"))
_HOLD = held.insert().values(policy_id=_P("pid"), lead_id=_P("lid"), team=_P("tname"), route=_P("route"),
                             email=_P("email"), at_us=_P("at"))


def _version_1(conn: Connection) -> None:
    for table in (teams, weights, assignments, held):
        table.create(conn)


# Ordered steps: step N brings a state at version N-1 to version N. A new step is appended, never edited.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_version_1,)
SCHEMA_VERSION = len(MIGRATIONS)


class StateError(ValueError):
    """A state that cannot be used: a URL no database answers, a schema newer than this leadpolicy knows."""


def to_us(instant: dt.datetime) -> int:
    delta = instant.astimezone(UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=value)


@dataclass(frozen=True)
class Stored:
    """One assignment as the state holds it."""

    lead_id: str
    team: str
    member: str
    at: dt.datetime
    how: str


@dataclass(frozen=True)
class Hold:
    """A held lead as the state holds it: the team holding it, its route and when it arrived."""

    team: str
    route: str
    at: dt.datetime


def database_url(where: str) -> str:
    """A state named on a command line: a database URL as it is, else a path of a SQLite file; ':memory:' (or
    '') is a throwaway state in memory."""
    if where in ("", ":memory:"):
        return "sqlite://"
    for plain in ("postgresql://", "postgres://"):  # SQLAlchemy would read these with psycopg2; ours is psycopg 3
        if where.startswith(plain):
            return "postgresql+psycopg://" + where[len(plain):]
    if "://" in where:
        return where
    return "sqlite:///" + where


def _sqlite_engine(url: str) -> Engine:
    from sqlalchemy.pool import StaticPool

    memory = url in ("sqlite://", "sqlite:///:memory:")
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, paramstyle="named",
                              **options)

    # pysqlite's own transaction handling begins late and deferred; the documented recipe: begin ourselves,
    # IMMEDIATE, so that two writers never both read then write (the second waits for the first).
    @sa.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if not memory:  # a commit appends to the write-ahead log without waiting for the disk: safe if the
            # process is killed (not if the machine loses power), and each assignment its own transaction is fast
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @sa.event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class State:
    """An opened state, its schema at SCHEMA_VERSION."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgresql = engine.dialect.name == "postgresql"
        self._migrate()
        self._sql = _compiled(engine)
        self._mine = threading.local()  # each thread's own connection for `turn`
        self._held: list[Any] = []  # every connection `turn` opened, closed by `close`
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for raw in self._held:
                raw.close()
            self._held.clear()
        self.engine.dispose()

    @contextmanager
    def turn(self) -> Iterator[Turn]:
        """One transaction of an assignment on this thread's own connection, kept open between turns: the
        statements were compiled once for the database, and run on its driver with bound parameters."""
        turn = getattr(self._mine, "turn", None)
        if turn is None:
            raw = self.engine.raw_connection()
            with self._lock:
                self._held.append(raw)
            turn = self._mine.turn = Turn(raw.driver_connection, self._sql, self.postgresql)
        try:
            turn.begin()
            yield turn
            turn.commit()
        except BaseException:
            turn.rollback()
            if turn.broken():  # a connection the database dropped: the next turn on this thread opens another
                self._mine.turn = None
            raise

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ---------------------------------------------------------------- the schema

    def _migrate(self) -> None:
        with self.transaction() as conn:
            if self.postgresql:  # two processes opening a new state at once: one migrates, the other waits
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 2028_0028})
            schema_version.create(conn, checkfirst=True)
            found = conn.execute(sa.select(schema_version.c.version)).scalar()
            if found is None:
                conn.execute(schema_version.insert().values(version=0))
                found = 0
            if found > SCHEMA_VERSION:
                raise StateError(f"the state's schema is version {found}, newer than this leadpolicy knows "
                                 f"({SCHEMA_VERSION}): use the leadpolicy that wrote it, or a newer one")
            for step in range(found, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
            if found < SCHEMA_VERSION:
                conn.execute(schema_version.update().values(version=SCHEMA_VERSION))

    def version(self) -> int:
        with self.transaction() as conn:
            return int(conn.execute(sa.select(schema_version.c.version)).scalar_one())

    # ---------------------------------------------------------------- teams

    def ensure_teams(self, policy_id: str, names: list[str]) -> None:
        """A row for each team (its lock); another process adding the same rows at once is no error."""
        with self.transaction() as conn:
            have = set(conn.execute(sa.select(teams.c.team).where(teams.c.policy_id == policy_id)).scalars())
        for name in names:
            if name in have:
                continue
            try:
                with self.transaction() as conn:
                    conn.execute(teams.insert().values(policy_id=policy_id, team=name, last_member=None))
            except IntegrityError:
                pass

    def lock_team(self, conn: Connection, policy_id: str, team: str) -> str | None:
        """Lock the team's row until the transaction ends; the member last assigned by rotation."""
        query = _LAST_MEMBER_LOCKED if self.postgresql else _LAST_MEMBER
        return conn.execute(query, {"pid": policy_id, "tname": team}).scalar()

    @staticmethod
    def set_last_member(conn: Connection, policy_id: str, team: str, member: str) -> None:
        conn.execute(_SET_LAST_MEMBER, {"pid": policy_id, "tname": team, "who": member})

    @staticmethod
    def weight_values(conn: Connection, policy_id: str, team: str) -> dict[str, int]:
        rows = conn.execute(_WEIGHTS, {"pid": policy_id, "tname": team})
        return {member: int(value) for member, value in rows}

    @staticmethod
    def save_weight_values(conn: Connection, policy_id: str, team: str, values: dict[str, int],
                           known: set[str]) -> None:
        for statement, rows in ((_SET_WEIGHT, [m for m in values if m in known]),
                                (_NEW_WEIGHT, [m for m in values if m not in known])):
            if rows:
                conn.execute(statement, [{"pid": policy_id, "tname": team, "m": m, "v": values[m]} for m in rows])

    # ---------------------------------------------------------------- assignments and held leads

    @staticmethod
    def assigned(conn: Connection, policy_id: str, lead_id: str) -> Stored | None:
        row = conn.execute(_ASSIGNED, {"pid": policy_id, "lid": lead_id}).first()
        return None if row is None else Stored(lead_id, row.team, row.member, from_us(row.at_us), row.how)

    @staticmethod
    def count(conn: Connection, policy_id: str, team: str, member: str, start: dt.datetime, end: dt.datetime) -> int:
        """Leads assigned to a member of a team at an instant in [start, end)."""
        found = conn.execute(_COUNT, {"pid": policy_id, "tname": team, "who": member,
                                      "start": to_us(start), "end": to_us(end)})
        return int(found.scalar_one())

    @staticmethod
    def last_assigned(conn: Connection, policy_id: str, team: str, member: str) -> dt.datetime | None:
        value = conn.execute(_LAST_ASSIGNED, {"pid": policy_id, "tname": team, "who": member}).scalar()
        return None if value is None else from_us(int(value))

    @staticmethod
    def record(conn: Connection, row: dict[str, Any]) -> None:
        """One assignment (and the lead no longer held)."""
        conn.execute(_UNHOLD, {"pid": row["policy_id"], "lid": row["lead_id"]})
        values = {key: value for key, value in row.items() if key != "at"}
        conn.execute(assignments.insert(), [{**values, "at_us": to_us(row["at"])}])

    @staticmethod
    def hold(conn: Connection, policy_id: str, lead_id: str, team: str, route: str, email: str | None,
             at: dt.datetime) -> None:
        if conn.execute(_IS_HELD, {"pid": policy_id, "lid": lead_id}).first() is None:
            conn.execute(held.insert().values(policy_id=policy_id, lead_id=lead_id, team=team, route=route,
                                              email=email, at_us=to_us(at)))

    def held_leads(self, policy_id: str) -> list[tuple[str, str, str | None, dt.datetime]]:
        """(lead id, route, email, at) of every held lead, in arrival order."""
        with self.transaction() as conn:
            rows = conn.execute(sa.select(held.c.lead_id, held.c.route, held.c.email, held.c.at_us)
                                .where(held.c.policy_id == policy_id).order_by(held.c.at_us, held.c.lead_id))
            return [(r.lead_id, r.route, r.email, from_us(r.at_us)) for r in rows]

    def all_assignments(self, policy_id: str) -> list[Stored]:
        with self.transaction() as conn:
            rows = conn.execute(sa.select(assignments).where(assignments.c.policy_id == policy_id)
                                .order_by(assignments.c.seq))
            return [Stored(r.lead_id, r.team, r.member, from_us(r.at_us), r.how) for r in rows]


def _compiled(engine: Engine) -> dict[str, str]:
    """Each statement of an assignment as the database's SQL text, its values left as named parameters."""
    statements = {"lock": _LAST_MEMBER_LOCKED, "last_member": _LAST_MEMBER,
                  "set_last_member": _SET_LAST_MEMBER, "weights": _WEIGHTS, "set_weight": _SET_WEIGHT,
                  "new_weight": _NEW_WEIGHT, "assigned": _ASSIGNED, "count": _COUNT, "last_assigned": _LAST_ASSIGNED,
                  "unhold": _UNHOLD, "is_held": _IS_HELD, "held_as": _HELD_AS, "move_hold": _MOVE_HOLD,
                  "record": _RECORD, "hold": _HOLD, "lookup": _LOOKUP}
    return {name: str(statement.compile(dialect=engine.dialect)) for name, statement in statements.items()}


class Turn:
    """The reads and writes of one assignment, inside one transaction of a driver connection (see
    `State.turn`). SQLite begins IMMEDIATE (the database's write lock); PostgreSQL locks the team's row."""

    def __init__(self, driver: Any, sql: dict[str, str], postgresql: bool):
        self.driver = driver
        self.sql = sql
        self.postgresql = postgresql
        self.cursor = driver.cursor()
        self.held_lead: bool | None = None  # whether this turn's lead is held, once `assigned` has looked
        self.hold_seen: Hold | None = None  # its hold, once `assigned` has looked

    def begin(self) -> None:
        self.held_lead = None
        self.hold_seen = None
        if not self.postgresql:  # psycopg begins a transaction itself at the first statement
            self.cursor.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.driver.commit() if self.postgresql else self.cursor.execute("COMMIT")

    def broken(self) -> bool:
        return bool(getattr(self.driver, "broken", False) or getattr(self.driver, "closed", False))

    def rollback(self) -> None:
        try:
            self.driver.rollback() if self.postgresql else self.cursor.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - a connection that failed mid-transaction has nothing to roll back
            pass

    def _one(self, name: str, values: dict[str, Any]) -> Any:
        self.cursor.execute(self.sql[name], values)
        row = self.cursor.fetchone()
        return None if row is None else row[0]

    def lock_team(self, policy_id: str, team: str) -> None:
        """Lock the team's row until the transaction ends. On SQLite the transaction holds the database's write
        lock already (BEGIN IMMEDIATE): nothing to do."""
        if self.postgresql:
            self.cursor.execute(self.sql["lock"], {"pid": policy_id, "tname": team})

    def last_member(self, policy_id: str, team: str) -> str | None:
        """The member last assigned by rotation."""
        return self._one("last_member", {"pid": policy_id, "tname": team})  # type: ignore[no-any-return]

    def set_last_member(self, policy_id: str, team: str, member: str) -> None:
        self.cursor.execute(self.sql["set_last_member"], {"pid": policy_id, "tname": team, "who": member})

    def weight_values(self, policy_id: str, team: str) -> dict[str, int]:
        self.cursor.execute(self.sql["weights"], {"pid": policy_id, "tname": team})
        return {member: int(value) for member, value in self.cursor.fetchall()}

    def save_weight_values(self, policy_id: str, team: str, values: dict[str, int], known: set[str]) -> None:
        for name, members in (("set_weight", [m for m in values if m in known]),
                              ("new_weight", [m for m in values if m not in known])):
            if members:
                self.cursor.executemany(self.sql[name], [{"pid": policy_id, "tname": team, "m": m, "v": values[m]}
                                                         for m in members])

    def assigned(self, policy_id: str, lead_id: str) -> Stored | None:
        """The lead's assignment, if it has one; whether it is held is kept for `record` and `hold`."""
        self.cursor.execute(self.sql["lookup"], {"pid": policy_id, "lid": lead_id})
        rows = self.cursor.fetchall()
        held_row = next((row for row in rows if row[3] == "held"), None)
        self.held_lead = held_row is not None
        self.hold_seen = None if held_row is None else Hold(held_row[0], held_row[1], from_us(held_row[2]))
        found = next((row for row in rows if row[3] != "held"), None)
        return None if found is None else Stored(lead_id, found[0], found[1], from_us(found[2]), found[3])

    def count(self, policy_id: str, team: str, member: str, start: dt.datetime, end: dt.datetime) -> int:
        """Leads assigned to a member of a team at an instant in [start, end)."""
        return int(self._one("count", {"pid": policy_id, "tname": team, "who": member, "start": to_us(start),
                                       "end": to_us(end)}))

    def last_assigned(self, policy_id: str, team: str, member: str) -> dt.datetime | None:
        value = self._one("last_assigned", {"pid": policy_id, "tname": team, "who": member})
        return None if value is None else from_us(int(value))

    def record(self, row: dict[str, Any]) -> None:
        """One assignment (and the lead no longer held)."""
        if self.held_lead is not False:
            self.cursor.execute(self.sql["unhold"], {"pid": row["policy_id"], "lid": row["lead_id"]})
        self.cursor.execute(self.sql["record"], {
            "pid": row["policy_id"], "lid": row["lead_id"], "tname": row["team"], "who": row["member"],
            "at": to_us(row["at"]), "how": row["how"], "ver": row["version"], "fp": row["fingerprint"]})

    def hold(self, policy_id: str, lead_id: str, team: str, route: str, email: str | None, at: dt.datetime) -> None:
        held_lead = self.held_lead
        if held_lead is None:
            held_lead = self._one("is_held", {"pid": policy_id, "lid": lead_id}) is not None
        values = {"pid": policy_id, "lid": lead_id, "tname": team, "route": route, "email": email}
        if held_lead:  # held already: kept from its first arrival, for the team its latest decision routes it to
            self.cursor.execute(self.sql["move_hold"], values)
        else:
            self.cursor.execute(self.sql["hold"], {**values, "at": to_us(at)})

    def held_as(self, policy_id: str, lead_id: str) -> Hold | None:
        """The lead's hold, if it is held (as `assigned` found it, when it has looked)."""
        if self.held_lead is not None:
            return self.hold_seen
        self.cursor.execute(self.sql["held_as"], {"pid": policy_id, "lid": lead_id})
        row = self.cursor.fetchone()
        return None if row is None else Hold(row[0], row[1], from_us(row[2]))

    def unhold(self, policy_id: str, lead_id: str) -> None:
        """The lead is held no more (a later decision routes it to no team)."""
        self.cursor.execute(self.sql["unhold"], {"pid": policy_id, "lid": lead_id})


def open_state(where: str) -> State:
    """Open (creating and migrating as needed) the state a path or URL names. StateError: it cannot be used (its
    message shows a URL's password as ***)."""
    try:
        return _opened(where)
    except StateError as exc:
        raise StateError(hiding_password(str(exc), where)) from exc.__cause__


def _opened(where: str) -> State:
    url = database_url(where)
    try:
        if url.startswith("sqlite"):
            _refuse_another_application(url, where)
        engine = _sqlite_engine(url) if url.startswith("sqlite") else sa.create_engine(url)
        return State(engine)
    except StateError:
        raise
    except ImportError as exc:
        if url.startswith("postgresql"):
            raise StateError(f"cannot open the state {where}: a PostgreSQL state needs psycopg 3; install it with "
                             "pip install 'leadpolicy[postgresql]'") from exc
        raise StateError(f"cannot open the state {where}: {str(exc).splitlines()[0]}") from exc
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise StateError(f"cannot open the state {where}: {str(exc).splitlines()[0]}") from exc


def _refuse_another_application(url: str, where: str) -> None:
    """StateError when the SQLite file has tables but not ours: another application's database, which a state
    would add its tables to. Looked at read-only (opening it as a state would change its journal mode); a file
    SQLite cannot read is left to the state's own opening to explain."""
    import sqlite3

    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or not Path(path).is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)) as con:
            names = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return
    if names and schema_version.name not in names:
        raise StateError(f"{where} holds another application's tables; give a new file")


def hiding_password(message: str, where: str) -> str:
    """A message naming a state's URL with the URL's password, if any, as *** (as given, and as SQLAlchemy is
    given it)."""
    if "://" not in where:
        return message
    for named in dict.fromkeys((where, database_url(where))):
        try:
            shown = sa.engine.make_url(named).render_as_string(hide_password=True)
        except (sa.exc.ArgumentError, ValueError):
            shown = "(the URL given)"
        message = message.replace(named, shown)
    return message
