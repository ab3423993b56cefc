"""A function: config, triggers and handler, as ``create_function`` builds it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias

from pydantic import ValidationError
from typing_extensions import TypeVar

from adapter._define.config import Backoff, FunctionConfig, Trigger, TriggerCron, TriggerEvent
from adapter._define.first_step import first_step_id
from adapter._define.serializer import UNSET, Serializer, encode
from adapter._errors import ConfigError
from adapter._execution.payloads import event_limit

if TYPE_CHECKING:
    Logger: TypeAlias = logging.Logger | logging.LoggerAdapter[Any]

Handler = Callable[..., Any]


class App(Protocol):
    """What a function needs of its app: identity, defaults, functions, sending.

    :class:`~adapter._define.client.Inngest` satisfies it. Functions, steps and the
    executor depend on this protocol rather than on the client, so the client can
    import them without a cycle, and the sandbox can stand in for sending.
    """

    @property
    def app_id(self) -> str:
        """The app id."""
        ...

    @property
    def task_queue(self) -> str:
        """The Temporal task queue the app's functions run on."""
        ...

    @property
    def backoff(self) -> Backoff:
        """The retry backoff of functions that set none."""
        ...

    @property
    def heartbeat_timeout(self) -> timedelta:
        """How soon a step whose worker died is retried elsewhere."""
        ...

    @property
    def payload_limit(self) -> int:
        """The largest payload (bytes) handed to Temporal."""
        ...

    @property
    def functions(self) -> Sequence[Function]:
        """The app's functions."""
        ...

    def function(self, function_id: str) -> Function:
        """The function with this id; KeyError otherwise."""
        ...

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Send events; returns their ids (``skip_middleware``: not through its middleware)."""
        ...

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`."""
        ...


TOutput = TypeVar("TOutput", default=Any)


