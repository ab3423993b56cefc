"""Inngest's REST API v1 read endpoints, answered from the event log in Temporal.

``GET /v1/events``, ``GET /v1/events/{id}``, ``GET /v1/events/{id}/runs`` and
``GET /v1/runs/{id}``, in the shapes of Inngest's server (docs/inngest-rest-api.md):
``{"data": ..., "metadata": {"fetched_at", "cached_until"}}``, errors as
``{"error", "data": null, "status"}``. Our ids stand in for Inngest's ULIDs and UUIDs:

* ``internal_id`` and ``id`` are the event id (a ULID unless the sender chose one);
* ``run_id`` is the run's Temporal workflow id (``<app>:<function>:<event id>``);
* ``function_id`` is the function's id (its slug; Inngest has a UUID there), and
  ``function_version`` is 1 (functions are not versioned here);
* ``account_id`` and ``environment_id`` are the nil UUID; ``source`` is ``""`` and
  ``source_id`` null, as on Inngest's dev server.

Auth: outside dev mode every request needs ``Authorization: Bearer <signing key>``,
the key as configured or in the hashed form the SDKs send; anything else gets Inngest's
``401 Authentication failed`` (plain text). Dev mode accepts any request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Set
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHistoryEventFilterType,
)
from temporalio.service import RPCError, RPCStatusCode

from adapter._http.wire import EventApiSettings
from adapter._observe.decode import Decoder
from adapter._observe.event_model import EventItem
from adapter._observe.event_scan import event_in, map_limited, start_input
from adapter._observe.events import event_runs, find_event, list_events
from adapter._protocol import REPLAY_MARK, WorkflowName
from adapter._protocol_ids import split_run_ref
from adapter._temporal.search_attributes import EVENT_ID, FUNCTION_ID

NIL_UUID = "00000000-0000-0000-0000-000000000000"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100  # the API's documented maximum (Inngest's own server caps at 51)
DEFAULT_WINDOW = timedelta(hours=1)  # received_after defaults to an hour ago
CACHE_EVENT = 5  # seconds, as Inngest: the period in metadata.cached_until / Cache-Control
CACHE_EVENT_RUNS = 15
CACHE_RUN = 3
_KEY_PREFIX = re.compile(r"^signkey-\w+-")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_CRON_TAIL = 20  # "2026-01-01T09:00:00Z" at the end of a cron run's workflow id

ClientSource = Callable[[], Awaitable[Client]]


# --- auth ---------------------------------------------------------------------------------


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case), as Inngest reads it."""
    if header is None or len(header) <= 7 or header[:6].upper() != "BEARER":
        return None
    return header[7:]


def hashed_signing_key(key: str) -> str | None:
    """The hashed form of a key the SDKs send: prefix kept, hex body → sha256 of its bytes."""
    prefix = _KEY_PREFIX.match(key)
    body = key[prefix.end() :] if prefix else key
    if not _HEX.match(body):
        return None
    return (prefix.group(0) if prefix else "") + hashlib.sha256(bytes.fromhex(body)).hexdigest()


def signing_key_accepted(token: str | None, keys: Set[str]) -> bool:
    """Whether ``token`` is one of ``keys``, raw or hashed (prefixes not compared, as Inngest)."""
    if not token:
        return False
    given = _KEY_PREFIX.sub("", token).encode()
    found = False
    for key in keys:
        hashed = hashed_signing_key(key)
        for form in (key, hashed) if hashed else (key,):
            found |= hmac.compare_digest(given, _KEY_PREFIX.sub("", form).encode())
    return found


# --- shapes -------------------------------------------------------------------------------


def rfc3339(when: datetime) -> str:
    """A time as Go's RFC3339Nano writes it in UTC: fraction without trailing zeros, ``Z``."""
    utc = when.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def event_body(item: EventItem) -> dict[str, Any]:
    """Inngest's Event object (``user``, ``ts`` and ``v`` left out when empty, as Inngest)."""
    body: dict[str, Any] = {
        "internal_id": item.id,
        "account_id": NIL_UUID,
        "environment_id": NIL_UUID,
        "source": "",
        "source_id": None,
        "received_at": rfc3339(item.received_at),
        "id": item.id,
        "name": item.name,
        "data": item.data,
    }
    if item.user:
        body["user"] = item.user
    if item.ts:
        body["ts"] = item.ts
    if item.v:
        body["v"] = item.v
    return body


