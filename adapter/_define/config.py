"""Function config and triggers as pydantic models, validated at definition time."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from adapter._define.cron import CronSpec, parse_cron
from adapter._define.durations import parse_duration
from adapter._define.expressions import check_expression, match_expression
from adapter._errors import ConfigError

MAX_RETRIES = 20
DEFAULT_RETRIES = 4
MAX_TRIGGERS = 10
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A function id may also hold "/" (inngest-py's own ids do: "tests/two_steps"); ":"
# stays out, it separates the parts of our workflow ids.
_FUNCTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


class TriggerEvent(BaseModel):
    """Run the function for every event with this name (``{"event": "user/created"}``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    event: str = Field(min_length=1, max_length=512)
    expression: str | None = Field(
        default=None, validation_alias=AliasChoices("if", "expression"), serialization_alias="if"
    )

    @field_validator("event")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('must name an event, e.g. "user/created"')
        return value

    @field_validator("expression")
    @classmethod
    def _valid_if(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="if")


class TriggerCron(BaseModel):
    """Run the function on a cron schedule (``{"cron": "0 * * * *"}``), UTC by default.

    ``timezone`` (or a ``TZ=Area/City`` prefix) uses Temporal's own zone support.
    ``jitter`` (inngest-py's, e.g. ``"30s"``) delays each tick by a random time up to
    it: the Temporal Schedule's own jitter.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str
    timezone: str | None = None
    jitter: timedelta | None = None

    @field_validator("jitter", mode="before")
    @classmethod
    def _jitter(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value, field="jitter")

    @model_validator(mode="after")
    def _valid_cron(self) -> TriggerCron:
        parse_cron(self.cron, self.timezone, where="cron")
        return self

    @property
    def spec(self) -> CronSpec:
        """The parsed cron (fields and zone)."""
        return parse_cron(self.cron, self.timezone)


Trigger = TriggerEvent | TriggerCron


class Backoff(BaseModel):
    """Exponential retry backoff: ``initial`` × ``coefficient``ⁿ, capped at ``maximum``.

    The default mirrors Inngest's table (15 s, 30 s, 1 m, 2 m, ... up to 2 h).
    Temporal rounds intervals under a second up to one second.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial: timedelta = timedelta(seconds=15)
    coefficient: float = Field(default=2.0, ge=1.0)
    maximum: timedelta = timedelta(hours=2)

    @field_validator("initial", "maximum", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _order(self) -> Backoff:
        if self.initial <= timedelta(0):
            raise ValueError("initial must be positive")
        if self.maximum < self.initial:
            raise ValueError("maximum must be at least initial")
        return self

    def to_wire(self) -> dict[str, float]:
        """Plain-JSON form carried in a run's input."""
        return {
            "initial": self.initial.total_seconds(),
            "coefficient": self.coefficient,
            "maximum": self.maximum.total_seconds(),
        }


def _duration_field(value: Any, field: str) -> timedelta:
    return parse_duration(value, field=field)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Cancel(_Options):
    """Cancel a run when ``event`` arrives (and ``if_exp`` / ``match`` holds) within ``timeout``."""

    event: str = Field(min_length=1)
    # "if" (the dict spelling) or if_exp (inngest-py's keyword, and the typed one).
    if_exp: str | None = Field(
        default=None, validation_alias=AliasChoices("if", "if_exp"), serialization_alias="if"
    )
    match: str | None = None
    timeout: timedelta | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta | None:
        return None if value is None else _duration_field(value, "timeout")

    @model_validator(mode="after")
    def _check(self) -> Cancel:
        if self.if_exp is not None:
            check_expression(self.if_exp, where="if")
        return self

    @property
    def expression(self) -> str | None:
        """The CEL condition over ``event`` (the run's) and ``async`` (the cancelling one)."""
        if self.match is not None:
            return match_expression(self.match)
        return self.if_exp


class Concurrency(_Options):
    """At most ``limit`` steps run at once, per key value, within ``scope``.

    ``scope``: ``"fn"`` (default) this function; ``"app"`` the app's functions sharing
    the key; ``"env"`` (Inngest's environment: here the Temporal namespace) the
    functions of every app sharing the key, which is required then (as in Inngest).
    ``"account"`` (across environments) is refused: a namespace is the widest scope.
    """

    limit: int = Field(ge=1)
    key: str | None = None
    scope: Literal["fn", "app", "env"] = "fn"

    def __init__(self, **data: Any) -> None:
        """Validate; a bad option is one line naming the field (ConfigError)."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError("Concurrency: " + _one_line(exc)) from None

    @field_validator("scope", mode="before")
    @classmethod
    def _scope(cls, value: Any) -> Any:
        if value is None:  # inngest-py's default
            return "fn"
        if value == "account":
            raise ValueError(
                "'account' (every environment) has no Temporal counterpart: a namespace is "
                "the widest scope; use scope='env' (every app of the namespace)"
            )
        return {"function": "fn"}.get(value, value)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="key")

    @model_validator(mode="after")
    def _env_key(self) -> Concurrency:
        if self.scope == "env" and self.key is None:
            raise ValueError(
                "scope='env' needs a key, e.g. key='\"openai\"' (every function with that "
                "key shares the limit)"
            )
        return self


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {msg}" if field else msg)
    return "; ".join(parts)


class _Windowed(_Options):
    limit: int = Field(ge=1)
    period: timedelta
    key: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> timedelta:
        period = _duration_field(value, "period")
        if period < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return period

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="key")


class Throttle(_Windowed):
    """Start at most ``limit`` runs per ``period`` (plus ``burst``), per key; the rest queue."""

    burst: int = Field(default=1, ge=1)

    @field_validator("burst", mode="before")
    @classmethod
    def _burst(cls, value: Any) -> Any:
        return 1 if value is None else value  # inngest-py allows burst=None


class RateLimit(_Windowed):
    """Start at most ``limit`` runs per ``period``, per key; excess events are skipped."""


class Debounce(_Options):
    """Run once, with the last event, after ``period`` without new events (at most ``timeout``)."""

    period: timedelta
    key: str | None = None
    timeout: timedelta | None = None

    @field_validator("period", "timeout", mode="before")
    @classmethod
    def _durations(cls, value: Any, info: Any) -> timedelta | None:
        return None if value is None else _duration_field(value, info.field_name)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="key")

    @model_validator(mode="after")
    def _range(self) -> Debounce:
        if not timedelta(seconds=1) <= self.period <= timedelta(days=7):
            raise ValueError("period must be between 1s and 7d")
        return self


class Batch(_Options):
    """Collect up to ``max_size`` events (or what arrived within ``timeout``) into one run.

    ``timeout`` defaults to 60s, as Inngest's. ``if_exp`` (``"if"``, Inngest's
    conditional batching) is a CEL condition over ``event``: only the events for which
    it holds are batched; each other event starts its own run at once.
    """

    max_size: int = Field(ge=1, le=1000)
    timeout: timedelta = timedelta(seconds=60)
    key: str | None = None
    # "if" (the dict spelling) or if_exp (inngest-py's keyword, and the typed one).
    if_exp: str | None = Field(
        default=None, validation_alias=AliasChoices("if", "if_exp"), serialization_alias="if"
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> timedelta:
        return timedelta(seconds=60) if value is None else _duration_field(value, "timeout")

    @field_validator("if_exp")
    @classmethod
    def _if_exp(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="if")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="key")


class Singleton(_Options):
    """At most one run at a time (per key): a new one is skipped, or cancels the running one."""

    mode: Literal["skip", "cancel"]
    key: str | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="key")


class Priority(_Options):
    """``run``: an expression giving seconds (-600..600) by which a queued run jumps ahead."""

    run: str

    @field_validator("run")
    @classmethod
    def _run(cls, value: str) -> str:
        return check_expression(value, where="run")


class Timeouts(_Options):
    """``start``: longest a run may wait before it starts; ``finish``: longest it may run."""

    start: timedelta | None = None
    finish: timedelta | None = None

    @field_validator("start", "finish", mode="before")
    @classmethod
    def _durations(cls, value: Any, info: Any) -> timedelta | None:
        return None if value is None else _duration_field(value, info.field_name)


class FunctionConfig(BaseModel):
    """Everything ``create_function`` accepts besides the handler."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str | None = None
    triggers: tuple[Trigger, ...] = Field(min_length=1, max_length=MAX_TRIGGERS)
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=MAX_RETRIES)
    backoff: Backoff | None = None
    step_timeout: timedelta = timedelta(hours=2)
    cancel: tuple[Cancel, ...] = Field(default=(), max_length=5)
    concurrency: tuple[Concurrency, ...] = Field(default=(), max_length=2)
    throttle: Throttle | None = None
    rate_limit: RateLimit | None = None
    debounce: Debounce | None = None
    batch_events: Batch | None = None
    idempotency: str | None = None
    priority: Priority | None = None
    singleton: Singleton | None = None
    timeouts: Timeouts | None = None

    @field_validator("cancel", mode="before")
    @classmethod
    def _cancel_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, Cancel | dict) else value

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency_list(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return [{"limit": value}]
        return [value] if isinstance(value, Concurrency | dict) else value

    @field_validator("idempotency")
    @classmethod
    def _idempotency(cls, value: str | None) -> str | None:
        return None if value is None else check_expression(value, where="idempotency")

    @model_validator(mode="after")
    def _compatible(self) -> FunctionConfig:
        if self.batch_events is not None and (self.debounce is not None):
            raise ValueError("batch_events and debounce cannot be combined; pick one")
        if self.batch_events is not None and (self.cancel or self.singleton is not None):
            raise ValueError("batch_events cannot be combined with cancel or singleton")
        return self

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _FUNCTION_ID.match(value):
            raise ValueError(
                f"{value!r} is not a valid function id: use letters, digits, '.', '_', '-' "
                "and '/' (start with a letter or digit, at most 128 characters), e.g. "
                "'sync-contacts'"
            )
        return value

    @field_validator("step_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value, field="step_timeout")

    @property
    def cron_triggers(self) -> list[TriggerCron]:
        """The function's cron triggers."""
        return [t for t in self.triggers if isinstance(t, TriggerCron)]

    @property
    def event_triggers(self) -> list[TriggerEvent]:
        """The function's event triggers."""
        return [t for t in self.triggers if isinstance(t, TriggerEvent)]


def step_run_options(step_id: str, retries: Any, timeout: Any) -> dict[str, Any]:
    """``step.run(retries=, timeout=)``: checked at the call, carried in the plan."""
    where = f"step.run('{step_id}')"
    opts: dict[str, Any] = {}
    if retries is not None:
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ConfigError(f"{where}: retries must be an int, got {retries!r}")
        if not 0 <= retries <= MAX_RETRIES:
            raise ConfigError(f"{where}: retries must be from 0 to {MAX_RETRIES}, got {retries}")
        opts["retries"] = retries
    if timeout is not None:
        try:
            delta = parse_duration(timeout, field=f"{where}: timeout")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if delta <= timedelta(0):
            raise ConfigError(f"{where}: timeout must be positive, got {timeout!r}")
        opts["timeout"] = delta.total_seconds()
    return opts
