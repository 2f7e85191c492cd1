"""`leadpolicy diff` decides each lead whole (record, events, now), exactly as `test` and `score --events` do:
the samples' cases with their events and their `now`, and `--leads L --events E --id-column C`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from leadpolicy.cli.main import main

from .conftest import POLICIES
from .files import read_csv

OLD_RULE = "mql           when fit >= 40 and engagement >= 30"
NEW_RULE = "mql           when fit >= 40 and engagement >= 31"
AS_OF = "2026-11-20T12:00:00-05:00"
NOW = "2026-12-20T12:00:00-05:00"


@pytest.fixture
def versions(tmp_path) -> tuple[Path, Path]:
    """old/p.policy (inbound-activity) and new/p.policy with one threshold changed, each with the samples."""
    text = (POLICIES / "inbound-activity.policy").read_text("utf-8")
    assert OLD_RULE in text
    samples = (POLICIES / "inbound-activity.samples.yaml").read_text("utf-8").replace(
        "policy: inbound-activity.policy", "policy: p.policy")
    paths = []
    for name, policy in (("old", text), ("new", text.replace(OLD_RULE, NEW_RULE).replace("3.0.0", "3.1.0"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.policy").write_text(policy, "utf-8")
        (tmp_path / name / "p.samples.yaml").write_text(samples, "utf-8")
        paths.append(tmp_path / name / "p.policy")
    return paths[0], paths[1]


def _json(capsys, *argv: str, expect: int = 0) -> dict:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == expect, captured.err
    return json.loads(captured.out)


def _tested(capsys, policy: Path) -> list[dict]:
    """What `leadpolicy test` decides for each lead case of the samples beside the policy."""
    code = main(["test", str(policy.with_name("p.samples.yaml")), "--format", "json"])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return [c for c in json.loads(captured.out)["cases"] if c["kind"] == "lead"]


def test_the_samples_impact_decides_each_case_with_its_events_and_now_as_test_does(versions, capsys):
    old, new = versions
    before, after = _tested(capsys, old), _tested(capsys, new)
    assert [c["name"] for c in before] == [c["name"] for c in after]
    moves = Counter((b["actual"]["stage"], a["actual"]["stage"]) for b, a in zip(before, after)
                    if b["actual"]["stage"] != a["actual"]["stage"])
    assert moves, "the changed threshold must move a case, or this test proves nothing"
    impact = _json(capsys, "diff", str(old), str(new), "--format", "json")["impact"]
    assert impact["leads"] == len(before) and impact["rejected"] == 0
    assert impact["changed"].get("stage", 0) == sum(moves.values())
    assert {(t["from"], t["to"]): t["leads"] for t in impact["transitions"]} == dict(moves)
    moved = {b["actual"]["stage"]: b["actual"] for b, a in zip(before, after)
             if b["actual"]["stage"] != a["actual"]["stage"]}
    for example in impact["examples"]:
        tested = moved[example["before"]["stage"]]
        assert example["before"]["scores"] == {k: tested[k] for k in example["before"]["scores"]}


# ---------------------------------------------------------------- a leads file with its events


def _data(folder: Path, leads: int = 400, seed: int = 24) -> tuple[Path, Path]:
    """Leads with unique ids and their events: activity before AS_OF, outcomes after it (for backtest)."""
    rng = random.Random(seed)
    as_of = dt.datetime.fromisoformat(AS_OF)
    lead_rows, event_rows = [], []
    for i in range(leads):
        lead = f"L{i}"
        domain = rng.choice(["bigsoft.io", "ledgerly.com", "gmail.com", "shop.fr"])
        lead_rows.append({"id": lead, "email": f"p{i}@{domain}", "employees": rng.choice([20, 150, 250, 800, 1500]),
                          "industry": rng.choice(["software", "fintech", "retail", "other"]),
                          "source": rng.choice(["webinar", "paid_search", "organic", "referral"])})
        for _ in range(rng.randrange(0, 7)):
            name = rng.choice(["email_click", "pricing_page_view", "webinar_attended", "demo_request"])
            at = as_of - dt.timedelta(hours=rng.randrange(1, 24 * 60))
            event_rows.append({"lead": lead, "event": name, "at": at.isoformat()})
        if rng.random() < 0.4:
            outcome = rng.choice(["closed_won", "closed_lost"])
            event_rows.append({"lead": lead, "event": outcome,
                               "at": (as_of + dt.timedelta(days=rng.randrange(1, 25))).isoformat()})
    for path, rows in ((folder / "leads.csv", lead_rows), (folder / "events.csv", event_rows)):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder / "leads.csv", folder / "events.csv"


def test_diff_with_events_finds_the_moves_backtest_finds(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data")
    backtest = _json(capsys, "backtest", str(old), str(new), "--leads", str(leads), "--events", str(events),
                     "--as-of", AS_OF, "--now", NOW, "--format", "json")
    moves = {(c["from"], c["to"]): c["leads"] for c in backtest["changes"]}
    assert sum(moves.values()) > 0, "the changed threshold must move some leads, or this test proves nothing"
    for engine in ("duckdb", "python"):
        impact = _json(capsys, "diff", str(old), str(new), "--leads", str(leads), "--events", str(events),
                       "--id-column", "id", "--now", AS_OF, "--format", "json", "--engine", engine)["impact"]
        assert impact["changed"].get("stage", 0) == sum(moves.values()), engine
        assert {(t["from"], t["to"]): t["leads"] for t in impact["transitions"]} == moves, engine
        assert impact["leads"] == backtest["leads"]
        assert impact["events"]["read"] == impact["events"]["used"] + impact["events"]["rejected"]


def test_diff_leads_of_a_policy_that_reads_events_needs_the_events(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, _ = _data(tmp_path / "data", leads=5)
    code = main(["diff", str(old), str(new), "--leads", str(leads), "--now", AS_OF])
    err = capsys.readouterr().err
    assert code == 2 and "--events" in err and "Traceback" not in err


def test_diff_rejects_bad_rows_of_leads_and_events_by_row_and_field(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data", leads=20)
    with leads.open("a", encoding="utf-8") as handle:
        handle.write("BAD,x@y.io,many,software,organic\n")
    with events.open("a", encoding="utf-8") as handle:
        handle.write("L1,demo_requested,2026-11-18T10:00:00-05:00\nL2,email_click,next tuesday\n")
    rejects, event_rejects = tmp_path / "leads.rejects.csv", tmp_path / "events.rejects.csv"
    impact = _json(capsys, "diff", str(old), str(new), "--leads", str(leads), "--events", str(events),
                   "--now", AS_OF, "--format", "json", "--rejects", str(rejects),
                   "--events-rejects", str(event_rejects))["impact"]
    assert impact["rows"] == {"read": 21, "decided": 20, "rejected": 1}
    assert impact["leads"] == 20 and impact["rejected"] == 1
    assert [(r["row"], r["field"]) for r in read_csv(rejects)] == [("21", "employees")]
    events_read = len(read_csv(events))
    after_now = sum(dt.datetime.fromisoformat(r["at"]) > dt.datetime.fromisoformat(AS_OF)
                    for r in read_csv(events)[:-2])  # the outcomes after AS_OF; the last two rows are rejected
    assert after_now > 0
    assert impact["events"] == {"read": events_read, "used": events_read - 2, "rejected": 2, "after_now": after_now}
    assert sorted(r["field"] for r in read_csv(event_rejects)) == ["at", "event"]


def test_the_default_rejects_files_go_beside_the_data_as_score_puts_them(versions, tmp_path, capsys,
                                                                         monkeypatch):
    old, new = versions
    data = tmp_path / "data"
    data.mkdir()
    leads, events = _data(data, leads=5)
    with events.open("a", encoding="utf-8") as handle:
        handle.write("L1,demo_requested,2026-11-18T10:00:00-05:00\n")
    monkeypatch.chdir(tmp_path)
    assert main(["diff", str(old), str(new), "--leads", str(leads), "--events", str(events), "--now", AS_OF]) == 0
    err = capsys.readouterr().err  # the report is standard output: where rejects went is said on stderr
    assert [r["field"] for r in read_csv(data / "events.rejects.csv")] == ["event"]
    assert "events.rejects.csv" in err
    # beside a policy, lead data is never written: said on stderr instead
    shutil.copy(old, data / "q.policy")
    (data / "events.rejects.csv").unlink()
    assert main(["diff", str(old), str(new), "--leads", str(leads), "--events", str(events), "--now", AS_OF]) == 0
    assert "not written" in capsys.readouterr().err and not (data / "events.rejects.csv").exists()


def test_the_text_report_shows_rows_events_and_examples_in_words(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data")
    assert main(["diff", str(old), str(new), "--leads", str(leads), "--events", str(events), "--now", AS_OF]) == 0
    out = capsys.readouterr().out
    events_read = len(read_csv(events))
    assert f"events: read {events_read}, used {events_read}, rejected 0" in out
    examples = _examples(out)
    assert examples and all(" → " in line and "{'" not in line and "None" not in line for line in examples), out


@pytest.mark.parametrize("flags", [["--events", "events.csv"], ["--rejects", "r.csv"], ["--max-rejects", "0"]])
def test_the_flags_of_a_leads_file_without_one_are_bad_usage(versions, capsys, flags):
    old, new = versions
    code = main(["diff", str(old), str(new), *flags])
    err = capsys.readouterr().err
    assert code == 2 and flags[0] in err and "--leads" in err


def test_max_rejects_exits_1_when_more_rows_are_rejected(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data", leads=5)
    with leads.open("a", encoding="utf-8") as handle:
        handle.write("BAD,x@y.io,many,software,organic\n")
    argv = ["diff", str(old), str(new), "--leads", str(leads), "--events", str(events), "--now", AS_OF]
    assert main([*argv, "--max-rejects", "1"]) == 0
    assert main([*argv, "--max-rejects", "0"]) == 1
    assert "1 rejected rows, more than --max-rejects 0" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_each_row_is_compared_with_itself_whatever_the_format(versions, tmp_path, capsys, fmt):
    """Rows one version cannot read or rejects are left out, and every other row keeps its own decisions: the
    same leads as JSON Lines (with a blank line and a broken one) or Parquet give the CSV's impact."""
    import duckdb

    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data")
    argv = ["diff", str(old), str(new), "--events", str(events), "--now", AS_OF, "--format", "json"]
    expected = _json(capsys, *argv, "--leads", str(leads))["impact"]
    assert expected["examples"], "the changed threshold must move some leads, or this test proves nothing"
    other = tmp_path / "data" / f"leads.{fmt}"
    rows = read_csv(leads)
    if fmt == "jsonl":
        lines = [json.dumps({**r, "employees": int(r["employees"])}) for r in rows]
        other.write_text("\n".join(lines[:3] + ["", "{not json"] + lines[3:]) + "\n", "utf-8")
    else:
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{leads}', all_varchar = true)) TO '{other}' (FORMAT parquet)")
    got = _json(capsys, *argv, "--leads", str(other), "--rejects", str(tmp_path / "r.csv"))["impact"]
    assert got["transitions"] == expected["transitions"] and got["changed"] == expected["changed"]
    assert got["leads"] == expected["leads"] == len(rows)
    assert [e["lead"]["id"] for e in got["examples"]] == [e["lead"]["id"] for e in expected["examples"]]
    assert [e["before"] for e in got["examples"]] == [e["before"] for e in expected["examples"]]
    assert got["rows"]["rejected"] == (1 if fmt == "jsonl" else 0)


