"""The published page as a sales VP reads it, in Chromium: every reference policy's page, by its text and
its layout boxes (events under lead cases by their labels, no Markdown marks or Python values in the
text, a chart whose lines are the policy's thresholds and whose labels do not overlap, a source block
that stays in its column)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leadpolicy.cli.main import main
from leadpolicy.publish.site import render_site
from leadpolicy.semantics.loading import load_policy

from .conftest import POLICIES, ROOT

EXAMPLES = Path("/work/shared/design/examples")
# What must never show on a page: Python's values and reprs, and Markdown marks shown as text.
NOT_FOR_READERS = re.compile(r"\bTrue\b|\bFalse\b|\bNone\b|\{'|\['|\\\*|\*")

VARIANT_SAMPLES = """\
policy: activity-variant.policy
now: 2026-11-20T12:00:00-05:00
leads:
  - name: A demo request makes a large software lead sales-qualified
    lead: {email: ana@bigsoft.io, employees: 1200, industry: software, source: webinar}
    events:
      - {event: demo_request, at: 2026-11-18T10:00:00-05:00}
    expect: {stage: sql}
  - name: A quiet small lead is nurtured
    lead: {email: zoe@shop.fr, employees: 80, industry: retail, source: organic}
    expect: {stage: nurture}
timelines:
  - name: Touched in 45 minutes
    now: 2026-11-30T12:00:00-05:00
    events:
      - {lead: A1, event: became_sql, at: 2026-11-16T10:00:00-05:00}
      - {lead: A1, event: first_touch, at: 2026-11-16T10:45:00-05:00}
    expect: {speed_to_lead: met}
"""


def _variant(folder: Path) -> Path:
    """The activity reference with a labelled SLA event, decay since an event, and stages decided by the
    combined score (`priority = fit + engagement`): sql from 90, mql from 40."""
    text = (POLICIES / "inbound-activity.policy").read_text()
    for old, new in (('policy "inbound-activity"', 'policy "activity-variant"'),
                     ("    became_sql\n", '    became_sql "Became sales-qualified"\n'),
                     ("    clamp 0 to 100\n    +5  per email_click",
                      "    clamp 0 to 100\n    decay 10% every 7 days since last email_click\n    +5  per email_click"),
                     ("when demo_request in last 30 days and fit >= 40", "when priority >= 90"),
                     ("when fit >= 40 and engagement >= 30", "when priority >= 40")):
        assert old in text, old
        text = text.replace(old, new)
    folder.mkdir(parents=True)
    (folder / "activity-variant.policy").write_text(text)
    (folder / "activity-variant.samples.yaml").write_text(VARIANT_SAMPLES)
    return folder / "activity-variant.policy"


TRIAL_POLICY = """\
policy "trial-signup" version 1.0.0 {
  title "Trial signups scored on product activity"
  owner marketing "Mia Chen <mia@example.com>"
  owner sales     "Tom Ruiz <tom@example.com>"
  timezone "Europe/Berlin"

  lead {
    email      text required
    employees  number
    country    one of ("de", "fr", "us", "uk", "other")
  }

  events {
    invited_teammate  "Invited a teammate"
    api_call          "Called the API"
    pricing_view      "Viewed pricing"
    sales_call_booked "Booked a sales call"
  }

  score fit "Company fit" {
    clamp 0 to 100
    +50 when employees >= 50                "Team of 50 or more"
    +20 when country in ("de", "us", "uk")  "Core market"
  }

  score activity "Product activity" {
    clamp 0 to 100
    +10 per invited_teammate in last 14 days up to 30  "Teammates invited, last 14 days"
    +15 when pricing_view in last 10 days              "Looked at pricing"
    +50 when sales_call_booked in last 21 days         "Booked a call"
    -20 when days since last api_call >= 30            "Stopped using the API"
  }

  score combined "Fit plus activity" {
    clamp 0 to 200
    +1 per fit up to 100      "Fit"
    +1 per activity up to 80  "Activity"
  }

  grade band from combined {
    "Hot"   when combined >= 110
    "Warm"  when combined >= 60
    "Cold"  otherwise
  }

  stages {
    sql      when sales_call_booked in last 21 days and fit >= 50  owner sales
    pql      when fit >= 50 and count api_call in last 7 days >= 3  owner sales
    nurture  otherwise                                             owner marketing
  }

  route for sql, pql {
    "enterprise"  when employees >= 500
    "emea-ae"     when country in ("de", "fr", "uk")
    "smb"         otherwise
  }
}
"""

TRIAL_SAMPLES = """\
policy: trial-signup.policy
now: 2026-11-20T12:00:00+01:00
leads:
  - name: Pricing viewed exactly 10 days before now is out of its window
    lead: {email: anna@firma.de, employees: 600, country: de}
    events:
      - {event: pricing_view, at: 2026-11-10T12:00:00+01:00}
      - {event: api_call, at: 2026-10-10T12:00:00+02:00}
      - {event: invited_teammate, at: 2026-11-19T12:00:00+01:00}
    expect: {fit: 70, activity: 10, stage: nurture}
  - name: A quiet British team was agreed for the EMEA queue
    lead: {email: joe@shop.co.uk, employees: 50, country: uk}
    expect: {stage: nurture, route: emea-ae, band: Hot, fired: {fit: [Core market]}}
  - name: A big team that booked a call
    lead: {email: ana@bigsoft.io, employees: 600, country: us}
    events:
      - {event: sales_call_booked, at: 2026-11-15T10:00:00+01:00}
    expect: {fit: 70, activity: 50, combined: 120, band: Hot, stage: sql, route: enterprise}
