"""Function config and triggers as pydantic models, validated at definition time."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._cron import CronSpec, parse_cron
from ._durations import parse_duration

MAX_RETRIES = 20
DEFAULT_RETRIES = 4
MAX_TRIGGERS = 10
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class TriggerEvent(BaseModel):
    """Run the function for every event with this name (``{"event": "user/created"}``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    event: str = Field(min_length=1, max_length=512)
    expression: str | None = Field(default=None, alias="if")

    @field_validator("event")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('must name an event, e.g. "user/created"')
        return value


class TriggerCron(BaseModel):
    """Run the function on a cron schedule (``{"cron": "0 * * * *"}``), UTC by default.

    ``timezone`` (or a ``TZ=Area/City`` prefix) uses Temporal's own zone support.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str
    timezone: str | None = None

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


class FunctionConfig(BaseModel):
    """Everything ``create_function`` accepts besides the handler."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str | None = None
    triggers: tuple[Trigger, ...] = Field(min_length=1, max_length=MAX_TRIGGERS)
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=MAX_RETRIES)
    backoff: Backoff | None = None
    step_timeout: timedelta = timedelta(hours=2)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a valid function id: use letters, digits, '.', '_' and '-' "
                "(start with a letter or digit, at most 128 characters), e.g. 'sync-contacts'"
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