_STATUS = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.TIMED_OUT: "Failed",
    WorkflowExecutionStatus.CANCELED: "Cancelled",
    WorkflowExecutionStatus.TERMINATED: "Cancelled",
}


def run_status(status: WorkflowExecutionStatus | None) -> str:
    """Inngest's run status for a Temporal one (terminated counts as cancelled)."""
    return "Running" if status is None else _STATUS.get(status, "Running")


async def run_output(client: Client, wf: WorkflowExecution) -> tuple[bool, Any]:
    """(finished, output): the result, the error (``name``, ``message``, ``stack``) or ``{}``."""
    if wf.status in (None, WorkflowExecutionStatus.RUNNING):
        return False, None
    decoder = Decoder(client)
    handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
    async for event in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
    ):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            attrs = event.workflow_execution_completed_event_attributes
            return True, await decoder.first(attrs.result.payloads)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = await decoder.failure(
                event.workflow_execution_failed_event_attributes.failure
            )
            error = {"name": failure["type"], "message": failure["message"]}
            if failure.get("stack"):
                error["stack"] = failure["stack"]
            return True, error
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            return True, {"name": "TimeoutError", "message": "the run timed out"}
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return False, None
    return True, {}  # cancelled or terminated, as Inngest: {}


def _cron_event_id(workflow_id: str) -> str:
    return workflow_id[-_CRON_TAIL:]


async def run_body(
    client: Client,
    wf: WorkflowExecution,
    event_id: str | None = None,
    inp: Any = None,
) -> dict[str, Any]:
    """Inngest's FunctionRun object for one of our runs (``output`` once it has finished)."""
    attrs = wf.typed_search_attributes
    cron = inp.get("cron") if isinstance(inp, dict) else None
    if event_id is None:
        event_id = attrs.get(EVENT_ID)
    if event_id is None and isinstance(inp, dict):
        event = event_in(inp, "")
        event_id = None if event is None else str(event.get("id"))
    if event_id is None and isinstance(cron, dict):
        event_id = _cron_event_id(wf.id)
    body: dict[str, Any] = {
        "run_id": wf.id,
        "run_started_at": rfc3339(wf.start_time),
        "function_id": attrs.get(FUNCTION_ID) or wf.workflow_type,
        "function_version": 1,
        "environment_id": NIL_UUID,
        "event_id": event_id or "",
    }
    if ":batch:" in wf.id:
        body["batch_id"] = wf.id
    if REPLAY_MARK in wf.id:
        body["original_run_id"] = wf.id.split(REPLAY_MARK, 1)[0]
    if isinstance(cron, dict) and cron.get("cron"):
        body["cron"] = cron["cron"]
    body["status"] = run_status(wf.status)
    finished, output = await run_output(client, wf)
    body["ended_at"] = rfc3339(wf.close_time) if finished and wf.close_time else None
    if finished:
        body["output"] = output
    return body


# --- answers ------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, cache: int = 0) -> Response:
    headers = {"Cache-Control": f"private, max-age={cache}"} if cache else None
    # Inngest's server writes with a JSON encoder: one document and a newline.
    text = json.dumps(body, ensure_ascii=False, default=str) + "\n"
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def answer(data: Any, cache: int = 0) -> Response:
    """200 ``{"data": ..., "metadata": {"fetched_at"[, "cached_until"]}}``."""
    now = datetime.now(UTC)
    metadata = {"fetched_at": rfc3339(now)}
    if cache:
        metadata["cached_until"] = rfc3339(now + timedelta(seconds=cache))
    return _json({"data": data, "metadata": metadata}, cache=cache)


def error(status: int, message: str) -> Response:
    """An error as Inngest's server writes one: ``{"error": ..., "data": null, "status": N}``."""
    return _json({"error": message, "data": None, "status": status}, status=status)


def unauthorized() -> Response:
    """Inngest's answer to a missing or wrong signing key."""
    return PlainTextResponse(
        "Authentication failed\n",
        status_code=401,
        headers={"X-Content-Type-Options": "nosniff"},
    )


