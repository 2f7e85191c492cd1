"""The try-it page of `leadpolicy serve` (/ui/), in Chromium against a real server: a reference sample lead filled
in shows its agreed decision; a copied case passes `leadpolicy test`; hostile policy texts and lead values never
run as script and read as written; keyboard-only use with a name on every input; the token asked for on 401.
Without a browser, the routes themselves: static files only, the JSON a trial answers, nothing logged."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import shutil
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
import yaml

from .conftest import POLICIES
from .test_serve import TOKEN, Server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HOSTILE_TITLE = "<img src=x onerror='window.__pwned=1'></script><script>window.__pwned=2</script>"
HOSTILE_REASON = "<img src=x onerror='window.__pwned=5'>"
HOSTILE_LABEL = "<img src=x onerror='window.__pwned=4'>"
HOSTILE_VALUE = "</script><script>window.__pwned=7</script><img src=x onerror='window.__pwned=8'>@x.io"
HOSTILE_POLICY = f"""\
policy "hostile" version 1.0.0 {{
  title "{HOSTILE_TITLE}"
  owner marketing "Mal <script>window.__pwned=3</script> <mal@example.com>"
  owner sales     "Raj Patel <raj@example.com>"
  timezone "Europe/Paris"

  lead {{
    email      text required
    employees  number
    signed_up  date
    demo       yes/no
    seen_at    timestamp
    plan       one of ("<b>free</b>", "team")
  }}

  events {{
    clicked  "{HOSTILE_LABEL}"
  }}

  score fit "<i>Fit</i>" {{
    +40 when employees >= 200         "{HOSTILE_REASON}"
    +10 when plan = "<b>free</b>"     "</script><script>window.__pwned=6</script>"
    +20 when clicked in last 30 days  "Clicked lately"
  }}

  stages {{
    sql      when fit >= 40 and demo  owner sales
    nurture  otherwise                owner marketing
  }}
}}
"""
DEFAULTS_POLICY = """\
policy "defaults" version 1.0.0 {
  title "Defaults"
  owner marketing "Ana <ana@example.com>"
  owner sales     "Raj <raj@example.com>"

  lead {
    email      text default "nobody \\"here\\"@x.io"
    employees  number default 12.5
    demo       yes/no default no
    trial      yes/no default yes
    signed_up  date default 2026-01-02
    plan       one of ("free", "team") default "TEAM"
  }

  score fit {
    +40 when employees >= 200  "Big"
  }

  stages {
    sql      when fit >= 40 and demo  owner sales
    nurture  otherwise                owner marketing
  }
}
"""
# served beside the others, it does not load: an unknown name
BROKEN_POLICY = DEFAULTS_POLICY.replace('"defaults"', '"broken"').replace("employees >= 200", "employes >= 200")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tryit") / "policies"
    folder.mkdir()
    shutil.copy(EXAMPLES / "inbound-teams.policy", folder)
    shutil.copy(POLICIES / "inbound-activity.policy", folder)
    (folder / "hostile.policy").write_text(HOSTILE_POLICY, "utf-8")
    (folder / "defaults.policy").write_text(DEFAULTS_POLICY, "utf-8")
    (folder / "broken.policy").write_text(BROKEN_POLICY, "utf-8")
    (folder.parent / "token.txt").write_text(TOKEN + "\n")
    log = folder.parent / "decisions.jsonl"
    server = Server(folder, "--token-file", str(folder.parent / "token.txt"), "--decision-log", str(log))
    server.decision_log = log  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture()
def open_page(browser, served):
    """A page of the try-it UI in a fresh context (its own sessionStorage); `token`: given up front, as a
    reviewer who entered it earlier in the session would have it."""
    contexts = []

    def open_(path: str, token: str | None = TOKEN):
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=f"http://127.0.0.1:{served.port}")
        contexts.append(context)
        if token is not None:
            context.add_init_script(f"sessionStorage.setItem('leadpolicy-token', {json.dumps(token)})")
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
        page.goto(path if path.startswith("http://") else f"http://127.0.0.1:{served.port}{path}")
        return page

    yield open_
    for context in contexts:
        context.close()


def local(value, zone: str) -> str:
    """An instant of a samples file as a datetime-local input takes it: the wall time in the policy's zone."""
    instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def field_input(page, name: str):
    return page.get_by_label(name, exact=True)


