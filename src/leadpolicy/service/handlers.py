"""The service's HTTP handlers and the rules every request goes through (token, body limit, metrics, no crash).

`Handlers` takes what it needs (settings, the policy registry, metrics, the decider) explicitly; `guarded`
wraps a handler in the request rules; `app.create_app` routes to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from leadpolicy.language.diagnostics import did_you_mean, escaped
from leadpolicy.service.assigning import Assignments
from leadpolicy.service.decisions import Decider, Settings, ShuttingDown
from leadpolicy.service.metrics import Metrics
from leadpolicy.service.openapi import openapi_document
from leadpolicy.service.registry import Change, Loaded, Registry

Endpoint = Callable[[Request], Awaitable[Response]]


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def say(message: str) -> None:
    """One line of the service's log, on stdout; names and errors in it escaped (`escaped`)."""
    print(f"leadpolicy serve: {escaped(message)}", flush=True)


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def closing(response: Response) -> Response:
    """The response with `Connection: close`: the client should not send more on this connection."""
    response.headers["connection"] = "close"
    return response


@dataclass(frozen=True)
class Rules:
    """What a request to one endpoint must meet: a token unless open, and at most `limit` bytes of body
    (None: the handler reads no body), the flag that sets the limit named when it is passed."""

    name: str
    limit: int | None = None
    open: bool = False
    limit_flag: str = "--max-body"