def test_a_sample_case_test_cannot_run_is_counted_as_rejected_not_decided(versions, capsys):
    old, new = versions
    samples = new.with_name("p.samples.yaml")
    text = samples.read_text("utf-8")
    samples.write_text(text.replace("lead: {email: ana@bigsoft.io,", "lead: {emial: x, email: ana@bigsoft.io,", 1),
                       "utf-8")
    tested = _tested(capsys, new)
    assert sum(c["status"] == "error" for c in tested) == 1
    impact = _json(capsys, "diff", str(old), str(new), "--format", "json")["impact"]
    assert impact["rejected"] == 1 and impact["leads"] == len(tested) - 1


# ---------------------------------------------------------------- what a new user met (issue 24, second pass)


def _examples(text: str, markdown: bool = False) -> list[str]:
    """The example leads of a text or Markdown report: the lines of the list under its heading."""
    lines = text.splitlines()
    start = lines.index("#### Example leads" if markdown else "  example leads:") + 1
    items = []
    for line in lines[start:]:
        if not line.strip():
            continue
        if not line.startswith(("- ", "    ")):
            break
        items.append(line.removeprefix("- ").strip())
    return items


def _crm_export(folder: Path, leads: Path) -> Path:
    """The leads as a CRM exports them: headers 'Lead ID', 'Email', ... and an 'Owner' column."""
    rows = read_csv(leads)
    path = folder / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Lead ID", "Email", "Employees", "Industry", "Lead Source", "Owner"])
        writer.writerows([r["id"], r["email"], r["employees"], r["industry"], r["source"], "someone"] for r in rows)
    return path