class Function(Generic[TOutput]):
    """A durable function: one Temporal workflow type, named by its id.

    ``Function[T]`` (inngest-py's ``inngest.Function[T]``) names its output type for
    type checkers; plain ``Function`` is ``Function[Any]``.

    ``output_type`` (inngest-py's ``create_function(output_type=...)``) is the type of
    the handler's result: it is recorded as JSON through the client's serializer and
    rebuilt as this type by ``step.invoke``. ``middleware`` (inngest-py's) is called
    around each call of the handler, after the client's (:mod:`adapter._execution.middleware`).
    """

    def __init__(
        self,
        client: App,
        config: FunctionConfig,
        handler: Handler,
        *,
        output_type: object = UNSET,
        middleware: Sequence[Any] | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.handler = handler
        self.output_type = output_type
        self.middleware = list(middleware or [])
        self.on_failure_fn_id: str | None = None
        self._logger = logging.getLogger(f"adapter.fn.{config.id}")
        self.first_step = first_step_id(handler)

    @property
    def logger(self) -> Logger:
        """The logger behind ``ctx.logger``: the client's ``logger=``, else ``adapter.fn.<id>``."""
        custom: Logger | None = getattr(self.client, "custom_logger", None)
        return custom if custom is not None else self._logger

    @property
    def serializer(self) -> Serializer | None:
        """The client's ``serializer=`` (None: the default pydantic one)."""
        return getattr(self.client, "serializer", None)

    def encode_result(self, value: Any) -> Any:
        """The handler's result as JSON data, through ``output_type`` when one is given."""
        return encode(value, self.output_type, self.serializer)

    @property
    def id(self) -> str:
        """The function id, which is also the Temporal workflow type."""
        return self.config.id

    @property
    def app_id(self) -> str:
        """The id of the app (client) the function belongs to."""
        return self.client.app_id

    @property
    def name(self) -> str:
        """The display name (the id when no name was given)."""
        return self.config.name or self.config.id

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """The function's triggers."""
        return self.config.triggers

    @property
    def is_async(self) -> bool:
        """True for ``async def`` handlers."""
        return inspect.iscoroutinefunction(self.handler)

    @property
    def is_handler_async(self) -> bool:
        """inngest-py's name for :attr:`is_async`."""
        return self.is_async

    @property
    def local_id(self) -> str:
        """inngest-py's id without the app prefix: here the same as :attr:`id`."""
        return self.config.id

    @property
    def backoff(self) -> Backoff:
        """The retry backoff in force: the function's, else the client's."""
        return self.config.backoff or self.client.backoff

    def run_options(self, search_attributes: bool = False) -> dict[str, Any]:
        """Per-run settings frozen into each run's input, so a redeploy cannot change them.

        ``search_attributes`` says whether runs it starts (invokes, gated runs) are tagged.
        """
        cfg = self.config
        timeouts = cfg.timeouts
        return {
            "search_attributes": search_attributes,
            "wire": 2,  # compact step activities (adapter/_workflows/step_wire.py)
            "first_step": self.first_step,
            "retries": cfg.retries,
            "backoff": self.backoff.to_wire(),
            "step_timeout": cfg.step_timeout.total_seconds(),
            "heartbeat_timeout": self.client.heartbeat_timeout.total_seconds(),
            "cancel": [
                {
                    "event": c.event,
                    "if": c.expression,
                    "timeout": None if c.timeout is None else c.timeout.total_seconds(),
                }
                for c in cfg.cancel
            ],
            "concurrency": [
                {"limit": c.limit, "key": c.key, "scope": c.scope} for c in cfg.concurrency
            ],
            "priority": cfg.priority.run if cfg.priority else None,
            "timeouts": {
                "start": _seconds(timeouts.start) if timeouts else None,
                "finish": _seconds(timeouts.finish) if timeouts else None,
            },
        }

    def gate_options(self) -> dict[str, Any] | None:
        """Admission settings (rate limit, throttle, debounce, batch), or None without any."""
        cfg = self.config
        if not (cfg.rate_limit or cfg.throttle or cfg.debounce or cfg.batch_events):
            return None
        gate: dict[str, Any] = {
            "priority": cfg.priority.run if cfg.priority else None,
            "start_timeout": _seconds(cfg.timeouts.start) if cfg.timeouts else None,
            "rate_limit": None,
            "throttle": None,
            "debounce": None,
            "batch": None,
        }
        if cfg.rate_limit:
            gate["rate_limit"] = {
                "limit": cfg.rate_limit.limit,
                "period": _seconds(cfg.rate_limit.period),
            }
        if cfg.throttle:
            gate["throttle"] = {
                "limit": cfg.throttle.limit,
                "period": _seconds(cfg.throttle.period),
                "burst": cfg.throttle.burst,
            }
        if cfg.debounce:
            gate["debounce"] = {
                "period": _seconds(cfg.debounce.period),
                "timeout": _seconds(cfg.debounce.timeout),
            }
        if cfg.batch_events:
            gate["batch"] = {
                "max_size": cfg.batch_events.max_size,
                "timeout": _seconds(cfg.batch_events.timeout),
                # the batch's events travel in one payload: its run's input (gate_state.py)
                "max_bytes": event_limit(self.client.payload_limit),
            }
            if cfg.batch_events.if_exp is not None:  # only then: older gates' input holds
                gate["batch"]["if"] = cfg.batch_events.if_exp
        return gate

    def gate_keys(self) -> list[str | None]:
        """Key expressions of the admission options, in a fixed order."""
        cfg = self.config
        opts = (cfg.rate_limit, cfg.throttle, cfg.debounce, cfg.batch_events)
        return [o.key for o in opts if o is not None]

    def __repr__(self) -> str:
        return f"<Function {self.app_id}/{self.id}>"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _trigger_from(value: Any, where: str) -> Trigger:
    if isinstance(value, TriggerEvent | TriggerCron):
        return value
    if isinstance(value, str):
        raise ConfigError(
            f"{where}: a trigger is a dict, e.g. {{'event': {value!r}}} or "
            "{'cron': '0 * * * *'}, not a bare string"
        )
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: expected a trigger such as {{'event': 'user/created'}} or "
            f"{{'cron': '0 * * * *'}}, got {type(value).__name__}"
        )
    if "cron" in value and "event" in value:
        raise ConfigError(f"{where}: a trigger has either 'cron' or 'event', not both")
    model: type[TriggerEvent] | type[TriggerCron]
    if "cron" in value:
        model = TriggerCron
    elif "event" in value:
        model = TriggerEvent
    else:
        raise ConfigError(
            f"{where}: a trigger needs 'event' (e.g. 'user/created') or 'cron' "
            f"(e.g. '0 * * * *'); got keys {sorted(value)}"
        )
    try:
        return model.model_validate(dict(value))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where)) from None