def fill_lead(page, lead: dict, events: list, now, zone: str = "America/New_York") -> None:
    """Fill the form as a reviewer would: each field by its label, each event as a row, then now."""
    for name, value in lead.items():
        box = field_input(page, name)
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option("true" if value is True else "false" if value is False else str(value))
        else:
            box.fill(str(value))
    for number, event in enumerate(events, start=1):
        page.get_by_role("button", name="Add an event").click()
        page.locator(f"#event-{number}").select_option(event["event"])
        page.locator(f"#event-at-{number}").fill(local(event["at"], zone))
    page.get_by_label("now", exact=True).fill(local(now, zone))
    # filled last: once the decision shown is at this now, it is the decision of the whole form
    page.locator("#decision dl.outcome dd", has_text=local(now, zone)).wait_for()


def decided(page, stage: str) -> None:
    """Wait until the decision region shows `stage`."""
    page.locator("#decision .stage", has_text=stage).wait_for()


REFERENCES = {"inbound-teams": EXAMPLES, "inbound-activity": POLICIES}  # the v3 and v2 references


def sample_leads(policy: str = "inbound-teams") -> tuple[dict, list[dict]]:
    """A reference's samples file and its lead cases that expect a stage (as agreed, never restated here)."""
    samples = yaml.safe_load((REFERENCES[policy] / f"{policy}.samples.yaml").read_text("utf-8"))
    cases = [c for c in samples["leads"] if "invalid" not in c["expect"] and "stage" in c["expect"]]
    return samples, cases


# In the browser --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "index"), [("inbound-teams", 0), ("inbound-teams", 6), ("inbound-activity", 2)])
def test_a_reference_sample_lead_filled_in_shows_its_agreed_decision(open_page, policy, index):
    samples, cases = sample_leads(policy)
    case = cases[index]
    page = open_page(f"/ui/{policy}")
    fill_lead(page, case["lead"], case.get("events", []), case.get("now", samples["now"]))
    expect = case["expect"]
    decided(page, expect["stage"])
    outcome = dict(zip(page.locator("#decision dl.outcome dt").all_inner_texts(),
                       page.locator("#decision dl.outcome dd").all_inner_texts()))
    assert outcome["route"] == (expect["route"] if expect.get("route") else "none")
    for score in ("fit", "engagement", "priority"):
        if score in expect:
            assert page.locator("#decision caption", has_text=f"{score} {expect[score]}").count() == 1
    if "tier" in expect:
        assert outcome["tier"] == expect["tier"]
    for score, labels in expect.get("fired", {}).items():
        table = page.locator("#decision table", has=page.locator("caption", has_text=score))
        assert sorted(table.locator("tbody td:nth-child(2)").all_inner_texts()) == sorted(labels)
    not_reached = page.locator("#decision .why-not li").all_inner_texts()
    assert len(not_reached) == 3 and not any(line.startswith(f"not {expect['stage']}:") for line in not_reached)
    assert page.errors == []


def test_why_not_names_each_stage_not_reached_and_the_team_of_the_route(open_page):
    page = open_page("/ui/inbound-teams")
    fill_lead(page, {"email": "li@acme-parts.com", "employees": 1500, "industry": "software"}, [],
              "2026-11-20T12:00:00-05:00")
    decided(page, "nurture")
    why = {line.split(":")[0]: line for line in page.locator("#decision .why-not li").all_inner_texts()}
    assert set(why) == {"not disqualified", "not sql", "not mql"}
    assert "demo_request" in why["not sql"] and "engagement 0 < 30" in why["not mql"]
    page.get_by_role("button", name="Add an event").click()
    page.locator("#event-1").select_option("demo_request")
    page.locator("#event-at-1").fill("2026-11-19T10:00:00")
    decided(page, "sql")
    outcome = dict(zip(page.locator("#decision dl.outcome dt").all_inner_texts(),
                       page.locator("#decision dl.outcome dd").all_inner_texts()))
    assert outcome["route"] == "enterprise-ae" and outcome["team"] == "Enterprise AEs (enterprise-ae)"
    why = page.locator("#decision .why-not li").all_inner_texts()
    assert any(line.startswith("not mql: sql comes first") for line in why)
    page.get_by_role("button", name="Remove event 1").click()  # the row removed: the lead did nothing again
    decided(page, "nurture")
    assert page.locator("#events tr").count() == 0


