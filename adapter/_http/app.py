"""Inngest's Event API over HTTP, so apps using the official Inngest SDKs can send here.

``POST /e/{event_key}`` takes one event object or an array of up to 5,000 and
answers as Inngest does: ``200 {"ids": [...], "status": 200}`` with the ids in
input order, or ``{"ids": [], "status": N, "error": "..."}`` with HTTP status N.
Every accepted event goes through the apps' own ``send`` machinery, so it starts
the same runs (deduplicated by event id) as ``inngest.send`` would; the answer is
200 only after Temporal has taken every event.

``GET /health`` answers 200 ``{"status": "ok"}`` while Temporal answers, 503 otherwise.
``GET /v1/events``, ``/v1/events/{id}``, ``/v1/events/{id}/runs`` and ``/v1/runs/{id}``
are Inngest's REST read endpoints over the event log (:mod:`adapter._http.rest`).

The body format lives in :mod:`adapter._http.wire`, serving it in
:mod:`adapter._http.server`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.client import Client

from adapter._define.client import Inngest
from adapter._define.event import Event
from adapter._errors import ConfigError, EventValidationError, SendError
from adapter._http.rest import rest_routes
from adapter._http.wire import (
    SEED_HEADER,
    EventAPIError,
    EventApiSettings,
    answer_body,
    body_too_large,
    check_key,
    key_message,
    parse_events,
)
from adapter._temporal.send_retry import transient

__all__ = ["EventAPI", "create_app"]

log = logging.getLogger("adapter.http")

_HEALTH_TIMEOUT = timedelta(seconds=5)
SEND_RETRY = timedelta(seconds=2)  # then 503: the SDKs retry with the same ids
SENDER_APP_ID = "adapter-event-api"
"""The app id of the Event API's own sender when it serves no functions folder."""


class EventAPI:
    """The Event API's request handling, independent of the ASGI plumbing.

    Built by :func:`create_app`; kept on ``app.state.event_api``.
    """

    def __init__(
        self, apps: Sequence[Inngest], settings: EventApiSettings | None = None, **options: Any
    ) -> None:
        """Send to ``apps``, as ``settings`` (with ``options`` replacing its fields) say."""
        if not apps:
            raise ConfigError(
                "the Event API needs at least one app (an Inngest client with functions) "
                "to send events to"
            )
        if settings is None:
            settings = EventApiSettings(**options)
        elif options:
            settings = dataclasses.replace(settings, **options)
        # Routing lives in Temporal (registrations), so one sender serves every event;
        # without apps (``adapter serve`` with no functions folder) a plain client does.
        self.apps = list(apps) or [Inngest(app_id=SENDER_APP_ID)]
        self.settings = settings
        # An event must also fit in a run's input, as the apps enforce in send().
        self.max_event_bytes = min(
            settings.max_event_bytes, *(app.event_limit for app in self.apps)
        )

    # --- the endpoints ------------------------------------------------------------
    async def receive(self, request: Request) -> Response:
        """``POST /e/{event_key}``: validate, send, answer with the ids."""
        try:
            check_key(request.path_params.get("event_key", ""), self.settings)
            body = await self._read_body(request)
            events = parse_events(
                body,
                request.headers.get(SEED_HEADER),
                max_event_bytes=self.max_event_bytes,
                apps=self.apps,
            )
            duplicates = await self.dispatch(events)
        except EventAPIError as exc:
            if exc.status >= 500:
                log.error("event API: %s %s", exc.status, exc.message)
            else:
                log.warning("event API: %s %s", exc.status, exc.message)
            return self._answer(exc.status, [], exc.message)
        ids = [e.id for e in events]
        log.info(
            "event API: accepted %d event(s): %s",
            len(events),
            ", ".join(f"{e.name} ({e.id})" for e in events[:5])
            + (" ..." if len(events) > 5 else ""),
        )
        return self._answer(200, ids, duplicates=duplicates)

    async def missing_key(self, request: Request) -> Response:
        """``POST /e/`` without a key: 401, as in Inngest."""
        return self._answer(401, [], key_message(""))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """A key no route matches (e.g. one with a newline) is an unknown key: 401."""
        if request.method == "POST" and request.url.path.startswith("/e/"):
            return self._answer(401, [], key_message("?"))
        return self._answer(404, [], f"no such endpoint: {request.method} {request.url.path}")

    async def health(self, request: Request) -> Response:
        """``GET /health``: 200 while every app's Temporal answers, 503 otherwise."""
        try:
            clients: dict[int, Client] = {}
            for app in self.apps:
                client = await app.temporal()
                clients.setdefault(id(client), client)
            for client in clients.values():
                await client.service_client.check_health(timeout=_HEALTH_TIMEOUT)
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "error": f"Temporal is not answering: {_brief(exc)}"},
                status_code=503,
                headers=self._headers(),
            )
        return JSONResponse({"status": "ok"}, headers=self._headers())

    # --- the steps --------------------------------------------------------------------
    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise body_too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def dispatch(self, events: list[Event]) -> list[str]:
        """Send the events (routed by the namespace's registrations); EventAPIError on failure.

        Returns the ids that were duplicates (accepted before with other data).
        """
        if not events:
            return []
        sender = self.apps[0]
        try:
            _, duplicates = await sender._send_reporting(
                await sender.temporal(), events, retry=SEND_RETRY
            )
        except Exception as exc:
            raise _failure(exc) from exc
        return duplicates

    def _headers(self) -> dict[str, str]:
        return {"x-inngest-server-kind": self.settings.server_kind}

    def _answer(
        self,
        status: int,
        ids: list[str],
        error: str | None = None,
        *,
        duplicates: list[str] | None = None,
    ) -> Response:
        body = answer_body(status, ids, error)
        if duplicates:
            body["duplicates"] = duplicates  # not in Inngest's answer: only when there are some
        return JSONResponse(body, status_code=status, headers=self._headers())


