"""Page handlers that never show a traceback: expected failures become short error pages."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from adapter._console.context import Console
from adapter._errors import AdapterError
from adapter._observe.errors import one_line

__all__ = ["Endpoint", "failure_page", "friendly", "problem_text"]

Endpoint = Callable[[Request], Awaitable[Response]]


def problem_text(exc: BaseException) -> str:
    """One line saying what went wrong (Temporal's status first for an RPC error)."""
    return one_line(exc)


def _status(exc: BaseException) -> int:
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            return 404
        if exc.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
            return 400
        return 503
    if isinstance(exc, ConnectionError | RuntimeError):
        return 503
    return 400


def friendly(console: Console) -> Callable[[Endpoint], Endpoint]:
    """Wrap an endpoint: an expected failure is a page (or, for htmx, a fragment) in one line."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def run(request: Request) -> Response:
            try:
                return await endpoint(request)
            except (AdapterError, RPCError, ValueError, LookupError, ConnectionError) as exc:
                return failure_page(console, request, _status(exc), problem_text(exc))
            except RuntimeError as exc:  # e.g. the client cannot connect
                return failure_page(console, request, 503, problem_text(exc))

        return run

    return wrap


def failure_page(console: Console, request: Request, status: int, text: str) -> Response:
    """The error page, or for an htmx request a fragment the page shows in place."""
    if request.headers.get("hx-request"):
        # 200, so that htmx swaps it in where the answer was expected.
        return HTMLResponse(f'<p class="error-text" role="alert">{escape(text)}</p>')
    title = {404: "Not found", 503: "Temporal is not answering"}.get(status, "Cannot do that")
    return console.error_page(request, status, title, text)