"""


def _trial(folder: Path) -> Path:
    """Trial signups: a combined score capped on one axis (`+1 per activity up to 80`), an event
    count, an event exactly at its window's edge, and a case that differs from the agreement."""
    folder.mkdir(parents=True)
    (folder / "trial-signup.policy").write_text(TRIAL_POLICY)
    (folder / "trial-signup.samples.yaml").write_text(TRIAL_SAMPLES)
    return folder / "trial-signup.policy"


def _publishable(path: Path) -> bool:
    """A design example this leadpolicy publishes: it loads, and so does its samples file (the v3 reference's
    `assignments:` section is for `leadpolicy assign`, which is not built yet; test_teams_language.py publishes
    that policy alone)."""
    from leadpolicy.language.loader import samples_for
    from leadpolicy.testing.harness import load_samples

    samples = samples_for(path)
    return not load_policy(path).has_errors and not (samples.exists()
                                                     and any(d.is_error for d in load_samples(samples)[1]))


def _reference_sources(tmp: Path) -> list[list[Path]]:
    """One list of policies per site: policies/, each design example that loads (ids repeat across the
    two folders), the variant and the trial signups."""
    examples = [p for p in sorted(EXAMPLES.glob("*.policy")) if _publishable(p)]
    assert len(examples) >= 2, examples
    return [sorted(POLICIES.glob("*.policy")), *[[p] for p in examples], [_variant(tmp / "variant")],
            [_trial(tmp / "trial")]]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The built page of every reference policy, by a name: `policies/ID` or `examples/ID` or `variant`."""
    tmp = tmp_path_factory.mktemp("published")
    built: dict[str, Path] = {}
    for n, sources in enumerate(_reference_sources(tmp)):
        out = tmp / f"site-{n}"
        written, diags = render_site([str(p) for p in sources], out)
        assert written and not [d for d in diags if d.is_error], diags
        result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                                 str(out / "mkdocs.yml")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        for page in written:
            folder = sources[0].parent.name
            built[f"{folder}/{page.stem}"] = out / "site" / "policies" / f"{page.stem}.html"
    assert len(built) >= 7, built
    return built


@pytest.fixture()
def open_page(browser, pages):
    opened = []

    def open_(name: str, width: int = 1300):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(5_000)
        opened.append(page)
        page.goto(pages[name].as_uri())
        page.wait_for_load_state("load")
        return page
    yield open_
    for page in opened:
        page.close()


def _item(page, text: str):
    """The list item of a sample case, by words of its name."""
    items = page.locator("article li", has_text=text)
    assert items.count() >= 1, text
    return items.first


def _readable_text(page) -> str:
    """Every text a reader sees on the policy page but the source block (which is the policy as written)."""
    return page.evaluate("""() => {
        const article = document.querySelector('article').cloneNode(true);
        article.querySelectorAll('.highlight, script, style').forEach(e => e.remove());
        return article.textContent; }""")


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


# ---------------------------------------------------------------- events and their labels


def test_lead_cases_list_their_events_by_label_and_time(open_page):
    page = open_page("policies/inbound-activity")
    first = _item(page, "Large software lead with a demo request this week")
    events = first.locator("ul li")
    assert events.count() == 5  # one line per event of the case, as the samples file lists them
    texts = events.all_inner_texts()
    assert texts[0].startswith("Asked for a demo") and "2 days 2 hours before now" in texts[0], texts
    assert "Wed 2026-11-18 10:00" in texts[0], texts
    assert sum(t.startswith("Viewed the pricing page") for t in texts) == 3, texts
    assert texts[3].endswith("Tue 2026-10-20 09:00, 31 days 4 hours before now, outside the 14-day window"), texts
    assert first.locator("ul li em[title='demo_request']").inner_text() == "Asked for a demo"
    later = _item(page, "Events after now are ignored").locator("ul li").all_inner_texts()
    assert later == ["Asked for a demo: Sat 2026-11-21 09:00, 21 hours after now, not counted",
                     "Attended a webinar: Fri 2026-11-20 11:00, 1 hour before now"], later
    edge = _item(page, "Events exactly 30, 14 and 90 days before now").locator("ul li").all_inner_texts()
    assert [t.split(", ", 1)[-1] for t in edge] == [  # an email click is also read by days since the last one
        "30 days before now", "14 days before now, outside the 14-day window",
        "90 days before now, outside the 90-day window"]
    assert _item(page, "Free-mail domains are caught").locator("ul li").count() == 0
    now = page.locator("article p", has_text="as of")
    assert "Fri 2026-11-20 12:00" in now.first.inner_text()


def test_event_labels_stand_for_event_names_in_scores_stages_and_slas(open_page):
    page = open_page("policies/inbound-activity")
    rows = page.locator("article table tr").all_inner_texts()
    assert any("for each Viewed the pricing page in the last 14 days, up to 30 points" in r for r in rows), rows
    assert any("when Asked for a demo in the last 30 days" in r for r in rows), rows
    assert any("days since the last Clicked a marketing email is above 60" in r for r in rows), rows
    assert any("Asked for a demo in the last 30 days and fit is at least 40" in r for r in rows), rows
    named = page.locator("article table em[title='demo_request']")
    assert named.count() == 2 and set(named.all_inner_texts()) == {"Asked for a demo"}
    stage = page.locator("svg.leadpolicy-stages g.stage[data-stage='sql']")
    assert "“Asked for a demo” in the last 30 days" in stage.text_content()
    variant = open_page("variant/activity-variant")
    sla = variant.locator("article li", has_text="Speed to lead").first
    assert "with an event Became sales-qualified or a became mql event gets a first touch event" in sla.inner_text()
    assert sla.locator("em[title='became_sql']").inner_text() == "Became sales-qualified"
    decay = variant.locator("article li", has_text="Decay:").first.inner_text()
    assert "for every 7 days since the last Clicked a marketing email." in decay, decay
    timeline = _item(variant, "Touched in 45 minutes").locator("ul li").all_inner_texts()
    assert timeline[0].startswith("Became sales-qualified") and "Mon 2026-11-16 10:00" in timeline[0], timeline


# ---------------------------------------------------------------- words, not marks or Python values


def test_no_page_shows_markdown_marks_or_python_values(open_page, pages):
    for name in pages:
        page = open_page(name)
        text = _readable_text(page)
        found = sorted({m.group(0) for m in NOT_FOR_READERS.finditer(text)})
        assert not found, (name, found, [text[max(0, m.start() - 60):m.end() + 20]
                                         for m in NOT_FOR_READERS.finditer(text)][:5])


def test_timeline_outcomes_read_as_words(open_page):
    page = open_page("policies/inbound-activity")
    risky = _item(page, "Three of four business hours used is at risk")
    verdict = risky.locator("p").first.inner_text()
    assert "Speed to lead, faster for tier A: pending" in verdict, verdict
    assert "at risk: yes" in verdict and "escalated: not yet" in verdict, verdict
    each = _item(page, "Each handoff is measured").locator("p").first.inner_text()
    assert "Accept or reject every handoff: met, then breached" in each, each
    assert "sent back to nurture on Thu 2026-12-03 10:00" in each, each


def test_the_verdict_and_the_events_are_separate_blocks(open_page):
    page = open_page("policies/inbound-activity")
    items = page.locator("article li", has_text="✓ agreed")
    assert items.count() == 22
    for n in range(items.count()):
        item = items.nth(n)
        verdict = item.locator("p").first
        assert verdict.inner_text().rstrip().endswith("✓ agreed"), verdict.inner_text()
        events = item.locator("ul")
        if events.count():
            assert _box(events.first)["y"] >= _box(verdict)["y"] + _box(verdict)["height"] - 1


# ---------------------------------------------------------------- the chart


def _line_box(page, css: str) -> dict:
    """The box of a chart line relative to the plot, in plot widths (0..1 from the left and the bottom)."""
    plot, line = _box(page.locator("svg.leadpolicy-chart rect.plot")), _box(page.locator(css))
    return {"left": (line["x"] - plot["x"]) / plot["width"], "width": line["width"] / plot["width"],
            "bottom": (plot["y"] + plot["height"] - line["y"] - line["height"]) / plot["height"],
            "height": line["height"] / plot["height"]}


def test_the_chart_draws_thresholds_of_a_combined_score_as_lines(open_page):
    page = open_page("variant/activity-variant")
    for value in (40, 90):  # sql from priority 90, mql from 40: the lines fit + engagement = 90 and = 40
        box = _line_box(page, f"svg.leadpolicy-chart .threshold[data-score='priority'][data-value='{value}']")
        for key, want in (("left", 0), ("bottom", 0), ("width", value / 100), ("height", value / 100)):
            assert box[key] == pytest.approx(want, abs=0.01), (value, key, box)
    labels = page.locator("svg.leadpolicy-chart text.label").all_text_contents()
    assert "priority 40: mql" in labels and "priority 90: sql" in labels, labels
    reference = open_page("policies/inbound-activity")
    box = _line_box(reference, "svg.leadpolicy-chart .grade-threshold[data-score='priority'][data-value='120']")
    for key, want in (("left", 0.2), ("bottom", 0.2), ("width", 0.8), ("height", 0.8)):
        assert box[key] == pytest.approx(want, abs=0.01), (key, box)
    assert reference.locator("svg.leadpolicy-chart .threshold").count() == 2  # fit 40, engagement 30


def test_no_two_chart_labels_overlap(open_page, pages):
    for name in pages:
        page = open_page(name)
        chart = page.locator("svg.leadpolicy-chart")
        if not chart.count():
            continue
        frame = _box(chart)
        labels = chart.locator("text.label")
        boxes = [(labels.nth(i).text_content(), _box(labels.nth(i))) for i in range(labels.count())]
        assert len(boxes) >= 8, (name, boxes)
        for i, (text, box) in enumerate(boxes):
            assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5, (
                name, text)
            clashes = [other for other, b in boxes[i + 1:] if _overlap(box, b)]
            assert not clashes, (name, text, clashes)


# ---------------------------------------------------------------- the source block


@pytest.mark.parametrize("width", [1300, 800])
def test_the_source_block_stays_in_its_column_and_shows_every_reason(open_page, width):
    page = open_page("policies/inbound-activity", width)
    column = _box(page.locator("article"))
    code = page.locator("article .highlight code").last
    box = _box(code)
    assert column["x"] <= box["x"] and box["x"] + box["width"] <= column["x"] + column["width"] + 0.5
    for reason in ("Pricing page views, last 14 days", "Mid-market or larger", "Free email domain"):
        shown = page.evaluate("""([code, reason]) => {
            const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(reason);
                if (at < 0) continue;
                range.setStart(node, at); range.setEnd(node, at + reason.length);
                const r = range.getBoundingClientRect(), c = code.getBoundingClientRect();
                return {inside: r.left >= c.left - 0.5 && r.right <= c.right + 0.5, width: r.width};
            }
            return null; }""", [code.element_handle(), f'"{reason}"'])
        assert shown is not None and shown["inside"] and shown["width"] > 0, (width, reason, shown)


def test_screenshots_for_review(open_page):
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page = open_page("policies/inbound-activity")
    page.screenshot(path=str(shots / "inbound-activity.png"), full_page=True)
    page.locator("svg.leadpolicy-chart").screenshot(path=str(shots / "inbound-activity-chart.png"))
    assert (shots / "inbound-activity-chart.png").stat().st_size > 5_000


def test_an_event_name_from_a_samples_file_is_text_never_markup(tmp_path):
    """Without an events block, a timeline may only name the events the SLAs read: any other name makes its
    case one `leadpolicy test` cannot run, so docs refuses the page (nothing written) and the name reaches
    only the diagnostic, escaped."""
    (tmp_path / "x.policy").write_text(
        'policy "x" version 1.0.0 {\n  owner a "A"\n  owner b "B"\n  lead {\n    t text\n  }\n'
        '  stages {\n    rest otherwise owner a\n  }\n  sla s {\n    owner b\n    from e1 until e2\n'
        '    within 1 hours\n    target 90%\n  }\n}\n')
    hostile = '<img src=x onerror=alert(1)> *e* {: onclick="x" } \ue000'
    (tmp_path / "x.samples.yaml").write_text(
        "policy: x.policy\nnow: 2026-11-20T12:00:00Z\ntimelines:\n  - name: t\n    events:\n"
        f"      - {{lead: L, event: {json.dumps(hostile)}, at: 2026-11-20T10:00:00Z}}\n"
        "      - {lead: L, event: e1, at: 2026-11-20T10:00:00Z}\n    expect: {s: pending}\n")
    pages, problems = render_site([str(tmp_path / "x.policy")], tmp_path / "rendered")
    assert pages == [] and [d.code for d in problems] == ["bad-samples"]
    assert "unknown event" in problems[0].message
    assert main(["docs", str(tmp_path / "x.policy"), "-o", str(tmp_path / "site")]) == 1
    assert not (tmp_path / "site").exists()


# ---------------------------------------------------------------- what a new reader found


def test_an_escalation_ladder_sits_under_its_own_sla_with_a_visible_caption(open_page):
    page = open_page("policies/inbound-activity")
    slas = page.locator("article li", has_text="Speed to lead, faster for tier A")
    own, following = _box(slas.first), _box(page.locator("article li", has_text="Accept or reject every handoff").first)
    picture = page.locator("svg.leadpolicy-escalation")
    assert picture.count() == 1
    box = _box(picture)
    assert own["y"] + own["height"] <= box["y"] + 0.5 and box["y"] + box["height"] <= following["y"] + 0.5, (
        own, box, following)
    caption = page.locator("figure:has(svg.leadpolicy-escalation) figcaption")
    assert caption.count() == 1 and caption.is_visible()
    assert caption.inner_text().strip() == "Speed to lead, faster for tier A: escalation"
    caption_box = _box(caption)
    assert own["y"] + own["height"] <= caption_box["y"] + 0.5 and caption_box["y"] < following["y"]


def test_a_case_that_differs_from_the_agreement_says_so_in_words(open_page):
    page = open_page("trial/trial-signup")
    verdict = _item(page, "A quiet British team").locator("p").first.inner_text()
    assert "✗ differs from the agreement" in verdict, verdict
    assert "route: agreed emea-ae, the policy gives no route" in verdict, verdict
    assert "band: agreed Hot, the policy gives Warm" in verdict, verdict
    assert "rules that fired in fit: agreed Core market, the policy fires Core market and Team of 50 or more" in (
        verdict), verdict
    for program_mark in ("null", "None", "[", "'"):
        assert program_mark not in verdict, (program_mark, verdict)
    assert "null" not in _readable_text(page)


def _plot_points(page, css: str) -> list[tuple[float, float]]:
    """A chart line's points in plot fractions (0..1 from the left and from the bottom)."""
    return page.evaluate("""(css) => {
        const plot = document.querySelector('svg.leadpolicy-chart rect.plot').getBBox();
        const line = document.querySelector(css);
        return Array.from(line.points).map(p => [(p.x - plot.x) / plot.width,
                                                 (plot.y + plot.height - p.y) / plot.height]); }""", css)


