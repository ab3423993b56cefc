"""Step results, handler results and events must be JSON values of bounded size."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from adapter._errors import PayloadTooLargeError, StepOutputError
from adapter._protocol import RUN_INPUT_RESERVE


def event_limit(payload_limit: int) -> int:
    """The JSON bytes a run's events may have: its input carries them in one payload.

    The payload limit less :data:`RUN_INPUT_RESERVE`; half of a limit too small for that.
    """
    return max(payload_limit - RUN_INPUT_RESERVE, payload_limit // 2)


def to_json_value(value: Any, *, what: str) -> Any:
    """Return ``value`` as plain JSON data (pydantic models are dumped).

    Raises StepOutputError naming ``what`` (e.g. "step 'fetch'") otherwise.
    The result is what a later replay would see, so callers hand it back to the
    handler instead of the original object.
    """
    return json.loads(to_json_text(value, what=what))


def to_json_text(value: Any, *, what: str) -> str:
    """``value`` encoded as compact JSON (its length is :func:`json_size`), or StepOutputError."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.dumps(value, allow_nan=False, default=_reject, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StepOutputError(
            f"{what} returned a value that is not JSON-serializable: {exc}. Return dict, list, "
            "str, int, float, bool, None or a pydantic model."
        ) from None


def _reject(obj: object) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    raise TypeError(f"{type(obj).__name__} {obj!r:.60} is not JSON-serializable")


# A value whose compact JSON size is already known, by identity: a step's result or the
# handler's return value, measured when it was encoded (Outcome.measured).
Measured = tuple[Any, int]
_WORTH_SKIPPING = 16 * 1024  # below this, encoding again costs less than the walk


def json_size(value: Any, measured: Sequence[Measured] = ()) -> int:
    """Bytes of ``value`` encoded as compact JSON.

    Parts of ``value`` listed in ``measured`` (found by identity in its top two levels,
    where a handler call's report holds them) count with their known size instead of
    being encoded again: a megabyte result costs a JSON encoding of ~15 ms.
    """
    if sum(size for _, size in measured) < _WORTH_SKIPPING:
        return len(json.dumps(value, separators=(",", ":")).encode())
    known = 0

    def stand_in(part: Any, depth: int) -> Any:
        nonlocal known
        for obj, size in measured:
            if part is obj:
                known += size - 1  # the stand-in 0 is one byte
                return 0
        if depth < 2 and isinstance(part, dict):
            return {k: stand_in(v, depth + 1) for k, v in part.items()}
        if depth < 2 and isinstance(part, list):
            return [stand_in(v, depth + 1) for v in part]
        return part

    return json_size(stand_in(value, 0)) + known


def check_size(value: Any, *, what: str, limit: int, measured: Sequence[Measured] = ()) -> int:
    """Raise PayloadTooLargeError naming ``what`` when ``value`` exceeds ``limit`` bytes.

    Returns the size (``measured``: see :func:`json_size`).
    """
    size = json_size(value, measured)
    _check(size, what, limit)
    return size


def check_text_size(text: str, *, what: str, limit: int) -> int:
    """:func:`check_size` for a value already encoded by :func:`to_json_text`."""
    size = len(text.encode())
    _check(size, what, limit)
    return size


def _check(size: int, what: str, limit: int) -> None:
    if size > limit:
        raise PayloadTooLargeError(
            f"{what} is {size:,} bytes, over Temporal's payload limit of {limit:,} bytes; "
            "store large data elsewhere (a database, object storage) and return a reference"
        )
