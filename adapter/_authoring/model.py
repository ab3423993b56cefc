"""The model: an OpenAI-compatible chat-completions endpoint asked for the module's body.

Configured by ``ADAPTER_LLM_BASE_URL``, ``ADAPTER_LLM_API_KEY`` and ``ADAPTER_LLM_MODEL``
(and ``ADAPTER_LLM_TIMEOUT``); without a base URL there is no model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from adapter._authoring.events import EventSpec
from adapter._authoring.plan import FunctionPlan
from adapter._authoring.pysource import client_import, quote


class ModelOutputError(ValueError):
    """The model's reply cannot be used; the message is the reason."""


@dataclass(frozen=True)
class ModelSettings:
    """An OpenAI-compatible chat-completions endpoint."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0

    @property
    def url(self) -> str:
        """``{base}/chat/completions``."""
        return self.base_url.rstrip("/") + "/chat/completions"


def model_settings(env: Mapping[str, str]) -> ModelSettings | None:
    """Return the endpoint from ADAPTER_LLM_BASE_URL / _API_KEY / _MODEL (/_TIMEOUT), or None."""
    base = env.get("ADAPTER_LLM_BASE_URL", "").strip()
    if not base:
        return None
    try:
        timeout = float(env.get("ADAPTER_LLM_TIMEOUT") or 60)
    except ValueError:
        timeout = 60.0
    return ModelSettings(
        base_url=base,
        model=env.get("ADAPTER_LLM_MODEL", "").strip(),
        api_key=env.get("ADAPTER_LLM_API_KEY") or None,
        timeout=timeout,
    )


SYSTEM_PROMPT = (
    "You write Python modules for an app that runs Inngest-style durable functions on "
    "Temporal (package `adapter`). Reply with one complete Python module and nothing else."
)


def model_messages(plan: FunctionPlan, skeleton: str, package: str) -> list[dict[str, str]]:
    """Return the chat messages that ask for the module."""
    steps = ", ".join(f'"{s.id}" ({s.text})' for s in plan.steps)
    payload = (
        "ctx.event.data holds the event's payload (a dict)."
        if isinstance(plan.trigger, EventSpec)
        else "The function runs on a schedule; there is no event payload to read."
    )
    user = f"""Write the module {package}/{plan.module}.py for this workflow:

    {plan.description}

Rules:
- Import the app's client with `{client_import(package)}`; never create an Inngest client.
- Define exactly one function with `@inngest.create_function(fn_id={quote(plan.id)}, \
trigger={plan.trigger_code})`: keep that id and trigger unchanged ({plan.trigger.describe()}).
- The handler is `async def {plan.module}(ctx: Context)`. Put every side effect inside \
`await ctx.step.run("<id>", fn, *args)`, whose ids are unique string literals. Suggested \
steps: {steps}.
- {payload}
- Step bodies are plain functions returning JSON values. Read URLs and secrets from \
environment variables; use httpx for HTTP and sqlite3 for local data; only the standard \
library, httpx and adapter (Context, NonRetriableError, TriggerCron, TriggerEvent).

Start from this skeleton and fill in the step bodies:

```python
{skeleton}```
"""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def ask_model(settings: ModelSettings, messages: list[dict[str, str]]) -> str:
    """POST the chat-completions request (temperature 0); return the reply's text.

    Raises ModelOutputError when the endpoint cannot be reached or answers oddly.
    """
    import httpx

    if not settings.model:
        raise ModelOutputError("ADAPTER_LLM_MODEL is not set")
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    body = {"model": settings.model, "messages": messages, "temperature": 0}
    try:
        response = httpx.post(settings.url, json=body, headers=headers, timeout=settings.timeout)
    except httpx.HTTPError as exc:
        raise ModelOutputError(f"could not reach {settings.url} ({exc})") from None
    if response.status_code != 200:
        raise ModelOutputError(
            f"{settings.url} answered HTTP {response.status_code}: {response.text[:200]}"
        )
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelOutputError(
            f"{settings.url} did not answer like a chat-completions endpoint "
            '({"choices": [{"message": {"content": ...}}]})'
        ) from None
    if not isinstance(content, str) or not content.strip():
        raise ModelOutputError("the model's reply is empty")
    return content


def extract_code(reply: str) -> str:
    """Return the Python source in a reply: the first fenced block, or the whole reply."""
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", reply, re.DOTALL)
    code = fenced.group(1) if fenced else reply
    return code.strip("\n") + "\n"
