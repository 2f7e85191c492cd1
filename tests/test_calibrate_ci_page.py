"""The calibration on the published page (`leadpolicy docs --calibration FILE`) and in CI (`leadpolicy ci
--calibrate DIR`): the section says each rule's verdict, firing, won rates and lift, each threshold, the as-of
and the lead count from the JSON `leadpolicy calibrate --format json` writes; a JSON of another policy or
version is a warning and no section; every text of the JSON is text on the page, never markup."""

from __future__ import annotations

import copy
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest

from leadpolicy.cli.main import main
from leadpolicy.publish.calibration import read_calibrations
from leadpolicy.publish.site import site_files
from leadpolicy.semantics.loading import load_policy
from leadpolicy.semantics.lowering import lower

from .calibration_data import activity_data
from .conftest import POLICIES

HOSTILE = '<script>alert("x")</script> | "quoted" \'single\' *em* [link](javascript:alert(1)) {: onclick="y" }'


def _policy(folder: Path) -> Path:
    for name in ("inbound-activity.policy", "inbound-activity.samples.yaml"):
        shutil.copy(POLICIES / name, folder / name)
    return folder / "inbound-activity.policy"


def _fingerprint(path: Path) -> str:
    loaded = load_policy(path)
    assert loaded.policy is not None
    return lower(loaded.policy).fingerprint


def _rule(score: str, rule: str, reason: str | None, points: int | float, fired: int, won_fired: int,
          not_fired: int, won_not: int, lift: float | None, ci: list[float] | None, verdict: str, why: str
          ) -> dict[str, Any]:
    return {"score": score, "rule": rule, "reason": reason, "line": 27, "kind": "points", "points": points,
            "fired": fired, "won_fired": won_fired, "not_fired": not_fired, "won_not": won_not,
            "won_rate_fired": round(won_fired / fired, 4), "won_rate_not": round(won_not / not_fired, 4),
            "lift": lift, "ci": ci, "coefficient": 0.9, "coefficient_ci": [0.5, 1.3], "p_value": 0.0001,
            "verdict": verdict, "why": why}


def calibration(fingerprint: str, policy: str = "inbound-activity") -> dict[str, Any]:
    """A calibration JSON in the design's shape, written by hand (1,000 leads, 200 won)."""
    return {
        "policy": policy, "version": "3.0.0", "fingerprint": fingerprint, "as_of": "2026-08-01T00:00:00-04:00",
        "now": "2026-11-01T00:00:00-04:00", "leads": 1000, "won": 200,
        "rows": {"leads_read": 1000, "leads_decided": 1000, "leads_rejected": 0, "events_read": 5000,
                 "events_used": 5000, "events_rejected": 0},
        "rules": [
            _rule("fit", "employees >= 200", "Mid-market or larger", 40, 400, 120, 600, 80, 2.25, [1.74, 2.91],
                  "supported", "the interval of its coefficient is above 0, as its points are"),
            _rule("fit", "email ends with any (\"@gmail.com\")", "Free email domain", -50, 100, 30, 900, 170, 1.5882,
                  [1.07, 2.36], "contradicted", "its points are negative and its interval is above 0"),
            _rule("engagement", "webinar_attended in last 90 days", None, 15, 12, 3, 988, 197, None, None,
                  "no evidence", "only 12 leads fired"),
        ],
        "thresholds": [{"place": "stage sql", "kind": "stage", "score": "fit", "op": ">=", "value": 40, "line": 60,
                        "handoff": True, "band": 10, "leads_past": 450, "won_rate_past": 0.3111,
                        "leads_above": 50, "won_rate_above": 0.18, "leads_below": 70, "won_rate_below": 0.1,
                        "same_count": {"value": 45, "leads": 440, "won_rate": 0.3182}}],
        "groups": [],
        "proposal": {"file": "inbound-activity.next.policy", "version": "3.1.0",
                     "changes": [{"what": "points", "where": "fit: Free email domain", "from": -50, "to": 0,
                                  "why": "contradicted: won 30.0% where it fired against 18.9%", "line": 28}],
                     "backtest": None, "diff": []},
        "verdict": "Of 3 rules, 1 is supported, 1 is contradicted (fit \"Free email domain\") and 1 has no "
                   "evidence; the proposed 3.1.0 hands 440 leads to Sales (was 450) at 31.8% won (was 31.1%).",
    }


