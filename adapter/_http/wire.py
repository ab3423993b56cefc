"""The wire format of Inngest's Event API: settings, limits, bodies, event ids, answers.

Pure parsing and validation, no I/O: :mod:`adapter._http.app` reads the request
and sends the events; everything here only turns bytes into events (or an
:class:`EventAPIError` with the HTTP status and message Inngest would give).

Event ids: an event without ``id`` gets a ULID derived, as in Inngest's server,
from the ``x-inngest-event-id-seed`` header the SDKs send (``"{ms},{base64 of 10
bytes}"``) and the event's position in the request. An SDK that retries a request
sends the same header, so the retry gets the same ids and starts no second run.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from adapter._define.client import Inngest
from adapter._define.event import MAX_NAME_LENGTH, Event, prepare_events
from adapter._define.ulid import new_ulid
from adapter._errors import AdapterError, ConfigError, EventValidationError
from adapter._execution.payloads import json_size

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
SIGNING_KEY_ENV = "INNGEST_SIGNING_KEY"
"""Environment variable with the signing key(s) the REST API accepts, comma-separated."""
SIGNING_KEY_FALLBACK_ENV = "INNGEST_SIGNING_KEY_FALLBACK"
"""The SDKs' second key during a rotation; accepted too."""

_EVENT_FIELDS = ("name", "data", "id", "ts", "user", "v")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class EventApiSettings:
    """What the Event API accepts: which keys, and how large a request and an event may be.

    ``dev=True`` accepts any event key (as Inngest's dev server); otherwise only
    ``event_keys``, and having none raises ConfigError: a production Event API
    that takes events from anyone is never started by accident. Bodies over
    ``max_body_bytes`` get 413; events over ``max_event_bytes`` (capped by the
    apps' Temporal payload limit) get 400.

    ``signing_keys`` are what the REST API (``/v1/...``) takes as
    ``Authorization: Bearer <key>`` outside dev mode (raw or in the SDKs' hashed
    form); with none, it refuses every request there (401), events still flow.
    """

    event_keys: Set[str] = field(default_factory=frozenset)
    dev: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    signing_keys: Set[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Drop blank keys; refuse no keys outside dev mode and limits that are not positive."""
        keys = frozenset(k for k in self.event_keys if k)
        object.__setattr__(self, "event_keys", keys)
        signing = frozenset(k.strip() for k in self.signing_keys if k.strip())
        object.__setattr__(self, "signing_keys", signing)
        if not self.dev and not keys:
            raise ConfigError(
                f"no event keys configured: set {EVENT_KEY_ENV} (comma-separated for several) "
                "or pass --event-key KEY, and give the same key to your apps' Inngest clients; "
                "or pass --dev to accept any key (local development only)"
            )
        if self.max_body_bytes <= 0 or self.max_event_bytes <= 0:
            raise ConfigError("max_body_bytes and max_event_bytes must be positive")

    @property
    def server_kind(self) -> str:
        """``dev`` or ``cloud``: what the ``x-inngest-server-kind`` header tells the SDKs."""
        return "dev" if self.dev else "cloud"


class EventAPIError(AdapterError):
    """A request the Event API refuses: ``status`` is the HTTP status, ``message`` the error."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the HTTP status and the message for the answer."""
        super().__init__(message)
        self.status = status
        self.message = message


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


def configured_event_keys(given: Iterable[str] | None, environ: Mapping[str, str]) -> set[str]:
    """Keys from ``--event-key`` options plus the ``INNGEST_EVENT_KEY`` variable."""
    keys = {k.strip() for k in (given or ()) if k.strip()}
    return keys | event_keys_from_env(environ.get(EVENT_KEY_ENV))


def configured_signing_keys(given: Iterable[str] | None, environ: Mapping[str, str]) -> set[str]:
    """Keys from ``--signing-key`` options plus ``INNGEST_SIGNING_KEY`` (and its fallback)."""
    keys = {k.strip() for k in (given or ()) if k.strip()}
    for name in (SIGNING_KEY_ENV, SIGNING_KEY_FALLBACK_ENV):
        keys |= event_keys_from_env(environ.get(name))
    return keys


def check_key(key: str, settings: EventApiSettings) -> None:
    """Raise EventAPIError (401) unless ``key`` is one of the settings' keys (any in dev mode)."""
    if not key:
        raise EventAPIError(401, key_message(""))
    if settings.dev:
        return
    # Compare with every key, in constant time, to leak nothing through timing.
    found = False
    for known in settings.event_keys:
        found |= hmac.compare_digest(key.encode(), known.encode())
    if not found:
        raise EventAPIError(401, key_message(key))


def key_message(key: str) -> str:
    """The 401 message for a missing (``""``) or unknown event key."""
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


def body_too_large(limit: int) -> EventAPIError:
    """The 413 for a request body over ``limit`` bytes."""
    return EventAPIError(
        413,
        f"request body is over {limit:,} bytes, the most this server accepts "
        "(adapter serve --max-body-bytes); send the events in several requests",
    )


def answer_body(status: int, ids: list[str], error: str | None = None) -> dict[str, Any]:
    """The JSON the Event API answers with: ``{"ids": [...], "status": N[, "error": ...]}``."""
    body: dict[str, Any] = {"ids": ids, "status": status}
    if error is not None:
        body["error"] = error
    return body


def parse_events(
    body: bytes,
    seed: str | None = None,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    apps: Sequence[Inngest] = (),
) -> list[Event]:
    """Validate a request body into events with ids and timestamps filled in.

    Raises EventAPIError (status 400) naming the event index and the field. Events
    without an id get one derived from ``seed`` (see :func:`seeded_event_id`); each
    of ``apps`` checks that the names make valid workflow ids. Nothing is sent
    unless every event is valid.
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
    raws = [_normalize(item, None if single else i, seed) for i, item in enumerate(items)]
    try:
        events = prepare_events(raws[0] if single else raws)
        for app in apps:
            app._check_ids(events)
    except EventValidationError as exc:
        raise EventAPIError(400, f"event {exc}" if single else str(exc)) from None
    except RecursionError:
        raise EventAPIError(400, "event data is nested too deeply") from None
    for i, event in enumerate(events):
        size = json_size(event.model_dump())
        if size > max_event_bytes:
            where = "event" if single else f"event[{i}]"
            raise EventAPIError(
                400,
                f"Event is over the max size: {where} ({event.name!r}) is {size:,} bytes, "
                f"at most {max_event_bytes:,} bytes per event; send a reference to "
                "large data instead",
            )
    return events


def _normalize(item: object, index: int | None, seed: str | None) -> dict[str, Any]:
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
        raise EventAPIError(400, f'{where}.name is empty; name the event, e.g. "app/user.created"')
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


def _json_type(value: object) -> str:
    """How an error message names a decoded JSON value's type ("an array", "null", ...)."""
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