def parse_time(text: str) -> datetime:
    """A time parameter: RFC3339 (fraction allowed), ``2006-01-02T15:04:05`` (UTC), RFC1123..."""
    text = text.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)  # RFC1123 / RFC822 / RFC850
        except (ValueError, TypeError):
            raise ValueError(f"not a time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _limit(text: str | None) -> int:
    try:
        value = int(text or "")
    except ValueError:
        return DEFAULT_LIMIT
    return DEFAULT_LIMIT if value == 0 else max(1, min(value, MAX_LIMIT))


# --- the endpoints ------------------------------------------------------------------------


class RestAPI:
    """The v1 read endpoints over one Temporal namespace's event log."""

    def __init__(self, settings: EventApiSettings, client: ClientSource) -> None:
        """Answer from the namespace of ``client()``; accept the keys ``settings`` names."""
        self.settings = settings
        self.client = client

    def routes(self) -> list[Route]:
        """The routes to mount (run and event ids may contain ``/`` and ``:``)."""
        return [
            Route("/v1/events", self.guard(self.list_events), methods=["GET"]),
            Route("/v1/events/{event_id:path}/runs", self.guard(self.event_runs), methods=["GET"]),
            Route("/v1/events/{event_id:path}", self.guard(self.get_event), methods=["GET"]),
            Route("/v1/runs/{run_id:path}", self.guard(self.get_run), methods=["GET"]),
        ]

    def guard(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """``endpoint`` behind the signing-key check (none in dev mode)."""

        async def guarded(request: Request) -> Response:
            if not self.settings.dev and not signing_key_accepted(
                bearer_token(request.headers.get("authorization")), self.settings.signing_keys
            ):
                return unauthorized()
            return await endpoint(request)

        return guarded

    async def list_events(self, request: Request) -> Response:
        """``GET /v1/events``: newest first, in ``[received_after, received_before]``."""
        params = request.query_params
        bounds: dict[str, datetime | None] = {}
        for param in ("received_after", "received_before"):
            raw = params.get(param)
            try:
                bounds[param] = parse_time(raw) if raw else None
            except ValueError:
                return error(400, f"Invalid {param} query parameter")
        after = bounds["received_after"] or datetime.now(UTC) - DEFAULT_WINDOW
        try:
            items = await list_events(
                await self.client(),
                name=params.get("name") or None,
                limit=_limit(params.get("limit")),
                before=bounds["received_before"],
                after=after,
                cursor=params.get("cursor") or None,
            )
        except LookupError:
            return error(400, "Invalid cursor query parameter")
        except RPCError:
            return error(500, "Unable to query events")
        return answer([event_body(i) for i in items])

    async def get_event(self, request: Request) -> Response:
        """``GET /v1/events/{id}``: one event, 404 ``Event not found`` when unknown."""
        try:
            found = await find_event(await self.client(), request.path_params["event_id"])
        except RPCError:
            return error(500, "Unable to query events")
        if found is None:
            return error(404, "Event not found")
        return answer(event_body(found.item), cache=CACHE_EVENT)

    async def event_runs(self, request: Request) -> Response:
        """``GET /v1/events/{id}/runs``: the event's runs (``[]`` when none or unknown)."""
        event_id = request.path_params["event_id"]
        try:
            client = await self.client()
            runs = await event_runs(client, event_id)
            described = await map_limited(
                lambda r: client.get_workflow_handle(r.workflow_id, run_id=r.run_id).describe(),
                runs,
            )
            bodies = await map_limited(
                lambda wf: run_body(
                    client, wf, wf.typed_search_attributes.get(EVENT_ID) or event_id
                ),
                described,
            )
        except RPCError:
            return error(500, "Unable to query event runs")
        return answer(bodies, cache=CACHE_EVENT_RUNS)

    async def get_run(self, request: Request) -> Response:
        """``GET /v1/runs/{id}``: one run by workflow id."""
        run_id = request.path_params["run_id"]
        try:
            client = await self.client()
            workflow_id, temporal_run_id = split_run_ref(run_id)  # a singleton run's: id@run
            desc = await client.get_workflow_handle(workflow_id, run_id=temporal_run_id).describe()
            if desc.workflow_type in tuple(WorkflowName):
                return error(404, f"Unable to load function run: {run_id}")
            inp = await start_input(client, desc.id, desc.run_id)
            body = await run_body(client, desc, inp=inp)
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                return error(404, f"Unable to load function run: {run_id}")
            return error(500, f"Unable to load function run: {run_id}")
        return answer(body, cache=CACHE_RUN)


def rest_routes(settings: EventApiSettings, client: ClientSource) -> list[Route]:
    """The REST v1 read routes, answering from ``client()``'s namespace."""
    return RestAPI(settings, client).routes()
