"""Published docs: policy pages, pictures, the lexer, MkDocs builds, and a real browser."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from pygments.token import Token

from leadpolicy.publish.pictures import score_chart, stage_ladder
from leadpolicy.publish.site import md, render_site
from leadpolicy.semantics.loading import load_policy_text
from leadpolicy.semantics.lowering import lower

from .components import require_chromium
from .conftest import POLICIES, ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("policy-docs")
    pages, diags = render_site([str(POLICIES)], out)
    assert not diags and len(pages) == 3
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                             str(out / "mkdocs.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


def test_policy_page_content(site):
    page = (site / "docs" / "policies" / "inbound-b2b.md").read_text()
    for text in ("# Inbound B2B leads", "| Approval | **draft** — still to approve: marketing, sales |",
                 '| +15 | when job title contains "VP", "Director", "Head of" or "Chief" | Decision maker |',
                 "Decay: the total loses 25% for every 30 days since last activity.",
                 'Sales commits that every lead with a <em title="became_sql">became sql</em> event gets a '
                 '<em title="first_touch">first touch</em> event within 4 business hours '
                 "(Mon-Fri 09:00-17:00 America/New\\_York; US holidays; closed 2026-12-24), 95% of the time.",
                 '| 2 | sql | demo requested is yes and fit is at least 50 | sales (handoff) |',
                 'A lead with <em title="rejected">rejected</em> because "not\\_now" goes back to **nurture** '
                 'after 30 days.',
                 # the samples' now, 2026-11-20T12:00:00-05:00, on the policy's clock (UTC): every time of
                 # the cases page is in the policy's zone, as the page says
                 "Times are in the policy's time zone, UTC.",
                 'The leads are scored as of Fri 2026-11-20 17:00 ("now").',
                 "```policy"):
        assert text in page, text
    assert page.count("✓ agreed") == 21  # 13 leads and 8 event timelines
    assert "1. **SQL on Friday afternoon, first touch Monday late morning is 3 business hours, met**: " \
           "Speed to lead: met. ✓ agreed\n" in page
    # the samples write 16:00 and 11:00 at -05:00; the page shows them on the policy's clock, UTC
    assert ('    - <em title="became_sql">became sql</em>: Fri 2026-11-20 21:00\n'
            '    - <em title="first_touch">first touch</em>: Mon 2026-11-23 16:00\n') in page
    assert ("Points are added up, then decayed, rounded to a whole number (halves away from zero) and kept in range."
            in page)


def test_activity_page_states_windows_tiers_and_escalation_in_plain_english(site):
    page = (site / "docs" / "policies" / "inbound-activity.md").read_text()
    for text in ('| +10 each | for each <em title="pricing_page_view">Viewed the pricing page</em> in the last '
                 '14 days, up to 30 points |',
                 '| +40 | when <em title="demo_request">Asked for a demo</em> in the last 30 days | '
                 'Demo request, last 30 days |',
                 '| -10 | when days since the last <em title="email_click">Clicked a marketing email</em> is above '
                 '60 | Gone quiet |',
                 "| -50 | when email ends with \"@gmail.com\", \"@yahoo.com\" or \"@outlook.com\" |",
                 'with a <em title="became_sql">became sql</em> event or a <em title="became_mql">became mql</em> '
                 'event gets a <em title="first_touch">first touch</em> event within 1 business hour',
                 'when tier is "A", otherwise 4 business hours',
                 "A lead is at risk once 75% of the time is used.",
                 'It is escalated to "sales-manager" at 100% then "vp-sales" at 200% of the time.',
                 'every time a lead gets a <em title="handed_off">handed off</em> event, it gets an '
                 '<em title="accepted">accepted</em> event or a <em title="rejected">rejected</em> event',
                 'The clock stops at a <em title="waiting_on_lead">waiting on lead</em> event and starts again at a '
                 '<em title="lead_replied">lead replied</em> event.'):
        assert text in page, text
    line = next(line for line in page.splitlines() if "touch after 45 minutes meets it" in line)
    assert "Speed to lead, faster for tier A: met" in line and "✓ agreed" in line


def test_text_from_a_policy_is_escaped_in_markdown_and_svg(tmp_path):
    assert md("<script>|*x*") == "&lt;script&gt;\\|\\*x\\*"
    assert md('T {: onfocus="x" }') == 'T \\{: onfocus="x" \\}'  # attr_list's marks, escaped
    breaks = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"
    assert md(f"a{breaks}b").splitlines() == ["a" + " " * len(breaks) + "b"]
    assert md("a\x02wzxhzdk:0\x03b") == "a wzxhzdk:0 b"  # no control character reaches Markdown's placeholders
    text = ('policy "x" version 1.0.0 {\n title "<b>T</b>"\n owner a "A"\n owner b "B"\n lead { t text }\n'
            ' score s { +1 when t = "</svg><script>alert(1)</script>" "<img src=x>" }\n'
            ' stages {\n  hot when t = "</svg><script>" owner b\n  rest otherwise owner a\n }\n}\n')
    loaded = load_policy_text(text)
    assert not loaded.has_errors, loaded.diagnostics
    svg = stage_ladder(lower(loaded.policy))
    assert "<script>" not in svg and "&lt;/svg&gt;&lt;script&gt;" in svg
    (tmp_path / "x.policy").write_text(text)
    pages, _ = render_site([str(tmp_path / "x.policy")], tmp_path / "out")
    page = pages[0].read_text()
    body = page.split("```policy")[0]
    assert "<script>" not in body and "<img" not in body and "<b>" not in body


def test_pictures_draw_every_stage_and_sample(site):
    from leadpolicy.semantics.loading import load_policy

    policy = load_policy(POLICIES / "inbound-b2b.policy").policy
    svg = stage_ladder(lower(policy))
    assert svg.count('class="stage"') == 4 and "handoff to sales" in svg
    chart = score_chart(policy, [("a", {"fit": 65, "engagement": 55}, "sql"), ("b", {"fit": 10, "engagement": 20},
                                                                                "nurture")])
    assert chart.count('class="lead"') == 2 and chart.count('class="threshold"') == 3  # fit 50, 40; engagement 30
    assert chart.count('class="grade-threshold"') == 3 and "fit_grade A: fit ≥ 75" in chart


def test_lexer_is_registered_and_highlights():
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    lexer = get_lexer_by_name("policy")
    assert type(lexer) is type(get_lexer_for_filename("x.policy"))
    tokens = [(t, v) for t, v in lexer.get_tokens((POLICIES / "inbound-b2b.policy").read_text())
              if t is not Token.Text.Whitespace]
    assert (Token.Keyword, "score") in tokens and (Token.Keyword, "when") in tokens
    assert (Token.Literal.String.Double, '"Mid-market or larger"') in tokens
    assert not [t for t in tokens if t[0] is Token.Error]
    # The HTML carries the same classes, whatever the formatter's escaping of quotes.
    html = highlight("score fit { +1 when x }", lexer, HtmlFormatter())
    assert re.search(r'<span class="k">score</span>', html)
    v2 = [(t, v) for t, v in lexer.get_tokens((POLICIES / "inbound-activity.policy").read_text())
          if t is not Token.Text.Whitespace]
    assert not [t for t in v2 if t[0] is Token.Error]
    for word in ("events", "outcomes", "paused", "warn", "escalate", "each", "time"):
        assert (Token.Keyword, word) in v2, word
    assert (Token.Operator.Word, "last") in v2 and (Token.Operator.Word, "count") not in v2  # no count in it
    assert (Token.Name, "pricing_page_view") in v2


def test_lexer_reads_clock_ranges_as_two_times():
    from pygments.lexers import get_lexer_by_name

    tokens = [(t, v) for t, v in get_lexer_by_name("policy").get_tokens("open Mon-Fri 09:00-17:00")
              if t is not Token.Text.Whitespace]
    assert tokens[-3:] == [(Token.Literal.Number.Other, "09:00"), (Token.Punctuation, "-"),
                           (Token.Literal.Number.Other, "17:00")]


def test_project_docs_build_strict(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                             "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    tokens = _highlighted_tokens((tmp_path / "site" / "language.html").read_text())
    # The language guide's examples are highlighted by our own lexer: keywords, strings, clock times.
    assert {("k", "score"), ("k", "stages"), ("s2", '"Buying intent"')} <= tokens
    times = {css for css, text in tokens if text in ("09:00", "12:30")}
    assert times and all("m" in css.split() for css in times)  # clock times are number tokens, never errors
    assert not [t for t in tokens if t[0] == "err"]


def _highlighted_tokens(page: str) -> set[tuple[str, str]]:
    """(CSS class, text) of every highlighted token on a page."""
    from html.parser import HTMLParser

    class Spans(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[str | None] = []
            self.found: set[tuple[str, str]] = set()

        def handle_starttag(self, tag, attrs):
            if tag == "span":
                self.stack.append(dict(attrs).get("class"))

        def handle_endtag(self, tag):
            if tag == "span" and self.stack:
                self.stack.pop()

        def handle_data(self, data):
            if self.stack and self.stack[-1]:
                self.found.add((self.stack[-1], data))

    parser = Spans()
    parser.feed(page)
    return parser.found


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site / "site"))

    class Quiet(handler.func):  # type: ignore[name-defined]
        def log_message(self, *args):
            pass
    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site / "site")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_reference_page_in_a_real_browser(served):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{served}/policies/inbound-b2b.html")
        assert page.locator("h1").first.inner_text() == "Inbound B2B leads"
        assert page.locator("svg.leadpolicy-stages g.stage").count() == 4
        assert page.locator("svg.leadpolicy-stages").bounding_box()["height"] > 200
        assert page.locator("svg.leadpolicy-chart circle.lead").count() == 13
        assert page.locator("svg.leadpolicy-chart .threshold").count() == 3
        assert "within 4 business hours" in page.locator("body").inner_text()
        headings = [h.strip() for h in page.locator("article h2").all_inner_texts()]
        for heading in ("Lead fields", "Scores", "Stages and handoff", "Routing", "Service-level agreements",
                        "Agreed sample cases", "Changelog", "Source"):
            assert any(h.startswith(heading) for h in headings), (heading, headings)
        page.locator("svg.leadpolicy-chart").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "inbound-b2b.png"), full_page=True)
        page.locator("svg.leadpolicy-chart").screenshot(path=str(shots / "inbound-b2b-chart.png"))
        browser.close()
    assert all(url.startswith(served) for url in requests), [u for u in requests if not u.startswith(served)]
    assert (shots / "inbound-b2b.png").stat().st_size > 10_000


def test_changelog_from_git_history(tmp_path):
    from leadpolicy.publish.site import changelog

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    text = (POLICIES / "inbound-b2b.policy").read_text()
    path = tmp_path / "inbound-b2b.policy"
    path.write_text(text)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "First agreed version")
    path.write_text(text.replace("2.1.0", "2.2.0").replace("target 95%", "target 90%"))
    git("commit", "-q", "-am", "Loosen speed to lead")
    entries = changelog(path)
    assert [e["version"] for e in entries] == ["2.2.0", "2.1.0"]
    assert entries[0]["summary"] == "speed_to_lead: target 95% → target 90%"
    assert entries[1]["summary"] == "First agreed version"
    assert changelog(POLICIES.parent / "nowhere" / "x.policy") == []


def test_the_changelog_says_comparisons_in_the_words_of_the_page(tmp_path):
    """`at least`, as the page's tables say it, never the policy's `>=`; text in quotes is as written."""
    from leadpolicy.publish.site import changelog

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)
    text = (POLICIES / "inbound-activity.policy").read_text()
    path = tmp_path / "inbound-activity.policy"
    path.write_text(text)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "First agreed version")
    old = "when demo_request in last 30 days and fit >= 40"
    assert old in text
    path.write_text(text.replace(old, "when demo_request in last 30 days and fit >= 50")
                    .replace('"A"  when priority >= 120', '"A"  when priority > 130 and fit != 0'))
    git("commit", "-q", "-am", "Stricter")
    summary = changelog(path)[0]["summary"]
    assert "fit is at least 40 → " in summary and "fit is at least 50" in summary, summary
    assert "priority is above 130 and fit is not 0" in summary, summary
    assert not re.search(r"[<>=]", summary.replace("→", "")), summary


XSS = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'


def test_a_hostile_policy_runs_no_script_in_a_real_browser(tmp_path):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    q = XSS.replace('"', "'")
    text = (f'policy "evil" version 1.0.0 {{\n  title "{q}"\n  owner a "{q}"\n  owner b "B"\n'
            f'  lead {{\n    t text\n  }}\n  score s "{q}" {{\n    +1 when t = "{q}" "{q}"\n  }}\n'
            f'  grade g from s {{\n    "{q}" when s >= 1\n    "x" otherwise\n  }}\n'
            f'  stages {{\n    hot when s >= 1 owner b\n    rest otherwise owner a\n  }}\n'
            f'  route for hot {{\n    "{q}" otherwise\n  }}\n}}\n')
    (tmp_path / "evil.policy").write_text(text)
    (tmp_path / "evil.samples.yaml").write_text(
        "policy: evil.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
        f"  - name: {json.dumps(q)}\n    lead: {{t: {json.dumps(q)}}}\n    expect: {{stage: hot}}\n")
    out = tmp_path / "site"
    pages, diags = render_site([str(tmp_path / "evil.policy")], out)
    assert pages and not [d for d in diags if d.is_error], diags
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(out / "mkdocs.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for name in ("index.html", "policies/evil.html"):
            page.goto((out / "site" / name).as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("window.__xss") is None, name
            assert page.locator("img[onerror]").count() == 0, name
            assert "onerror" in page.locator("body").inner_text()  # shown as text, not run
        browser.close()
    assert not dialogs


def test_plain_english_names_teams_and_counts_units(tmp_path):
    from leadpolicy.publish import english

    text = ('policy "x" version 1.0.0 {\n  owner inside_sales "A"\n  owner growth "B"\n  lead {\n    n number\n'
            '    seen timestamp\n  }\n  score plain {\n    +1 when n > 1\n  }\n  score faded {\n    +1 when n > 1\n'
            '    decay 10% every 1 days since seen\n  }\n  stages {\n    rest otherwise owner growth\n  }\n'
            '  sla fast {\n    owner inside_sales\n    from a until b\n    within 1 hours\n    target 90%\n  }\n'
            '  sla many {\n    owner inside_sales\n    at least 2 touch within 1 days after a\n'
            '    target 90%\n  }\n}\n')
    loaded = load_policy_text(text)
    assert not loaded.has_errors, loaded.diagnostics
    fast, many = loaded.policy.slas
    lowered = lower(loaded.policy)
    assert english.sla(fast, {}, lowered.slas[0]).startswith(
        "Inside sales commits that every lead with an a event gets a b event within 1 hour,")
    assert "within 1 day after a" in english.sla(many, {}, lowered.slas[1])
    faded = [s for s in lowered.scores if s.name == "faded"][0]
    assert english.decay(faded.decay) == "the total loses 10% for every day since seen"
    (tmp_path / "x.policy").write_text(text)
    page = render_site([str(tmp_path / "x.policy")], tmp_path / "out")[0][0].read_text()
    plain = page[page.index("plain"):page.index("faded")]
    assert "decay" not in plain.lower() and "Points are added up, then rounded to a whole number" in plain


def test_the_escalation_ladder_is_drawn_in_order_and_escaped(site):
    import xml.etree.ElementTree as ET

    from leadpolicy.publish.pictures import escalation_ladder
    from leadpolicy.semantics.loading import load_policy, load_policy_text

    policy = load_policy(POLICIES / "inbound-activity.policy").policy
    speed = next(s for s in policy.slas if s.name == "speed_to_lead")
    svg = ET.fromstring(escalation_ladder(speed))
    ns = "{http://www.w3.org/2000/svg}"
    steps = svg.findall(f"{ns}g[@class='step']")
    assert [(g.get("data-to"), g.get("data-percent")) for g in steps] == [("sales-manager", "100"), ("vp-sales", "200")]
    xs = [float(g.find(f"{ns}line").get("x1")) for g in steps]
    deadline = float(svg.find(f"{ns}line[@class='deadline']").get("x1"))
    warn = float(svg.find(f"{ns}g[@class='warn']/{ns}rect").get("x"))
    assert warn < deadline == xs[0] < xs[1]
    assert escalation_ladder(next(s for s in policy.slas if s.name == "follow_up")) == ""
    page = (site / "docs" / "policies" / "inbound-activity.md").read_text()
    assert page.count('class="leadpolicy-escalation"') == 1
    hostile = load_policy_text('policy "x" version 1.0.0 {\n title "T"\n owner a "A"\n owner b "B"\n lead { t text }\n'
                               ' stages {\n  rest otherwise owner a\n }\n sla s {\n  owner b\n  target 90%\n'
                               '  from x until y\n  within 1 hours\n  escalate to "<script>boss</script>" at 100%\n'
                               ' }\n}\n').policy
    drawn = escalation_ladder(hostile.slas[0])
    assert "<script>" not in drawn and ET.fromstring(drawn).find(f"{ns}g[@class='step']").get("data-to") == \
        "<script>boss</script>"


# ---------------------------------------------------------------- hostile policy texts, both ends of the docs extra

PAYLOADS = {
    "title": 'X </title><script>document.title="PWNED"</script>',
    "textarea": "</textarea><script>window.__xss=1</script>",
    "style": "</style><script>window.__xss=1</script>",
    "double-quote": '" onmouseover="window.__xss=1" autofocus onfocus="window.__xss=1" x="',
    "single-quote": "' onmouseover='window.__xss=1' autofocus onfocus='window.__xss=1' x='",
    "comment": "<!-- a --><img src=x onerror=window.__xss=1><!--",
    "script": "</script><script>window.__xss=1</script>",
    "entities": "&lt;img src=x onerror=window.__xss=1&gt; &#60;script&#62;window.__xss=1&#60;/script&#62;",
    "jinja": "{{ 7*7 }} {% if true %}JINJA{% endif %} {# c #} {{ config.site_name }}",
    "markdown": '[m](javascript:window.__xss=1) <a href="javascript:window.__xss=1">a</a> '
                '![i](x"onerror="window.__xss=1) *e* `c` <b>b</b> | t | # h',
    "attr-list": 'Leads {: tabindex=1 autofocus=1 onfocus="window.__xss=1" onmouseover="window.__xss=1" }',
    "attr-list-id": 'Leads {#i .c onmouseover="window.__xss=1" }',
    # A policy text holds no line break (check refuses control characters); a samples case name may.
    "line-breaks": 'Free-mail\r{: onmouseover="window.__xss=1" }\r\rstays\u2028{: onmouseover="window.__xss=1" }'
                   '\x85\x85{: onmouseover="window.__xss=1" }\v\f\x1c\n\n{: onmouseover="window.__xss=1" }',
}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _one_line(text: str) -> str:
    """`text` as a policy text or a case name may be: line breaks and control characters are refused there
    (`check`, and so `docs`, fail them), so they become spaces; lead values keep them."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text)


