"""`leadpolicy serve`: decisions over HTTP, as services call a policy engine.

Starlette on uvicorn: Starlette is the small ASGI toolkit FastAPI is built on; the service needs
its routing and requests, not FastAPI's models, since each policy's lead schema is the JSON Schema
the policy itself gives (served under `/v1/policies/{id}` and referenced from `/openapi.json`).
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from leadpolicy.service.decisions import Decider, Settings
from leadpolicy.service.handlers import Handlers, Rules, guarded
from leadpolicy.service.metrics import Metrics
from leadpolicy.service.registry import Registry
from leadpolicy.service.ui_pages import UiHeaders, ui_routes

__all__ = ["Settings", "create_app"]


def routes(handlers: Handlers, settings: Settings) -> list[Route]:
    """Every route: its path, method, handler and the rules its requests meet."""
    table: list[tuple[str, str, Callable[..., Awaitable[Response]], Rules]] = [
        ("/v1/policies/{policy_id}/decide", "POST", handlers.decide, Rules("decide", settings.max_body)),
        ("/v1/policies/{policy_id}/decide-batch", "POST", handlers.decide_batch,
         Rules("decide-batch", settings.max_batch_body, limit_flag="--max-batch-body")),
        ("/v1/policies/{policy_id}/assign", "POST", handlers.assign, Rules("assign", settings.max_body)),
        ("/v1/assignments", "GET", handlers.assignments_page, Rules("assignments")),
        ("/v1/policies", "GET", handlers.policies, Rules("policies")),
        ("/v1/policies/{policy_id}", "GET", handlers.policy, Rules("policy")),
        ("/healthz", "GET", handlers.healthz, Rules("healthz", open=True)),
        ("/readyz", "GET", handlers.readyz, Rules("readyz", open=True)),
        ("/metrics", "GET", handlers.metrics_text, Rules("metrics", open=True)),
        ("/openapi.json", "GET", handlers.openapi, Rules("openapi", open=True)),
        *ui_routes(handlers, settings),
    ]
    return [Route(path, guarded(handlers, rules, handler), methods=[method]) for path, method, handler, rules in table]


def lifespan(handlers: Handlers) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def running(app: Starlette) -> AsyncIterator[None]:
        """Load every policy, open the assignment state, watch their files (and SIGHUP) while serving, close the
        decider and the state at the end."""
        await asyncio.to_thread(handlers.assignments.open)
        await asyncio.to_thread(handlers.reload, True)
        task = asyncio.create_task(handlers.watch())
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(asyncio.to_thread(handlers.reload, True)))
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests), or no signals here: file changes still reload
        yield
        task.cancel()
        await asyncio.to_thread(handlers.assignments.close)  # first: an assignment in flight writes the decision log
        await asyncio.to_thread(handlers.decider.close)

    return running


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()
    handlers = Handlers(settings, Registry(settings.paths), metrics, Decider(settings, metrics))
    app = Starlette(routes=routes(handlers, settings), middleware=[Middleware(UiHeaders)], lifespan=lifespan(handlers))
    app.state.registry = handlers.registry
    return app
