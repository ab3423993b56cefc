"""The Sandbox page: run a function in-process (``adapter.testing.run``) from the browser.

The function comes from the functions folder as the dev worker loaded it
(:func:`~adapter._dev.folder.folder_load`); it runs through the worker's own executor,
with the event data typed in and per-step stubs (a JSON value, an error, a timeout for a
``wait_for_event``), and the page shows the run's status, its output or error and a step
timeline (status, attempts, output or error). Nothing reaches Temporal unless the user
presses "run live": then the event is sent for real, as ``adapter test-run --live`` does,
and the page links to the run. Malformed JSON is an inline error; nothing runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapter._console.context import Console
from adapter._console.events import event_path, send_event
from adapter._console.forms import JsonFieldError, form_fields, json_object
from adapter._console.guard import friendly, problem_text
from adapter._console.runs import run_path
from adapter._define.event import CRON_EVENT
from adapter._define.function import Function
from adapter._define.step_ids import handler_step_names
from adapter._dev.folder import FolderLoad, folder_load
from adapter._errors import EventValidationError
from adapter._observe.errors import ObserveError
from adapter.testing import RunResult, Timeout, UnstubbedStepError, run

__all__ = ["MODES", "NAV", "StubError", "routes", "sandbox_path", "stubs_of"]

NAV: tuple[str, str] = ("Sandbox", "/sandbox")
"""The nav entry: the seed's sandbox."""

MODES = ("run", "value", "error", "timeout")
"""What a step does in the sandbox: its body, a stubbed value, an error, a wait's timeout."""
EXTRA_ROWS = 2  # stub rows with a step id to type (ids the source does not name literally)


class StubError(Exception):
    """The error a stub makes its step fail with (the message typed on the page)."""


def sandbox_path(app_id: str, function_id: str) -> str:
    """The console path of a function's sandbox."""
    return f"/sandbox/{quote(app_id, safe='')}/{quote(function_id, safe='')}"


@dataclass(frozen=True)
class StubRow:
    """One row of the stub form: a step id and what it does."""

    index: int
    step: str
    mode: str = "run"
    value: str = ""
    known: bool = True


def stubs_of(fields: dict[str, str]) -> tuple[dict[str, Any], list[StubRow]]:
    """The stubs the form asks for (``stub-<n>-id``, ``-mode``, ``-value``) and its rows.

    A value is JSON (JsonFieldError naming the step otherwise), an error stub fails the
    step with :class:`StubError` and the typed message, a timeout makes a
    ``wait_for_event`` time out.
    """
    stubs: dict[str, Any] = {}
    rows: list[StubRow] = []
    indexes = sorted(
        {int(m.group(1)) for k in fields if (m := re.fullmatch(r"stub-(\d+)-mode", k))}
    )
    for n in indexes:
        step = fields.get(f"stub-{n}-id", "").strip()
        mode = fields.get(f"stub-{n}-mode", "run")
        value = fields.get(f"stub-{n}-value", "")
        known = fields.get(f"stub-{n}-known") == "1"
        if mode not in MODES:
            raise JsonFieldError(f"stub mode {mode!r} is not one of {', '.join(MODES)}")
        rows.append(StubRow(n, step, mode, value, known))
        if mode == "run":
            continue
        if not step:
            raise JsonFieldError(f"stub {n + 1} has no step id: type the step's id, or choose run")
        if mode == "value":
            stubs[step] = _json_value(value, step)
        elif mode == "error":
            stubs[step] = StubError(value.strip() or f"stubbed failure of step {step!r}")
        else:
            stubs[step] = Timeout
    return stubs, rows


