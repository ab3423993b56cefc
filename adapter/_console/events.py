"""The Events page: the event log newest first, one event's story, and "send test event".

Read through the modules ``adapter events`` / ``adapter event ID`` use
(:func:`~adapter._observe.events.list_events`, :func:`~adapter._observe.events.load_event`),
so the page shows the same facts: each event's runs, and per function of the current
registrations why it ran or did not. Sending goes through ``Inngest.send``, as
``adapter send`` does (routed by the namespace's registrations).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from temporalio.client import Client

from adapter._console.context import Console
from adapter._console.forms import JsonFieldError, form_fields, json_object
from adapter._console.guard import friendly, problem_text
from adapter._console.runs import run_path
from adapter._errors import EventValidationError, SendError
from adapter._observe.event_render import overall
from adapter._observe.events import list_events, load_event
from adapter._protocol import run_id
from adapter._temporal.registry import REGISTRY, list_registrations

NAV: tuple[str, str] = ("Events", "/events")
"""The nav entry."""

LIMIT = 30


def event_path(event_id: str) -> str:
    """The console path of an event's page."""
    return "/events/" + quote(event_id, safe="")


async def event_names(client: Client) -> list[str]:
    """The event names the registered functions trigger on (suggestions for the form)."""
    names = {
        str(t.get("event"))
        for reg in await list_registrations(client)
        for f in reg["functions"]
        for t in f.get("triggers", [])
    }
    return sorted(names)


async def send_event(console: Console, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Send one event as ``adapter send`` does; its id and the runs it starts directly."""
    sender = await console.send_client()
    client = await console.connect()
    [event_id] = await sender.send({"name": name, "data": data})
    table = await REGISTRY.table(client)
    routed = table.for_event(name, {"name": name, "data": data, "id": event_id})
    return {
        "id": event_id,
        "functions": [
            {
                "app_id": r.app_id,
                "function": r.function_id,
                "gated": r.gate is not None,
                "run": None if r.gate is not None else run_id(r.app_id, r.function_id, event_id),
            }
            for r in routed
        ],
    }


def routes(console: Console) -> list[BaseRoute]:
    """``GET /events`` (``?name=``), ``POST /events/send``, ``GET /events/{event id}``."""
    guard = friendly(console)
    helpers = {"run_path": run_path, "event_path": event_path, "overall": overall}

    @guard
    async def index(request: Request) -> Response:
        client = await console.connect()
        name = request.query_params.get("name") or None
        items = await list_events(client, name=name, limit=LIMIT)
        context = {
            "title": "Events",
            "items": items,
            "name": name or "",
            "names": await event_names(client),
            "now": datetime.now(UTC),
            "example": '{\n  "email": "jane@example.com",\n  "name": "Jane"\n}',
            **helpers,
        }
        template = (
            "events_table.html" if request.query_params.get("part") == "table" else "events.html"
        )
        return console.page(request, template, context)

    @guard
    async def send(request: Request) -> Response:
        fields = await form_fields(request)
        name = fields.get("name", "").strip()
        context: dict[str, Any] = {"name": name, **helpers}
        if not name:
            context["error"] = "name is required: the event's name, e.g. user/created"
            return console.page(request, "event_sent.html", context)
        try:
            data = json_object(fields.get("data", ""), "data")
            context["sent"] = await send_event(console, name, data)
        except (JsonFieldError, EventValidationError) as exc:
            context["error"] = str(exc)
        except SendError as exc:
            context["error"] = f"the event was not sent: {problem_text(exc)}"
        # The log below refreshes (once visibility has the event) after a send.
        headers = {"HX-Trigger": "event-sent"} if "sent" in context else None
        return console.page(request, "event_sent.html", context, headers=headers)

    @guard
    async def event_page(request: Request) -> Response:
        client = await console.connect()
        event_id = request.path_params["event_id"]
        report = await load_event(client, event_id)
        part = request.query_params.get("part")
        if report is None:
            if part == "why":
                return console.page(request, "event_why.html", {"report": None, **helpers})
            return console.error_page(
                request,
                404,
                "No such event",
                f"No event {event_id!r} in namespace {client.namespace!r} (never sent, or past "
                "the namespace's retention).",
            )
        context = {
            "title": f"Event {event_id}",
            "report": report,
            "now": datetime.now(UTC),
            **helpers,
        }
        template = "event_why.html" if part == "why" else "event.html"
        return console.page(request, template, context)

    return [
        Route("/events", index, methods=["GET"]),
        Route("/events/send", send, methods=["POST"]),
        Route("/events/{event_id:path}", event_page, methods=["GET"]),
    ]
