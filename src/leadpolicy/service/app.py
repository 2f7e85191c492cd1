"""`leadpolicy serve`: decisions over HTTP, as services call a policy engine.

Starlette on uvicorn: Starlette is the small ASGI toolkit FastAPI is built on; the service needs
its routing and requests, not FastAPI's models, since each policy's lead schema is the JSON Schema
the policy itself gives (served under `/v1/policies/{id}` and referenced from `/openapi.json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import signal
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadpolicy.service.decisions import Decider, Settings, ShuttingDown
from leadpolicy.service.metrics import Metrics
from leadpolicy.service.openapi import openapi_document
from leadpolicy.service.registry import Change, Loaded, Registry, escaped

__all__ = ["Settings", "create_app"]


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def say(message: str) -> None:
    """One line of the service's log, on stdout; names and errors in it escaped (`escaped`)."""
    print(f"leadpolicy serve: {escaped(message)}", flush=True)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(settings: Settings) -> Starlette:
    registry = Registry(settings.paths)
    metrics = Metrics()
    decider = Decider(settings, metrics)

    def reload(force: bool = False) -> None:
        for change in registry.reload(force):
            say(change.message)
            count(change)

    def count(change: Change) -> None:
        """A reload's change in the metrics. A file that serves nothing because another file serves its
        id (a clash) is broken, but no reload failure: it loads. A file gone has its series dropped."""
        source = registry.shown(change.source)
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

    async def watch() -> None:
        while True:
            await asyncio.sleep(settings.poll_seconds)
            try:
                await asyncio.to_thread(reload)
            except Exception as exc:  # a watcher that dies would silently stop reloads
                say(f"reload failed: {type(exc).__name__}: {exc}")

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
        await asyncio.to_thread(decider.close)

    def authorized(request: Request) -> bool:
        if settings.token is None:
            return True
        # RFC 7235: the scheme is case-insensitive and one or more spaces follow it; the token is exact
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.lstrip(" ").encode(),
                                                                  settings.token.encode())

    async def body(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        chunks, size = [], 0
        try:
            async with asyncio.timeout(settings.read_timeout):  # a slow client holds a connection, not the service
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise BodyTooLarge
                    chunks.append(chunk)
        except TimeoutError:
            raise BodyTooSlow from None
        return b"".join(chunks)

    def endpoint(name: str, limit: int | None = None, open_: bool = False, limit_flag: str = "--max-body",
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
                    response = _error(413, f"the body is larger than {limit} bytes ({limit_flag})")
                except BodyTooSlow:
                    response = _error(408, f"the body did not arrive within {settings.read_timeout:g} s",
                                      hint="--read-timeout")
                    response.headers["connection"] = "close"
                except ClientDisconnect:  # nginx's 499: the client went away, the service did not fail
                    response = _error(499, "the client closed the connection")
                except (ShuttingDown, asyncio.CancelledError):
                    # CancelledError: uvicorn cancels the requests still running when --shutdown-grace
                    # ends; the request task ends with this answer, as the process does right after
                    response = _error(503, "the service is shutting down")
                    response.headers["connection"] = "close"
                except Exception as exc:  # never crash: the caller gets a 500, the log the reason
                    say(f"{request.url.path}: {type(exc).__name__}: {exc}")
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

    @endpoint("decide", settings.max_body)
    async def decide(request: Request, raw: bytes) -> Response:
        loaded = served(request)
        if isinstance(loaded, Response):
            return loaded
        status, answer = await decider.run(decider.one, loaded, raw)
        return Response(answer, status_code=status, media_type="application/json")

    @endpoint("decide-batch", settings.max_batch_body, limit_flag="--max-batch-body")
    async def decide_batch(request: Request, raw: bytes) -> Response:
        loaded = served(request)
        if isinstance(loaded, Response):
            return loaded
        kind = request.headers.get("content-type", "")
        status, answer = await decider.run(decider.batch, loaded, raw, "ndjson" in kind or "jsonl" in kind)
        return Response(answer, status_code=status, media_type="application/json")

    def describe(loaded: Loaded) -> dict[str, Any]:
        entry = registry.entries.get(loaded.source)
        return {"id": loaded.policy.id, "version": loaded.policy.version, "fingerprint": loaded.policy.fingerprint,
                "title": loaded.policy.title, "approval": loaded.approval, "loaded_at": loaded.loaded_at.isoformat(),
                "source": registry.shown(loaded.source), "reloads": entry.reloads if entry else 0,
                "last_error": [escaped(line) for line in entry.error] if entry and entry.error else None,
                "failed_at": entry.failed_at.isoformat() if entry and entry.failed_at else None}

    @endpoint("policies")
    async def policies(request: Request) -> Response:
        broken = [{"source": registry.shown(entry.source), "error": [escaped(line) for line in entry.problems],
                   "failed_at": entry.failed_at.isoformat() if entry.failed_at else None}
                  for entry in registry.not_serving()]
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
