"""explain --lead reads a case as `test` reads a samples case: an unquoted YAML date for `now` is midnight in
the policy's zone; an event time of another kind is said in words (a JSON object, yes/no, a number)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES

ACTIVITY = str(POLICIES / "inbound-activity.policy")


def test_a_yaml_date_as_now_is_midnight_in_the_policy_zone(tmp_path: Path, capsys):
    case = tmp_path / "case.yaml"
    case.write_text("lead: {email: a@corp.io}\nnow: 2026-11-20\n", "utf-8")
    code = main(["explain", ACTIVITY, "--lead", str(case), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    zone = next(line.split('"')[1] for line in (POLICIES / "inbound-activity.policy").read_text().splitlines()
                if line.strip().startswith("timezone"))
    midnight = dt.datetime(2026, 11, 20, tzinfo=ZoneInfo(zone))
    assert dt.datetime.fromisoformat(json.loads(captured.out)["now"]) == midnight


@pytest.mark.parametrize(("at", "words"), [('{"x": 1}', "not a timestamp: a JSON object"),
                                           ("true", "not a timestamp: yes/no"), ("[1]", "not a timestamp: a list"),
                                           ("5", "'5' is not an ISO 8601 timestamp")])  # as an event file says it
def test_an_event_time_of_another_kind_is_said_in_words(capsys, at, words):
    events = '[{"event": "demo_request", "at": ' + at + "}]"
    code = main(["explain", ACTIVITY, "--lead", '{"email": "a@corp.io"}', "--events", events,
                 "--now", "2026-11-20T12:00:00Z"])
    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert code == 2, said
    assert words in said, said
    assert "'" + "{'x'" not in said and "'True'" not in said
