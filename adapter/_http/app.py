"""Inngest's Event API over HTTP, so apps using the official Inngest SDKs can send here.

``POST /e/{event_key}`` takes one event object or an array of up to 5,000 and
answers as Inngest does: ``200 {"ids": [...], "status": 200}`` with the ids in
input order, or ``{"ids": [], "status": N, "error": "..."}`` with HTTP status N.
Every accepted event goes through the apps' own ``send`` machinery, so it starts
the same runs (deduplicated by event id) as ``inngest.send`` would; the answer is
200 only after Temporal has taken every event.

``GET /health`` answers 200 ``{"status": "ok"}`` while Temporal answers, 503 otherwise.

Event ids: an event without ``id`` gets a ULID derived, as in Inngest's server,
from the ``x-inngest-event-id-seed`` header the SDKs send (``"{ms},{base64 of 10
bytes}"``) and the event's position in the request. An SDK that retries a request
sends the same header, so the retry gets the same ids and starts no second run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import re
import socket
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.client import Inngest
from adapter._define.event import MAX_NAME_LENGTH, Event, prepare_events
from adapter._define.ulid import new_ulid
from adapter._errors import AdapterError, ConfigError, EventValidationError
from adapter._execution.payloads import json_size

log = logging.getLogger("adapter.http")

DEFAULT_PORT = 8288
"""Inngest's dev server port; the SDKs in dev mode send to http://127.0.0.1:8288."""
MAX_EVENTS = 5_000
"""Most events in one request, as in Inngest."""
DEFAULT_MAX_EVENT_BYTES = 3 * 1024 * 1024
"""Inngest's absolute event size limit; capped further by the apps' Temporal payload limit."""
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted (413 above it)."""
SEED_HEADER = "x-inngest-event-id-seed"
"""The header the Inngest SDKs send so that a retried request derives the same event ids."""
EVENT_KEY_ENV = "INNGEST_EVENT_KEY"
"""Environment variable with the accepted event key(s), comma-separated."""

_EVENT_FIELDS = ("name", "data", "id", "ts", "user", "v")
_DIGITS = re.compile(r"[0-9]+")
_HEALTH_TIMEOUT = timedelta(seconds=5)
# Temporal failures that mean "not reachable / not now": 503, so that clients retry.
_UNAVAILABLE = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
)


def seeded_event_id(seed: str | None, index: int) -> str | None:
    """The ULID Inngest's server derives from an event-id seed header, or None.

    ``seed`` is ``"{ms},{standard base64 of 10 bytes}"``. The 10 bytes are the
    ULID's randomness, except that ``index`` is added (modulo 2**32) to their last
    four bytes read as a big-endian number, so each event of one request gets its
    own id. Inngest's Event API counts events from 1; so does this server. A
    missing or malformed seed gives None (the caller then picks a random id).
    """
    if not seed:
        return None
    parts = seed.split(",")
    if len(parts) != 2 or not _DIGITS.fullmatch(parts[0].strip()):
        return None
    millis = int(parts[0])
    if not 0 < millis < 2**48:
        return None
    try:
        entropy = base64.b64decode(parts[1].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(entropy) != 10:
        return None
    tail = (int.from_bytes(entropy[6:], "big") + index) % 2**32
    return new_ulid(millis, entropy[:6] + tail.to_bytes(4, "big"))


def event_keys_from_env(value: str | None) -> set[str]:
    """Event keys from a comma-separated ``INNGEST_EVENT_KEY`` value (blanks ignored)."""
    return {key.strip() for key in (value or "").split(",") if key.strip()}


class EventAPIError(AdapterError):
    """A request the Event API refuses: ``status`` is the HTTP status, ``message`` the error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EventAPI:
    """The Event API's request handling, independent of the ASGI plumbing.

    Built by :func:`create_app`; kept on ``app.state.event_api``.
    """

    def __init__(
        self,
        apps: Sequence[Inngest],
        *,
        event_keys: Iterable[str] | None = None,
        dev: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        if not apps:
            raise ConfigError(
                "the Event API needs at least one app (an Inngest client with functions) "
                "to send events to"
            )
        keys = {k for k in (event_keys or ()) if k}
        if not dev and not keys:
            raise ConfigError(
                "no event keys configured: set INNGEST_EVENT_KEY (comma-separated for several) "
                "or pass --event-key KEY, and give the same key to your apps' Inngest clients; "
                "or use --dev to accept any key (local development only)"
            )
        if max_body_bytes <= 0 or max_event_bytes <= 0:
            raise ConfigError("max_body_bytes and max_event_bytes must be positive")
        self.apps = list(apps)
        self.dev = dev
        self.event_keys = frozenset(keys)
        self.max_body_bytes = max_body_bytes
        # An event must also fit the Temporal payload limit the apps enforce in send().
        self.max_event_bytes = min(max_event_bytes, *(app.payload_limit for app in self.apps))
        self.server_kind = "dev" if dev else "cloud"

    # --- the endpoints ------------------------------------------------------------
    async def receive(self, request: Request) -> Response:
        """``POST /e/{event_key}``: validate, send, answer with the ids."""
        try:
            self._check_key(request.path_params.get("event_key", ""))
            body = await self._read_body(request)
            events = self.parse(body, request.headers.get(SEED_HEADER))
            await self.dispatch(events)
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
        return self._answer(200, ids)

    async def missing_key(self, request: Request) -> Response:
        """``POST /e/`` without a key: 401, as in Inngest."""
        return self._answer(401, [], _key_message(""))

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """A key no route matches (e.g. one with a newline) is an unknown key: 401."""
        if request.method == "POST" and request.url.path.startswith("/e/"):
            return self._answer(401, [], _key_message("?"))
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
    def _check_key(self, key: str) -> None:
        if not key:
            raise EventAPIError(401, _key_message(""))
        if self.dev:
            return
        # Compare with every key, in constant time, to leak nothing through timing.
        found = False
        for known in self.event_keys:
            found |= hmac.compare_digest(key.encode(), known.encode())
        if not found:
            raise EventAPIError(401, _key_message(key))

    async def _read_body(self, request: Request) -> bytes:
        limit = self.max_body_bytes
        too_large = EventAPIError(
            413,
            f"request body is over {limit:,} bytes, the most this server accepts "
            "(adapter serve --max-body-bytes); send the events in several requests",
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def parse(self, body: bytes, seed: str | None = None) -> list[Event]:
        """Validate a request body into events with ids and timestamps filled in.

        Raises EventAPIError (status 400) naming the event index and the field. Nothing
        is sent unless every event is valid.
        """
        if not body.strip():
            raise EventAPIError(
                400, "request body is empty; send an event object or an array of event objects"
            )
        try:
            decoded = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventAPIError(400, f"malformed JSON in request body: {exc}") from None
        except RecursionError:
            raise EventAPIError(400, "request body is nested too deeply to be an event") from None
        single = isinstance(decoded, dict)
        if single:
            items: list[Any] = [decoded]
        elif isinstance(decoded, list):
            items = decoded
        else:
            raise EventAPIError(
                400,
                "Request body must contain an event object or an array of event objects, got "
                + _json_type(decoded),
            )
        if len(items) > MAX_EVENTS:
            raise EventAPIError(
                400,
                f"too many events: {len(items):,} in one request, at most {MAX_EVENTS:,}; "
                "send them in several requests",
            )
        raws = [self._normalize(item, None if single else i, seed) for i, item in enumerate(items)]
        try:
            events = prepare_events(raws[0] if single else raws)
            for app in self.apps:
                app.check_ids(events)
        except EventValidationError as exc:
            raise EventAPIError(400, f"event {exc}" if single else str(exc)) from None
        except RecursionError:
            raise EventAPIError(400, "event data is nested too deeply") from None
        for i, event in enumerate(events):
            size = json_size(event.model_dump())
            if size > self.max_event_bytes:
                where = "event" if single else f"event[{i}]"
                raise EventAPIError(
                    400,
                    f"Event is over the max size: {where} ({event.name!r}) is {size:,} bytes, "
                    f"at most {self.max_event_bytes:,} bytes per event; send a reference to "
                    "large data instead",
                )
        return events

    def _normalize(self, item: object, index: int | None, seed: str | None) -> dict[str, Any]:
        """One raw event as the ``send`` machinery takes it, or ``EventAPIError`` if hopeless."""
        where = "event" if index is None else f"event[{index}]"
        if not isinstance(item, dict):
            raise EventAPIError(
                400, f"{where} must be a JSON object with at least a name, got {_json_type(item)}"
            )
        # Inngest ignores fields it does not know (the JS SDK sends "meta", for one).
        raw = {k: v for k, v in item.items() if k in _EVENT_FIELDS and v is not None}
        name = raw.get("name")
        if name is None:
            raise EventAPIError(400, f'{where}.name is required, e.g. "app/user.created"')
        if not isinstance(name, str):
            raise EventAPIError(400, f"{where}.name must be a string, got {_json_type(name)}")
        if not name.strip():
            raise EventAPIError(
                400, f'{where}.name is empty; name the event, e.g. "app/user.created"'
            )
        if len(name) > MAX_NAME_LENGTH:
            raise EventAPIError(
                400, f"{where}.name is {len(name):,} characters long, at most {MAX_NAME_LENGTH}"
            )
        data = raw.get("data")
        if isinstance(data, dict) and "_inngest" in data:
            # Inngest's own metadata inside data is never taken from outside.
            raw["data"] = {k: v for k, v in data.items() if k != "_inngest"}
        elif data is not None and not isinstance(data, dict):
            raise EventAPIError(400, f"{where}.data must be a JSON object, got {_json_type(data)}")
        if raw.get("id") in ("", None):
            raw.pop("id", None)
            derived = seeded_event_id(seed, (index or 0) + 1)
            if derived is not None:
                raw["id"] = derived
        return raw

    async def dispatch(self, events: list[Event]) -> None:
        """Send the events through every app that may want them; EventAPIError on failure.

        An app takes an event when one of its functions is triggered by the name, or
        when it keeps an event hub (where ``wait_for_event`` and ``cancel`` listen).
        Apps are sent to concurrently, and all of them finish before this returns.
        """
        if not events:
            return
        payload = [e.model_dump(exclude_none=True) for e in events]
        jobs = []
        for app in self.apps:
            mine = [p for p, e in zip(payload, events, strict=True) if _wants(app, e.name)]
            if mine:
                jobs.append(self._send_to(app, mine))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise _failure(failures[0])

    async def _send_to(self, app: Inngest, events: list[dict[str, Any]]) -> None:
        client = await app.temporal()
        await app.send_as(client, events)

    def _headers(self) -> dict[str, str]:
        return {"x-inngest-server-kind": self.server_kind}

    def _answer(self, status: int, ids: list[str], error: str | None = None) -> Response:
        body: dict[str, Any] = {"ids": ids, "status": status}
        if error is not None:
            body["error"] = error
        return JSONResponse(body, status_code=status, headers=self._headers())


def _wants(app: Inngest, name: str) -> bool:
    return app.event_hub or bool(app.functions_for(name))


def _failure(exc: BaseException) -> EventAPIError:
    """The answer for a send that failed after validation."""
    if isinstance(exc, EventValidationError):
        return EventAPIError(400, str(exc))
    unavailable = (
        (isinstance(exc, RPCError) and exc.status in _UNAVAILABLE)
        or isinstance(exc, ConnectionError | OSError | TimeoutError)
        or (isinstance(exc, RuntimeError) and "connect" in str(exc).lower())
    )
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


def _key_message(key: str) -> str:
    if not key:
        return (
            "Event key is required: send to /e/<event key> (the Inngest SDKs do this from "
            "INNGEST_EVENT_KEY or the client's event_key/eventKey option)"
        )
    return (
        "Event key not found: the key in /e/<event key> is not one of this server's keys; "
        "give the sender's Inngest client (event_key / eventKey, or INNGEST_EVENT_KEY) a key "
        "passed to `adapter serve --event-key` or set in the server's INNGEST_EVENT_KEY"
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def create_app(
    apps: Sequence[Inngest],
    *,
    event_keys: Iterable[str] | None = None,
    dev: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> Starlette:
    """The Event API as an ASGI app (Starlette) sending to ``apps``.

    ``dev=True`` accepts any event key (as Inngest's dev server); otherwise only
    ``event_keys``, and having none raises ConfigError: a production Event API
    that takes events from anyone is never started by accident. Bodies over
    ``max_body_bytes`` get 413; events over ``max_event_bytes`` (capped by the apps'
    Temporal payload limit) get 400. Each app sends with its own Temporal client
    (``Inngest.set_temporal_client`` or the TEMPORAL_* settings).
    """
    api = EventAPI(
        apps,
        event_keys=event_keys,
        dev=dev,
        max_body_bytes=max_body_bytes,
        max_event_bytes=max_event_bytes,
    )
    app = Starlette(
        routes=[
            # :path so that a key with an encoded "/" still gets Inngest's 401, not a 404.
            Route("/e/{event_key:path}", api.receive, methods=["POST"]),
            Route("/e/", api.missing_key, methods=["POST"]),
            Route("/e", api.missing_key, methods=["POST"]),
            Route("/health", api.health, methods=["GET"]),
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


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class EventServer:
    """Serves an ASGI app (the Event API) with uvicorn inside the running event loop.

    ``async with EventServer(app, port=8288) as server:`` binds at once (a busy port
    raises RuntimeError naming it), serves until the block ends, then stops
    accepting and lets requests in flight finish. ``port=0`` picks a free port;
    :attr:`url` tells which.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        graceful_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=int(graceful_timeout),
        )
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL to give the SDKs (``event_api_base_url`` / ``baseUrl``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        """Bind and start serving; returns :attr:`url`."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RuntimeError(
                f"cannot listen on {self.host}:{self.port} for the Event API ({reason}); "
                "pick another port (--port / --events-port) or stop what uses it"
            ) from None
        self.port = int(sock.getsockname()[1])
        self._server = _Server(self._config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                sock.close()
                failure = self._task.exception()
                raise RuntimeError(f"the Event API server did not start: {failure!r}")
            await asyncio.sleep(0.01)
        return self.url

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, close."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> EventServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def serve_events(
    apps: Sequence[Inngest],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    event_keys: Iterable[str] | None = None,
    dev: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> EventServer:
    """An :class:`EventServer` for :func:`create_app` with these options (use ``async with``)."""
    app = create_app(
        apps,
        event_keys=event_keys,
        dev=dev,
        max_body_bytes=max_body_bytes,
        max_event_bytes=max_event_bytes,
    )
    return EventServer(app, host=host, port=port)


def configured_event_keys(given: Iterable[str] | None, environ: Mapping[str, str]) -> set[str]:
    """Keys from ``--event-key`` options plus the ``INNGEST_EVENT_KEY`` variable."""
    keys = {k.strip() for k in (given or ()) if k.strip()}
    return keys | event_keys_from_env(environ.get(EVENT_KEY_ENV))
