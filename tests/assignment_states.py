"""Shared by the assignment tests: the v3 reference, a small policy with one team, and states on real SQLite and
PostgreSQL (a fresh database on the suite's throwaway server for each state)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from leadpolicy.semantics import ir
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower

from .conftest import ROOT

NY = ZoneInfo("America/New_York")
EXAMPLES = ROOT.parent / "shared" / "design" / "examples"  # beside the project, as CI clones it
V3 = EXAMPLES / "inbound-teams.policy"


def policy_ir(text: str) -> ir.Policy:
    loaded = load_policy_text(text)
    assert loaded.policy is not None and not loaded.has_errors, [str(d) for d in loaded.diagnostics]
    return lower(loaded.policy)


def teams_policy(assign: str, weights: tuple[int, ...] = (1, 1, 1), cal_calendar: str = "ukday",
                 cap: str = "") -> str:
    """One stage routed to the team `sdr` of Ann, Bob and Cal (Cal on London hours: `uk` 09:00-17:00 on weekdays,
    `ukday` all day every day); no team calendar, so Ann and Bob are always at work."""
    names = ("Ann Lee <ann@example.com>", "Bob Roe <bob@example.com>", "Cal Ode <cal@example.com>")
    lines = []
    for name, weight in zip(names, weights):
        own = f" calendar {cal_calendar}" if name.startswith("Cal") else ""
        lines.append(f'    member "{name}" weight {weight}{own}{cap if name.startswith("Bob") else ""}\n')
    members = "".join(lines)
    return f'''policy "teams-test" version 1.0.0 {{
  owner marketing "Mia Lane <mia@example.com>"
  owner sales "Sam Roy <sam@example.com>"
  timezone "America/New_York"
  lead {{
    email text required
  }}
  stages {{
    sql otherwise owner sales
  }}
  route for sql {{
    "sdr" otherwise
  }}
  calendar uk {{
    timezone "Europe/London"
    open mon-fri 09:00-17:00
  }}
  calendar ukday {{
    timezone "Europe/London"
    open mon-sun 00:00-24:00
  }}
  team sdr {{
    assign {assign}
{members}  }}
}}
'''


def fresh_postgres_url(connection) -> str:
    """A new, empty database on the throwaway server the `postgres` fixture connects to."""
    from psycopg import sql

    name = "assign_" + uuid.uuid4().hex[:16]
    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = connection.info
    return f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
