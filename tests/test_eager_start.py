"""Runs start eagerly on a worker of the sending process (Temporal's eager workflow start).

``send`` asks Temporal to hand a run's first workflow task back in the start response
when the sending client has a worker polling that run's task queue with a free slot
(``Inngest(eager_start=True)``, the default): no matching round trip, no poll. A sender
without such a worker asks the same and Temporal dispatches the task as usual.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput

from adapter import Context, Inngest
from tests.helpers import make_app, running


class _Starts(Interceptor):
    """Records, per workflow type, whether eager start was asked and whether it happened."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, Any]] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recorder(next, self)


class _Recorder(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, starts: _Starts) -> None:
        super().__init__(next)
        self._starts = starts

    async def start_workflow(self, input: StartWorkflowInput) -> Any:
        handle = await super().start_workflow(input)
        # What the server answered: the start response carried the first workflow task.
        eagerly = getattr(handle, "__temporal_eagerly_started", None)
        self._starts.seen.append((input.workflow, input.request_eager_start, eagerly))
        return handle


async def _connect(client: Client, starts: _Starts) -> Client:
    return await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        interceptors=[starts],
    )


def _define(app: Inngest) -> None:
    @app.create_function(id="greet", event="eager/greet")
    async def greet(ctx: Context) -> str:
        return str(await ctx.step.run("hello", lambda: f"hi {ctx.event.data['name']}"))


@pytest.mark.parametrize(("eager_start", "eagerly"), [(True, True), (False, False)])
async def test_a_send_from_a_worker_s_process_starts_the_run_on_that_worker(
    client: Client, eager_start: bool, eagerly: bool
) -> None:
    """Asked and honoured by default; ``eager_start=False`` leaves the task to the queue."""
    starts = _Starts()
    own = await _connect(client, starts)
    app = make_app(own, eager_start=eager_start)
    _define(app)
    async with running(own, app):
        [event_id] = await app.send({"name": "eager/greet", "data": {"name": "Ada"}})
        handle = own.get_workflow_handle(f"{app.app_id}:greet:{event_id}")
        assert await handle.result() == "hi Ada"
    assert ("greet", eager_start, eagerly) in starts.seen


async def test_a_sender_without_a_worker_asks_and_the_task_queue_delivers(client: Client) -> None:
    app = make_app(client)
    _define(app)
    starts = _Starts()
    sender = make_app(await _connect(client, starts))
    sender.app_id, sender.task_queue = "eager-sender", "eager-sender"
    async with running(client, app):
        [event_id] = await sender.send({"name": "eager/greet", "data": {"name": "Cy"}})
        handle = client.get_workflow_handle(f"{app.app_id}:greet:{event_id}")
        assert await handle.result() == "hi Cy"
    # Asked, but this client has no worker on the run's task queue: dispatched as usual.
    assert ("greet", True, False) in starts.seen