def test_a_capped_combined_score_draws_the_whole_boundary_of_its_region(open_page):
    page = open_page("trial/trial-signup")
    css = "svg.leadpolicy-chart .grade-threshold[data-score='combined'][data-value='110']"
    box = _line_box(page, css)  # combined = fit + activity up to 80 reaches 110 from fit 30 at activity 80 on
    for key, want in (("left", 0.3), ("bottom", 0.1), ("width", 0.7), ("height", 0.9)):
        assert box[key] == pytest.approx(want, abs=0.01), (key, box)
    points = _plot_points(page, css)
    assert points[0] == pytest.approx((0.3, 1.0), abs=0.005), points  # up the plot's top at fit 30
    assert points[1] == pytest.approx((0.3, 0.8), abs=0.005), points  # down to activity 80, then the diagonal
    assert points[-1] == pytest.approx((1.0, 0.1), abs=0.005), points
    for x, y in points[1:]:
        assert x * 100 + min(y * 100, 80) == pytest.approx(110, abs=0.5), points
    warm = _plot_points(page, "svg.leadpolicy-chart .grade-threshold[data-score='combined'][data-value='60']")
    assert warm[0] == pytest.approx((0.0, 0.6), abs=0.005) and warm[-1] == pytest.approx((0.6, 0.0), abs=0.005)


