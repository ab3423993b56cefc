"""What every console page needs: the Temporal client, the templates, the functions folder.

Page modules expose ``NAV: tuple[str, str]`` (label, path) and
``routes(console: Console) -> list[BaseRoute]``; they render through
:meth:`Console.page` so every page gets the nav, the load-problem banner and the
dev/token state.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates
from temporalio.client import Client

from adapter._define.client import Inngest
from adapter._observe import words

__all__ = [
    "TEMPLATES_DIR",
    "STATIC_DIR",
    "Console",
    "LoadProblem",
    "fixed_client",
    "make_templates",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class LoadProblem:
    """A functions module that failed to import: its file and the one-line error."""

    file: str
    message: str
    details: str = ""


def make_templates() -> Jinja2Templates:
    """The console's Jinja2 templates (autoescaped), with the CLI's words as filters.

    Times, durations, previews, errors and what a step waits on read exactly as
    ``adapter run`` / ``adapter events`` print them (:mod:`adapter._observe.words`).
    """
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["human_time"] = words.human_time
    env.filters["human_duration"] = words.human_duration
    env.filters["preview"] = words.preview
    env.filters["error_text"] = words.error_text
    env.filters["pretty"] = pretty_json
    env.filters["in_zone"] = words.in_zone
    env.filters["human_iso"] = words.human_iso
    env.globals["waiting_text"] = words.waiting_text
    env.globals["step_detail"] = words.step_detail
    env.globals["until_text"] = words.until_text
    return templates


def pretty_json(value: Any) -> str:
    """Indented JSON for a ``<pre>`` block (any value; non-JSON values as text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def fixed_client(client: Client) -> Callable[[], Awaitable[Client]]:
    """A ``Console.client`` that hands out one connected client."""

    async def get() -> Client:
        return client

    return get


@dataclass
class Console:
    """The console's shared state, handed to every page module's ``routes``.

    ``client`` connects (or returns the connected) Temporal client; ``functions_dir``
    is the dev worker's folder (None without one); ``dev`` opens the console without a
    token; ``temporal_ui`` is the Web UI's base URL for run links; ``reload_status``
    lists the modules that failed to import (shown on every page). ``sender`` sends
    events and invocations (routing is in Temporal, so any client reaches every
    function); ``tokens`` are the accepted console tokens outside dev; ``nav`` is
    filled by :mod:`adapter._console.app` from ``PAGES``.
    """

    client: Callable[[], Awaitable[Client]]
    templates: Jinja2Templates = field(default_factory=make_templates)
    functions_dir: Path | None = None
    dev: bool = False
    temporal_ui: str | None = None
    reload_status: Callable[[], list[LoadProblem]] | None = None
    sender: Inngest | None = None
    tokens: Sequence[str] = ()
    nav: list[tuple[str, str]] = field(default_factory=list)

    def problems(self) -> list[LoadProblem]:
        """The load problems to show on the banner (none when nobody reports them)."""
        if self.reload_status is None:
            return []
        try:
            return list(self.reload_status())
        except Exception as exc:  # the banner must never break a page
            return [LoadProblem("functions", f"could not read the reload status: {exc}")]

    async def connect(self) -> Client:
        """The Temporal client."""
        return await self.client()

    async def send_client(self) -> Inngest:
        """An Inngest client bound to Temporal that sends events for the console."""
        if self.sender is None:
            self.sender = Inngest(app_id="adapter-console")
        self.sender.set_temporal_client(await self.connect())
        return self.sender

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``template`` (which extends ``base.html``) with the shared context."""
        values: dict[str, Any] = {
            "nav": self.nav,
            "problems": self.problems(),
            "dev": self.dev,
            "current": request.url.path,
        }
        values.update(context or {})
        response = self.templates.TemplateResponse(
            request, template, values, status_code=status_code, headers=dict(headers or {})
        )
        assert isinstance(response, HTMLResponse)
        return response

    def error_page(
        self, request: Request, status_code: int, title: str, message: str
    ) -> HTMLResponse:
        """A page that says what went wrong (404, 400, 503...) in one sentence, no traceback."""
        return self.page(
            request,
            "error.html",
            {"title": title, "message": message, "status": status_code},
            status_code=status_code,
        )