def test_example_leads_are_shown_by_their_id_column_in_text_and_markdown(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data")
    export = _crm_export(tmp_path / "data", leads)
    argv = ["diff", str(old), str(new), "--leads", str(export), "--events", str(events), "--id-column", "Lead ID",
            "--column", "email=Email", "--column", "source=Lead Source", "--now", AS_OF]
    data = _json(capsys, *argv, "--format", "json")["impact"]
    ids = [e["lead"]["Lead ID"] for e in data["examples"]]
    assert ids and [e["id"] for e in data["examples"]] == ids
    for markdown in (False, True):
        out = _json_free(capsys, *argv, *(["--format", "markdown"] if markdown else []))
        shown = _examples(out, markdown)
        assert [line.split(":")[0] for line in shown] == ids, out
        assert all("{" not in line for line in shown)


def _json_free(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


SIZES = """policy "sizes" version {version} {{
  title "Leads by size"
  owner sales "S <s@example.com>"
  owner marketing "M <m@example.com>"
  timezone "UTC"
  lead {{
    size number
  }}
  score fit "Fit" {{
    +1 per size up to 100 "Size"
  }}
  stages {{
    big    when fit >= {threshold} owner sales
    small  otherwise              owner marketing
  }}
}}
"""


def test_without_an_id_column_an_example_is_shown_by_its_email_else_its_row(tmp_path, capsys):
    text = (POLICIES / "inbound-b2b.policy").read_text("utf-8")
    rule = "mql           when fit >= 40 and engagement >= 30"
    assert rule in text
    (tmp_path / "old.policy").write_text(text, "utf-8")
    (tmp_path / "new.policy").write_text(text.replace(rule, rule.replace("30", "31")), "utf-8")
    (tmp_path / "leads.csv").write_text("Email,employees,industry,pricing_page_views\nb@big.io,250,retail,3\n"
                                        "a@big.io,250,software,3\n", "utf-8")
    argv = ["diff", str(tmp_path / "old.policy"), str(tmp_path / "new.policy"), "--now", AS_OF, "--leads",
            str(tmp_path / "leads.csv"), "--column", "email=Email"]
    assert [line.split(":")[0] for line in _examples(_json_free(capsys, *argv))] == ["a@big.io"]
    # no id column and no email: the row number of the file
    (tmp_path / "old.policy").write_text(SIZES.format(version="1.0.0", threshold=10), "utf-8")
    (tmp_path / "new.policy").write_text(SIZES.format(version="1.1.0", threshold=20), "utf-8")
    (tmp_path / "sizes.csv").write_text("size\n5\n15\n30\n15\n", "utf-8")
    argv = ["diff", str(tmp_path / "old.policy"), str(tmp_path / "new.policy"), "--now", AS_OF, "--leads",
            str(tmp_path / "sizes.csv")]
    assert [line.split(":")[0] for line in _examples(_json_free(capsys, *argv))] == ["row 2", "row 4"]


def test_the_markdown_example_list_is_its_own_section_not_table_rows(versions, tmp_path, capsys):
    import html.parser

    import markdown

    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data")
    out = _json_free(capsys, "diff", str(old), str(new), "--leads", str(leads), "--events", str(events),
                     "--now", AS_OF, "--format", "markdown")
    page = markdown.markdown(out, extensions=["tables"])

    class Shape(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.rows = 0
            self.items: list[str] = []
            self.headings: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.open.append(tag)
            if tag == "tr" and "tbody" in self.open:
                self.rows += 1
            if tag == "li":
                self.items.append("")

        def handle_endtag(self, tag):
            while self.open and self.open.pop() != tag:
                pass

        def handle_data(self, data):
            if "li" in self.open and self.items:
                self.items[-1] += data
            if self.open and self.open[-1].startswith("h"):
                self.headings.append(data)

    shape = Shape()
    shape.feed(page)
    impact = _json(capsys, "diff", str(old), str(new), "--leads", str(leads), "--events", str(events),
                   "--now", AS_OF, "--format", "json")["impact"]
    assert shape.rows == len(impact["transitions"])
    assert "Example leads" in shape.headings
    ids = [e["id"] for e in impact["examples"]]
    assert ids and all(any(item.startswith(f"{i}:") for item in shape.items) for i in ids)


def test_diff_leads_does_not_warn_of_an_output_it_does_not_write(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data", leads=20)
    export = _crm_export(tmp_path / "data", leads)
    assert main(["diff", str(old), str(new), "--leads", str(export), "--events", str(events), "--id-column",
                 "Lead ID", "--column", "email=Email", "--now", AS_OF]) == 0
    err = capsys.readouterr().err
    assert "Owner" not in err and "replaced in the output" not in err
    # a field the file has under another header: the warning says how to map it
    assert "field source is not a column" in err and "--column source=HEADER" in err


def test_id_column_without_leads_is_bad_usage(versions, capsys):
    old, new = versions
    assert main(["diff", str(old), str(new), "--id-column", "x"]) == 2
    err = capsys.readouterr().err
    assert "--id-column" in err and "--leads" in err


def test_a_wrong_id_column_is_bad_usage_naming_the_columns(versions, tmp_path, capsys):
    old, new = versions
    (tmp_path / "data").mkdir()
    leads, events = _data(tmp_path / "data", leads=5)
    export = _crm_export(tmp_path / "data", leads)
    code = main(["diff", str(old), str(new), "--leads", str(export), "--events", str(events), "--id-column",
                 "LeadId", "--column", "email=Email", "--now", AS_OF])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "'LeadId'" in err and 'did you mean "Lead ID"' in err and "'Lead Source'" in err


def test_an_event_label_change_is_a_change_in_domain_words(versions, capsys):
    old, new = versions
    text = new.read_text("utf-8")
    assert '"Asked for a demo"' in text
    new.write_text(text.replace('"Asked for a demo"', '"Requested a demo"'), "utf-8")
    data = _json(capsys, "diff", str(old), str(new), "--format", "json")
    labels = [c for c in data["changes"] if c["kind"] == "event"]
    assert [(c["name"], c["change"], c["old"], c["new"]) for c in labels] == [
        ("demo_request", "changed", '"Asked for a demo"', '"Requested a demo"')]
    assert main(["diff", str(old), str(new)]) == 0
    assert labels[0]["text"] in capsys.readouterr().out


def test_leads_whose_scores_change_but_nothing_else_are_counted(versions, capsys):
    old, new = versions
    text = new.read_text("utf-8")
    rule = '+5  per email_click in last 30 days up to 20        "Email clicks, last 30 days"'
    assert rule in text and NEW_RULE in text
    new.write_text(text.replace(NEW_RULE, OLD_RULE).replace(rule, rule.replace("+5 ", "+4 ")), "utf-8")
    before, after = _tested(capsys, old), _tested(capsys, new)
    only = sum(b["actual"] != a["actual"] and all(b["actual"][k] == a["actual"][k] for k in ("stage", "route", "tier"))
               for b, a in zip(before, after))
    assert only > 0, "the changed rule must change some scores alone, or this test proves nothing"
    impact = _json(capsys, "diff", str(old), str(new), "--format", "json")["impact"]
    assert impact["scores_only"] == only
    assert main(["diff", str(old), str(new)]) == 0
    assert f"scores change only: {only}" in capsys.readouterr().out