def _json_value(text: str, step: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFieldError(
            f"the stub of step {step!r} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f'column {exc.colno}; write a JSON value such as {{"id": 1}}, [1, 2], "text" or null'
        ) from None


def default_rows(fn: Function) -> list[StubRow]:
    """A row per step id the handler's source names, then rows to type an id in."""
    names = handler_step_names(fn.handler)
    rows = [StubRow(i, sid) for i, sid in enumerate(names.order)]
    start = len(rows)
    rows += [StubRow(start + i, "", known=False) for i in range(EXTRA_ROWS)]
    return rows


def event_name(fn: Function) -> str | None:
    """The event a sandbox run gets by default: the first event trigger (None for a cron)."""
    return next((t.event for t in fn.config.event_triggers), None)


def timeline(result: RunResult) -> list[dict[str, Any]]:
    """The result's steps as the page's rows (the CLI's ``test-run`` columns)."""
    rows = []
    for s in result.steps:
        status = "failed" if s.error else ("stubbed" if s.stubbed else "completed")
        error = None
        if s.error:
            error = f"{s.error.get('name')}: {s.error.get('message')}"
        rows.append(
            {
                "id": s.id,
                "kind": s.kind,
                "status": status,
                "attempts": s.attempts,
                "output": None if s.error else json.dumps(s.output, indent=2, default=str),
                "error": error,
                "stack": (s.error or {}).get("stack") if s.error and not s.stubbed else None,
                "opts": json.dumps(s.opts, default=str) if s.opts else "",
            }
        )
    return rows


def routes(console: Console) -> list[BaseRoute]:
    """``GET /sandbox`` (the picker), ``GET|POST /sandbox/{app}/{function}``."""
    guard = friendly(console)

    def load() -> FolderLoad | None:
        folder = console.functions_dir
        return folder_load(folder) if folder is not None and Path(folder).is_dir() else None

    @guard
    async def picker(request: Request) -> Response:
        loaded = load()
        apps: dict[str, list[Function]] = {}
        for fn in loaded.functions if loaded else ():
            apps.setdefault(fn.app_id, []).append(fn)
        context = {
            "title": "Sandbox",
            "apps": apps,
            "folder": str(console.functions_dir) if console.functions_dir else None,
            "sandbox_path": sandbox_path,
            "event_name": event_name,
        }
        return console.page(request, "sandbox_index.html", context)

    def find(request: Request) -> Function | None:
        app_id, fid = request.path_params["app"], request.path_params["function"]
        loaded = load()
        for fn in loaded.functions if loaded else ():
            if (fn.app_id, fn.id) == (app_id, fid):
                return fn
        return None

    def missing(request: Request) -> Response:
        app_id, fid = request.path_params["app"], request.path_params["function"]
        where = console.functions_dir or "no functions folder"
        return console.error_page(
            request,
            404,
            "No such function",
            f"The functions folder ({where}) has no function {fid!r} in app {app_id!r}; "
            "pick one on the Sandbox page.",
        )

    @guard
    async def form(request: Request) -> Response:
        fn = find(request)
        if fn is None:
            return missing(request)
        name = event_name(fn)
        context = {
            "title": f"Sandbox: {fn.id}",
            "fn": fn,
            "event_name": name or CRON_EVENT,
            "cron": name is None,
            "data": "{}",
            "rows": default_rows(fn),
            "modes": MODES,
            "self_path": sandbox_path(fn.app_id, fn.id),
        }
        return console.page(request, "sandbox.html", context)

    @guard
    async def execute(request: Request) -> Response:
        fn = find(request)
        if fn is None:
            return missing(request)
        fields = await form_fields(request)
        live = fields.get("action") == "live"
        cron = event_name(fn) is None
        context: dict[str, Any] = {"fn": fn, "live": live}
        try:
            data = json_object(fields.get("data", ""), "event data")
            stubs, _ = stubs_of(fields)
        except JsonFieldError as exc:
            context["error"] = str(exc)
            return console.page(request, "sandbox_result.html", context)
        name = fields.get("event", "").strip() or event_name(fn) or CRON_EVENT
        if live:
            context.update(await _live(console, fn, name, data, stubs, cron))
            return console.page(request, "sandbox_result.html", context)
        event = None if cron else {"name": name, "data": data}
        try:
            result = await run(fn, event=event, cron=cron, stubs=stubs)
        except UnstubbedStepError as exc:
            context["error"] = str(exc)
            return console.page(request, "sandbox_result.html", context)
        except (EventValidationError, ValueError, TypeError) as exc:
            context["error"] = problem_text(exc)
            return console.page(request, "sandbox_result.html", context)
        context.update(
            result=result,
            steps=timeline(result),
            output=json.dumps(result.output, indent=2, default=str),
            failure=None
            if result.error is None
            else f"{type(result.error).__name__}: {result.error}",
            sent=[json.dumps(e, default=str) for e in result.sent],
        )
        return console.page(request, "sandbox_result.html", context)

    return [
        Route("/sandbox", picker, methods=["GET"]),
        Route("/sandbox/{app}/{function}", form, methods=["GET"]),
        Route("/sandbox/{app}/{function}", execute, methods=["POST"]),
    ]


async def _live(
    console: Console,
    fn: Function,
    name: str,
    data: dict[str, Any],
    stubs: dict[str, Any],
    cron: bool,
) -> dict[str, Any]:
    """Send the event for real (as ``adapter test-run --live``); the run to follow, or why not."""
    if cron:
        return {
            "error": f"{fn.id} is a cron function: run live triggers an event function; use "
            "invoke now on the Functions page to trigger its schedule"
        }
    if stubs:
        return {
            "error": "stubs work in the sandbox only: set every step to run its body, or "
            "press Run in the sandbox"
        }
    try:
        sent = await send_event(console, name, data)
    except (EventValidationError, ObserveError) as exc:
        return {"error": problem_text(exc)}
    runs = [f for f in sent["functions"] if (f["app_id"], f["function"]) == (fn.app_id, fn.id)]
    run = runs[0]["run"] if runs else None
    return {
        "event_id": sent["id"],
        "event_link": event_path(sent["id"]),
        "run_link": run_path(run) if run else None,
        "routed": bool(runs),
    }