def _hostile_policy(name: str, text: str) -> str:
    """A policy whose every free text is `text`: title, people, labels (of events too), reasons, SLA,
    escalation, recycling."""
    q = _quoted(_one_line(text))
    return (f'policy "{name}" version 1.0.0 {{\n  title {q}\n  owner a {q}\n  owner b "B"\n'
            f'  lead {{\n    t text\n  }}\n  events {{\n    e1 {q}\n    e2\n    e3 {q}\n  }}\n'
            f'  score s {q} {{\n    +1 when t = {q} {q}\n    +1 when e1 in last 3 days {q}\n  }}\n'
            f'  grade g from s {{\n    {q} when s >= 1\n    "x" otherwise\n  }}\n'
            f'  stages {{\n    hot when s >= 1 owner b\n    rest otherwise owner a\n  }}\n'
            f'  route for hot {{\n    {q} otherwise\n  }}\n'
            f'  sla fast {q} {{\n    owner b\n    from e1 until e2\n    within 1 hours\n    target 90%\n'
            f'    escalate to {q} at 100%\n  }}\n'
            f'  recycle {{\n    e3 because {q} to rest after 3 days\n  }}\n}}\n')


def _hostile_sources(folder: Path, benign: bool) -> list[Path]:
    """One policy per payload (with a samples file naming a case by it); `benign`: the same texts with
    every character but spaces an `x`, so the pages are laid out alike."""
    folder.mkdir(parents=True)
    paths = []
    for name, payload in PAYLOADS.items():
        text = re.sub(r"\S", "x", payload) if benign else payload
        path = folder / f"{name}.policy"
        path.write_text(_hostile_policy(name, text))
        (folder / f"{name}.samples.yaml").write_text(
            f"policy: {name}.policy\nnow: 2026-11-20T12:00:00Z\nleads:\n"
            f"  - name: {json.dumps(_one_line(text))}\n    lead: {{t: {json.dumps(text)}}}\n"
            "    events: [{event: e1, at: 2026-11-19T12:00:00Z}]\n    expect: {stage: hot}\n")
        paths.append(path)
    return paths


