"""The errors that fail a run at once do so in the sandbox exactly as on Temporal.

The list lives once, in adapter/_errors.py (FATAL_ERRORS); the worker's retry
policies and the sandbox both read it.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from adapter import ConfigError, Inngest, NonRetriableError, StepError, StepOutputError
from adapter._errors import FATAL_ERROR_NAMES, FATAL_ERRORS, is_fatal
from adapter.testing import run
from tests.helpers import make_app, running


def test_the_fatal_list_names_each_class_once() -> None:
    assert {cls.__name__ for cls in FATAL_ERRORS} == FATAL_ERROR_NAMES
    assert {"NonRetriableError", "StepError", "ConfigError"} <= FATAL_ERROR_NAMES
    assert is_fatal(ConfigError("x"))
    assert not is_fatal(ValueError("x"))


def _app(app: Inngest, calls: list[str]) -> None:
    @app.create_function(id="bad-invoke", event="t/bad-invoke", retries=3)
    async def bad_invoke(ctx: Any) -> Any:
        calls.append("handler")
        # An unknown function id: ConfigError outside any step.
        return await ctx.step.invoke_by_id("call", function_id="missing")

    @app.create_function(id="bad-body", event="t/bad-body", retries=3)
    async def bad_body(ctx: Any) -> Any:
        def body() -> None:
            calls.append("body")
            raise StepError("upstream", "ValueError", None, "inner")

        return await ctx.step.run("body", body)


@pytest.mark.parametrize(
    ("fn_id", "expected", "error"),
    [("bad-invoke", "handler", ConfigError), ("bad-body", "body", StepError)],
)
async def test_sandbox_fails_at_once_on_fatal_errors(
    fn_id: str, expected: str, error: type[Exception]
) -> None:
    app = Inngest(app_id="fatal-sandbox")
    calls: list[str] = []
    _app(app, calls)
    result = await run(app.function(fn_id), event={"name": f"t/{fn_id}"})
    assert result.status == "failed"
    assert isinstance(result.error, error)
    assert calls == [expected], "a fatal error is not retried"


@pytest.mark.parametrize(("fn_id", "expected"), [("bad-invoke", "handler"), ("bad-body", "body")])
async def test_temporal_fails_at_once_on_the_same_errors(
    client: Client, fn_id: str, expected: str
) -> None:
    app = make_app(client)
    calls: list[str] = []
    _app(app, calls)
    async with running(client, app):
        [event_id] = await app.send({"name": f"t/{fn_id}"})
        handle = client.get_workflow_handle(f"{app.app_id}:{fn_id}:{event_id}")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert calls == [expected]


def test_non_retriable_and_step_output_errors_are_fatal() -> None:
    assert is_fatal(NonRetriableError("stop"))
    assert is_fatal(StepOutputError("bad"))
