"""The try-it page for reviewers: `/ui/` lists the served policies, `/ui/{policy_id}` tries leads on one.

The pages are static files of the package (`service/ui`), read once; no path from a request reaches the file
system. They hold no policy data, so they are open like `/healthz`: the page's script asks the token-guarded
API for everything (`/v1/policies`, and the two JSON routes here) and asks the reviewer for the token when the
API answers 401. Every answer under /ui/ forbids any script but the page's own file (Content-Security-Policy
`script-src 'self'`): `UiHeaders` sets it on each, the router's and the shared guard's answers (401, 404, 405,
413, redirects) included, and the page builds its DOM with `textContent` only.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import PurePosixPath
from typing import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpolicy.service.decisions import Settings, encode
from leadpolicy.service.handlers import Handlers, Rules
from leadpolicy.service.tryit import described, trial

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
UI_HEADERS = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff",
              "referrer-policy": "no-referrer", "cache-control": "no-cache"}
# The package's own files, by the name a request may ask for: nothing else is ever read.
ASSETS = {"tryit.js": "text/javascript; charset=utf-8", "tryit.css": "text/css; charset=utf-8"}
PAGES = ("index.html", "policy.html")

Handler = Callable[..., Awaitable[Response]]


@functools.cache
def packaged(name: str) -> bytes:
    """One of the page's files (a name of ASSETS or PAGES), read from the package once."""
    return resources.files("leadpolicy.service").joinpath("ui", name).read_bytes()


def under_ui(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


class UiHeaders:
    """ASGI middleware: every answer to a path under /ui/ carries UI_HEADERS, whichever part of the service made
    it (a page, the JSON, the token's 401, the body limit's 413, the router's 404, 405 and redirects)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not under_ui(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in UI_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page_response(body: bytes, media_type: str, status: int = 200) -> Response:
    """A response of the page's routes; `UiHeaders` adds the headers that guard it."""
    return Response(body, status_code=status, media_type=media_type)


class Pages:
    """The handlers of the try-it page's routes."""

    def __init__(self, handlers: Handlers):
        self.handlers = handlers

    async def to_index(self, request: Request) -> Response:
        return RedirectResponse("ui/", status_code=308)

    async def index(self, request: Request) -> Response:
        return page_response(packaged("index.html"), "text/html; charset=utf-8")

    async def policy_page(self, request: Request) -> Response:
        """The same page for every id: the script reads the id from the address and asks the API for it, so an
        unknown id is said by the API (404, with did-you-mean) once the token is given."""
        return page_response(packaged("policy.html"), "text/html; charset=utf-8")

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return page_response(b"not found\n", "text/plain; charset=utf-8", 404)
        return page_response(packaged(name), ASSETS[name])

    async def description(self, request: Request) -> Response:
        loaded = self.handlers.served(request)
        if isinstance(loaded, Response):
            return self.not_served(request.path_params["policy_id"], loaded)
        return page_response(encode(described(loaded)), "application/json")

    def not_served(self, policy_id: str, refused: Response) -> Response:
        """The API's answer for an id not served, with `not_loaded`: the files named like the id (`ID.policy`,
        `ID.json`) that did not load, and why, as /v1/policies lists them."""
        broken = [entry for entry in self.handlers.not_loaded() if PurePosixPath(entry["source"]).stem == policy_id]
        if not broken:
            return refused
        return JSONResponse({**json.loads(bytes(refused.body)), "not_loaded": broken}, status_code=refused.status_code)

    async def trial(self, request: Request, raw: bytes) -> Response:
        loaded = self.handlers.served(request)
        if isinstance(loaded, Response):
            return loaded
        decider = self.handlers.decider
        status, answer = await decider.run(trial, decider, loaded, raw)
        return page_response(answer, "application/json", status)


def ui_routes(handlers: Handlers, settings: Settings) -> list[tuple[str, str, Handler, Rules]]:
    """The try-it page's routes for the service's route table: the pages are open, the JSON needs the token."""
    pages = Pages(handlers)
    return [
        ("/ui", "GET", pages.to_index, Rules("ui", open=True)),
        ("/ui/", "GET", pages.index, Rules("ui", open=True)),
        ("/ui/static/{name}", "GET", pages.asset, Rules("ui", open=True)),
        ("/ui/api/policies/{policy_id}", "GET", pages.description, Rules("ui-policy")),
        ("/ui/api/policies/{policy_id}/try", "POST", pages.trial, Rules("ui-try", settings.max_body)),
        ("/ui/{policy_id}", "GET", pages.policy_page, Rules("ui", open=True)),
    ]