def _docs_extra_lower_bounds() -> dict[str, str]:
    import tomllib

    docs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    bounds = dict(re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", d).groups() for d in docs)
    assert set(bounds) == {"mkdocs", "mkdocs-material"}, docs
    return bounds


@pytest.fixture(scope="session")
def lowest_mkdocs() -> tuple[dict[str, str], Path]:
    """The docs extra's lower bounds (MkDocs and MkDocs Material), installed once into a cache folder."""
    bounds = _docs_extra_lower_bounds()
    target = ROOT / "build" / "mkdocs-lowest" / "-".join(f"{k}-{v}" for k, v in sorted(bounds.items()))
    if not (target / ".installed").exists():
        shutil.rmtree(target, ignore_errors=True)
        result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                 "--target", str(target), *(f"{k}=={v}" for k, v in bounds.items())],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        (target / ".installed").write_text("")
    return bounds, target


def _mkdocs_env(which: str, lowest) -> dict[str, str]:
    import os

    env = dict(os.environ)
    if which == "lowest":
        bounds, target = lowest
        env["PYTHONPATH"] = str(target)
        found = subprocess.run([sys.executable, "-c", "from importlib.metadata import version as v; "
                                "print(v('mkdocs'), v('mkdocs-material'))"], env=env, capture_output=True, text=True)
        versions = found.stdout.split()
        assert [_release(v) for v in versions] == [_release(bounds[k]) for k in ("mkdocs", "mkdocs-material")], found
    return env