def test_every_chart_label_is_next_to_its_own_line(open_page, pages):
    near = 16  # px between a label's box and the nearest point of its line
    for name in pages:
        page = open_page(name)
        if not page.locator("svg.leadpolicy-chart").count():
            continue
        found = page.evaluate("""() => {
            const svg = document.querySelector('svg.leadpolicy-chart'), frame = svg.getBoundingClientRect();
            const labels = Array.from(svg.querySelectorAll('text.label'));
            return Array.from(svg.querySelectorAll('polyline')).map(line => {
                const text = line.querySelector('title').textContent;
                const label = labels.find(l => l.textContent === text);
                if (!label) return {text, missing: true};
                const box = label.getBoundingClientRect(), m = line.getScreenCTM();
                let best = Infinity;
                const length = line.getTotalLength();
                for (let i = 0; i <= 400; i++) {
                    const q = line.getPointAtLength(length * i / 400);
                    const x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
                    const dx = Math.max(box.left - x, 0, x - box.right), dy = Math.max(box.top - y, 0, y - box.bottom);
                    best = Math.min(best, Math.hypot(dx, dy));
                }
                const inside = box.left >= frame.left - 0.5 && box.right <= frame.right + 0.5
                    && box.top >= frame.top - 0.5 && box.bottom <= frame.bottom + 0.5;
                return {text, distance: best, inside};
            }); }""")
        assert found, name
        for line in found:
            assert not line.get("missing") and line["inside"] and line["distance"] <= near, (name, line)


