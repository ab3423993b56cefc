"""The Chat page: describe a workflow, see its plan, confirm, and the module is written.

The planner is ``adapter new``'s (:mod:`adapter._authoring`): :func:`plan_function` reads
the description (the same phrases, the same errors quoting the phrase and listing the
phrases that work), and on confirm :func:`new_function` writes the module exactly as the
CLI does — the model's when ``ADAPTER_LLM_*`` configures one and its module passes the
checks, else the skeleton. An existing file is never replaced without a second confirm.
The dev worker (:mod:`adapter._dev.workers`) picks the new module up within a second or
two; the page polls until it serves the function (or shows why the module did not load).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapter._authoring.model import model_settings
from adapter._authoring.plan import FunctionPlan, NewFunctionError, plan_function
from adapter._authoring.write import existing_function_ids, new_function
from adapter._console.context import Console
from adapter._console.forms import form_fields
from adapter._console.guard import friendly
from adapter._dev.folder import folder_load, served

__all__ = ["EXAMPLES", "NAV", "model_note", "routes"]

NAV: tuple[str, str] = ("Chat", "/chat")
DEV_ONLY = True  # it writes into the functions folder: adapter dev only
"""The nav entry: the seed's chat, where a workflow is described."""

EXAMPLES = (
    "Sync our Salesforce contacts every hour",
    "Send a Slack summary of open tickets at 9 AM Berlin on weekdays",
    "Send a welcome email when a new user is added",
)
POLL = "load delay:1s"  # htmx trigger of the "is it live yet?" partial


def model_note(env: Mapping[str, str] | None = None) -> str:
    """Who writes the step bodies: the configured model (its name and host, never its key)."""
    settings = model_settings(os.environ if env is None else env)
    if settings is None:
        return "the skeleton (set ADAPTER_LLM_BASE_URL and ADAPTER_LLM_MODEL for a model)"
    host = urlsplit(settings.base_url).hostname or "the configured endpoint"
    return f"the model {settings.model or '(unnamed)'} at {host}, checked before writing"


def _folder_problem(folder: Path | None) -> str | None:
    """Why nothing can be written into ``folder`` (None: it can)."""
    if folder is None:
        return (
            "This console has no functions folder: start it with adapter dev (or "
            "adapter serve --console --functions PATH) to create functions here."
        )
    if not folder.is_dir():
        return f"The functions folder {folder} does not exist: create it with a client.py."
    if not (folder / "client.py").is_file():
        return (
            f"{folder / 'client.py'} not found; the new module imports inngest from it "
            "(e.g. `from adapter import Inngest` / `inngest = Inngest(app_id='my-app')`)"
        )
    return None


def _plan_context(folder: Path, plan: FunctionPlan, function_id: str) -> dict[str, Any]:
    """What the plan partial shows: id, file, trigger in words, steps, and what stands in the way."""
    path = folder / f"{plan.module}.py"
    other = existing_function_ids(folder).get(plan.id)
    blocked = None
    if other is not None and other.resolve() != path.resolve():
        blocked = f"function id {plan.id!r} is already defined in {other}; give another id"
    return {
        "plan": plan,
        "file": f"{folder.name}/{path.name}",
        "exists": path.exists(),
        "blocked": blocked,
        "description": plan.description,
        "function_id": function_id,
        "body": model_note(),
    }