def test_a_copied_case_passes_leadpolicy_test(open_page, tmp_path):
    samples, cases = sample_leads()
    case = cases[0]
    page = open_page("/ui/inbound-teams")
    page.get_by_label("case name", exact=True).fill("Agreed in review: a big software lead asking for a demo")
    fill_lead(page, case["lead"], case.get("events", []), case.get("now", samples["now"]))
    decided(page, case["expect"]["stage"])
    page.get_by_role("button", name="Copy the lead as a samples case").click()
    page.locator("#copy-status", has_text="Copied").wait_for()  # Copy awaits the try, then shows and copies
    shown = page.locator("pre#case")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown.inner_text() + ("\n" if not shown.inner_text().endswith("\n") else "")
    pasted = yaml.safe_load(copied)[0]
    assert pasted["name"] == "Agreed in review: a big software lead asking for a demo"
    assert pasted["expect"]["stage"] == case["expect"]["stage"] and pasted["lead"] == case["lead"]
    shutil.copy(EXAMPLES / "inbound-teams.policy", tmp_path)
    samples_file = tmp_path / "inbound-teams.samples.yaml"
    samples_file.write_text("policy: inbound-teams.policy\nleads:\n" + copied, "utf-8")
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "test", str(samples_file)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1/1" in result.stdout or "1 passed" in result.stdout, result.stdout


