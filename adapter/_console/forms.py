"""Reading the console's form posts (url-encoded, as htmx sends them) and their JSON fields."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

__all__ = ["MAX_FORM_BYTES", "JsonFieldError", "form_fields", "json_object"]

MAX_FORM_BYTES = 4 * 1024 * 1024


class JsonFieldError(ValueError):
    """A JSON editor's text that is not a JSON object: the message names the field and the fix."""


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded body's fields (the last value of each); a JSON body's string fields."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    text = body.decode("utf-8", errors="replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def json_object(text: str, field: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object; JsonFieldError naming ``field`` otherwise."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFieldError(
            f"{field} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            'write an object such as {"email": "jane@example.com"}'
        ) from None
    if not isinstance(value, dict):
        raise JsonFieldError(
            f"{field} must be a JSON object ({{...}}), not {type(value).__name__}; "
            'e.g. {"email": "jane@example.com"}'
        )
    return value