def _write(folder: Path, data: dict[str, Any], name: str = "calibration.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data), "utf-8")
    return path


class _Page(HTMLParser):
    """The page's HTML read as a reader sees it: every element's tag and attributes, and the rows of each table
    after a heading (heading -> rows of cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._heading: str | None = None
        self._in_heading = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("h2", "h3"):
            self._in_heading, self._heading = True, ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3"):
            self._in_heading = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self._heading or "", []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_heading:
            self._heading = (self._heading or "") + data
        if self._cell is not None:
            self._cell.append(data)


def _html(page_markdown: str) -> _Page:
    parsed = _Page()
    parsed.feed(markdown.markdown(page_markdown, extensions=["tables", "attr_list", "md_in_html"]))
    return parsed


def _page(tmp_path: Path, *jsons: dict[str, Any]) -> tuple[str, list[str]]:
    """The policy page's Markdown built with these calibration JSONs, and the warnings about them."""
    policy = _policy(tmp_path)
    calibrations = read_calibrations([_write(tmp_path, data, f"c{i}.json") for i, data in enumerate(jsons)])
    files, pages, diags = site_files([str(policy)], tmp_path / "site", calibrations=calibrations)
    assert not diags and len(pages) == 1
    return files[pages[0]], calibrations.unused()


def _section(page_markdown: str) -> str:
    """The calibration section of a page's Markdown: from its heading to the next section's."""
    start = page_markdown.index("\n## Calibration\n")
    return page_markdown[start:page_markdown.index("\n## ", start + 1)]


def _rows(parsed: _Page, heading: str) -> list[dict[str, str]]:
    header, *rows = parsed.tables[heading]
    return [dict(zip(header, row)) for row in rows]


def test_the_section_says_each_rule_and_threshold_as_the_json_has_them(tmp_path):
    text, warnings = _page(tmp_path, calibration(_fingerprint(_policy(tmp_path))))
    assert warnings == []
    page = _html(text)
    said = " ".join("".join(page.text).split())
    assert "as of 2026-08-01T00:00:00-04:00 by version 3.0.0, outcomes up to 2026-11-01T00:00:00-04:00: " \
           "1,000 leads, 200 won (20.0%)" in said
    assert "the proposed 3.1.0 hands 440 leads to Sales (was 450) at 31.8% won (was 31.1%)." in said
    rules = _rows(page, "Rules")
    assert [(r["score"], r["points"], r["verdict"].split(":")[0], r["fired for"]) for r in rules] == [
        ("fit", "+40", "supported", "400"), ("fit", "-50", "contradicted", "100"),
        ("engagement", "+15", "no evidence", "12")]
    assert (rules[0]["won where fired"], rules[0]["won where not"], rules[0]["lift"]) == (
        "30.0%", "13.3%", "2.25 (1.74 to 2.91)")
    assert rules[1]["rule"] == 'email ends with any ("@gmail.com") (Free email domain)'
    assert rules[2]["lift"] == "—" and rules[2]["verdict"] == "no evidence: only 12 leads fired"
    [threshold] = _rows(page, "Thresholds")
    assert threshold == {"where": "stage sql", "threshold": "fit is at least 40", "handoff": "yes",
                         "past it": "450 leads, 31.1% won", "just above": "50 leads, 18.0% won",
                         "just below": "70 leads, 10.0% won",
                         "keeping as many leads past it": "45: 440 leads, 31.8% won"}
    assert "Proposed version 3.1.0" in said
    assert "fit: Free email domain: -50 → 0 (contradicted: won 30.0% where it fired against 18.9%)" in said


def test_without_a_calibration_the_page_has_no_section(tmp_path):
    text, warnings = _page(tmp_path)
    assert warnings == [] and "Calibration" not in _html(text).tables and "## Calibration" not in text


def test_every_text_of_the_json_is_text_on_the_page_never_markup(tmp_path):
    data = calibration(_fingerprint(_policy(tmp_path)))
    for rule in data["rules"]:
        rule.update(rule=HOSTILE, reason="R " + HOSTILE, why=HOSTILE, score=HOSTILE)
    data["thresholds"][0].update(place=HOSTILE, score=HOSTILE)
    data["proposal"]["changes"][0].update(where=HOSTILE, why=HOSTILE, to=HOSTILE)
    data.update(verdict=HOSTILE, as_of=HOSTILE, now=HOSTILE, version=HOSTILE)
    data["proposal"]["version"] = HOSTILE
    text, _ = _page(tmp_path, data)
    page = _html(_section(text))  # the rest of the page has its own markup (events in emphasis)
    section = [(tag, attrs) for tag, attrs in page.tags]
    assert not [tag for tag, _ in section if tag in ("script", "a", "img", "em")]
    assert not [attrs for _, attrs in section if any(name.startswith("on") for name, _ in attrs)]
    rules = _rows(page, "Rules")
    assert len(rules) == 3 and all(r["score"] == HOSTILE and r["rule"] == f"{HOSTILE} (R {HOSTILE})" for r in rules)
    assert all(r["verdict"].endswith(HOSTILE) for r in rules)
    [threshold] = _rows(page, "Thresholds")
    assert threshold["where"] == HOSTILE and threshold["threshold"] == f"{HOSTILE} is at least 40"
    said = "".join(page.text)
    assert said.count(HOSTILE) >= 3 * 4 + 2 + 5  # rules, thresholds, and verdict, times, version, change


@pytest.mark.parametrize("other", ["fingerprint", "policy"])
def test_a_calibration_of_another_version_or_policy_is_a_warning_and_no_section(tmp_path, other):
    data = calibration(_fingerprint(_policy(tmp_path)))
    data[other] = "sha256:0000" if other == "fingerprint" else "product-led"
    text, warnings = _page(tmp_path, data)
    assert "Calibration" not in _html(text).tables and "## Calibration" not in text
    [warning] = warnings
    assert ("another version of policy inbound-activity" if other == "fingerprint"
            else "policy product-led, which is not published here") in warning


def _docs(tmp_path: Path, capsys: pytest.CaptureFixture[str], *calibration_files: Path) -> tuple[int, str]:
    policy = _policy(tmp_path)
    args = ["docs", str(policy), "-o", str(tmp_path / "site")]
    for path in calibration_files:
        args += ["--calibration", str(path)]
    code = main(args)
    return code, capsys.readouterr().err


def test_docs_takes_the_json_and_warns_of_another_version(tmp_path, capsys):
    good = _write(tmp_path, calibration(_fingerprint(_policy(tmp_path))))
    code, err = _docs(tmp_path, capsys, good)
    assert code == 0 and "warning" not in err
    page = (tmp_path / "site/docs/policies/inbound-activity.md").read_text("utf-8")
    assert [r["verdict"].split(":")[0] for r in _rows(_html(page), "Rules")] == [
        "supported", "contradicted", "no evidence"]
    stale = _write(tmp_path, {**calibration("sha256:0000")}, "stale.json")
    code, err = _docs(tmp_path, capsys, stale)
    assert code == 0 and "leadpolicy docs: warning:" in err and "another version" in err
    assert "## Calibration" not in (tmp_path / "site/docs/policies/inbound-activity.md").read_text("utf-8")


def _broken(tmp_path: Path) -> list[tuple[str, str | bytes, str]]:
    good = calibration(_fingerprint(_policy(tmp_path)))
    no_rules = {k: v for k, v in good.items() if k != "rules"}
    text_count = copy.deepcopy(good)
    text_count["rules"][1]["fired"] = "<b>many</b>"
    bad_verdict = copy.deepcopy(good)
    bad_verdict["rules"][0]["verdict"] = "<script>"
    bad_op = copy.deepcopy(good)
    bad_op["thresholds"][0]["op"] = "=="
    return [("not-json", "{", "not JSON"), ("binary", b"\xff\xfe\x00", "not JSON"),
            ("deep", "[" * 100_000 + "]" * 100_000, "not JSON"),
            ("list", "[1, 2]", "not a calibration (the file: expected object)"),
            ("no-rules", json.dumps(no_rules), "not a calibration (the file: no rules)"),
            ("text-count", json.dumps(text_count), "not a calibration (the file.rules[1].fired: expected integer)"),
            ("verdict", json.dumps(bad_verdict), "the file.rules[0].verdict: expected one of"),
            ("op", json.dumps(bad_op), "the file.thresholds[0].op: expected one of")]


def test_a_json_docs_cannot_use_is_bad_usage_said_without_its_text(tmp_path, capsys):
    for name, content, says in _broken(tmp_path):
        path = tmp_path / f"{name}.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        code, err = _docs(tmp_path, capsys, path)
        assert (code, name) == (2, name) and says in err and "Traceback" not in err
        assert "<b>" not in err and "<script>" not in err
    code, err = _docs(tmp_path, capsys, tmp_path / "missing.json")
    assert code == 2 and "missing.json: no such file" in err
    code, err = _docs(tmp_path, capsys, tmp_path)
    assert code == 2 and "is a directory" in err
    twice = _write(tmp_path, calibration(_fingerprint(_policy(tmp_path))))
    code, err = _docs(tmp_path, capsys, twice, twice)
    assert code == 2 and "a second calibration of policy inbound-activity" in err
    assert not (tmp_path / "site").exists()


def test_docs_never_writes_its_site_over_the_calibration_it_reads(tmp_path, capsys):
    (tmp_path / "site" / "docs").mkdir(parents=True)
    inside = _write(tmp_path / "site" / "docs", calibration(_fingerprint(_policy(tmp_path))), "index.md")
    before = inside.read_text("utf-8")
    code, err = _docs(tmp_path, capsys, inside)
    assert code == 2 and inside.read_text("utf-8") == before


# ---------------------------------------------------------------- ci --calibrate

AS_OF, NOW = "2026-11-01T00:00:00-04:00", "2026-11-30T12:00:00-05:00"
CI = ["ci", ".", "--skip-approvals", "--skip-versions", "--skip-fmt"]


def _planted(folder: Path, leads: int = 1200) -> Path:
    """Leads of the activity reference whose outcomes contradict "Free email domain" (`activity_data`)."""
    return activity_data(folder / "calibration-data", leads, seed=30)


def _verdicts(report_markdown: str) -> dict[str, str]:
    """Each rule's verdict in a calibration report's Markdown rules table, by the rule's name."""
    rows = _rows(_html(report_markdown), "Rules")
    return {row["rule"]: row["verdict"] for row in rows}


def test_ci_adds_each_policys_calibration_to_the_job_summary_and_never_fails_on_it(tmp_path, capsys, monkeypatch):
    _policy(tmp_path)
    data = _planted(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main([*CI, "--calibrate", str(data), "--calibrate-as-of", AS_OF, "--calibrate-now", NOW]) == 0
    out = capsys.readouterr().out
    assert 'is contradicted (fit "Free email domain")' in out
    verdicts = _verdicts(summary.read_text("utf-8"))
    assert verdicts["Free email domain"] == "contradicted" and verdicts["Mid-market or larger"] == "supported"
    assert _verdicts(out[out.index("# Calibration of inbound-activity"):]) == verdicts
    # --backtest-as-of and --backtest-now stand for the calibration's when it has none of its own
    summary.unlink()
    assert main([*CI, "--calibrate", str(data), "--backtest-as-of", AS_OF, "--backtest-now", NOW]) == 0
    assert _verdicts(summary.read_text("utf-8")) == verdicts


def test_ci_calibrates_no_policy_without_outcomes(tmp_path, capsys, monkeypatch):
    policy = _policy(tmp_path)
    text = policy.read_text("utf-8")
    start = text.index("  outcomes {")
    policy.write_text(text[:start] + text[text.index("}\n", start) + 2:], "utf-8")
    data = _planted(tmp_path, leads=50)
    monkeypatch.chdir(tmp_path)
    assert main([*CI, "--calibrate", str(data), "--calibrate-as-of", AS_OF]) == 0
    assert "No policy with outcomes to calibrate." in capsys.readouterr().out


def test_ci_calibrate_usage_and_data_problems(tmp_path, capsys, monkeypatch):
    _policy(tmp_path)
    data = _planted(tmp_path, leads=50)
    monkeypatch.chdir(tmp_path)
    assert main([*CI, "--calibrate", str(data)]) == 2
    assert "--calibrate needs --calibrate-as-of (or --backtest-as-of)" in capsys.readouterr().err
    assert main([*CI, "--calibrate", str(data), "--calibrate-as-of", NOW, "--calibrate-now", AS_OF]) == 2
    assert "Traceback" not in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([*CI, "--calibrate", "empty", "--calibrate-as-of", AS_OF]) == 1
    assert "needs exactly one leads.csv" in capsys.readouterr().err
    before = (data / "leads.csv").read_bytes()
    assert main([*CI, "--calibrate", str(data), "--calibrate-as-of", AS_OF, "--sarif", str(data / "leads.csv")]) == 2
    assert (data / "leads.csv").read_bytes() == before


def test_the_json_calibrate_writes_makes_the_pages_section(tmp_path, capsys, monkeypatch):
    policy = _policy(tmp_path)
    data = _planted(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", str(policy), "--leads", str(data / "leads.csv"), "--events", str(data / "events.csv"),
                 "--as-of", AS_OF, "--now", NOW, "--format", "json", "-o", "calibration.json"]) == 0
    written = json.loads((tmp_path / "calibration.json").read_text("utf-8"))
    code, err = _docs(tmp_path, capsys, tmp_path / "calibration.json")
    assert code == 0 and "warning" not in err
    page = _html((tmp_path / "site/docs/policies/inbound-activity.md").read_text("utf-8"))
    rules = _rows(page, "Rules")
    assert [(r["score"], r["verdict"].split(":")[0], r["fired for"]) for r in rules] == [
        (r["score"], r["verdict"], f"{r['fired']:,}") for r in written["rules"]]
    free = next(r for r in rules if r["rule"].startswith("Free email domain") or "(Free email domain)" in r["rule"])
    assert free["verdict"].startswith("contradicted")
    assert len(_rows(page, "Thresholds")) == len(written["thresholds"])


def test_the_starter_workflow_calibrates_next_to_the_backtest(tmp_path, capsys, monkeypatch):
    import shlex

    import yaml

    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()
    workflow = yaml.safe_load((tmp_path / ".github/workflows/leadpolicy.yml").read_text("utf-8"))
    [job] = workflow["jobs"].values()
    runs = [shlex.split(line) for s in job["steps"] for line in s.get("run", "").replace("\\\n", " ").splitlines()]
    calibrating = [r for r in runs if r[:2] == ["leadpolicy", "ci"] and "--calibrate" in r]
    # one folder of past leads and events for both reports, as of the backtest's time
    assert calibrating and all(r[r.index("--calibrate") + 1] == r[r.index("--backtest") + 1] == "backtest"
                               for r in calibrating)
    assert all("--backtest-as-of" in r for r in calibrating)


def test_every_value_the_calibration_template_prints_goes_through_md():
    from jinja2 import nodes

    from leadpolicy.publish.site import environment

    env = environment()
    source = env.loader.get_source(env, "calibration.md.j2")[0]  # type: ignore[union-attr]
    printed = [n for output in env.parse(source).find_all(nodes.Output) for n in output.nodes
               if not isinstance(n, nodes.TemplateData)]
    assert len(printed) > 20
    assert all(isinstance(n, nodes.Filter) and n.name == "md" for n in printed)


XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> "quoted" | *em* {: onclick="y" }'


def test_a_hostile_calibration_runs_no_script_in_chromium_and_reads_as_written(tmp_path, capsys, browser):
    data = calibration(_fingerprint(_policy(tmp_path)))
    for rule in data["rules"]:
        rule.update(rule=XSS, reason=None, why=XSS)
    data["thresholds"][0]["place"] = XSS
    data["verdict"] = XSS
    path = _write(tmp_path, data)
    assert main(["docs", str(tmp_path / "inbound-activity.policy"), "-o", str(tmp_path / "site"), "--build",
                 "--calibration", str(path), "-q"]) == 0, capsys.readouterr().err
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto((tmp_path / "site/site/policies/inbound-activity.html").as_uri())
    page.wait_for_load_state("load")
    page.hover("body")
    written = " ".join(XSS.split())
    section = page.locator("article h2#calibration ~ *")
    rules = page.locator("article h3#rules").locator("xpath=following::table[1]/tbody/tr")
    assert rules.count() == 3
    for i in range(3):
        cells = [" ".join(t.split()) for t in rules.nth(i).locator("td").all_inner_texts()]
        assert cells[1] == written and cells[3].endswith(written)
    place = page.locator("article h3#thresholds").locator("xpath=following::table[1]/tbody/tr/td").first
    assert " ".join(place.inner_text().split()) == written
    assert any(written in " ".join(t.split()) for t in section.all_inner_texts())
    assert page.evaluate("window.__xss") is None and not dialogs
    assert page.locator("article script, article img").count() == 0
    page.close()


def test_the_page_shows_points_as_the_report_does_per_unit_and_per_point_a_decay_takes(tmp_path):
    """A per rule's points are "+5 per unit" (not a bare 5), signed as the report signs them; a score's decay
    (kind decay, -1 per point it takes) is a row like any other, where it made the JSON unusable."""
    data = calibration(_fingerprint(_policy(tmp_path)))
    data["rules"][2].update(kind="per", points=5)
    decay = dict(data["rules"][0], rule="decay 50% every 30 days", reason=None, kind="decay", points=-1)
    data["rules"].append(decay)
    text, warnings = _page(tmp_path, data)
    assert warnings == []
    rules = _rows(_html(text), "Rules")
    assert [r["points"] for r in rules] == ["+40", "-50", "+5 per unit", "-1 per point it takes"]


def test_a_threshold_row_on_the_page_names_the_whole_condition(tmp_path):
    data = calibration(_fingerprint(_policy(tmp_path)))
    sql = data["thresholds"][0]
    sql["condition"] = "sql when demo_request in last 30 days and fit >= 40"
    unchanged = {"value": 40, "leads": 450, "won_rate": 0.3111}  # the points stay: the threshold as it is
    data["thresholds"].append(dict(sql, place="stage mql", condition="mql when fit >= 40 and engagement >= 30",
                                   same_count=unchanged))
    text, _ = _page(tmp_path, data)
    rows = _rows(_html(text), "Thresholds")
    assert [r["where"] for r in rows] == ["stage sql: sql when demo_request in last 30 days and fit >= 40",
                                          "stage mql: mql when fit >= 40 and engagement >= 30"]
    assert rows[1]["keeping as many leads past it"] == "no re-fit"


def test_a_thresholds_won_rates_show_their_intervals_on_the_page(tmp_path):
    data = calibration(_fingerprint(_policy(tmp_path)))
    data["thresholds"][0].update(ci_past=[0.2696, 0.3561], ci_above=[0.1047, 0.2922], ci_below=None)
    text, _ = _page(tmp_path, data)
    [row] = _rows(_html(text), "Thresholds")
    assert (row["past it"], row["just above"], row["just below"]) == (
        "450 leads, 31.1% won (27.0% to 35.6%)", "50 leads, 18.0% won (10.5% to 29.2%)", "70 leads, 10.0% won")


def test_the_page_says_what_the_report_says_of_a_threshold_whose_inputs_were_re_fitted(tmp_path):
    """The JSON says why a threshold's score takes other values (`refit`: its points, a score it reads, or none);
    the page says "no re-fit" only for none, as the report does, even when the count lands where it was."""
    data = calibration(_fingerprint(_policy(tmp_path)))
    kept = {"value": 40, "leads": 450, "won_rate": 0.3111}  # the threshold as it is, with as many leads
    base = data["thresholds"][0]
    data["thresholds"] = [dict(base, place="stage sql", same_count=kept, refit="inputs"),
                          dict(base, place="stage mql", same_count=kept, refit=None),
                          dict(base, place="stage hot", same_count=kept, refit="points")]
    text, _ = _page(tmp_path, data)
    cells = [r["keeping as many leads past it"] for r in _rows(_html(text), "Thresholds")]
    assert cells == ["40: 450 leads, 31.1% won (its inputs were re-fitted)", "no re-fit", "40: 450 leads, 31.1% won"]


def test_calibrates_json_says_why_each_thresholds_score_changes(tmp_path, capsys):
    from .calibration_data import POLICY, generate, run_on_planted, write_policy

    planted = generate(tmp_path / "data", leads=3000)
    code, out, _ = run_on_planted(capsys, planted, write_policy(tmp_path, POLICY), "--format", "json")
    report = json.loads(out)
    assert code == 0
    refits = {t["place"]: t["refit"] for t in report["thresholds"]}
    assert set(refits.values()) <= {"points", "inputs", None} and "points" in refits.values(), refits