def copied_and_shown(page) -> tuple[dict, str]:
    """The case on the clipboard once Copy has said so, and the text the page shows."""
    page.locator("#copy-status", has_text="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    shown = page.locator("pre#case").inner_text()
    assert copied.rstrip("\n") == shown.rstrip("\n")  # the clipboard holds what the page shows
    return yaml.safe_load(copied)[0], shown


@pytest.mark.parametrize("press", ["click", "tab-enter"])
def test_copy_right_after_an_edit_copies_the_edited_case(open_page, press):
    """Copy pressed within the pause before a try (a name just typed, a field just changed) copies the case of
    the form as it is now, not the answer to the form before the edit."""
    page = open_page("/ui/inbound-teams")
    fill_lead(page, {"email": "li@acme-parts.com", "employees": 10}, [], "2026-11-20T12:00:00-05:00")
    decided(page, "nurture")
    copy = page.get_by_role("button", name="Copy the lead as a samples case")
    name = page.get_by_label("case name", exact=True)
    name.fill("Typed just before Copy")
    if press == "click":
        copy.click()
    else:
        name.press("Tab")
        page.keyboard.press("Enter")
    case, _ = copied_and_shown(page)
    assert case["name"] == "Typed just before Copy"
    field_input(page, "employees").fill("1500")
    copy.click()
    case, shown = copied_and_shown(page)
    assert case["lead"]["employees"] == 1500 and case["name"] == "Typed just before Copy"
    assert yaml.safe_load(shown)[0] == case
    field_input(page, "employees").fill("20")  # the case shown follows the form: "Copied" no longer holds
    page.locator("#copy-status", has_text="changed since it was copied").wait_for()
    assert yaml.safe_load(page.locator("pre#case").inner_text())[0]["lead"]["employees"] == 20


def test_a_copied_case_that_disagrees_fails_leadpolicy_test(open_page, tmp_path):
    """The case says what was decided: changed by hand to another stage, `leadpolicy test` fails it (so the
    test above would catch a case that says nothing)."""
    page = open_page("/ui/inbound-teams")
    fill_lead(page, {"email": "li@acme-parts.com", "employees": 10}, [], "2026-11-20T12:00:00-05:00")
    decided(page, "nurture")
    page.get_by_role("button", name="Copy the lead as a samples case").click()
    page.locator("#copy-status", has_text="Copied").wait_for()
    text = page.locator("pre#case").inner_text()
    assert "stage: nurture" in text
    shutil.copy(EXAMPLES / "inbound-teams.policy", tmp_path)
    samples_file = tmp_path / "inbound-teams.samples.yaml"
    samples_file.write_text("policy: inbound-teams.policy\nleads:\n" + text.replace("stage: nurture", "stage: mql"))
    result = subprocess.run([sys.executable, "-m", "leadpolicy", "test", str(samples_file)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr


def test_hostile_policy_texts_and_lead_values_never_run_and_read_as_written(open_page):
    page = open_page("/ui/hostile")
    page.locator("#decision .problem").first.wait_for()  # email is required: not decided yet, and said so
    assert page.locator("h1#title").inner_text() == HOSTILE_TITLE
    english = page.locator("#english-body")
    assert english.get_by_text(HOSTILE_REASON, exact=True).count() == 1
    assert page.locator("#event-1").count() == 0
    page.get_by_role("button", name="Add an event").click()
    assert page.locator("#event-1 option").first.inner_text() == f"{HOSTILE_LABEL} (clicked)"
    field_input(page, "email").fill(HOSTILE_VALUE)
    field_input(page, "employees").fill("500")
    field_input(page, "plan").select_option("<b>free</b>")
    field_input(page, "demo").select_option("true")
    decided(page, "sql")
    assert page.locator("#decision table", has_text=HOSTILE_REASON).count() == 1
    page.get_by_role("button", name="Copy the lead as a samples case").click()
    page.locator("#copy-status", has_text="Copied").wait_for()
    assert yaml.safe_load(page.locator("pre#case").inner_text())[0]["lead"]["email"] == HOSTILE_VALUE
    # nothing ran: no handler fired, no element was made from a text, no script but the page's own
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img, b, i, script:not([src])").count() == 0
    assert page.errors == []
    index = open_page("/ui/")
    index.get_by_role("link", name=HOSTILE_TITLE).wait_for()
    assert index.evaluate("window.__pwned") is None and index.locator("img").count() == 0


def test_the_index_lists_the_policies_served_and_the_files_not_loaded_with_why(open_page, served):
    page = open_page("/ui/")
    page.get_by_role("link", name="Defaults").wait_for()
    _, listed = served.call("GET", "/v1/policies")
    assert len(listed["policies"]) == 4 and len(listed["not_loaded"]) == 1
    assert page.locator("#status").inner_text() == "4 policies served; 1 file not loaded."
    broken = page.locator("#not-loaded li")
    assert broken.count() == 1
    said = broken.inner_text()
    assert said.startswith("broken.policy") and "unknown-name" in said
    for line in listed["not_loaded"][0]["error"]:  # every line of the reason /v1/policies gives, as it gives it
        assert broken.get_by_text(line, exact=True).count() == 1
    assert broken.locator("a").count() == 0  # nothing to try


def test_a_policy_that_did_not_load_shows_why_and_no_form(open_page, served):
    page = open_page("/ui/broken")
    page.locator("#status", has_text="no policy 'broken' is served").wait_for()
    _, listed = served.call("GET", "/v1/policies")
    reason = page.locator("#not-loaded li")
    reason.first.wait_for()
    for line in listed["not_loaded"][0]["error"]:
        assert reason.get_by_text(line, exact=True).count() == 1
    for hidden in ("#workspace", "#lead-form", "#copy-case", "#decision"):
        assert page.locator(hidden).is_hidden(), hidden
    other = open_page("/ui/no-such-policy")  # no file of that name: the API's 404 alone, and still no form
    other.locator("#status", has_text="no policy 'no-such-policy' is served").wait_for()
    assert other.locator("#not-loaded li").count() == 0 and other.locator("#workspace").is_hidden()
    assert page.errors == [] and other.errors == []


def test_one_policy_served_is_said_in_the_singular(open_page, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "defaults.policy").write_text(DEFAULTS_POLICY, "utf-8")
    alone = Server(folder)
    try:
        page = open_page(f"http://127.0.0.1:{alone.port}/ui/", token=None)
        page.locator("#status", has_text="served").wait_for()
        assert page.locator("#status").inner_text() == "1 policy served."
    finally:
        alone.stop()


def test_each_default_is_said_as_the_policy_language_writes_it(open_page):
    page = open_page("/ui/defaults")
    page.locator("#decision .stage").wait_for()
    hints = {name: page.locator(f"#field-{i}-type").inner_text()
             for i, name in enumerate(["email", "employees", "demo", "trial", "signed_up", "plan"])}
    assert hints["email"].endswith('default "nobody \\"here\\"@x.io"')
    assert hints["employees"].endswith("default 12.5")
    assert hints["demo"] == "yes/no, default no" and hints["trial"] == "yes/no, default yes"
    assert hints["signed_up"].endswith("default 2026-01-02")
    assert hints["plan"].endswith('default "team"')  # the choice as declared, as the lead holds it


def test_keyboard_only_every_input_is_reached_and_named(open_page):
    page = open_page("/ui/inbound-teams")
    page.locator("#decision > *").first.wait_for()
    page.get_by_role("button", name="Add an event").focus()
    page.keyboard.press("Enter")  # a new row, its event picker focused
    assert page.evaluate("document.activeElement.id") == "event-1"
    inputs = page.locator("main input:visible, main select:visible, main button:visible")
    wanted = set(inputs.evaluate_all("els => els.map(e => e.id || e.textContent)"))
    page.locator("body").focus()
    page.mouse.click(1, 1)
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert wanted <= set(reached), wanted - set(reached)
    names = inputs.evaluate_all("""els => els.map(e => [e.id || e.textContent,
        e.tagName === 'BUTTON' ? (e.getAttribute('aria-label') || e.textContent).trim()
                               : [...e.labels].map(l => l.textContent.trim()).join(' ')])""")
    assert all(name for _, name in names), names
    labelled = dict(names)
    assert [labelled[f"field-{i}"] for i in range(4)] == ["email", "employees", "industry", "source"]
    assert page.locator("#decision").get_attribute("aria-live") == "polite"
    # typed with the keyboard alone: a lead decided, its stage announced in the live region
    field_input(page, "email").focus()
    page.keyboard.type("ana@bigsoft.io")
    page.keyboard.press("Tab")
    page.keyboard.type("1200")
    decided(page, "nurture")


def test_the_page_asks_for_the_token_and_works_once_it_is_given(open_page):
    page = open_page("/ui/inbound-teams", token=None)
    token = page.get_by_label("Token", exact=True)
    token.wait_for()
    assert page.evaluate("document.activeElement.id") == "token"
    token.fill("not-the-token")
    token.press("Enter")
    page.get_by_text("The token was not accepted").wait_for()
    token.fill(TOKEN)
    token.press("Enter")
    page.get_by_text("Not decided: invalid lead").wait_for()  # the empty form, decided with the token
    assert page.locator("#token-form").is_hidden()
    assert page.evaluate("sessionStorage.getItem('leadpolicy-token')") == TOKEN
    field_input(page, "email").fill("ana@bigsoft.io")
    decided(page, "nurture")


# The routes, without a browser -----------------------------------------------------------------------------


def test_the_pages_are_open_static_and_forbid_any_other_script(served):
    for path in ("/ui/", "/ui/inbound-teams", "/ui/no-such-policy"):
        status, page = served.call("GET", path, token=None)
        assert status == 200 and "<script src=\"static/tryit.js\" defer></script>" in page
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/ui/inbound-teams")
    response = connection.getresponse()
    policy = response.getheader("content-security-policy")
    connection.close()
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/ui")
    response = connection.getresponse()
    assert response.status == 308 and response.getheader("location") == "ui/"  # relative: kept behind a proxy's prefix
    connection.close()
    assert served.call("GET", "/ui/static/tryit.js", token=None)[0] == 200
    for path in ("/ui/static/index.html.bak", "/ui/static/..%2f..%2fapp.py", "/ui/static/%2e%2e%2fapp.py"):
        status, _ = served.call("GET", path, token=None)
        assert status == 404, path


def test_the_json_of_the_page_needs_the_token(served):
    assert served.call("GET", "/ui/api/policies/inbound-teams", token=None)[0] == 401
    assert served.call("POST", "/ui/api/policies/inbound-teams/try", "{}", token=None)[0] == 401
    status, body = served.call("GET", "/ui/api/policies/inbound-tems")
    assert status == 404 and "inbound-teams" in body["hint"]


def test_a_policy_described_for_the_form_in_the_published_page_s_words(served):
    status, body = served.call("GET", "/ui/api/policies/inbound-teams")
    assert status == 200
    assert [(f["name"], f["type"]) for f in body["fields"]] == [
        ("email", "text"), ("employees", "number"), ("industry", "one of"), ("source", "one of")]
    assert body["timezone"] == "America/New_York"
    assert {"name": "demo_request", "label": "Asked for a demo"} in body["events"]
    stages = {s["name"]: s["when"] for s in body["english"]["stages"]}
    assert stages["sql"] == "“Asked for a demo” in the last 30 days and fit is at least 40"
    assert stages["nurture"] == "otherwise"
    routes = body["english"]["routes"][0]["entries"]
    assert [(e["label"], e["team"]) for e in routes] == [("enterprise-ae", "Enterprise AEs"),
                                                          ("inbound-sdr", "Inbound SDRs")]


def test_a_trial_answers_as_decide_and_is_neither_logged_nor_counted(served):
    request = {"lead": {"email": "ana@bigsoft.io", "employees": 1200, "industry": "software"},
               "events": [{"event": "demo_request", "at": "2026-11-18T10:00"}], "now": "2026-11-20T12:00"}
    status, decision = served.decide("inbound-teams", {**request, "explain": True})
    assert status == 200
    logged = served.decision_log.read_text().count("\n")
    status, tried = served.call("POST", "/ui/api/policies/inbound-teams/try", json.dumps({**request, "name": "x"}))
    assert status == 200
    assert {k: tried[k] for k in decision} == decision
    assert tried["team"] == {"name": "enterprise-ae", "label": "Enterprise AEs"}
    assert [w["stage"] for w in tried["why_not"]] == ["disqualified", "mql", "nurture"]
    case = yaml.safe_load(tried["case"])[0]
    assert case["now"] == "2026-11-20T12:00:00-05:00"
    assert case["events"] == [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]
    assert case["expect"]["stage"] == "sql" and case["expect"]["fired"]["engagement"] == ["Demo request, last 30 days"]
    assert served.decision_log.read_text().count("\n") == logged
    _, metrics = served.call("GET", "/metrics", token=None)
    assert 'leadpolicy_requests_total{endpoint="ui-try",status="200"}' in metrics
    status, refused = served.call("POST", "/ui/api/policies/inbound-teams/try",
                                  json.dumps({"lead": {"email": "a@b.io", "employees": "many"}}))
    assert status == 400 and refused["fields"][0]["field"] == "employees"
    status, refused = served.call("POST", "/ui/api/policies/inbound-teams/try",
                                  json.dumps({"lead": {"email": "a@b.io"}, "name": 5}))
    assert status == 400 and refused["error"].startswith("name:")


def test_the_openapi_document_names_the_page_s_json(served):
    from openapi_spec_validator import validate

    _, document = served.call("GET", "/openapi.json", token=None)
    validate(document)
    assert {"/ui/api/policies/{policy_id}", "/ui/api/policies/{policy_id}/try"} <= set(document["paths"])


def test_serve_says_the_page_s_address_when_it_starts(served):
    printed = re.findall(r"http://[^\s]+/ui/", served.log.read_text("utf-8"))
    assert printed == [f"http://127.0.0.1:{served.port}/ui/"]
    status, page = served.call("GET", printed[0].split(str(served.port), 1)[1], token=None)
    assert status == 200 and 'data-page="index"' in page


def test_docs_say_where_the_page_is():
    text = (ROOT / "docs" / "serve.md").read_text("utf-8")
    section = text.split("## Try it in a browser", 1)[1].split("\n## ", 1)[0]
    assert "http://127.0.0.1:8181/ui/" in section and "leadpolicy test" in section


def test_the_page_s_script_never_writes_markup():
    """Every text reaches the page as text: the script has no sink that parses HTML (the hostile test above
    shows it in a browser; this keeps a new sink from being added where no test types a hostile text)."""
    script = (ROOT / "src" / "leadpolicy" / "service" / "ui" / "tryit.js").read_text("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setTimeout(\"", "DOMParser"):
        assert sink not in script, sink
    for page in ("index.html", "policy.html"):
        html = (ROOT / "src" / "leadpolicy" / "service" / "ui" / page).read_text("utf-8")
        assert html.count("<script") == 1 and '<script src="static/tryit.js" defer></script>' in html
        assert re.search(r"\son[a-z]+\s*=", html) is None  # no inline handler: CSP would refuse it anyway
