"""The ``Inngest`` client: defines functions and sends events."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, overload

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from ._config import Backoff, FunctionConfig
from ._connect import connect
from ._errors import ConfigError, EventValidationError
from ._event import Event, prepare_events
from ._function import Function, Handler, build_config, check_handler
from ._json import DEFAULT_PAYLOAD_LIMIT, json_size

EventInput = Event | Mapping[str, Any] | Sequence[Event | Mapping[str, Any]]
_START_CONCURRENCY = 64


def run_workflow_id(app_id: str, function_id: str, event_id: str) -> str:
    """The workflow id of the run an event starts: one per function per event id."""
    return f"{app_id}:{function_id}:{event_id}"


class Inngest:
    """An app: a set of functions and the means to send them events.

    ``app_id`` names the app; its functions run on the Temporal task queue
    ``task_queue`` (default: the app id). The Temporal connection is made on first
    use from ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` / ``TEMPORAL_API_KEY`` or a
    profile, unless one is given with ``temporal_client=`` or
    :meth:`set_temporal_client`.
    """

    def __init__(
        self,
        *,
        app_id: str,
        task_queue: str | None = None,
        temporal_client: Client | None = None,
        backoff: Backoff | Mapping[str, Any] | None = None,
        heartbeat_timeout: timedelta = timedelta(seconds=10),
        payload_limit: int = DEFAULT_PAYLOAD_LIMIT,
    ) -> None:
        if not app_id or not isinstance(app_id, str):
            raise ConfigError(
                "Inngest(app_id=...): app_id is required, e.g. Inngest(app_id='my-app')"
            )
        self.app_id = app_id
        self.task_queue = task_queue or app_id
        self.backoff = (
            backoff if isinstance(backoff, Backoff) else Backoff.model_validate(backoff or {})
        )
        self.heartbeat_timeout = heartbeat_timeout
        self.payload_limit = payload_limit
        self._temporal = temporal_client
        self._functions: dict[str, Function] = {}

    # --- defining functions -------------------------------------------------
    @overload
    def create_function(
        self,
        config: Mapping[str, Any] | FunctionConfig,
        trigger: Any,
        handler: Handler,
        /,
    ) -> Function: ...

    @overload
    def create_function(
        self,
        config: Mapping[str, Any] | FunctionConfig | None = None,
        trigger: Any = None,
        handler: None = None,
        /,
        **options: Any,
    ) -> Callable[[Handler], Function]: ...

    def create_function(
        self,
        config: Mapping[str, Any] | FunctionConfig | None = None,
        trigger: Any = None,
        handler: Handler | None = None,
        /,
        **options: Any,
    ) -> Function | Callable[[Handler], Function]:
        """Define a function, in any of three styles.

        * the seed's: ``create_function({"id": "sync-contacts"}, {"cron": "0 * * * *"}, handler)``
        * inngest-py's: ``@create_function(fn_id="x", trigger=TriggerEvent(event="user/created"))``
        * short keywords: ``@create_function(id="x", cron="0 9 * * 1-5", timezone="Europe/Paris")``

        Options: ``name``, ``retries`` (0..20, default 4), ``backoff``,
        ``step_timeout``; triggers via ``trigger``/``triggers``/``cron``/``event``.
        Invalid config raises ConfigError naming the function and the field.
        """
        fn_config = build_config(config, trigger, options)
        if handler is not None:
            return self._register(fn_config, handler)

        def decorator(func: Handler) -> Function:
            return self._register(fn_config, func)

        return decorator

    def _register(self, config: FunctionConfig, handler: Handler) -> Function:
        check_handler(handler, config.id)
        if config.id in self._functions:
            raise ConfigError(
                f"create_function(id={config.id!r}): app {self.app_id!r} already has a function "
                "with this id; function ids must be unique within an app"
            )
        fn = Function(self, config, handler)
        self._functions[config.id] = fn
        return fn

    @property
    def functions(self) -> list[Function]:
        """Every function defined on this client, in definition order."""
        return list(self._functions.values())

    def function(self, function_id: str) -> Function:
        """The function with this id; KeyError naming the known ids otherwise."""
        try:
            return self._functions[function_id]
        except KeyError:
            known = ", ".join(sorted(self._functions)) or "none"
            raise KeyError(
                f"no function {function_id!r} in app {self.app_id!r} (known: {known})"
            ) from None

    # --- Temporal connection -------------------------------------------------
    def set_temporal_client(self, client: Client) -> None:
        """Use this Temporal client for sending and for the worker."""
        self._temporal = client

    async def temporal(self) -> Client:
        """The Temporal client, connecting on first use."""
        if self._temporal is None:
            self._temporal = await connect()
        return self._temporal

    # --- sending events --------------------------------------------------------
    async def send(self, events: EventInput) -> list[str]:
        """Send one event or a list; returns their ids, in order.

        Each event is validated (name required; ``id`` and ``ts`` filled in), then one
        run starts per function whose event trigger matches the name. The run's
        workflow id derives from function and event id, so sending the same event
        id again starts nothing new. All events are validated before any is sent.
        """
        prepared = self._prepare(events)
        await self._start_runs(await self.temporal(), prepared)
        return [e.id for e in prepared]

    def send_sync(self, events: EventInput) -> list[str]:
        """Blocking twin of :meth:`send`, for code that is not async."""
        prepared = self._prepare(events)
        result: list[BaseException] = []

        def target() -> None:
            async def go() -> None:
                # temporalio clients are not tied to one event loop, so the shared
                # client serves this private loop too.
                client = self._temporal or await connect()
                await self._start_runs(client, prepared)

            try:
                asyncio.run(go())
            except BaseException as exc:
                result.append(exc)

        thread = threading.Thread(target=target, name="adapter-send-sync")
        thread.start()
        thread.join()
        if result:
            raise result[0]
        return [e.id for e in prepared]

    def _prepare(self, events: EventInput) -> list[Event]:
        prepared = prepare_events(events)
        for i, event in enumerate(prepared):
            size = json_size(event.model_dump())
            if size > self.payload_limit:
                where = "event" if len(prepared) == 1 else f"event[{i}]"
                raise EventValidationError(
                    f"{where} ({event.name!r}) is {size:,} bytes, over the payload limit of "
                    f"{self.payload_limit:,} bytes; send a reference to large data instead"
                )
        return prepared

    def functions_for(self, event_name: str) -> list[Function]:
        """Functions with an event trigger on ``event_name``."""
        return [
            fn
            for fn in self._functions.values()
            if any(t.event == event_name for t in fn.config.event_triggers)
        ]

    async def _start_runs(
        self, client: Client, events: list[Event]
    ) -> list[WorkflowHandle[Any, Any]]:
        limit = asyncio.Semaphore(_START_CONCURRENCY)
        jobs = [
            self._start_run(client, fn, event, limit)
            for event in events
            for fn in self.functions_for(event.name)
        ]
        handles = await asyncio.gather(*jobs)
        return [h for h in handles if h is not None]

    async def _start_run(
        self, client: Client, fn: Function, event: Event, limit: asyncio.Semaphore
    ) -> WorkflowHandle[Any, Any] | None:
        async with limit:
            try:
                return await client.start_workflow(
                    fn.id,
                    start_input(fn, [event]),
                    id=run_workflow_id(self.app_id, fn.id, event.id),
                    task_queue=self.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    static_summary=f"{fn.id} ← {event.name}",
                )
            except WorkflowAlreadyStartedError:
                return None


def start_input(
    fn: Function, events: list[Event] | None, cron: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The orchestrator's input: app, events (or the cron to build one from), options."""
    return {
        "app_id": fn.app_id,
        "events": None if events is None else [e.model_dump(exclude_none=True) for e in events],
        "cron": cron,
        "opts": fn.run_options(),
    }