def _release(version: str) -> tuple[int, ...]:
    """`1.6` and `1.6.0` alike: the release numbers without trailing zeros."""
    numbers = [int(part) for part in version.split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _built(tmp_path: Path, benign: bool, env: dict[str, str]) -> Path:
    out = tmp_path / ("benign" if benign else "hostile")
    pages, diags = render_site([str(p) for p in _hostile_sources(out / "src", benign)], out)
    assert len(pages) == len(PAYLOADS) and not [d for d in diags if d.is_error], diags
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(out / "mkdocs.yml")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return out / "site"


def _markup(page: str) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    """Every element as (tag, its attribute names), and the text of every script and style element."""
    from html.parser import HTMLParser

    class Markup(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.elements: list[tuple[str, tuple[str, ...]]] = []
            self.code: list[str] = []
            self.inside: str | None = None

        def handle_starttag(self, tag, attrs):
            self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))
            self.inside = tag if tag in ("script", "style") else None

        def handle_startendtag(self, tag, attrs):
            self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))

        def handle_data(self, data):
            if self.inside:
                self.code.append(data)

        def handle_endtag(self, tag):
            self.inside = None

    parser = Markup()
    parser.feed(page)
    parser.close()
    return parser.elements, parser.code


@pytest.fixture(scope="module", params=["installed", "lowest"])
def hostile_sites(request, tmp_path_factory, lowest_mkdocs):
    env = _mkdocs_env(request.param, lowest_mkdocs if request.param == "lowest" else None)
    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    return _built(folder, False, env), _built(folder, True, env)


