"""inngest-py's experimental Sentry middleware: tags per call and captured errors, on a fake SDK."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

import adapter as inngest
from adapter.testing import run


@pytest.fixture
def sentry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A stand-in ``sentry_sdk`` module that records what the middleware tells it."""
    seen: dict[str, Any] = {"tags": {}, "captured": [], "flushes": 0}
    sdk = types.ModuleType("sentry_sdk")
    sdk.is_initialized = lambda: True  # type: ignore[attr-defined]
    sdk.set_tag = lambda key, value: seen["tags"].__setitem__(key, value)  # type: ignore[attr-defined]
    sdk.capture_exception = seen["captured"].append  # type: ignore[attr-defined]

    def flush() -> None:
        seen["flushes"] += 1

    sdk.flush = flush  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentry_sdk", sdk)
    return seen


async def test_sentry_middleware_tags_each_call_and_captures_a_step_error(
    sentry: dict[str, Any],
) -> None:
    from adapter.experimental.sentry_middleware import SentryMiddleware

    app = inngest.Inngest(app_id="sentry-app", middleware=[SentryMiddleware])

    def boom() -> None:
        raise ValueError("boom")

    @app.create_function(fn_id="watched", trigger=inngest.TriggerEvent(event="s/go"), retries=0)
    async def watched(ctx: inngest.Context) -> str:
        try:
            await ctx.step.run("fails", boom)
        except inngest.StepError as err:
            return str(err)
        return "unreachable"

    result = await run(watched, event={"name": "s/go"})
    assert (result.status, result.output) == ("completed", "boom")
    tags = sentry["tags"]
    assert tags["inngest.app.id"] == "sentry-app"
    assert tags["inngest.function.id"] == "watched"
    assert tags["inngest.event.name"] == "s/go"
    assert tags["inngest.event.count"] == 1
    assert [str(e) for e in sentry["captured"]] == ["boom"]
    assert sentry["flushes"] >= 2  # once per call


def test_sentry_middleware_without_the_sdk_names_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapter.experimental.sentry_middleware import SentryMiddleware

    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    with pytest.raises(ImportError, match="pip install sentry-sdk"):
        SentryMiddleware(inngest.Inngest(app_id="x"), None)
