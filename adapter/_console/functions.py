"""The Functions page: every function of every app registered in the namespace.

Read from the registrations senders route by (:func:`~adapter._temporal.registry.list_entries`:
registrations and pauses) and the cron schedules as ``adapter schedules`` shows them
(cron in words, next three times in UTC and in the schedule's zone). Actions are the
CLI's: pause / resume (:mod:`adapter._operate.pause`, which also pauses the cron
schedules), and "invoke now": an event function gets its trigger event with the data
typed in, sent as ``adapter test-run --live`` / ``adapter send`` do; a cron function's
schedule is triggered as ``adapter schedules trigger`` does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from temporalio.client import Client

from adapter._console.code import code_path, function_modules
from adapter._console.context import Console
from adapter._console.events import event_path, send_event
from adapter._console.facts import FunctionFacts, function_facts
from adapter._console.forms import JsonFieldError, form_fields, json_object
from adapter._console.guard import failure_page, friendly, problem_text
from adapter._console.runs import run_path
from adapter._errors import EventValidationError
from adapter._observe import schedules as sched
from adapter._observe.errors import ObserveError
from adapter._operate.pause import pause, resume
from adapter._temporal.registry import list_entries

NAV: tuple[str, str] = ("Functions", "/functions")
"""The nav entry (the console's start page)."""


async def load_facts(console: Console, client: Client) -> list[FunctionFacts]:
    """Every registered function with its crons, pause state and module file."""
    registrations, pauses = await list_entries(client)
    schedules = await sched.list_schedule_infos(client)
    folder = console.functions_dir
    modules = (
        {key: code_path(name, line) for key, (name, line) in function_modules(folder).items()}
        if folder is not None
        else {}
    )
    return function_facts(registrations, pauses, schedules, modules)


async def _find(console: Console, client: Client, app_id: str, function_id: str) -> FunctionFacts:
    for facts in await load_facts(console, client):
        if (facts.app_id, facts.function_id) == (app_id, function_id):
            return facts
    raise ObserveError(
        f"no registered function {function_id!r} in app {app_id!r} (its worker may have "
        "unregistered it; reload the page)"
    )


def routes(console: Console) -> list[BaseRoute]:
    """``GET /functions``, ``POST /functions/pause``, ``/functions/resume``, ``/functions/invoke``."""
    guard = friendly(console)
    helpers = {"run_path": run_path, "event_path": event_path}

    async def render(request: Request, client: Client, **extra: Any) -> Response:
        facts = await load_facts(console, client)
        apps = sorted({f.app_id for f in facts})
        context = {"title": "Functions", "functions": facts, "apps": apps, **helpers, **extra}
        part = "functions_list.html" if request.headers.get("hx-request") else "functions.html"
        return console.page(request, part, context)

    @guard
    async def index(request: Request) -> Response:
        return await render(request, await console.connect())

    @guard
    async def set_paused(request: Request) -> Response:
        client = await console.connect()
        fields = await form_fields(request)
        app_id, function_id = fields.get("app", ""), fields.get("function", "")
        await _find(console, client, app_id, function_id)
        if request.url.path.endswith("/pause"):
            report = await pause(client, app_id, function_id, fields.get("note", "").strip())
            crons = f" and its {len(report.schedules)} cron schedule(s)" if report.schedules else ""
            message = (
                f"Paused {function_id}{crons}: new events are held (kept, not dropped) until "
                "you resume it."
                if report.changed
                else f"{function_id} was paused already."
            )
        else:
            report = await resume(client, app_id, function_id)
            message = (
                f"Resumed {function_id}: {report.released} held event(s) routed to it."
                if report.changed
                else f"{function_id} was not paused."
            )
        return await render(request, client, message=message, focus=f"{app_id}:{function_id}")

    @guard
    async def invoke(request: Request) -> Response:
        client = await console.connect()
        fields = await form_fields(request)
        app_id, function_id = fields.get("app", ""), fields.get("function", "")
        facts = await _find(console, client, app_id, function_id)
        context: dict[str, Any] = {"facts": facts, **helpers}
        if facts.first_event is None:
            if not facts.crons:
                return failure_page(
                    console, request, 400, f"{function_id} has no trigger to invoke it by"
                )
            for cron in facts.crons:
                await client.get_schedule_handle(str(cron["id"])).trigger()
            context["triggered"] = [c["id"] for c in facts.crons]
            return console.page(request, "function_invoked.html", context)
        try:
            data = json_object(fields.get("data", ""), "data")
            context["sent"] = await send_event(console, facts.first_event, data)
        except (JsonFieldError, EventValidationError) as exc:
            context["error"] = str(exc)
        except ObserveError as exc:
            context["error"] = problem_text(exc)
        context["run"] = next(
            (
                f["run"]
                for f in (context.get("sent") or {}).get("functions", [])
                if (f["app_id"], f["function"]) == (app_id, function_id)
            ),
            None,
        )
        return console.page(request, "function_invoked.html", context)

    return [
        Route("/functions", index, methods=["GET"]),
        Route("/functions/pause", set_paused, methods=["POST"]),
        Route("/functions/resume", set_paused, methods=["POST"]),
        Route("/functions/invoke", invoke, methods=["POST"]),
    ]
