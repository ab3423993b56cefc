"""The Workflows tab: recent runs, one run's step timeline (live while it runs), its actions.

Everything is read through the modules ``adapter runs`` / ``adapter run`` use:
:func:`~adapter._observe.listing.list_runs` for the list and
:func:`~adapter._observe.timeline.load_run` (one :class:`RunView`) for a run, so the
page and the CLI never disagree. Actions are the CLI's too: rerun is ``adapter
replay`` (a new run of the same event, Inngest's replay), cancel is ``adapter runs
cancel``, rerun from a step is ``adapter rerun --from``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from temporalio.client import Client

from adapter._console.context import Console
from adapter._console.forms import form_fields
from adapter._console.guard import failure_page, friendly, problem_text
from adapter._observe.errors import ObserveError, unknown_run
from adapter._observe.links import run_url, ui_base
from adapter._observe.listing import STATUS_QUERY_VALUES, RunStatus, list_runs
from adapter._observe.queued import cancel_target
from adapter._observe.replay import replay_run
from adapter._observe.steps import StepKind
from adapter._observe.timeline import RunView, load_run
from adapter._operate.rerun import rerun_from
from adapter._temporal.registry import list_registrations

NAV: tuple[str, str] = ("Runs", "/runs")
"""The nav entry: the seed's Workflows tab, Inngest's runs page."""

LIMITS = (20, 50, 100)
POLL = "every 2s"  # htmx trigger of a running run's live partial


def run_path(workflow_id: str) -> str:
    """The console path of a run's page."""
    return "/runs/" + quote(workflow_id, safe=":@")


async def function_ids(client: Client) -> list[str]:
    """The function ids of every registered app (for the filter)."""
    ids = {str(f.get("id")) for reg in await list_registrations(client) for f in reg["functions"]}
    return sorted(ids)


def routes(console: Console) -> list[BaseRoute]:
    """``GET /runs`` (list, ``?function=&status=&limit=``), ``GET|POST /runs/{workflow id}``."""
    guard = friendly(console)

    @guard
    async def index(request: Request) -> Response:
        client = await console.connect()
        params = request.query_params
        function = params.get("function") or None
        app = params.get("app") or None  # ?app=ID: one app's runs (as adapter runs --app)
        status = params.get("status") or None
        if status is not None and status not in STATUS_QUERY_VALUES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUS_QUERY_VALUES)}")
        limit = (
            int(params.get("limit") or LIMITS[0]) if (params.get("limit") or "").isdigit() else 20
        )
        limit = min(max(limit, 1), LIMITS[-1])
        runs = await list_runs(client, function=function, status=status, app=app, limit=limit)
        context = {
            "title": "Runs",
            "runs": runs,
            "now": datetime.now(UTC),
            "function": function or "",
            "app": app or "",
            "status": status or "",
            "limit": limit,
            "limits": LIMITS,
            "statuses": list(STATUS_QUERY_VALUES),
            "functions": sorted({*await function_ids(client), *([function] if function else [])}),
            "any_running": any(r.status == RunStatus.RUNNING for r in runs),
            "query": urlencode([(k, v) for k, v in params.multi_items() if k != "part"]),
            "run_path": run_path,
        }
        template = "runs_table.html" if params.get("part") == "table" else "runs.html"
        return console.page(request, template, context)

    @guard
    async def run_page(request: Request) -> Response:
        client = await console.connect()
        workflow_id = request.path_params["workflow_id"]
        view = await _load(client, workflow_id, request.query_params.get("run") or None)
        if view is None:
            return console.error_page(
                request,
                404,
                "No such run",
                f"No run with workflow id {workflow_id!r} in namespace {client.namespace!r} "
                "(a typo, or closed longer ago than the namespace's retention).",
            )
        context = {
            "title": f"Run {workflow_id}",
            "view": view,
            "ui_url": run_url(console.temporal_ui or ui_base(), client.namespace, workflow_id),
            "run_path": run_path,
            "poll": POLL,
            "rerun_steps": [s.id for s in view.steps if s.kind == StepKind.RUN],
            "self_path": run_path(workflow_id),
        }
        live = request.query_params.get("part") == "live"
        return console.page(request, "run_live.html" if live else "run.html", context)

    @guard
    async def run_action(request: Request) -> Response:
        client = await console.connect()
        workflow_id = request.path_params["workflow_id"]
        fields = await form_fields(request)
        action = fields.get("action", "")
        try:
            message, link = await _act(client, workflow_id, action, fields.get("step", ""))
        except (ObserveError, ValueError, LookupError) as exc:
            return failure_page(console, request, 400, problem_text(exc))
        return console.page(
            request, "run_action.html", {"message": message, "link": link, "ok": True}
        )

    return [
        Route("/runs", index, methods=["GET"]),
        Route("/runs/{workflow_id:path}", run_page, methods=["GET"]),
        Route("/runs/{workflow_id:path}", run_action, methods=["POST"]),
    ]


async def _load(client: Client, workflow_id: str, run_id: str | None) -> RunView | None:
    """The run's view, or None when Temporal does not know the run."""
    try:
        with unknown_run(client.namespace, workflow_id):
            return await load_run(client, workflow_id, run_id)
    except ObserveError:
        return None


async def _act(client: Client, workflow_id: str, action: str, step: str) -> tuple[str, str | None]:
    """Do one of the run page's actions; the sentence saying what was done and a link."""
    with unknown_run(client.namespace, workflow_id):
        if action == "rerun":
            started = await replay_run(client, workflow_id)
            new_id = str(started["workflow_id"])
            return f"Started a new run of the same event: {new_id}", run_path(new_id)
        if action == "cancel":
            done = await cancel_target(client, workflow_id, reason="cancelled from the console")
            what = "it stops at its next step" if done and done[0]["cancelled"] == "running" else ""
            return f"Cancellation requested for {workflow_id}" + (
                f" ({what})" if what else ""
            ), None
        if action == "rerun-from":
            if not step:
                raise ValueError("choose the step to rerun from")
            reset = await rerun_from(client, workflow_id, step, f"rerun from {step} (console)")
            return (
                f"Rerunning {workflow_id} from step {step!r}: the steps before it keep their "
                f"results (new execution {reset.new_run_id})",
                run_path(workflow_id),
            )
    raise ValueError(f"unknown action {action!r}: use rerun, cancel or rerun-from")
