// The try-it page of `leadpolicy serve` (/ui/). No build step, no library: plain DOM.
// Every text from a policy or a lead is put in the page with textContent, never as markup.
"use strict";

const TOKEN_KEY = "leadpolicy-token";
const DEBOUNCE_MS = 250;

// ---------------------------------------------------------------- small DOM helpers

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function say(message) {
  document.getElementById("status").textContent = message;
}

// ---------------------------------------------------------------- the API, with the service's token

function askForToken(why) {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  document.getElementById("token-why").textContent = why;
  form.hidden = false;
  input.value = "";
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", (submitted) => {
      submitted.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      form.hidden = true;
      resolve();
    }, {once: true});
  });
}

async function api(path, options) {
  for (;;) {
    const headers = {"Accept": "application/json"};
    if (options && options.body !== undefined) headers["Content-Type"] = "application/json";
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["Authorization"] = "Bearer " + token;
    const response = await fetch(path, {...options, headers, credentials: "omit", cache: "no-store"});
    if (response.status !== 401) {
      let body = null;
      try {
        body = await response.json();
      } catch (notJson) {
        body = {error: "the service answered " + response.status + " without JSON"};
      }
      return {status: response.status, body};
    }
    await askForToken(token ? "The token was not accepted: enter the service's token." :
      "This service needs its token (the first line of its --token-file).");
  }
}

function errorText(body) {
  const parts = [String(body && body.error || "error")];
  if (body && body.hint) parts.push(String(body.hint));
  return parts.join(": ");
}

// ---------------------------------------------------------------- the list of policies (/ui/)

function counted(count, one, many) {
  return count + " " + (count === 1 ? one : many);
}

// The files served that did not load, each with the reason the service gives (its diagnostics, line by line).
function showNotLoaded(broken) {
  const list = document.getElementById("not-loaded");
  list.replaceChildren(...broken.map((file) => el("li", {}, el("code", {text: file.source}),
    ...file.error.map((line) => el("div", {class: "reason", text: line})))));
  document.getElementById("not-loaded-section").hidden = broken.length === 0;
}

async function showIndex() {
  say("Loading the policies…");
  const {status, body} = await api("../v1/policies");
  if (status !== 200) return say(errorText(body));
  const list = document.getElementById("policies");
  list.replaceChildren();
  for (const policy of body.policies) {
    const link = el("a", {href: encodeURIComponent(policy.id), text: policy.title || policy.id});
    list.append(el("li", {}, link, " ", el("code", {text: policy.id}),
      el("span", {class: "version", text: " version " + policy.version + ", " + policy.approval})));
  }
  const broken = body.not_loaded || [];
  showNotLoaded(broken);
  const served = body.policies.length ? counted(body.policies.length, "policy", "policies") + " served" :
    "No policy is served";
  say(served + (broken.length ? "; " + counted(broken.length, "file", "files") + " not loaded." : "."));
}

// ---------------------------------------------------------------- the form built from the lead schema

const FIELD_KINDS = {
  "number": (id) => el("input", {id, type: "number", step: "any"}),
  "date": (id) => el("input", {id, type: "date"}),
  "timestamp": (id) => el("input", {id, type: "datetime-local", step: "1"}),
};

function fieldInput(field, id) {
  if (field.type === "one of" || field.type === "yes/no") {
    const select = el("select", {id}, el("option", {value: "", text: "(missing)"}));
    const choices = field.type === "yes/no" ? [["true", "yes"], ["false", "no"]] : field.choices.map((c) => [c, c]);
    for (const [value, text] of choices) select.append(el("option", {value, text}));
    return select;
  }
  return (FIELD_KINDS[field.type] || ((i) => el("input", {id: i, type: "text"})))(id);
}

function fieldValue(field, input) {
  const raw = input.value;
  if (raw === "") return undefined;
  if (field.type === "yes/no") return raw === "true";
  if (field.type === "number") {
    const number = Number(raw);
    return Number.isFinite(number) ? number : raw;
  }
  return raw;
}

function describeField(field, zone) {
  let text = field.type === "one of" ? "one of: " + field.choices.join(", ") : field.type;
  if (field.type === "timestamp") text += ", in " + zone;
  if (field.required) text += ", required";
  if (field.default_text !== null && field.default_text !== undefined) text += ", default " + field.default_text;
  return text;
}

function buildLeadForm(policy, state) {
  const box = document.getElementById("lead-fields");
  policy.fields.forEach((field, index) => {
    const id = "field-" + index;
    const input = fieldInput(field, id);
    input.setAttribute("aria-describedby", id + "-type");
    input.addEventListener("input", state.changed);
    input.addEventListener("change", state.changed);
    state.inputs.push([field, input]);
    box.append(el("div", {class: "field"}, el("label", {for: id, text: field.name}), input,
      el("span", {class: "type", id: id + "-type", text: describeField(field, policy.timezone)})));
  });
}

// ---------------------------------------------------------------- the events editor

