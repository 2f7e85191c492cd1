"""`leadpolicy serve`: decisions over HTTP, as services call a policy engine.

Starlette on uvicorn: Starlette is the small ASGI toolkit FastAPI is built on; the service needs
its routing and requests, not FastAPI's models, since each policy's lead schema is the JSON Schema
the policy itself gives (served under `/v1/policies/{id}` and referenced from `/openapi.json`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import signal
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadpolicy.api import LeadError
from leadpolicy.service.openapi import openapi_document
from leadpolicy.service.registry import Loaded, Registry


@dataclass
class Settings:
    paths: list[str]
    token: str | None = None
    max_body: int = 1 << 20  # bytes, for one decision
    max_batch_body: int = 64 << 20  # bytes, for a batch
    decision_log: Path | None = None
    log_leads: bool = False
    lead_id_field: str = "id"
    poll_seconds: float = 1.0


class BodyTooLarge(Exception):
    pass


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # one series per counter, not a second one of creation times
        self.registry = CollectorRegistry()
        self.requests = Counter("leadpolicy_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("leadpolicy_request_seconds", "Request latency by endpoint", ["endpoint"],
                                 registry=self.registry,
                                 buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0))
        self.decisions = Counter("leadpolicy_decisions", "Decisions by policy and stage", ["policy", "stage"],
                                 registry=self.registry)
        self.reloads = Counter("leadpolicy_reloads", "Policy versions swapped in", ["policy"], registry=self.registry)
        self.reload_failures = Counter("leadpolicy_reload_failures", "Loads that failed and kept the last good version",
                                       ["source"], registry=self.registry)
        self.broken = Gauge("leadpolicy_policy_broken", "1 while a served file's latest edit does not load",
                            ["source"], registry=self.registry)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(settings: Settings) -> Starlette:
    registry = Registry(settings.paths)
    metrics = Metrics()
    log_handle = open(settings.decision_log, "a", encoding="utf-8") if settings.decision_log else None  # noqa: SIM115

    def reload(force: bool = False) -> None:
        for change in registry.reload(force):
            print(f"leadpolicy serve: {change.message}", flush=True)
            if change.outcome == "swapped":
                metrics.reloads.labels(change.policy).inc()
            elif change.outcome == "failed":
                metrics.reload_failures.labels(str(change.source)).inc()
            metrics.broken.labels(str(change.source)).set(1 if change.outcome == "failed" else 0)

    async def watch() -> None:
        while True:
            await asyncio.sleep(settings.poll_seconds)
            try:
                await asyncio.to_thread(reload)
            except Exception as exc:  # a watcher that dies would silently stop reloads
                print(f"leadpolicy serve: reload failed: {type(exc).__name__}: {exc}", flush=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(reload, True)
        task = asyncio.create_task(watch())
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(asyncio.to_thread(reload, True)))
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests), or no signals here: file changes still reload
        yield
        task.cancel()
        if log_handle is not None:
            log_handle.close()

    def authorized(request: Request) -> bool:
        if settings.token is None:
            return True
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), settings.token.encode())

    async def body(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def endpoint(name: str, limit: int | None = None, open_: bool = False,
                 ) -> Callable[[Callable[..., Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]:
        """A handler with the service's rules: the token, the body limit, metrics, and no crash ever."""
        def wrap(handler: Callable[..., Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
            async def run(request: Request) -> Response:
                started = time.perf_counter()
                try:
                    if not open_ and not authorized(request):
                        response: Response = _error(401, "a bearer token is required",
                                                    hint="send Authorization: Bearer TOKEN")
                    elif limit is not None:
                        response = await handler(request, await body(request, limit))
                    else:
                        response = await handler(request)
                except BodyTooLarge:
                    response = _error(413, f"the body is larger than {limit} bytes")
                except Exception as exc:  # never crash: the caller gets a 500, the log the reason
                    print(f"leadpolicy serve: {request.url.path}: {type(exc).__name__}: {exc}", flush=True)
                    response = _error(500, "internal error")
                metrics.requests.labels(name, str(response.status_code)).inc()
                metrics.latency.labels(name).observe(time.perf_counter() - started)
                return response
            return run
        return wrap

    def served(request: Request) -> Loaded | Response:
        policy_id = request.path_params["policy_id"]
        loaded = registry.by_id.get(policy_id)
        if loaded is None:
            from leadpolicy.language.diagnostics import did_you_mean

            hint = did_you_mean(policy_id, sorted(registry.by_id))
            return _error(404, f"no policy {policy_id!r} is served", **({"hint": hint} if hint else {}))
        return loaded

    def decide_one(loaded: Loaded, item: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(item, dict) or not isinstance(item.get("lead"), dict):
            return 400, {"error": 'a request is {"lead": {...}, "events": [...], "now": "...", "explain": false}'}
        unknown = sorted(set(item) - {"lead", "events", "now", "explain"})
        if unknown:
            return 400, {"error": f"unknown request field(s): {', '.join(unknown)}"}
        policy = loaded.policy
        try:
            now = policy._now(item.get("now"))
        except (ValueError, TypeError) as exc:
            return 400, {"error": f"now: not an ISO 8601 timestamp ({exc})"}
        events = item.get("events")
        if events is not None and not isinstance(events, list):
            return 400, {"error": "events: a list of {event, at}"}
        started = time.perf_counter()
        try:
            decision = policy.evaluate(item["lead"], now, events=events)
        except LeadError as exc:
            return 400, {"error": "invalid lead", "fields": [{"field": e.field, "message": e.message}
                                                            for e in exc.errors]}
        out = decision.as_dict(explain=item.get("explain") is True)
        out["fingerprint"] = policy.fingerprint
        metrics.decisions.labels(policy.id, decision.stage).inc()
        if log_handle is not None:
            record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(), "policy": policy.id,
                      "fingerprint": policy.fingerprint, "lead_id": item["lead"].get(settings.lead_id_field),
                      "decision": {k: out[k] for k in ("scores", "grades", "stage", "owner", "route")},
                      "latency_ms": round((time.perf_counter() - started) * 1000, 3)}
            if settings.log_leads:
                record["lead"] = item["lead"]
            log_handle.write(json.dumps(record, default=str) + "\n")
            log_handle.flush()
        return 200, out

    @endpoint("decide", settings.max_body)
    async def decide(request: Request, raw: bytes) -> Response:
        loaded = served(request)
        if isinstance(loaded, Response):
            return loaded
        try:
            item = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return _error(400, f"the body is not JSON: {str(exc)[:200]}")
        status, out = decide_one(loaded, item)
        return JSONResponse(out, status_code=status)

    @endpoint("decide-batch", settings.max_batch_body)
    async def decide_batch(request: Request, raw: bytes) -> Response:
        loaded = served(request)
        if isinstance(loaded, Response):
            return loaded
        lines = "ndjson" in request.headers.get("content-type", "") or "jsonl" in request.headers.get(
            "content-type", "")
        try:
            items = [json.loads(line) for line in raw.splitlines() if line.strip()] if lines else json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return _error(400, f"the body is not {'JSON Lines' if lines else 'JSON'}: {str(exc)[:200]}")
        if not isinstance(items, list):
            return _error(400, "a batch is a JSON list of requests, or JSON Lines of them")
        answers = []
        for index, item in enumerate(items):
            status, out = decide_one(loaded, item)
            answers.append(out if status == 200 else {"index": index, **out})
        return JSONResponse({"policy": loaded.policy.id, "results": answers})

    def describe(loaded: Loaded) -> dict[str, Any]:
        entry = registry.entries.get(loaded.source)
        return {"id": loaded.policy.id, "version": loaded.policy.version, "fingerprint": loaded.policy.fingerprint,
                "title": loaded.policy.title, "approval": loaded.approval, "loaded_at": loaded.loaded_at.isoformat(),
                "source": loaded.source.name, "reloads": entry.reloads if entry else 0,
                "last_error": entry.error if entry and entry.error else None,
                "failed_at": entry.failed_at.isoformat() if entry and entry.failed_at else None}

    @endpoint("policies")
    async def policies(request: Request) -> Response:
        broken = [{"source": path.name, "error": entry.error, "failed_at": entry.failed_at.isoformat()
                   if entry.failed_at else None}
                  for path, entry in sorted(registry.entries.items()) if entry.error and entry.current is None]
        return JSONResponse({"policies": [describe(v) for _, v in sorted(registry.by_id.items())],
                             "not_loaded": broken})

    @endpoint("policy")
    async def policy(request: Request) -> Response:
        loaded = served(request)
        if isinstance(loaded, Response):
            return loaded
        return JSONResponse({**describe(loaded), "lead_schema": loaded.policy.lead_schema,
                             "stages": [s.name for s in loaded.policy.ir.stages]})

    @endpoint("healthz", open_=True)
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @endpoint("readyz", open_=True)
    async def readyz(request: Request) -> Response:
        ready = registry.ready and bool(registry.by_id)
        return JSONResponse({"ready": ready, "policies": len(registry.by_id)}, status_code=200 if ready else 503)

    @endpoint("metrics", open_=True)
    async def metrics_text(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @endpoint("openapi", open_=True)
    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document({k: v.policy for k, v in registry.by_id.items()}))

    routes = [
        Route("/v1/policies/{policy_id}/decide", decide, methods=["POST"]),
        Route("/v1/policies/{policy_id}/decide-batch", decide_batch, methods=["POST"]),
        Route("/v1/policies", policies, methods=["GET"]),
        Route("/v1/policies/{policy_id}", policy, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry = registry
    return app