def test_no_element_or_attribute_comes_from_policy_text(hostile_sites):
    hostile, benign = hostile_sites
    pages = sorted(p.relative_to(hostile) for p in hostile.rglob("*.html"))
    assert len([p for p in pages if p.parts[0] == "policies"]) == len(PAYLOADS)
    for page in pages:
        elements, code = _markup((hostile / page).read_text("utf-8"))
        expected, _ = _markup((benign / page).read_text("utf-8"))
        assert elements == expected, (page, [e for e in elements if e not in expected])
        assert not [c for c in code if "__xss" in c or "PWNED" in c], page


def test_hostile_policy_texts_run_no_script_in_chromium_and_read_as_written(hostile_sites):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    hostile, _ = hostile_sites
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((hostile / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None and page.title() == "Lead policies"
        for name, payload in PAYLOADS.items():
            page.goto((hostile / "policies" / f"{name}.html").as_uri())
            page.wait_for_load_state("load")
            page.hover("body")
            assert page.evaluate("window.__xss") is None, name
            written = " ".join(payload.split())
            assert page.title() == f"{written} - Lead policies", name
            assert " ".join(page.locator("article h1").first.inner_text().split()) == written, name
            assert " ".join(page.locator("nav.md-nav--primary .md-nav__link--active").first.inner_text().split()) \
                == written, name
        with _serving(hostile) as url:  # the search runs in a worker, which file:// pages do not start
            page.goto(f"{url}/index.html")
            page.wait_for_load_state("networkidle")
            page.keyboard.press("s")  # Material's key for the search box; results come as one types
            page.keyboard.type("points", delay=20)  # a word of every policy's score section
            results = page.locator(".md-search-result__link")
            results.first.wait_for(timeout=20_000)
            assert results.count() >= 2
            for i in range(results.count()):
                results.nth(i).hover()
            assert page.evaluate("window.__xss") is None
            handlers = page.evaluate("[...document.querySelectorAll('.md-search-result *')].flatMap("
                                     "e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))")
            assert handlers == [] and page.locator(".md-search-result img, .md-search-result script").count() == 0
        browser.close()
    assert not dialogs


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on 127.0.0.1, quietly."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass
    server = socketserver.TCPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# What a template may print without `md`: names the grammar limits to letters, digits and `_`/`-`,
# numbers and words leadpolicy writes, pictures drawn escaped, the SLA sentences `md_with_emphasis`
# escaped, and the source inside a code fence.
PRINTED_AS_IS = {"p.id", "s.name", "fingerprint", "approval.status", "p.effective", "r.points", "loop.index",
                 "r.after", "s.ladder_svg", "t.picture_svg", "stages_svg", "chart_svg", "s.text", "source", "e.date",
                 "p.approval",
                 # plain English written by publish.site's Prose (escaped by `md`, then events marked up)
                 "r.rule", "note", "e.when", "s.when", "r.event", "e", "now", "c.now", "g.claim"}


def _printed(node) -> str:
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        return f"{_printed(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return _printed(node.node)
    return getattr(node, "name", type(node).__name__)


def test_every_value_a_template_prints_is_escaped_or_known_safe():
    from jinja2 import nodes

    from leadpolicy.publish.site import environment

    env = environment()
    for name in ("policy.md.j2", "index.md.j2", "mkdocs.yml.j2"):
        source = env.loader.get_source(env, name)[0]
        printed = [n for output in env.parse(source).find_all(nodes.Output) for n in output.nodes
                   if not isinstance(n, nodes.TemplateData)]
        assert printed, name
        for node in printed:
            filters = []
            while isinstance(node, nodes.Filter):
                filters.append(node.name)
                node = node.node
            if isinstance(node, nodes.CondExpr):  # "✓ agreed" if passed else "…" ~ (failures | md)
                continue
            assert "md" in filters or filters[-2:] == ["tojson", "e"] or _printed(node) in PRINTED_AS_IS, (
                name, _printed(node), filters)


def test_sla_emphasis_is_only_leadpolicys_even_when_a_text_holds_its_marks():
    import functools

    from leadpolicy.language.formatter import format_policy
    from leadpolicy.publish import english
    from leadpolicy.publish.site import md_with_emphasis

    text = ('policy "x" version 1.0.0 {\n title "T"\n owner a "A"\n owner b "B"\n lead { t text }\n'
            ' stages {\n  rest otherwise owner a\n }\n sla s {\n  owner b\n  target 90%\n  from x_in until y\n'
            '  within 1 hours\n  escalate to "\ue000*boss*\ue001 \ue002_lead_\ue003" at 100%\n }\n}\n')
    policy = load_policy_text(text).policy
    sentence = md_with_emphasis(functools.partial(english.sla, policy.slas[0], {}, lower(policy).slas[0]),
                                format_policy(policy))
    assert sentence.startswith('B commits that every lead with a <em title="x_in">x in</em> event gets a '
                               '<em title="y">y</em> event within 1 hour')
    assert '"\ue000\\*boss\\*\ue001 \ue002\\_lead\\_\ue003"' in sentence
    assert sentence.count("<") == 4  # the two events' emphasis, no more


@pytest.mark.parametrize("subject", [
    "x\r--output={outside}\t2020-01-01\tforged",
    "x\rHEAD~1\t1999-12-31\tFORGED ENTRY",
    "\r",
    "a\x1cb\x85c\u2028d\u2029e",
])
def test_changelog_reads_one_entry_per_commit_whatever_its_subject(tmp_path, subject):
    from leadpolicy.publish.site import changelog

    outside = tmp_path / "outside.txt"
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                       capture_output=True)
    text = (POLICIES / "inbound-b2b.policy").read_text()
    path = repo / "inbound-b2b.policy"
    path.write_text(text)
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "First agreed version")
    path.write_text(text.replace("2.1.0", "2.2.0"))
    git("commit", "-q", "--cleanup=verbatim", "-am", subject.format(outside=outside))
    entries = changelog(path)
    assert [e["version"] for e in entries] == ["2.2.0", "2.1.0"]
    assert [e["date"] for e in entries if e["date"] in ("2020-01-01", "1999-12-31")] == []
    assert not outside.exists()
