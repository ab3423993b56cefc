"""The event model: what ``send`` accepts and what a handler's ``ctx.event`` is."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapter._define.ulid import new_ulid
from adapter._errors import EventValidationError
from adapter._protocol import LifecycleEvent

MAX_NAME_LENGTH = 512
MAX_ID_BYTES = 512
# 1980-01-01 and 2100-01-01 in ms, the bounds Inngest's Event API applies to ts.
MIN_TS_MS = 315532800000
MAX_TS_MS = 4102444800000
RESERVED_PREFIX = "inngest/"
CRON_EVENT = LifecycleEvent.SCHEDULED.value


class Event(BaseModel):
    """An Inngest event: ``name``, ``data``, ``id`` and ``ts`` (ms since the epoch)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    data: dict[str, Any] = Field(default_factory=dict)
    id: str = ""
    ts: int = 0
    user: dict[str, Any] | None = None
    v: str | None = None

    @field_validator("data", mode="before")
    @classmethod
    def _data_none_is_empty(cls, value: object) -> object:
        return {} if value is None else value

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


def _describe(error: ValidationError, index: int | None) -> str:
    where = "" if index is None else f"event[{index}]."
    parts = []
    for err in error.errors():
        field = ".".join(str(p) for p in err["loc"]) or "event"
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not an event field (allowed: name, data, id, ts, user, v)"
        elif field == "data" and err["type"] == "dict_type":
            msg = "must be a JSON object (a dict), e.g. data={'email': '...'}"
        parts.append(f"{where}{field} {msg}")
    return "; ".join(parts)


def prepare_events(
    events: Event | Mapping[str, Any] | Sequence[Event | Mapping[str, Any]],
    *,
    allow_reserved: bool = False,
) -> list[Event]:
    """Validate events for sending, filling in ``id`` (a ULID) and ``ts`` (now).

    Raises EventValidationError naming the event index and the field.
    """
    items: Sequence[Event | Mapping[str, Any]]
    if isinstance(events, Event | Mapping):
        items, single = [events], True
    elif isinstance(events, Sequence) and not isinstance(events, str | bytes):
        items, single = events, False
    else:
        raise EventValidationError(
            f"send() takes an event dict or a list of them, got {type(events).__name__}"
        )
    now = int(time.time() * 1000)
    out: list[Event] = []
    for i, raw in enumerate(items):
        index = None if single else i
        where = "" if index is None else f"event[{index}]."
        try:
            event = raw.model_copy() if isinstance(raw, Event) else Event.model_validate(dict(raw))
        except ValidationError as exc:
            raise EventValidationError(_describe(exc, index)) from None
        except TypeError:
            raise EventValidationError(
                f"{where.rstrip('.') or 'event'} must be a dict with at least a name, "
                f"got {type(raw).__name__}"
            ) from None
        if not allow_reserved and event.name.startswith(RESERVED_PREFIX):
            raise EventValidationError(
                f"{where}name {event.name!r} uses the reserved prefix {RESERVED_PREFIX!r}; "
                "pick another name such as 'app/user.created'"
            )
        if event.ts == 0:
            event.ts = now
        elif not MIN_TS_MS <= event.ts < MAX_TS_MS:
            raise EventValidationError(
                f"{where}ts {event.ts} is not between 1980 and 2100; ts is milliseconds since "
                "the epoch (leave it out to use now)"
            )
        if not event.id:
            event.id = new_ulid(now)
        elif len(event.id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
            raise EventValidationError(
                f"{where}id is longer than {MAX_ID_BYTES} bytes; use a shorter id (it becomes "
                "part of Temporal workflow ids)"
            )
        try:
            # Temporal encodes payloads as UTF-8: a lone surrogate would fail there.
            json.dumps(event.model_dump(), allow_nan=False, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise EventValidationError(
                f"{where.rstrip('.') or 'event'} contains text that is not valid UTF-8 (a lone "
                "surrogate such as \\ud800); send proper Unicode strings"
            ) from None
        except (TypeError, ValueError) as exc:
            raise EventValidationError(
                f"{where}data is not JSON-serializable ({exc}); use str, int, float, bool, "
                "None, lists and dicts"
            ) from None
        out.append(event)
    return out
