"""`leadpolicy explain` sees the whole lead: its record, its events (--events, or the samples case shape in
--lead) and its `now`, read by the readers `leadpolicy test` uses; what cannot be used is bad usage."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
import yaml

from leadpolicy.cli.main import main

from .conftest import POLICIES

ACTIVITY = str(POLICIES / "inbound-activity.policy")
SAMPLES = yaml.safe_load((POLICIES / "inbound-activity.samples.yaml").read_text("utf-8"))


def _text(value) -> str:
    """A YAML scalar as the samples file wrote it (PyYAML reads timestamps as datetimes)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _case(index: int) -> dict:
    """A lead case of the samples file as plain JSON values: lead, events, now and what `test` expects."""
    case = SAMPLES["leads"][index]
    events = [{"event": e["event"], "at": _text(e["at"])} for e in case.get("events") or []]
    return {"lead": case["lead"], "events": events, "now": _text(case.get("now", SAMPLES["now"])),
            "expect": case["expect"]}


def _explain(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["explain", ACTIVITY, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _decided(out: str) -> dict:
    data = json.loads(out)
    return {**data["scores"], **data["grades"], "stage": data["stage"], "owner": data["owner"],
            "route": data["route"]}


def _expected(case: dict) -> dict:
    return {k: v for k, v in case["expect"].items() if k != "fired"}


def test_the_first_case_explained_with_its_events_decides_as_test_expects(capsys):
    case = _case(0)
    code, out, err = _explain(capsys, "--lead", json.dumps(case["lead"]), "--events", json.dumps(case["events"]),
                              "--now", case["now"], "--format", "json")
    assert code == 0, err
    decided = _decided(out)
    assert {k: decided[k] for k in _expected(case)} == _expected(case)
    used = json.loads(out)["events"]
    assert sorted((e["event"], dt.datetime.fromisoformat(e["at"])) for e in used) == sorted(
        (e["event"], dt.datetime.fromisoformat(e["at"])) for e in case["events"])


def test_every_case_of_the_samples_file_in_the_case_shape_decides_as_test_expects(capsys):
    for index, sample in enumerate(SAMPLES["leads"]):
        if "invalid" in sample["expect"]:
            continue
        case = _case(index)
        shaped = {"lead": case["lead"], "events": case["events"], "now": case["now"]}
        code, out, err = _explain(capsys, "--lead", json.dumps(shaped), "--format", "json")
        assert code == 0, (sample["name"], err)
        decided = _decided(out)
        assert {k: decided[k] for k in _expected(case)} == _expected(case), sample["name"]
        assert json.loads(out)["now"] == case["now"]


def test_the_text_explanation_shows_the_windows_with_their_counts(capsys):
    case = _case(0)
    code, out, _ = _explain(capsys, "--lead", json.dumps(case["lead"]), "--events", json.dumps(case["events"]),
                            "--now", case["now"])
    assert code == 0
    demos = sum(e["event"] == "demo_request" for e in case["events"])
    assert f"demo_request {demos} in the last 30 days" in out
    assert "stage: sql" in out
    assert f"events: {len(case['events'])} given" in out


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".csv", ".jsonl"])
def test_an_events_file_in_every_format_is_read_alike(tmp_path, capsys, suffix):
    case = _case(0)
    path = tmp_path / f"events{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(case["events"]), "utf-8")
    elif suffix == ".yaml":
        path.write_text(yaml.safe_dump(case["events"]), "utf-8")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(e) + "\n" for e in case["events"]), "utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["event", "at"])
            writer.writeheader()
            writer.writerows(case["events"])
    code, out, err = _explain(capsys, "--lead", json.dumps(case["lead"]), "--events", str(path),
                              "--now", case["now"], "--format", "json")
    assert code == 0, err
    decided = _decided(out)
    assert {k: decided[k] for k in _expected(case)} == _expected(case)
    assert len(json.loads(out)["events"]) == len(case["events"])


def test_a_lead_file_in_the_samples_case_shape(tmp_path, capsys):
    case = _case(0)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump({"name": "from the samples", "lead": case["lead"], "events": case["events"],
                                    "now": case["now"]}), "utf-8")
    code, out, err = _explain(capsys, "--lead", str(path), "--format", "json")
    assert code == 0, err
    assert _decided(out)["stage"] == case["expect"]["stage"]


