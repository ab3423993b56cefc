"""The console's functions page (being built)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapter._console.context import Console

NAV: tuple[str, str] = ("Functions", "/functions")
"""The nav entry (label, path); an empty label keeps the page out of the nav."""


def routes(console: Console) -> list[BaseRoute]:
    """The page's routes."""

    async def index(request: Request) -> Response:
        return console.error_page(request, 503, "Functions", "This page is being built.")

    return [Route("/functions", index, methods=["GET"])]