class Handlers:
    """The handlers of every route, over the registry of served policies, the metrics and the decider."""

    def __init__(self, settings: Settings, registry: Registry, metrics: Metrics, decider: Decider):
        self.settings, self.registry, self.metrics, self.decider = settings, registry, metrics, decider
        self.assignments = Assignments(settings, metrics, say)

    # Reloading policies

    def reload(self, force: bool = False) -> None:
        for change in self.registry.reload(force):
            say(change.message)
            self.count(change)
        self.assignments.refresh(force)

    def count(self, change: Change) -> None:
        """A reload's change in the metrics. A file that serves nothing because another file serves its
        id (a clash) is broken, but no reload failure: it loads. A file gone has its series dropped."""
        metrics, source = self.metrics, self.registry.shown(change.source)
        if change.outcome == "gone":
            for per_file in (metrics.broken, metrics.reload_failures):
                with contextlib.suppress(KeyError):  # a series never set
                    per_file.remove(source)
            return
        if change.outcome == "swapped":
            metrics.reloads.labels(change.policy).inc()
        elif change.outcome == "failed":
            metrics.reload_failures.labels(source).inc()
        if change.outcome != "removed":  # an id gone says nothing of its file, which may be gone too
            metrics.broken.labels(source).set(1 if change.outcome in ("failed", "clash") else 0)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_seconds)
            try:
                await asyncio.to_thread(self.reload)
            except Exception as exc:  # a watcher that dies would silently stop reloads
                say(f"reload failed: {type(exc).__name__}: {exc}")

    # What every request goes through

    def authorized(self, request: Request) -> bool:
        token = self.settings.token
        if token is None:
            return True
        # RFC 7235: the scheme is case-insensitive and one or more spaces follow it; the token is exact
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.lstrip(" ").encode(), token.encode())

    async def body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.settings.read_timeout):  # a slow client holds a connection only
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise BodyTooLarge
                    chunks.append(chunk)
        except TimeoutError:
            raise BodyTooSlow from None
        return b"".join(chunks)

    def failure(self, request: Request, rules: Rules, exc: Exception | asyncio.CancelledError) -> Response:
        """The answer to a request whose handling stopped with `exc`."""
        if isinstance(exc, BodyTooLarge):
            return error(413, f"the body is larger than {rules.limit} bytes ({rules.limit_flag})")
        if isinstance(exc, BodyTooSlow):
            return closing(error(408, f"the body did not arrive within {self.settings.read_timeout:g} s",
                                 hint="--read-timeout"))
        if isinstance(exc, ClientDisconnect):  # nginx's 499: the client went away, the service did not fail
            return error(499, "the client closed the connection")
        if isinstance(exc, (ShuttingDown, asyncio.CancelledError)):
            # CancelledError: uvicorn cancels the requests still running when --shutdown-grace ends; the
            # request task ends with this answer, as the process does right after
            return closing(error(503, "the service is shutting down"))
        say(f"{request.url.path}: {type(exc).__name__}: {exc}")  # never crash: a 500, the log says why
        return error(500, "internal error")

    # The routes

    def served(self, request: Request) -> Loaded | Response:
        policy_id = request.path_params["policy_id"]
        loaded = self.registry.by_id.get(policy_id)
        if loaded is None:
            hint = did_you_mean(policy_id, sorted(self.registry.by_id))
            return error(404, f"no policy {policy_id!r} is served", **({"hint": hint} if hint else {}))
        return loaded

    async def decide(self, request: Request, raw: bytes) -> Response:
        loaded = self.served(request)
        if isinstance(loaded, Response):
            return loaded
        status, answer = await self.decider.run(self.decider.one, loaded, raw)
        return Response(answer, status_code=status, media_type="application/json")

    async def decide_batch(self, request: Request, raw: bytes) -> Response:
        loaded = self.served(request)
        if isinstance(loaded, Response):
            return loaded
        kind = request.headers.get("content-type", "")
        status, answer = await self.decider.run(self.decider.batch, loaded, raw, "ndjson" in kind or "jsonl" in kind)
        return Response(answer, status_code=status, media_type="application/json")

    async def assign(self, request: Request, raw: bytes) -> Response:
        loaded = self.served(request)
        if isinstance(loaded, Response):
            return loaded
        status, answer = await self.assignments.run(self.assignments.answer, loaded, raw, self.decider)
        return Response(answer, status_code=status, media_type="application/json")

    async def assignments_page(self, request: Request) -> Response:
        query = dict(request.query_params)
        status, answer = await self.assignments.run(self.assignments.audit, query, request.url.path,
                                                    self.registry.by_id)
        return Response(answer, status_code=status, media_type="application/json")

    def describe(self, loaded: Loaded) -> dict[str, Any]:
        entry = self.registry.entries.get(loaded.source)
        policy = loaded.policy
        return {"id": policy.id, "version": policy.version, "fingerprint": policy.fingerprint,
                "title": policy.title, "approval": loaded.approval, "loaded_at": loaded.loaded_at.isoformat(),
                "source": self.registry.shown(loaded.source), "reloads": entry.reloads if entry else 0,
                "last_error": [escaped(line) for line in entry.error] if entry and entry.error else None,
                "failed_at": entry.failed_at.isoformat() if entry and entry.failed_at else None}

    def not_loaded(self) -> list[dict[str, Any]]:
        """The files served that serve nothing, each with why (`not_loaded` of /v1/policies)."""
        return [{"source": self.registry.shown(entry.source), "error": [escaped(line) for line in entry.problems],
                 "failed_at": entry.failed_at.isoformat() if entry.failed_at else None}
                for entry in self.registry.not_serving()]

    async def policies(self, request: Request) -> Response:
        return JSONResponse({"policies": [self.describe(v) for _, v in sorted(self.registry.by_id.items())],
                             "not_loaded": self.not_loaded()})

    async def policy(self, request: Request) -> Response:
        loaded = self.served(request)
        if isinstance(loaded, Response):
            return loaded
        return JSONResponse({**self.describe(loaded), "lead_schema": loaded.policy.lead_schema,
                             "stages": [s.name for s in loaded.policy.ir.stages]})

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        ready = self.registry.ready and bool(self.registry.by_id)
        return JSONResponse({"ready": ready, "policies": len(self.registry.by_id)}, status_code=200 if ready else 503)

    async def metrics_text(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document({k: v.policy for k, v in self.registry.by_id.items()}))


def guarded(handlers: Handlers, rules: Rules, handler: Callable[..., Awaitable[Response]]) -> Endpoint:
    """The handler under the service's rules: the token, the body limit, metrics, and no crash ever."""

    async def run(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await _answer(handlers, rules, handler, request)
        except (Exception, asyncio.CancelledError) as exc:
            response = handlers.failure(request, rules, exc)
        handlers.metrics.requests.labels(rules.name, str(response.status_code)).inc()
        handlers.metrics.latency.labels(rules.name).observe(time.perf_counter() - started)
        return response

    return run


async def _answer(handlers: Handlers, rules: Rules, handler: Callable[..., Awaitable[Response]],
                  request: Request) -> Response:
    if not rules.open and not handlers.authorized(request):
        return error(401, "a bearer token is required", hint="send Authorization: Bearer TOKEN")
    if rules.limit is not None:
        return await handler(request, await handlers.body(request, rules.limit))
    return await handler(request)
