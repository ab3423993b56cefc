"""What an event hub keeps of an event: its size, its partial form, its dedupe digest.

Shared by senders (:func:`hub_event`, before signalling a hub) and the hub itself
(adapter/_workflows/hub_state.py). An event over ``EVENT_BYTES`` (64 KiB) is kept as a
*partial* event: id, name, ts and the data fields of at most ``STUB_FIELD_BYTES``
(512 B) each, up to ``STUB_DATA_BYTES`` (4 KiB) in all, in their order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from adapter._protocol import HubEvent

EVENT_BYTES = 64 * 1024
STUB_FIELD_BYTES = 512
STUB_DATA_BYTES = 4 * 1024

SCALARS = (str, int, float, bool, type(None))
ABSENT: Any = object()
"""What :func:`value_at` returns for a missing field or a value that is not a scalar."""


def json_size(value: Any) -> int:
    """Bytes of ``value`` as Temporal's JSON converter writes it (compact, ASCII-escaped)."""
    return len(json.dumps(value, separators=(",", ":")))


def stub_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A large event's partial form: id, name, ts and its small data fields (see module doc)."""
    data = event.get("data")
    kept: dict[str, Any] = {}
    total = 2
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str | list | dict) and len(value) > STUB_FIELD_BYTES:
                continue
            size = json_size({key: value})
            if size <= STUB_FIELD_BYTES and total + size <= STUB_DATA_BYTES:
                kept[key] = value
                total += size
    stub = {k: event[k] for k in ("name", "id", "ts") if event.get(k) is not None}
    stub["data"] = kept
    return stub


def hub_event(event: dict[str, Any], sent_ms: int) -> HubEvent:
    """What a sender signals to a hub: the event, or its partial form when it is large."""
    if json_size(event) > EVENT_BYTES:
        return {"event": stub_event(event), "sent_ms": sent_ms, "partial": True}
    return {"event": event, "sent_ms": sent_ms}


def id_digest(event_id: str) -> str:
    """The short digest dedupe remembers an event id by."""
    return hashlib.sha1(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def value_at(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The scalar at ``path`` in an event, or :data:`ABSENT`."""
    value: Any = event
    for field in path:
        if not isinstance(value, Mapping) or field not in value:
            return ABSENT
        value = value[field]
    return value if isinstance(value, SCALARS) else ABSENT


def list_elements(value: Any) -> int:
    """How many list elements a JSON value holds, at any depth (comprehension cost)."""
    if isinstance(value, list):
        return len(value) + sum(list_elements(v) for v in value if isinstance(v, list | dict))
    if isinstance(value, dict):
        return sum(list_elements(v) for v in value.values() if isinstance(v, list | dict))
    return 0