def _failure(exc: BaseException) -> EventAPIError:
    """The answer for a send that failed after validation."""
    if isinstance(exc, SendError) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, EventValidationError):
        return EventAPIError(400, str(exc))
    # What send retries (unavailable, overloaded, hung: no answer for 10 s) is a 503, so
    # that the SDKs retry with the same ids; anything else is a 500.
    unavailable = transient(exc) or isinstance(exc, ConnectionError | OSError | TimeoutError)
    if not unavailable:
        log.error("event API: sending failed", exc_info=exc)
    retry = (
        "; the events may be partly delivered: retry the request (runs are deduplicated by "
        "event id, and the SDKs' retries send the same x-inngest-event-id-seed, so the ids "
        "stay the same)"
    )
    if unavailable:
        return EventAPIError(503, f"Temporal is unavailable: {_brief(exc)}{retry}")
    return EventAPIError(500, f"could not hand the events to Temporal: {_brief(exc)}{retry}")


def _brief(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def create_app(
    apps: Sequence[Inngest], settings: EventApiSettings | None = None, **options: Any
) -> Starlette:
    """The Event API as an ASGI app (Starlette) sending to ``apps``.

    ``settings`` (an :class:`EventApiSettings`) says which keys are accepted and
    how large requests and events may be; ``options`` are its fields, for short
    (``create_app(apps, dev=True)``) or to replace some. Each app sends with its
    own Temporal client (``Inngest.set_temporal_client`` or the TEMPORAL_* settings).
    """
    api = EventAPI(apps, settings, **options)
    app = Starlette(
        routes=[
            # :path so that a key with an encoded "/" still gets Inngest's 401, not a 404.
            Route("/e/{event_key:path}", api.receive, methods=["POST"]),
            Route("/e/", api.missing_key, methods=["POST"]),
            Route("/e", api.missing_key, methods=["POST"]),
            Route("/health", api.health, methods=["GET"]),
            # Inngest's REST API v1 (read): the event log (adapter._http.rest).
            *rest_routes(api.settings, api.apps[0].temporal),
        ],
        exception_handlers={404: api.not_found},
        # As Inngest's Event API: browsers may send events from any origin.
        middleware=[
            Middleware(
                CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
            )
        ],
    )
    app.state.event_api = api
    return app
