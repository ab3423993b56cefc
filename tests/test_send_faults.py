"""``send`` on a Temporal that is down or hung raises SendError within send_retry + 10 s.

The bound: transient errors are retried for ``send_retry`` with the same ids; a call in
flight may add temporalio's own retries of it (up to 10 s), and a call that gets no
answer at all counts as failed after 10 s (a hung server), so that nothing waits longer.
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from temporalio.client import Client

from adapter import Inngest, SendError
from adapter._http.app import _failure
from adapter._temporal.devserver import local_environment
from adapter._temporal.search_attributes import ALL_KEYS
from adapter._temporal.send_retry import Stalled

SEND_RETRY = timedelta(seconds=2)
BOUND_S = SEND_RETRY.total_seconds() + 10 + 3  # + 3 s for a loaded machine


async def timed_send(app: Inngest) -> tuple[SendError, float]:
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        await app.send([{"name": "a/b", "id": "f-1"}, {"name": "a/b", "id": "f-2"}])
    return caught.value, time.monotonic() - started


async def test_a_server_that_never_answers_fails_the_send_within_the_bound() -> None:
    with socket.socket() as hung:  # accepts connections, never speaks
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        address = f"127.0.0.1:{hung.getsockname()[1]}"
        client = await Client.connect(address, lazy=True)
        app = Inngest(app_id="hung", temporal_client=client, send_retry=SEND_RETRY)
        error, elapsed = await timed_send(app)
    assert elapsed < BOUND_S, elapsed
    assert address in str(error)
    assert "sending them again with the same ids is safe" in str(error)
    assert error.event_ids == ["f-1", "f-2"]


async def test_a_server_that_went_down_fails_the_send_within_the_bound() -> None:
    env = await local_environment(ALL_KEYS)
    app = Inngest(app_id="orphan", temporal_client=env.client, send_retry=SEND_RETRY)
    await app.send({"name": "a/b", "id": "f-0"})  # connected: the server took it
    await env.shutdown()
    error, elapsed = await timed_send(app)
    assert elapsed < BOUND_S, elapsed
    assert "sending them again with the same ids is safe" in str(error)


def _send_error(cause: BaseException) -> SendError:
    error = SendError.of(None, [], cause)
    error.__cause__ = cause  # as ``raise ... from`` sets it in send_retry.retrying
    return error


def test_the_event_api_answers_a_hung_or_overloaded_temporal_with_503() -> None:
    """What send retries is a 503 (the SDKs retry with the same ids), never a 500."""
    hung, lazy = Stalled("no answer from Temporal for 10 s"), RuntimeError("Failed client connect")
    for cause in (hung, lazy):
        assert _failure(_send_error(cause)).status == 503, cause
    assert _failure(_send_error(KeyError("a bug"))).status == 500
