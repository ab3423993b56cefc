"""``trigger``, ``Status``, ``Timeout`` and the mock client (see the package docstring)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from adapter._define.client import Inngest as _Inngest
from adapter._define.event import Event, prepare_events
from adapter._define.function import Function
from adapter._define.serializer import UNSET
from adapter._errors import StepError
from adapter._execution.call import Outcome, Planned, StepFailed
from adapter.testing._sandbox import Timeout, _events, _SandboxRun

__all__ = ["Inngest", "Status", "Timeout", "TriggerResult", "trigger"]

MOCK_EVENT_ID = "0" * 26
"""The id the mock client returns for every event, as inngest-py's."""


class Status(enum.Enum):
    """How a triggered run ended."""

    COMPLETED = "Completed"
    FAILED = "Failed"


class Inngest(_Inngest):
    """A client whose ``send`` and ``send_sync`` send nothing and return ``"0" * 26`` ids."""

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Validate the events; send nothing; one mock id per event."""
        return [MOCK_EVENT_ID for _ in prepare_events(events)]

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`."""
        return [MOCK_EVENT_ID for _ in prepare_events(events)]


@dataclass
class TriggerResult:
    """What :func:`trigger` returns: ``status``, ``output`` and ``error``."""

    error: BaseException | None
    output: object
    status: Status


class _ByGivenId(Collection[str]):
    """Stub keys matched as inngest-py's: a step's unique id ``a:1`` matches a stub ``a``."""

    def __init__(self, stubs: Mapping[str, Any]) -> None:
        self._stubs = stubs

    def key(self, step_id: str) -> str | None:
        """The stub key for ``step_id``, or None."""
        if step_id in self._stubs:
            return step_id
        base, sep, count = step_id.rpartition(":")
        if sep and count.isdigit() and base in self._stubs:
            return base
        return None

    def __contains__(self, step_id: object) -> bool:
        return isinstance(step_id, str) and self.key(step_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._stubs)

    def __len__(self) -> int:
        return len(self._stubs)


class _MockSender:
    """Records the run's events as the sandbox does; the ids are the mock client's."""

    def __init__(self, client: _Inngest, sent: list[dict[str, Any]]) -> None:
        self._client = client
        self._sent = sent

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Record ``events``; return the client's ids (a mock client has no middleware)."""
        prepared = prepare_events(events)
        self._sent.extend(e.model_dump(exclude_none=True) for e in prepared)
        return await self._client.send(prepared)

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Blocking twin of :meth:`send`."""
        prepared = prepare_events(events)
        self._sent.extend(e.model_dump(exclude_none=True) for e in prepared)
        return self._client.send_sync(prepared)


class _MockedRun(_SandboxRun):
    """A sandbox run with inngest-py's stub keys, ids, output and step errors."""

    def __init__(
        self, fn: Function, events: list[dict[str, Any]], client: _Inngest, stubs: dict[str, Any]
    ) -> None:
        super().__init__(
            fn,
            events,
            stubs=stubs,
            max_attempts=fn.config.retries + 1,
            run_id="test",
            until=None,
        )
        self.by_given_id = _ByGivenId(stubs)
        self.stub_ids = self.by_given_id
        self.recorder = _MockSender(client, self.result.sent)  # type: ignore[assignment]
        self.step_errors: dict[str, BaseException] = {}
        self.returned: Any = None

    async def call(self, target: str | None, attempt: int, run_new: bool = False) -> Outcome:
        """As the sandbox's; keeps each failed step's exception and the handler's return."""
        try:
            outcome = await super().call(target, attempt, run_new)
        except StepFailed as failed:
            self.step_errors[failed.step_id] = failed.error
            raise
        if outcome.done:
            self.returned = outcome.returned
        return outcome

    async def perform(self, planned: Planned) -> Outcome | None:
        """As the sandbox's, with the stub found by the step's given id."""
        key = self.by_given_id.key(planned.id)
        if key is not None:
            await self._perform_stubbed(planned, self.stubs[key])
            return None
        return await super().perform(planned)

    async def outcome(self) -> TriggerResult:
        """Run to the end; the result in inngest-py's shape."""
        result = await self.run()
        if result.status == "completed":
            raw = self.returned if self.fn.output_type is UNSET else result.output
            return TriggerResult(error=None, output=raw, status=Status.COMPLETED)
        error = result.error
        if isinstance(error, StepError) and error.step_id in self.step_errors:
            error = self.step_errors[error.step_id]
        return TriggerResult(error=error, output=None, status=Status.FAILED)


def trigger(
    fn: Function,
    event: Event | list[Event],
    client: _Inngest,
    *,
    step_stubs: dict[str, object] | None = None,
) -> TriggerResult:
    """Run ``fn`` for ``event`` (or a batch) in-process, to the end; see the package docstring.

    ``client`` is the mock client (:class:`Inngest`); ``step_stubs`` maps step ids to
    what the step returns (for ``wait_for_event``: an event, or :data:`Timeout`).
    Blocking, as inngest-py's; inside a running event loop the run gets a thread.
    """
    events = event if isinstance(event, list) else [event]
    if not events:
        raise ValueError("Must provide at least 1 event")
    run = _MockedRun(fn, _events(fn, None, events, False), client, dict(step_stubs or {}))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run.outcome())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run.outcome()).result()