def routes(console: Console) -> list[BaseRoute]:
    """``GET /chat``, ``POST /chat/plan``, ``POST /chat/create``, ``GET /chat/live``."""
    guard = friendly(console)

    def show(request: Request, partial: str, context: Mapping[str, Any]) -> Response:
        """The partial for htmx; the whole page around it for a plain form post."""
        if request.headers.get("hx-request"):
            return console.page(request, partial, context)
        page = {**_index_context(console), **context, "partial": partial}
        return console.page(request, "chat.html", page)

    @guard
    async def index(request: Request) -> Response:
        return console.page(request, "chat.html", _index_context(console))

    @guard
    async def plan(request: Request) -> Response:
        fields = await form_fields(request)
        description = fields.get("description", "").strip()
        function_id = fields.get("id", "").strip()
        problem = _folder_problem(console.functions_dir)
        if problem is None and not description:
            problem = 'Describe the function first, e.g. "' + EXAMPLES[2] + '".'
        if problem is not None:
            return show(request, "chat_error.html", {"message": problem})
        assert console.functions_dir is not None
        try:
            planned = plan_function(description, function_id or None)
        except ValueError as exc:  # PhraseError, NewFunctionError: the CLI's message
            return show(request, "chat_error.html", {"message": str(exc)})
        return show(
            request, "chat_plan.html", _plan_context(console.functions_dir, planned, function_id)
        )

    @guard
    async def create(request: Request) -> Response:
        fields = await form_fields(request)
        description = fields.get("description", "").strip()
        function_id = fields.get("id", "").strip() or None
        overwrite = fields.get("overwrite") == "yes"
        folder = console.functions_dir
        problem = _folder_problem(folder)
        if problem is not None or folder is None:
            return show(request, "chat_error.html", {"message": problem or ""})
        try:
            planned = plan_function(description, function_id)
        except ValueError as exc:
            return show(request, "chat_error.html", {"message": str(exc)})
        path = folder / f"{planned.module}.py"
        confirm = {
            "file": f"{folder.name}/{path.name}",
            "description": description,
            "function_id": function_id or "",
        }
        if path.exists() and not overwrite:
            return show(request, "chat_confirm.html", confirm)
        lines: list[str] = []
        try:
            written = await asyncio.to_thread(
                new_function,
                description,
                functions=folder,
                function_id=function_id,
                force=overwrite,
                out=lines.append,
            )
        except NewFunctionError as exc:
            if path.exists() and not overwrite:  # written by someone else meanwhile
                return show(request, "chat_confirm.html", confirm)
            return show(request, "chat_error.html", {"message": str(exc)})
        summary = [line for line in lines[:4] if line.strip()]
        context = {
            "file": f"{folder.name}/{written.name}",
            "name": written.name,
            "plan": planned,
            "summary": summary,
            "replaced": overwrite,
            "live_url": _live_url(written.name, planned.id),
        }
        return show(request, "chat_created.html", context)

    @guard
    async def live(request: Request) -> Response:
        name = request.query_params.get("file", "")
        fid = request.query_params.get("fn", "")
        return console.page(request, "chat_live.html", _live_context(console, name, fid))

    return [
        Route("/chat", index, methods=["GET"]),
        Route("/chat/plan", plan, methods=["POST"]),
        Route("/chat/create", create, methods=["POST"]),
        Route("/chat/live", live, methods=["GET"]),
    ]


def _index_context(console: Console) -> dict[str, Any]:
    folder = console.functions_dir
    return {
        "title": "Chat",
        "examples": EXAMPLES,
        "folder": str(folder) if folder is not None else None,
        "folder_problem": _folder_problem(folder),
        "body": model_note(),
    }


def _live_url(file_name: str, function_id: str) -> str:
    return f"/chat/live?file={quote(file_name)}&fn={quote(function_id)}"


def _live_context(console: Console, file_name: str, function_id: str) -> dict[str, Any]:
    """Whether the dev worker serves the new function yet (or why its module did not load)."""
    folder = console.functions_dir
    context: dict[str, Any] = {
        "state": "waiting",
        "file": file_name,
        "function_id": function_id,
        "poll": POLL,
        "self_url": _live_url(file_name, function_id),
    }
    if folder is None or not file_name.endswith(".py") or "/" in file_name or "\\" in file_name:
        context["state"] = "no-worker" if folder is None else "unknown"
        return context
    load = served(folder)
    if load is None:  # no dev worker in this process: it runs after the worker restarts
        context["state"] = "no-worker"
        load = folder_load(folder)
    if not load.read(folder / file_name):
        return context  # the worker has not read this version of the file yet
    for problem in load.problems:
        if Path(problem.file).name == file_name:
            context.update(state="broken", message=problem.message)
            return context
    for fn in load.functions:
        if fn.id == function_id and _defined_in(fn, folder, file_name):
            context.update(app_id=fn.app_id, sandbox=f"/sandbox/{quote(fn.app_id)}/{quote(fn.id)}")
            if context["state"] == "waiting":
                context["state"] = "live"
            return context
    return context


def _defined_in(fn: Any, folder: Path, file_name: str) -> bool:
    """Whether the function's handler comes from ``folder/file_name``."""
    module = getattr(fn.handler, "__module__", "")
    return isinstance(module, str) and module == f"{folder.resolve().name}.{file_name[:-3]}"
