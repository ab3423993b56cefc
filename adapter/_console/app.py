"""The console as an ASGI app: the pages of ``PAGES``, the login, the assets, the error pages.

``create_console_app(console)`` is the console alone (tests, or a port of its own);
``mount_console(event_api_app, console)`` serves it on the Event API's Starlette app
(``adapter dev`` on 8288, ``adapter serve --console``): the Event API's routes keep
priority and its own answers for unknown ``/e`` and ``/v1`` paths.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from adapter._console import chat, code, events, functions, runs, sandbox
from adapter._console.auth import (
    COOKIE,
    ConsoleAuth,
    check_token,
    cookie_value,
    login_target,
    require_token,
    safe_next,
)
from adapter._console.context import STATIC_DIR, Console
from adapter._console.forms import form_fields
from adapter._console.guard import failure_page

__all__ = ["PAGES", "console_routes", "create_console_app", "mount_console"]

PAGES: tuple[ModuleType, ...] = (functions, chat, code, sandbox, runs, events)
"""The page modules, in nav order; each has ``NAV`` and ``routes(console)``.

A page with ``DEV_ONLY = True`` (Chat: it writes modules into the functions folder) is
served by ``adapter dev`` alone, never by a team's ``adapter serve --console``.
"""


def served_pages(console: Console) -> list[ModuleType]:
    """The pages this console serves: every page in dev, the others outside it."""
    return [page for page in PAGES if console.dev or not getattr(page, "DEV_ONLY", False)]


Fallback = Callable[[Request, Exception], Awaitable[Response]]
_API_PATHS = ("/e/", "/v1/")


def console_routes(console: Console) -> list[BaseRoute]:
    """Every route of the console (pages, login, assets); fills ``console.nav``."""
    pages = served_pages(console)
    console.nav = [page.NAV for page in pages if page.NAV[0]]

    async def home(request: Request) -> Response:
        return RedirectResponse(console.nav[0][1] if console.nav else "/login", status_code=303)

    async def login(request: Request) -> Response:
        target = safe_next(request.query_params.get("next", "/"))
        if request.method == "GET":
            return console.page(request, "login.html", {"next": target})
        fields = await form_fields(request)
        target = safe_next(fields.get("next", target))
        token = fields.get("token", "")
        if console.dev or check_token(token, console.tokens):
            response = RedirectResponse(target, status_code=303)
            if not console.dev:
                response.set_cookie(
                    COOKIE, cookie_value(token), httponly=True, samesite="strict", path="/"
                )
            return response
        return console.page(
            request,
            "login.html",
            {"next": target, "error": "That token is not accepted: check it and try again."},
            status_code=401,
        )

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
    for page in pages:
        routes.extend(page.routes(console))
    return routes


def create_console_app(console: Console, *, fallback: Fallback | None = None) -> Starlette:
    """The console alone; ``fallback`` answers unknown Event API paths when mounted beside it.

    Outside dev a console without a token is refused here (ConfigError), never served open.
    """
    require_token(console.dev, console.tokens)

    async def refused(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.headers.get("hx-request"):
            response: Response = Response(
                status_code=401, headers={"HX-Redirect": login_target(request)}
            )
        else:
            response = console.page(
                request,
                "login.html",
                {"next": safe_next(request.url.path), "error": _refusal(request)},
                status_code=401,
            )
        await response(scope, receive, send)

    async def not_found(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if fallback is not None and (path.startswith(_API_PATHS) or path in ("/e", "/health")):
            return await fallback(request, exc)
        detail = exc.detail if isinstance(exc, HTTPException) else ""
        message = detail if detail and detail != "Not Found" else f"No page at {path}."
        return console.error_page(request, 404, "Not found", message)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return console.error_page(
            request, 405, "Not allowed", f"{request.method} is not accepted at {request.url.path}."
        )

    async def failed(request: Request, exc: Exception) -> Response:
        # One sentence, no traceback (the server's log has it); htmx gets a fragment.
        text = f"The page could not be built ({type(exc).__name__}: {_brief(exc)})."
        if request.headers.get("hx-request"):
            return failure_page(console, request, 500, text)
        return console.error_page(request, 500, "Something went wrong", text)

    return Starlette(
        routes=console_routes(console),
        middleware=[
            Middleware(ConsoleAuth, dev=console.dev, tokens=console.tokens, refused=refused)
        ],
        exception_handlers={404: not_found, 405: not_allowed, 500: failed},
    )


def mount_console(app: Starlette, console: Console) -> None:
    """Serve the console on the Event API's app, after (below) the Event API's own routes."""
    api: Any = getattr(app.state, "event_api", None)
    fallback = api.not_found if api is not None else None
    app.router.routes.append(Mount("", app=create_console_app(console, fallback=fallback)))


def _refusal(request: Request) -> str:
    if request.headers.get("authorization"):
        return "The token in the Authorization header is not accepted."
    if request.cookies.get(COOKIE):
        return "Your sign-in is no longer valid: enter the token again."
    return "This console needs a token: enter the console token (or the event key)."


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