def test_the_policy_table_has_no_empty_header(open_page, pages):
    for name in pages:
        page = open_page(name)
        empty = page.evaluate("""() => {
            const cells = Array.from(document.querySelectorAll('article th')).filter(c => !c.textContent.trim());
            const rows = Array.from(document.querySelectorAll('article tr')).filter(r => !r.textContent.trim());
            return cells.length + rows.length; }""")
        assert empty == 0, name
    page = open_page("policies/inbound-activity")
    first = page.locator("article table").first.locator("tr").first.locator("th, td").all_inner_texts()
    assert first == ["Policy", "inbound-activity"], first


@pytest.mark.parametrize("picture", ["leadpolicy-chart", "leadpolicy-stages", "leadpolicy-escalation",
                                     "leadpolicy-team"])
def test_picture_text_is_readable_at_800_px(open_page, pages, picture):
    smallest = []
    for name in pages:
        page = open_page(name, 800)
        sizes = page.evaluate("""(css) => Array.from(document.querySelectorAll(`svg.${css} text`)).map(t =>
            parseFloat(getComputedStyle(t).fontSize)
            * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b))""", picture)
        smallest += [(min(sizes), name)] if sizes else []
    assert smallest, picture
    assert min(smallest)[0] >= 11 - 0.05, sorted(smallest)[:3]


def test_an_event_outside_every_window_that_reads_it_says_so(open_page):
    page = open_page("trial/trial-signup")
    events = _item(page, "Pricing viewed exactly 10 days").locator("ul li").all_inner_texts()
    assert events == [
        "Viewed pricing: Tue 2026-11-10 12:00, 10 days before now, outside the 10-day window",
        "Called the API: Sat 2026-10-10 12:00, 41 days 1 hour before now",  # read by days since the last
        "Invited a teammate: Thu 2026-11-19 12:00, 1 day before now"], events


def test_an_event_count_and_the_changelog_read_as_words(open_page, tmp_path):
    page = open_page("trial/trial-signup")
    rows = page.locator("article table tr").all_inner_texts()
    assert any("fit is at least 50 and Called the API at least 3 times in the last 7 days" in r
               for r in rows), rows
    assert not [r for r in rows if "the number of" in r], rows