function eventRow(policy, state) {
  const number = ++state.rowsMade;
  const select = el("select", {id: "event-" + number});
  for (const event of policy.events) {
    select.append(el("option", {value: event.name, text: event.label ? event.label + " (" + event.name + ")" : event.name}));
  }
  const at = el("input", {id: "event-at-" + number, type: "datetime-local", step: "1"});
  const remove = el("button", {type: "button", text: "Remove"});
  const row = el("tr", {},
    el("td", {}, el("label", {for: select.id, class: "hidden-text", text: "event " + number}), select),
    el("td", {}, el("label", {for: at.id, class: "hidden-text", text: "at, event " + number}), at,
      el("span", {class: "zone", text: " " + policy.timezone})),
    el("td", {}, remove));
  remove.setAttribute("aria-label", "Remove event " + number);
  remove.addEventListener("click", () => {
    row.remove();
    document.getElementById("add-event").focus();
    state.changed();
  });
  for (const input of [select, at]) {
    input.addEventListener("input", state.changed);
    input.addEventListener("change", state.changed);
  }
  document.getElementById("events").append(row);
  return row;
}

function eventsOf() {
  const events = [];
  for (const row of document.getElementById("events").rows) {
    const [select, at] = row.querySelectorAll("select, input");
    if (at.value) events.push({event: select.value, at: at.value});
  }
  return events;
}

// ---------------------------------------------------------------- the decision

function request(state) {
  const lead = {};
  for (const [field, input] of state.inputs) {
    const value = fieldValue(field, input);
    if (value !== undefined) lead[field.name] = value;
  }
  const body = {lead};
  const events = eventsOf();
  if (events.length) body.events = events;
  const now = document.getElementById("now").value;
  if (now) body.now = now;
  const name = document.getElementById("case-name").value.trim();
  if (name) body.name = name;
  return body;
}

function definition(term, ...description) {
  return [el("dt", {text: term}), el("dd", {}, ...description)];
}

function renderScores(decision) {
  const part = el("div", {class: "scores"});
  for (const [score, value] of Object.entries(decision.scores)) {
    const rules = (decision.breakdown[score] || {rules: []}).rules.filter((rule) => rule.fired);
    const table = el("table", {}, el("caption", {text: score + " " + value}),
      el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "points"}), el("th", {scope: "col", text: "rule that fired"}))));
    const body = el("tbody");
    for (const rule of rules) {
      body.append(el("tr", {}, el("td", {text: (rule.points > 0 ? "+" : "") + rule.points + (rule.capped ? " (capped)" : "")}),
        el("td", {text: rule.rule})));
    }
    if (!rules.length) body.append(el("tr", {}, el("td", {colspan: 2, text: "no rule fired"})));
    table.append(body);
    part.append(table);
  }
  return part;
}

function renderDecision(decision) {
  const list = el("dl", {class: "outcome"});
  list.append(...definition("stage", el("strong", {class: "stage", text: decision.stage}), " (owner " + decision.owner + ")"));
  list.append(...definition("route", decision.route === null ? "none" : decision.route));
  if (decision.team) list.append(...definition("team", decision.team.label + " (" + decision.team.name + ")"));
  for (const [grade, label] of Object.entries(decision.grades)) {
    list.append(...definition(grade, label === null ? "none" : label));
  }
  list.append(...definition("now", decision.now));
  const whyNot = el("ul", {class: "why-not"});
  for (const missed of decision.why_not) {
    whyNot.append(el("li", {}, el("strong", {text: "not " + missed.stage}), ": " + missed.why));
  }
  return [list, renderScores(decision), el("h3", {text: "Why not the other stages"}), whyNot];
}

function renderProblem(status, body) {
  const parts = [el("p", {class: "problem", text: "Not decided: " + errorText(body)})];
  if (body && Array.isArray(body.fields)) {
    parts.push(el("ul", {class: "problem"}, ...body.fields.map((f) => el("li", {text: f.field + ": " + f.message}))));
  }
  return parts;
}

async function decide(state) {
  const asked = ++state.asked;
  const {status, body} = await api("api/policies/" + encodeURIComponent(state.policy.id) + "/try",
    {method: "POST", body: JSON.stringify(request(state))});
  if (asked !== state.asked) return;  // a newer try was asked meanwhile: its answer is the one shown
  const region = document.getElementById("decision");
  if (status === 200) {
    region.replaceChildren(...renderDecision(body));
    state.caseText = body.case;
  } else {
    region.replaceChildren(...renderProblem(status, body));
    state.caseText = null;
  }
  showCase(state.caseText || "");
}

// The case shown below Copy follows the form; once it no longer reads as what was copied, Copy's "Copied" goes.
function showCase(text) {
  const pre = document.getElementById("case");
  if (pre.hidden || pre.textContent === text) return;
  pre.textContent = text;
  document.getElementById("copy-status").textContent = text ? "The lead changed since it was copied: copy it again." :
    "The lead changed since it was copied, and is not decided now (see the decision above).";
}

// A try whose failure is shown in the decision region (the service did not answer): never a rejected promise.
function tryForm(state) {
  return decide(state).catch((failure) => {
    document.getElementById("decision").replaceChildren(
      el("p", {class: "problem", text: "The service did not answer: " + failure}));
  });
}