@pytest.mark.parametrize("given, key", [
    ({"lead": {"email": "a@b.io"}, "events": [], "evnets": []}, "evnets"),
    ({"lead": {"email": "a@b.io"}, "expect": {"stage": "sql"}}, "expect"),
    ({"email": "a@b.io", "events": [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]}, "events"),
    ({"email": "a@b.io", "employes": 300}, "employes"),
])
def test_an_unknown_key_is_bad_usage_naming_it(capsys, given, key):
    code, out, err = _explain(capsys, "--lead", json.dumps(given), "--now", "2026-11-20T12:00:00-05:00")
    assert code == 2, (out, err)
    assert repr(key) in err and "Traceback" not in err


@pytest.mark.parametrize("events, says", [
    ([{"event": "demo_requested", "at": "2026-11-18T10:00:00-05:00"}], "unknown event 'demo_requested'"),
    ([{"event": "demo_request", "at": "next tuesday"}], "at: 'next tuesday' is not an ISO 8601 timestamp"),
    ([{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00", "lead": "L1"}], "'lead'"),
    ([{"event": "demo_request"}], "at: missing timestamp"),
    ({"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}, "a list"),
])
def test_events_that_cannot_be_used_are_bad_usage_never_ignored(capsys, events, says):
    code, out, err = _explain(capsys, "--lead", '{"email": "a@b.io"}', "--events", json.dumps(events),
                              "--now", "2026-11-20T12:00:00-05:00")
    assert code == 2, (out, err)
    assert says in err and "Traceback" not in err


def test_events_given_twice_are_bad_usage(capsys):
    shaped = {"lead": {"email": "a@b.io"}, "events": []}
    code, _, err = _explain(capsys, "--lead", json.dumps(shaped), "--events", "[]")
    assert code == 2 and "--events" in err


def test_a_bad_now_in_the_case_shape_is_bad_usage(capsys):
    code, _, err = _explain(capsys, "--lead", json.dumps({"lead": {"email": "a@b.io"}, "now": "soon"}))
    assert code == 2 and "now" in err and "'soon'" in err


@pytest.mark.parametrize("flag", ["--lead", "--events"])
def test_bad_json_is_bad_usage(capsys, flag):
    args = ["--lead", '{"email": "a@b.io"}', "--events", "[]"]
    args[args.index(flag) + 1] = '{"email": ' if flag == "--lead" else '[{"event": '
    code, _, err = _explain(capsys, *args)
    assert code == 2 and f"{flag}: not valid JSON" in err


@pytest.mark.parametrize("given", ['[{"email": "a@b.io"}]', '"a@b.io"'])
def test_a_lead_that_is_not_a_mapping_is_bad_usage(tmp_path, capsys, given):
    path = tmp_path / "lead.json"
    path.write_text(given, "utf-8")
    code, _, err = _explain(capsys, "--lead", str(path))
    assert code == 2 and "--lead: " in err and "mapping" in err


def test_a_lead_that_does_not_fit_the_schema_is_still_a_problem_found(capsys):
    code, _, err = _explain(capsys, "--lead", '{"email": "a@b.io", "employees": "many"}')
    assert code == 1 and "employees" in err


def test_a_lead_explained_without_events_says_so(capsys):
    code, out, _ = _explain(capsys, "--lead", '{"email": "a@b.io"}', "--now", "2026-11-20T12:00:00-05:00")
    assert code == 0 and "events: none given" in out


# ---------------------------------------------------------------- what a new user met (issue 24, second pass)

NOW = "2026-11-20T12:00:00-05:00"


@pytest.mark.parametrize("lead, key, says", [
    ({"email": "a@b.io", "employees": 300, "events": [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]},
     "events", "beside"),
    ({"email": "a@b.io", "emplyees": 300}, "emplyees", 'did you mean "employees"'),
])
def test_an_unknown_key_inside_the_case_shapes_lead_is_bad_usage_as_in_the_flat_form(capsys, lead, key, says):
    code, out, err = _explain(capsys, "--lead", json.dumps({"lead": lead}), "--now", NOW)
    assert code == 2, (out, err)
    assert repr(key) in err and says in err and out == ""


def test_an_unknown_key_inside_a_case_files_lead_is_bad_usage(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump({"lead": {"email": "a@b.io", "emplyees": 300}, "now": NOW}), "utf-8")
    code, _, err = _explain(capsys, "--lead", str(path))
    assert code == 2 and "'emplyees'" in err and 'did you mean "employees"' in err


@pytest.mark.parametrize("argv, says, not_says", [
    (["--events", '{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}'],
     ["a JSON object", "give the list itself"], ["dict"]),
    (["--events", "{tmp}/ev1.tsv"], ["text", ".csv"], ["str"]),
    (["--lead", "{policies}/inbound-b2b.policy"], ["policy file", "give a lead"], ["not str"]),
    (["--lead", '{"lead": {"email": "a@b.io"}, "events": null}'], ["null", "a list"], ["NoneType"]),
    (["--lead", ""], ["--lead", "empty"], ["Is a directory"]),
    (["--events", ""], ["--events", "empty"], ["Is a directory"]),
    (["--events", "null"], ["--events", "a list", "null"], ["neither JSON nor a file"]),
    (["--lead", "{policies}/inbound-activity.samples.yaml"], ["samples file", "leadpolicy test", "one case"], []),
    (["--lead", '{"email": "a@b.io", "Events": []}'], ["'Events'", '"events"'], []),
])
def test_a_message_says_what_was_given_in_words_with_a_hint(tmp_path, capsys, argv, says, not_says):
    (tmp_path / "ev1.tsv").write_text("event,at\r\ndemo_request,2026-11-18T10:00:00-05:00\r\n", "utf-8")
    args = {"--lead": '{"email": "a@b.io"}', "--now": NOW}
    args[argv[0]] = argv[1].replace("{tmp}", str(tmp_path)).replace("{policies}", str(POLICIES))
    code, out, err = _explain(capsys, *[x for pair in args.items() for x in pair])
    assert code == 2, (out, err)
    for fragment in says:
        assert fragment in err, err
    for fragment in not_says:
        assert fragment not in err, err


@pytest.mark.parametrize("flag", ["--lead", "--events"])
def test_a_json_file_with_a_byte_order_mark_is_read(tmp_path, capsys, flag):
    case = _case(0)
    lead, events = tmp_path / "lead.json", tmp_path / "events.json"
    lead.write_bytes(("\ufeff" if flag == "--lead" else "").encode() + json.dumps(case["lead"]).encode())
    events.write_bytes(("\ufeff" if flag == "--events" else "").encode() + json.dumps(case["events"]).encode())
    code, out, err = _explain(capsys, "--lead", str(lead), "--events", str(events), "--now", case["now"],
                              "--format", "json")
    assert code == 0, err
    assert _decided(out)["stage"] == case["expect"]["stage"]


def test_the_json_marks_the_events_after_now_as_the_text_counts_them(capsys):
    events = [{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"},
              {"event": "demo_request", "at": "2026-11-21T10:00:00-05:00"},
              {"event": "email_click", "at": "2026-11-25T10:00:00-05:00"}]
    argv = ["--lead", '{"email": "a@b.io", "employees": 300}', "--events", json.dumps(events), "--now", NOW]
    code, out, _ = _explain(capsys, *argv, "--format", "json")
    assert code == 0
    listed = json.loads(out)["events"]
    given = [dt.datetime.fromisoformat(e["at"]) for e in events]
    now = dt.datetime.fromisoformat(NOW)
    assert sorted((e["at"], e["after_now"]) for e in listed) == sorted((at.isoformat(), at > now) for at in given)
    code, text, _ = _explain(capsys, *argv)
    assert f"({sum(e['after_now'] for e in listed)} after now, never counted)" in text


def test_events_given_to_a_policy_that_reads_none_are_said_to_change_nothing(capsys):
    argv = ["explain", str(POLICIES / "inbound-b2b.policy"), "--lead", '{"email": "a@b.io"}',
            "--events", '[{"event": "demo_request", "at": "2026-11-18T10:00:00-05:00"}]', "--now", NOW]
    code = main(argv)
    text = capsys.readouterr().out
    assert code == 0 and "this policy reads no events; they change nothing" in text
    code = main([*argv, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and "this policy reads no events; they change nothing" in data["notes"]


def test_a_missed_window_says_none_before_now(capsys):
    code, out, _ = _explain(capsys, "--lead", '{"email": "a@b.io", "employees": 300}', "--now", NOW)
    assert code == 0
    assert "no demo_request in the last 30 days (none before now)" in out


def test_the_higher_grades_missed_are_said_as_the_stages_missed_are(capsys):
    case = _case(1)  # priority 85: tier B, so "A" (priority >= 120) was missed
    code, out, _ = _explain(capsys, "--lead", json.dumps(case["lead"]), "--events", json.dumps(case["events"]),
                            "--now", case["now"])
    assert code == 0 and case["expect"]["tier"] == "B"
    why = [line.strip() for line in out.splitlines()]
    assert "not tier A: priority 85 < 120" in why
    graded = next(i for i, line in enumerate(why) if line.startswith("tier B"))
    assert why.index("not tier A: priority 85 < 120") < graded
