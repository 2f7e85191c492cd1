"""One time-zone database for every engine: zones come from the `tzdata` package, never the host's
database, and DuckDB (which reads ICU's) is used for a zone only when its data agrees (docs/warehouse.md,
"Time zones")."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from importlib import resources

import pytest

import leadpolicy
from leadpolicy import zones
from leadpolicy.cli.main import main
from leadpolicy.semantics.leads import read_instant

from .conftest import POLICIES
from .files import read_csv

HAVANA = """policy "havana" version 1.0.0 {
  title "Havana"
  owner marketing "M"
  owner sales "S"
  timezone "ZONE"
  lead {
    email text
    seen timestamp
  }
  score week {
    +1 when days since seen >= 7  "A week or more"
  }
  stages {
    nurture otherwise owner marketing
  }
}
"""
# Havana keeps -04:00 through the winter from November 2026 (tzdata 2026); older data says -05:00, which
# puts this naive time an hour later: 6 days 23 hours before NOW instead of exactly 7 days.
NAIVE, NOW = "2026-12-25T00:59:59", "2027-01-01T00:59:59-04:00"
CHANGED = [("America/Havana", "2026-12-25T00:59:59", "2026-12-25T04:59:59+00:00"),
           ("America/Havana", "2027-01-15T12:00:00", "2027-01-15T16:00:00+00:00"),
           ("Africa/Casablanca", "2026-09-20T12:00:00", "2026-09-20T12:00:00+00:00")]


def _policy(tmp_path, zone: str = "America/Havana"):
    path = tmp_path / "havana.policy"
    path.write_text(HAVANA.replace("ZONE", zone), "utf-8")
    return path


@pytest.mark.parametrize("zone,naive,instant", CHANGED)
def test_python_and_duckdb_read_a_naive_time_as_one_instant(zone, naive, instant):
    import duckdb

    assert read_instant(naive, zones.zone(zone)) == dt.datetime.fromisoformat(instant)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    (duck,) = con.execute("SELECT timezone(?, CAST(? AS TIMESTAMP))", [zone, naive]).fetchone()
    assert duck == dt.datetime.fromisoformat(instant)


def test_every_engine_scores_a_naive_havana_time_alike(tmp_path):
    policy = _policy(tmp_path)
    (tmp_path / "leads.csv").write_text(f"email,seen\na@b.io,{NAIVE}\n", "utf-8")
    weeks = {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        assert main(["score", str(policy), str(tmp_path / "leads.csv"), "-o", str(out), "--now", NOW,
                     "--engine", engine]) == 0
        weeks[engine] = read_csv(out)[0]["week"]
    weeks["api"] = str(leadpolicy.load(policy).evaluate({"email": "a@b.io", "seen": NAIVE}, now=NOW).scores["week"])
    assert weeks == {"python": "1", "duckdb": "1", "api": "1"}  # exactly seven days, by tzdata 2026


def test_the_host_database_is_never_read(tmp_path, monkeypatch):
    """A host database whose America/Havana is plain UTC changes nothing."""
    fake = tmp_path / "zoneinfo"
    (fake / "America").mkdir(parents=True)
    with resources.files("tzdata.zoneinfo").joinpath("Etc", "UTC").open("rb") as utc:
        (fake / "America" / "Havana").write_bytes(utc.read())
    policy = _policy(tmp_path)
    zoneinfo.reset_tzpath([str(fake)])
    try:
        assert zoneinfo.ZoneInfo.no_cache("America/Havana").utcoffset(dt.datetime(2026, 7, 1)) == dt.timedelta(0)
        zones.zone.cache_clear()
        assert zones.zone("America/Havana").utcoffset(dt.datetime(2026, 7, 1)) == dt.timedelta(hours=-4)
        decision = leadpolicy.load(policy).evaluate({"email": "a@b.io", "seen": NAIVE}, now=NOW)
        assert decision.scores["week"] == 1
    finally:
        zoneinfo.reset_tzpath()
        zones.zone.cache_clear()


def test_the_version_and_the_artifact_name_the_tz_database(tmp_path, capsys):
    import tzdata

    assert zones.database_version() == tzdata.IANA_VERSION
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert f"tzdata {tzdata.IANA_VERSION}" in capsys.readouterr().out
    out = tmp_path / "policy.json"
    assert main(["compile", str(POLICIES / "inbound-b2b.policy"), "-o", str(out)]) == 0
    artifact = json.loads(out.read_text("utf-8"))
    assert artifact["tz_database"] == tzdata.IANA_VERSION
    assert leadpolicy.load(out).id == "inbound-b2b"  # the schema accepts it and it is not taken for tampering
    artifact["tz_database"] = "2001a"  # compiled elsewhere: still the same policy
    assert leadpolicy.load(artifact).id == "inbound-b2b"
    del artifact["tz_database"]
    artifact["format_version"] = [3, 0]  # compiled before the time-zone data was recorded
    assert leadpolicy.load(artifact).id == "inbound-b2b"


@pytest.mark.parametrize("zone", ["America/Havana", "Africa/Casablanca", "America/New_York", "Europe/Berlin"])
def test_duckdb_agrees_with_tzdata_over_the_decided_years(zone):
    assert zones.duckdb_disagreement(zone, 2016, 2027) is None


def test_duckdb_is_refused_for_a_zone_whose_data_disagrees(tmp_path, capsys, monkeypatch):
    """Data that disagrees (here: a Havana without daylight saving time) stops DuckDB with a clear message;
    the Python engine, which reads the tzdata package, still scores."""
    fixed = dt.timezone(dt.timedelta(hours=-5), "America/Havana")
    real = zones.zone
    monkeypatch.setattr(zones, "zone", lambda name: fixed if name == "America/Havana" else real(name))
    zones.duckdb_disagreement.cache_clear()
    try:
        policy = _policy(tmp_path)
        (tmp_path / "leads.csv").write_text(f"email,seen\na@b.io,{NAIVE}\n", "utf-8")
        args = ["score", str(policy), str(tmp_path / "leads.csv"), "-o", str(tmp_path / "o.csv"), "--now", NOW]
        assert main([*args, "--engine", "duckdb"]) == 1
        err = capsys.readouterr().err
        assert "America/Havana: DuckDB's time-zone data (ICU) and tzdata" in err and "--engine python" in err
        assert main([*args, "--engine", "python"]) == 0
    finally:
        zones.duckdb_disagreement.cache_clear()


def test_an_unknown_zone_is_not_read_from_the_host(tmp_path):
    with pytest.raises(zoneinfo.ZoneInfoNotFoundError):
        zones.zone("Mars/Olympus_Mons")
    assert "America/Havana" in zones.names() and "Mars/Olympus_Mons" not in zones.names()


def test_a_zone_copies_and_pickles_as_itself():
    """Results holding a zone are deep-copied (hypothesis, dataclasses) and pickled: a zone read from a
    file could be neither."""
    import copy
    import pickle

    havana = zones.zone("America/Havana")
    moment = dt.datetime(2026, 12, 25, tzinfo=havana)
    assert copy.deepcopy(havana) is havana and pickle.loads(pickle.dumps(havana)) is havana
    assert pickle.loads(pickle.dumps(moment)).utcoffset() == dt.timedelta(hours=-4)