// ---------------------------------------------------------------- the samples case

// The case of the form as it is now: a try still waiting out its pause is asked at once, and one on its way is
// waited for, so Copy never copies the answer to the form before an edit.
async function settled(state) {
  if (state.timer !== null) {
    clearTimeout(state.timer);
    state.timer = null;
    state.deciding = tryForm(state);
  }
  let deciding;
  do {
    deciding = state.deciding;
    await deciding;
  } while (deciding !== state.deciding);  // a newer try started meanwhile: its answer is the one shown
}

async function copyCase(state) {
  const pre = document.getElementById("case");
  const said = document.getElementById("copy-status");
  said.textContent = "";
  await settled(state);
  if (!state.caseText) {
    said.textContent = "Nothing to copy: the lead is not decided (see the decision above).";
    return;
  }
  pre.textContent = state.caseText;
  pre.hidden = false;
  try {
    await navigator.clipboard.writeText(state.caseText);
    said.textContent = "Copied: paste it under leads: in the policy's samples file.";
  } catch (refused) {
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    const copied = document.execCommand && document.execCommand("copy");  // a page over plain HTTP has no clipboard API
    said.textContent = copied ? "Copied: paste it under leads: in the policy's samples file." :
      "The browser does not let the page copy: the case is selected below, copy it by hand.";
  }
}

// ---------------------------------------------------------------- the policy in plain English

function renderEnglish(english) {
  const box = document.getElementById("english-body");
  box.replaceChildren();
  for (const score of english.scores) {
    const rows = score.rules.map((rule) => el("tr", {}, el("td", {text: rule.points}), el("td", {text: rule.when}),
      el("td", {text: rule.reason})));
    box.append(el("h3", {text: "Score " + score.label + " (" + score.name + ")"}),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {scope: "col", text: "points"}),
        el("th", {scope: "col", text: "when"}), el("th", {scope: "col", text: "reason"}))), el("tbody", {}, ...rows)),
      ...score.notes.map((note) => el("p", {text: note})));
  }
  for (const grade of english.grades) {
    box.append(el("h3", {text: "Grade " + grade.name + " (from " + grade.source + "), first match wins"}),
      el("ul", {}, ...grade.entries.map((e) => el("li", {}, el("strong", {text: e.label}), ": " + e.when))));
  }
  box.append(el("h3", {text: "Stages, tried in order: the first that matches is the lead's"}),
    el("ol", {}, ...english.stages.map((s) => el("li", {}, el("strong", {text: s.name}), ": " + s.when +
      " (owner " + s.owner + (s.handoff ? ", handoff" : "") + ")"))));
  for (const route of english.routes) {
    box.append(el("h3", {text: "Routing of " + route.stages.join(", ") + ", first match wins"}),
      el("ul", {}, ...route.entries.map((e) => el("li", {}, el("strong", {text: e.label}),
        (e.team ? " (team " + e.team + ")" : "") + ": " + e.when))));
  }
  for (const team of english.teams) box.append(el("h3", {text: "Team " + team.label}), el("p", {text: team.text}));
  for (const sla of english.slas) box.append(el("h3", {text: "SLA " + sla.label}), el("p", {text: sla.text}));
}

// ---------------------------------------------------------------- the page of one policy (/ui/ID)

async function showPolicy() {
  const id = decodeURIComponent(location.pathname.split("/").pop());
  say("Loading the policy…");
  const {status, body} = await api("api/policies/" + encodeURIComponent(id));
  if (status !== 200) {
    showNotLoaded((body && body.not_loaded) || []);
    return say(errorText(body));
  }
  const policy = body;
  const state = {policy, inputs: [], rowsMade: 0, asked: 0, timer: null, deciding: null, caseText: null};
  state.changed = () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      state.timer = null;
      state.deciding = tryForm(state);
    }, DEBOUNCE_MS);
  };
  document.title = "Try " + (policy.title || policy.id);
  document.getElementById("title").textContent = policy.title || policy.id;
  document.getElementById("meta").textContent = policy.id + " version " + policy.version + ", times in " +
    policy.timezone + "; owners: " + policy.owners.map((o) => o.team + " (" + o.person + ")").join(", ");
  document.getElementById("now-zone").textContent = " " + policy.timezone;
  buildLeadForm(policy, state);
  const addEvent = document.getElementById("add-event");
  document.getElementById("events-fields").hidden = policy.events.length === 0;
  addEvent.addEventListener("click", () => {
    eventRow(policy, state).querySelector("select").focus();
  });
  for (const id_ of ["now", "case-name"]) {
    document.getElementById(id_).addEventListener("input", state.changed);
  }
  document.getElementById("copy-case").addEventListener("click", () => copyCase(state));
  document.getElementById("lead-form").addEventListener("submit", (submitted) => submitted.preventDefault());
  renderEnglish(policy.english);
  document.getElementById("workspace").hidden = false;
  say("");
  state.deciding = tryForm(state);
  await state.deciding;
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  (page === "index" ? showIndex() : showPolicy()).catch((failure) => say("The page failed: " + failure));
});