def _describe(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "is not a known option"
        elif err["type"] == "missing":
            msg = "is required"
        parts.append(f"{field}: {msg}" if field else msg)
    return f"{where}: " + "; ".join(parts)


# The TypeScript SDK's option names, so that ported configs work unchanged.
_ALIASES = {
    "cancelOn": "cancel",
    "cancel_on": "cancel",
    "rateLimit": "rate_limit",
    "batchEvents": "batch_events",
    "onFailure": "on_failure",
}


def build_config(
    config: Mapping[str, Any] | FunctionConfig | None,
    trigger: Any,
    options: dict[str, Any],
) -> FunctionConfig:
    """Merge the three call styles into one validated FunctionConfig."""
    if isinstance(config, FunctionConfig):
        return config
    merged: dict[str, Any] = dict(config or {})
    for key, value in options.items():
        if value is not None:
            merged[key] = value
    if "fn_id" in merged:
        merged["id"] = merged.pop("fn_id")
    for alias, name in _ALIASES.items():
        if alias in merged:
            merged[name] = merged.pop(alias)
    fn_id = merged.get("id")
    where = f"create_function(id={fn_id!r})" if fn_id else "create_function"
    if not fn_id:
        raise ConfigError(
            f"{where}: 'id' is required, e.g. create_function(id='sync-contacts', cron='0 * * * *')"
        )
    raw_triggers: list[Any] = []
    for key in ("trigger", "triggers"):
        value = merged.pop(key, None)
        if value is not None:
            raw_triggers.extend(value if isinstance(value, list | tuple) else [value])
    if trigger is not None:
        raw_triggers.extend(trigger if isinstance(trigger, list | tuple) else [trigger])
    cron, event = merged.pop("cron", None), merged.pop("event", None)
    timezone, expression = merged.pop("timezone", None), merged.pop("if_exp", None)
    if cron is not None:
        raw_triggers.append({"cron": cron, "timezone": timezone})
    elif timezone is not None:
        raise ConfigError(f"{where}: timezone is given but there is no cron trigger")
    if event is not None:
        raw_triggers.append({"event": event, "if": expression})
    if not raw_triggers:
        raise ConfigError(
            f"{where}: a trigger is required: cron='0 * * * *' or event='user/created' "
            "(or trigger=TriggerCron(...) / TriggerEvent(...))"
        )
    triggers = []
    for i, raw in enumerate(raw_triggers):
        if isinstance(raw, Mapping):
            raw = {k: v for k, v in raw.items() if v is not None}
        label = f"{where}: trigger" if len(raw_triggers) == 1 else f"{where}: triggers[{i}]"
        triggers.append(_trigger_from(raw, label))
    merged["triggers"] = tuple(triggers)
    if isinstance(merged.get("backoff"), Mapping):
        try:
            merged["backoff"] = Backoff.model_validate(merged["backoff"])
        except ValidationError as exc:
            raise ConfigError(_describe(exc, f"{where}: backoff")) from None
    try:
        return FunctionConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where)) from None


def check_handler(handler: Any, fn_id: str) -> Handler:
    """A handler is a callable taking the context."""
    if not callable(handler):
        raise ConfigError(
            f"create_function(id={fn_id!r}): the handler must be a function taking ctx, "
            f"got {type(handler).__name__}"
        )
    return handler  # type: ignore[no-any-return]


def as_timedelta(value: timedelta | float) -> timedelta:
    """Seconds or a timedelta, as a timedelta."""
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
