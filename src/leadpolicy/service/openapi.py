"""The service's OpenAPI 3.1 document: its endpoints, and each served policy's lead schema."""

from __future__ import annotations

from typing import Any

from leadpolicy import __version__
from leadpolicy.api import Policy

JSON = "application/json"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ERRORS = {
    "400": _json(_ref("Error"), "a body that is not a request (not JSON, not Unicode text, nested more than "
                                "100 levels deep), or a lead that does not fit (see fields)"),
    "401": _json(_ref("Error"), "no or a wrong bearer token"),
    "404": _json(_ref("Error"), "no such policy is served"),
    "408": _json(_ref("Error"), "the body did not arrive within the read timeout"),
    "413": _json(_ref("Error"), "the body is over the size limit, or a batch over the item limit"),
    "503": _json(_ref("Error"), "the service is shutting down: the request was still running when the "
                                "shutdown grace period ended"),
}


def openapi_document(policies: dict[str, Policy]) -> dict[str, Any]:
    leads = {f"Lead.{pid}": {k: v for k, v in p.lead_schema.items() if k not in ("$schema", "$id")}
             for pid, p in sorted(policies.items())}
    policy_id = {"name": "policy_id", "in": "path", "required": True,
                 "schema": {"type": "string", "enum": sorted(policies)} if policies else {"type": "string"}}
    schemas: dict[str, Any] = {
        "DecideRequest": {
            "type": "object", "required": ["lead"], "additionalProperties": False,
            "properties": {
                "lead": {"description": "the lead's record; its schema is the policy's (Lead.ID, "
                                        "or GET /v1/policies/{policy_id})",
                         "oneOf": [_ref(name) for name in leads] or [{"type": "object"}]},
                "events": {"type": "array", "items": {
                    "type": "object", "required": ["event", "at"],
                    "properties": {"event": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}},
                "now": {"type": "string", "description": "ISO 8601; default: the time of the request"},
                "explain": {"type": "boolean", "default": False}}},
        "Decision": {
            "type": "object", "required": ["policy", "version", "fingerprint", "now", "scores", "grades", "stage",
                                           "owner", "route"],
            "properties": {
                "policy": {"type": "string"}, "version": {"type": "string"}, "fingerprint": {"type": "string"},
                "now": {"type": "string"}, "scores": {"type": "object", "additionalProperties": {"type": "integer"}},
                "grades": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                "stage": {"type": "string"}, "owner": {"type": "string"}, "route": {"type": ["string", "null"]},
                "breakdown": {"type": "object"}, "explanation": {"type": "array", "items": {"type": "string"}}}},
        "AssignRequest": {
            "type": "object", "required": ["lead"], "additionalProperties": False,
            "properties": {
                "id": {"type": ["string", "integer"], "description": "the lead id (default: the lead's id field); "
                                                                    "a lead id is assigned once"},
                "at": {"type": "string", "description": "the lead's arrival, ISO 8601 (default: now)"},
                "lead": {"oneOf": [_ref(name) for name in leads] or [{"type": "object"}]},
                "events": {"type": "array", "items": {"type": "object"}},
                "now": {"type": "string", "description": "ISO 8601; default: at, else the time of the request"},
                "explain": {"type": "boolean", "default": False}}},
        "Assigned": {"allOf": [_ref("Decision"), {
            "type": "object", "required": ["id", "at", "team", "assignee", "how", "skipped"],
            "properties": {
                "id": {"type": "string"}, "at": {"type": "string"}, "team": {"type": ["string", "null"]},
                "assignee": {"type": ["string", "null"], "description": "the member as written in the policy"},
                "how": {"type": ["string", "null"], "enum": ["account owner", "rotation", "fallback", "held",
                                                             "already assigned", None]},
                "skipped": {"type": "array", "items": {"type": "string"}}}}]},
        "AssignmentRow": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "policy": {"type": "string"}, "id": {"type": "string"},
            "team": {"type": "string"}, "assignee": {"type": "string"}, "at": {"type": "string"},
            "how": {"type": "string"}, "version": {"type": "string"}, "fingerprint": {"type": "string"}}},
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"}, "hint": {"type": "string"},
                           "item": {"type": "integer", "minimum": 1, "description": "the batch item, from 1"},
                           "fields": {"type": "array", "items": {
                               "type": "object", "properties": {"field": {"type": "string"},
                                                                "message": {"type": "string"}}}}}},
        "PolicyInfo": {"type": "object", "properties": {
            "id": {"type": "string"}, "version": {"type": "string"}, "fingerprint": {"type": "string"},
            "approval": {"type": "string"}, "loaded_at": {"type": "string"}, "reloads": {"type": "integer"},
            "last_error": {"type": ["array", "null"], "items": {"type": "string"}}}},
        **leads,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "leadpolicy decision service", "version": __version__,
                 "description": "Decisions of the lead policies this service serves."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/policies/{policy_id}/decide": {"post": {
                "summary": "decide one lead", "operationId": "decide", "parameters": [policy_id],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("DecideRequest")}}},
                "responses": {"200": _json(_ref("Decision"), "the decision"), **ERRORS}}},
            "/v1/policies/{policy_id}/decide-batch": {"post": {
                "summary": "decide many leads, answered in order (a bad one gets an error in its place)",
                "operationId": "decideBatch", "parameters": [policy_id],
                "requestBody": {"required": True, "content": {
                    JSON: {"schema": {"type": "array", "items": _ref("DecideRequest")}},
                    "application/x-ndjson": {"schema": _ref("DecideRequest")}}},
                "responses": {"200": _json({"type": "object", "properties": {
                    "policy": {"type": "string"},
                    "results": {"type": "array", "items": {"oneOf": [_ref("Decision"), _ref("Error")]}}}},
                    "one answer per request, in order"), **ERRORS}}},
            "/v1/policies/{policy_id}/assign": {"post": {
                "summary": "decide one lead and assign it to a member of the team its route names, once per lead id",
                "operationId": "assign", "parameters": [policy_id],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("AssignRequest")}}},
                "responses": {"200": _json(_ref("Assigned"), "the decision and the assignment"), **ERRORS,
                              "422": _json(_ref("Error"), "the policy has no team"),
                              "503": _json(_ref("Error"), "no --state, the state cannot be reached, or the "
                                                          "service is shutting down")}}},
            "/v1/assignments": {"get": {
                "summary": "the assignments in the state, in the order they were made (an audit)",
                "operationId": "listAssignments",
                "parameters": [
                    {"name": "since", "in": "query", "schema": {"type": "string"},
                     "description": "only those whose at is at or after this instant"},
                    {"name": "policy", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
                    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0},
                     "description": "the seq after which the page starts (the next link sets it)"}],
                "responses": {"200": _json({"type": "object", "properties": {
                    "assignments": {"type": "array", "items": _ref("AssignmentRow")},
                    "next": {"type": ["string", "null"]}}}, "one page; next: the link to the next, or null"),
                    "400": _json(_ref("Error"), "a parameter that is not one, or unknown"),
                    "401": ERRORS["401"],
                    "503": _json(_ref("Error"), "no --state, or the state cannot be reached")}}},
            "/v1/policies": {"get": {"summary": "the served policies", "operationId": "listPolicies",
                                     "responses": {"200": _json({"type": "object", "properties": {
                                         "policies": {"type": "array", "items": _ref("PolicyInfo")}}},
                                         "id, version, fingerprint, approval, loaded at, reload failures")}}},
            "/v1/policies/{policy_id}": {"get": {"summary": "one policy, with its lead JSON Schema",
                                                 "operationId": "getPolicy", "parameters": [policy_id],
                                                 "responses": {"200": _json(_ref("PolicyInfo"), "the policy"),
                                                               "404": ERRORS["404"]}}},
            "/ui/api/policies/{policy_id}": {"get": {
                "summary": "the try-it page's view of a policy: its form (fields, events, zone) and its plain English",
                "operationId": "tryItPolicy", "parameters": [policy_id],
                "responses": {"200": _json({"type": "object"}, "the policy as /ui/{policy_id} shows it"),
                              "401": ERRORS["401"], "404": ERRORS["404"]}}},
            "/ui/api/policies/{policy_id}/try": {"post": {
                "summary": "decide a lead as decide does with explain, neither logged nor counted as a decision; "
                           "with why_not (each stage not reached), team and case (the lead as a samples case, YAML)",
                "operationId": "tryIt", "parameters": [policy_id],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "allOf": [{"type": "object", "properties": {"name": {"type": "string"}}}],
                    "description": "decide's request (DecideRequest), and the case's name"}}}},
                "responses": {"200": _json({"allOf": [_ref("Decision"), {"type": "object", "properties": {
                    "why_not": {"type": "array", "items": {"type": "object", "properties": {
                        "stage": {"type": "string"}, "why": {"type": "string"}}}},
                    "team": {"type": ["object", "null"]}, "case": {"type": ["string", "null"]}}}]},
                    "the decision, explained"), **ERRORS}}},
            "/healthz": {"get": {"summary": "the process answers", "operationId": "healthz", "security": [],
                                 "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "policies are loaded", "operationId": "readyz", "security": [],
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "no policy loaded yet"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "security": [],
                                 "responses": {"200": {"description": "text exposition format",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "this document", "operationId": "openapi", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }
