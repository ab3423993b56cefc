"""The ``Inngest`` client: defines functions and sends events."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, overload

from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from adapter._define.config import Backoff, FunctionConfig, TriggerEvent
from adapter._define.event import Event, prepare_events
from adapter._define.function import Function, Handler, build_config, check_handler
from adapter._define.inngest_options import InngestPyOptions
from adapter._define.middleware import UninitializedMiddleware
from adapter._define.serializer import UNSET, Serializer, output_of
from adapter._errors import ConfigError, DuplicateFunctionError, EventValidationError
from adapter._execution.middleware import client_send
from adapter._execution.payloads import event_limit, json_size
from adapter._protocol import (
    DEFAULT_PAYLOAD_LIMIT,
    MAX_WORKFLOW_ID_BYTES,
    EventOutcome,
    LifecycleEvent,
    hub_id,
)
from adapter._temporal.connect import connect
from adapter._temporal.dispatch import dispatch
from adapter._temporal.options import TemporalOptions, with_options
from adapter._temporal.registry import REGISTRY
from adapter._temporal.search_attributes import missing_search_attributes
from adapter._temporal.send_retry import progressed, retrying

if TYPE_CHECKING:
    from adapter._define.function import Logger

EventInput = Event | Mapping[str, Any] | Sequence[Event | Mapping[str, Any]]
_log = logging.getLogger("adapter.send")


class Inngest(InngestPyOptions):
    """An app: a set of functions and the means to send them events.

    ``app_id`` names the app; its functions run on the Temporal task queue
    ``task_queue`` (default: the app id). The Temporal connection is made on first
    use from ``TEMPORAL_ADDRESS`` / ``TEMPORAL_NAMESPACE`` / ``TEMPORAL_API_KEY`` or a
    profile, unless one is given with ``temporal_client=`` or
    :meth:`set_temporal_client`.

    ``payload_codec`` (e.g. :class:`adapter.encryption.EncryptionCodec`), ``interceptors``
    (temporalio client and/or worker interceptors), ``plugins`` (temporalio plugins) and
    ``runtime`` (a temporalio ``Runtime``, e.g. with Prometheus metrics; used when this
    client connects itself) apply to this app's Temporal client, so to its sends and
    to its workers; ``ADAPTER_PLUGINS`` (comma-separated ``module:attr``) adds more.

    ``search_attributes`` tags every run with InngestFunctionId, InngestEventName,
    InngestEventId and InngestAppId; by default only when the namespace has them
    (``adapter dev`` and workers register them; ``adapter setup`` does it for a cluster).

    ``send`` routes by what the namespace's workers registered (not by the functions
    this process imports), reading the registrations again when older than
    ``registry_ttl``; transient Temporal errors are retried for ``send_retry`` with
    the same event ids. Events of names that some registered function waits or
    cancels on also go to that name's hub; ``event_hub=False`` skips that (a
    diagnostic switch: waits and cancels then never see this sender's events).
    ``eager_start`` (default on) starts runs with Temporal's eager workflow start: when
    this client also runs a worker for the run's task queue with a free slot, the run's
    first workflow task comes back in the start response and runs here, with no poll
    and no matching round trip; otherwise Temporal dispatches it as usual.

    inngest-py's constructor options are accepted with the same spelling, so that
    ``import adapter as inngest`` is the only change an app needs:

    * ``logger``: the logger behind ``ctx.logger`` (also :meth:`set_logger`);
    * ``serializer``: turns ``output_type=`` results into JSON and back
      (default :class:`~adapter.PydanticSerializer`);
    * ``middleware``: inngest-py's ``Middleware`` / ``MiddlewareSync`` classes (also
      :meth:`add_middleware`), kept in ``client.middleware``; the worker calls their
      hooks around every call of a handler, before a function's own ``middleware=``
      (:mod:`adapter._execution.middleware`), and ``send`` calls their send hooks;
    * ``is_production``, ``env``, ``event_key``, ``signing_key``, ``api_base_url``,
      ``event_api_base_url``, ``request_timeout``, ``app_version``: kept as attributes
      (with inngest-py's ``INNGEST_*`` environment fallbacks) and otherwise unused: runs
      start from Temporal and ``send`` hands events to Temporal, never to an Inngest
      server. One INFO line names those given (:mod:`adapter._define.inngest_options`).
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
        event_hub: bool = True,
        search_attributes: bool | None = None,
        registry_ttl: timedelta = timedelta(seconds=5),
        send_retry: timedelta = timedelta(seconds=30),
        eager_start: bool = True,
        # Temporal's payload codec, interceptors, plugins, runtime (see the class docstring)
        payload_codec: PayloadCodec | None = None,
        interceptors: Sequence[Any] = (),
        plugins: Sequence[Any] = (),
        runtime: Runtime | None = None,
        # inngest-py's options (see the class docstring)
        api_base_url: str | None = None,
        app_version: str | None = None,
        env: str | None = None,
        event_api_base_url: str | None = None,
        event_key: str | None = None,
        is_production: bool | None = None,
        logger: Logger | None = None,
        middleware: list[UninitializedMiddleware] | None = None,
        request_timeout: int | timedelta | None = None,
        serializer: Serializer | None = None,
        signing_key: str | None = None,
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
        self.event_hub = event_hub
        self.registry_ttl = registry_ttl
        self.send_retry = send_retry
        self.eager_start = eager_start
        self.search_attributes = search_attributes
        self._search_attributes_ok: bool | None = (
            None if search_attributes is None else search_attributes
        )
        self.temporal_options = TemporalOptions(
            payload_codec, tuple(interceptors), tuple(plugins), runtime
        )
        """What this app adds to its Temporal client (codec, interceptors, plugins, runtime)."""
        self._temporal = (
            None
            if temporal_client is None
            else with_options(temporal_client, self.temporal_options)
        )
        self._functions: dict[str, Function] = {}
        self._init_inngest_py(
            api_base_url=api_base_url,
            app_version=app_version,
            env=env,
            event_api_base_url=event_api_base_url,
            event_key=event_key,
            is_production=is_production,
            logger=logger,
            middleware=middleware,
            request_timeout=request_timeout,
            serializer=serializer,
            signing_key=signing_key,
        )

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
        As in inngest-py, ``output_type=`` (or newer inngest-py's ``type_adapter=``, a
        pydantic ``TypeAdapter``) names the type of the handler's result
        (``step.invoke`` of this function rebuilds it), and ``middleware=`` lists
        middleware for this function alone (``fn.middleware``; called after the
        client's).
        """
        on_failure = options.pop("on_failure", None) or options.pop("onFailure", None)
        output_type = options.pop("output_type", UNSET)
        type_adapter = options.pop("type_adapter", UNSET)  # newer inngest-py's spelling
        middleware = list(options.pop("middleware", None) or [])
        if isinstance(config, Mapping):
            config = dict(config)
            on_failure = (
                on_failure or config.pop("on_failure", None) or config.pop("onFailure", None)
            )
        fn_config = build_config(config, trigger, options)
        output_type = output_of(
            output_type, type_adapter, what=f"function {fn_config.id!r}", keyword="type_adapter"
        )
        if handler is not None:
            return self._register(fn_config, handler, on_failure, output_type, middleware)

        def decorator(func: Handler) -> Function:
            return self._register(fn_config, func, on_failure, output_type, middleware)

        return decorator

    def _register(
        self,
        config: FunctionConfig,
        handler: Handler,
        on_failure: Handler | None = None,
        output_type: object = UNSET,
        middleware: list[UninitializedMiddleware] | None = None,
    ) -> Function:
        check_handler(handler, config.id)
        if on_failure is not None:
            check_handler(on_failure, config.id)
        if config.id in self._functions:
            raise DuplicateFunctionError(
                f"create_function(id={config.id!r}): app {self.app_id!r} already has a function "
                "with this id; function ids must be unique within an app",
                config.id,
                self._functions[config.id],
            )
        fn = Function(self, config, handler, output_type=output_type, middleware=middleware)
        self._functions[config.id] = fn
        if on_failure is not None:
            # As in Inngest: a companion function triggered by inngest/function.failed.
            companion = FunctionConfig(
                id=f"{config.id}-failure",
                name=f"{fn.name} (on_failure)",
                triggers=(
                    TriggerEvent.model_validate(
                        {
                            "event": LifecycleEvent.FAILED.value,
                            "if": f"event.data.function_id == '{config.id}'",
                        }
                    ),
                ),
                retries=0,
            )
            self._register(companion, on_failure)
            fn.on_failure_fn_id = companion.id
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
        """Use this Temporal client (with this app's codec, interceptors, plugins) to send and work."""
        self._temporal = with_options(client, self.temporal_options)

    async def temporal(self) -> Client:
        """The Temporal client, connecting on first use."""
        if self._temporal is None:
            self._temporal = await connect(options=self.temporal_options)
        return self._temporal

    # --- sending events --------------------------------------------------------
    async def send(self, events: EventInput, *, skip_middleware: bool = False) -> list[str]:
        """Send one event or a list; returns their ids, in order.

        Each event is validated (name required; ``id`` and ``ts`` filled in), then one
        run starts per function whose event trigger matches the name (and ``if``).
        The run's workflow id derives from function and event id, so sending the
        same event id again starts nothing new. All events are validated before
        any is sent. As in inngest-py, the client's middleware (``before_send_events``,
        ``after_send_events``) sees them first unless ``skip_middleware``.
        """
        prepared, client = self._prepare(events), await self.temporal()
        return await client_send(self, prepared, skip_middleware, partial(self._dispatch, client))

    def send_sync(self, events: EventInput, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`, for code that is not async."""
        prepared = self._prepare(events)
        result: list[BaseException] = []
        ids: list[str] = []

        def target() -> None:
            async def go() -> None:
                # temporalio clients are not tied to one event loop, so the shared
                # client serves this private loop too.
                client = self._temporal or await connect(options=self.temporal_options)
                dispatch = partial(self._dispatch, client)
                ids.extend(await client_send(self, prepared, skip_middleware, dispatch))

            try:
                asyncio.run(go())
            except BaseException as exc:
                result.append(exc)

        thread = threading.Thread(target=target, name="adapter-send-sync")
        thread.start()
        thread.join()
        if result:
            raise result[0]
        return ids

    async def _send_as(
        self,
        client: Client,
        events: EventInput,
        *,
        internal: bool = False,
        retry: timedelta | None = None,
    ) -> list[str]:
        """Send through ``client``; ``internal`` allows the reserved ``inngest/`` names.

        ``retry`` replaces ``send_retry`` (the Event API retries briefly: its clients
        retry themselves).
        """
        ids, _ = await self._send_reporting(client, events, internal=internal, retry=retry)
        return ids

    async def _send_reporting(
        self,
        client: Client,
        events: EventInput,
        *,
        internal: bool = False,
        retry: timedelta | None = None,
    ) -> tuple[list[str], list[str]]:
        """As :meth:`_send_as`, and the ids that were duplicates (accepted before, other data)."""
        prepared = self._prepare(events, allow_reserved=internal)
        duplicates = await self._dispatch(client, prepared, retry)
        return [e.id for e in prepared], duplicates

    def _check_ids(self, events: list[Event]) -> None:
        """Refuse events whose names would make workflow ids longer than Temporal allows."""
        for i, event in enumerate(events):
            if (
                len(hub_id(self.app_id, event.name).encode("utf-8", "surrogatepass"))
                > MAX_WORKFLOW_ID_BYTES
            ):
                where = "event" if len(events) == 1 else f"event[{i}]"
                raise EventValidationError(
                    f"{where}.name is too long in UTF-8 bytes for a Temporal workflow id "
                    f"(at most {MAX_WORKFLOW_ID_BYTES} bytes with the app prefix); shorten it"
                )

    @property
    def event_limit(self) -> int:
        """The largest event (JSON bytes) ``send`` accepts: the payload limit less 64 KiB."""
        return event_limit(self.payload_limit)

    def _prepare(self, events: EventInput, *, allow_reserved: bool = False) -> list[Event]:
        prepared = prepare_events(events, allow_reserved=allow_reserved)
        self._check_ids(prepared)
        limit = self.event_limit
        for i, event in enumerate(prepared):
            size = json_size(event.model_dump())
            if size > limit:
                where = "event" if len(prepared) == 1 else f"event[{i}]"
                raise EventValidationError(
                    f"{where} ({event.name!r}) is {size:,} bytes, over the {limit:,} bytes an "
                    f"event may have (the payload limit of {self.payload_limit:,} less room "
                    "for the run's options); send a reference to large data instead"
                )
        return prepared

    async def _uses_search_attributes(self, client: Client) -> bool:
        """Whether runs get our search attributes (checked once against the namespace)."""
        if self._search_attributes_ok is None:
            try:
                self._search_attributes_ok = not await missing_search_attributes(client)
            except RPCError:
                self._search_attributes_ok = False
        return self._search_attributes_ok

    def _search_attributes_registered(self, registered: bool) -> None:
        """Tell the client whether the namespace has the search attributes (the worker knows)."""
        if self.search_attributes is None:
            self._search_attributes_ok = registered

    async def _dispatch(
        self, client: Client, events: list[Event], retry: timedelta | None = None
    ) -> list[str]:
        """Route events by the namespace's registrations (see :mod:`adapter._temporal.dispatch`).

        Transient Temporal errors are retried with the same event ids (Temporal dedupes
        them) for ``send_retry``; after that :class:`SendError` says which events may
        already have been accepted. Returns the ids that were duplicates: accepted
        before with other data, so not delivered again (each logged as a warning).
        """

        async def attempt() -> list[str]:
            table = await REGISTRY.table(client, self.registry_ttl.total_seconds())
            progressed()
            outcomes = await dispatch(
                client,
                table,
                events,
                tagged=await self._uses_search_attributes(client),
                hubs=self.event_hub,
                eager=self.eager_start,
            )
            return self._duplicates(outcomes)

        return await retrying(client, events, retry or self.send_retry, attempt)

    def _duplicates(self, outcomes: dict[str, EventOutcome]) -> list[str]:
        duplicates = [i for i, outcome in outcomes.items() if outcome.get("duplicate")]
        for event_id in duplicates:
            _log.warning(
                "event id %r was accepted before with other data: this event is a duplicate "
                "and was not delivered (send it with a new id)",
                event_id,
            )
        return duplicates
