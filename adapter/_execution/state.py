"""A worker-local copy of each run's events and memo, so step activities stay small.

Passing the whole memo into every activity makes history grow with the square of
the step count (DESIGN.md rule 6). Instead the orchestrator writes each memo
entry here as it records it, and an activity on the same worker reads it. An
activity on another worker (or after an eviction) asks the orchestrator through a
query instead, so correctness never depends on this cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunState:
    """Events and memo entries of one run, in the order the orchestrator recorded them."""

    events: list[dict[str, Any]]
    order: list[str] = field(default_factory=list)
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    fetched: int = 0  # bytes of entries asked of the orchestrator (none when it runs here)


class MemoView(Mapping[str, dict[str, Any]]):
    """The first ``length`` entries of a run's memo, without copying them.

    Entries recorded later (a parallel sibling finishing meanwhile) stay invisible,
    so a call of the handler sees exactly the memo its activity was scheduled with.
    """

    def __init__(self, state: RunState, length: int) -> None:
        self._state = state
        self._length = length

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        if self._state.index.get(step_id, self._length) >= self._length:
            raise KeyError(step_id)
        return self._state.memo[step_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.order[: self._length])

    def __len__(self) -> int:
        return self._length

    def id_at(self, index: int) -> str | None:
        """The id of entry ``index`` (None beyond this view)."""
        return self._state.order[index] if 0 <= index < self._length else None


class RunStateCache:
    """Bounded LRU of RunState by Temporal run id; safe across threads.

    Bounded in runs, and in the bytes of entries fetched from orchestrators on other
    workers: a run whose orchestrator is cached here shares its memo's entries with it
    and drops them when it ends or is evicted, but a fetched copy has no such end, so the
    least recently used fetched copies go once they hold more than ``max_fetched_bytes``.
    """

    def __init__(self, max_runs: int = 10_000, max_fetched_bytes: int = 256 * 1024 * 1024) -> None:
        self._runs: OrderedDict[str, RunState] = OrderedDict()
        self._max = max_runs
        self._max_fetched = max_fetched_bytes
        self._fetched = 0
        self._lock = threading.Lock()

    @property
    def fetched_bytes(self) -> int:
        """Bytes of fetched entries held now."""
        return self._fetched

    def _put(self, run_id: str, state: RunState) -> None:
        old = self._runs.get(run_id)
        if old is not None:
            self._fetched -= old.fetched
        self._runs[run_id] = state
        self._runs.move_to_end(run_id)
        while len(self._runs) > self._max:
            self._fetched -= self._runs.popitem(last=False)[1].fetched

    def _trim_fetched(self, keep: str) -> None:
        if self._fetched <= self._max_fetched:
            return
        for run_id in [r for r, s in self._runs.items() if s.fetched and r != keep]:
            if self._fetched <= self._max_fetched:
                return
            self._fetched -= self._runs.pop(run_id).fetched

    def reset(self, run_id: str, events: list[dict[str, Any]]) -> None:
        """Start (or restart, on replay) the record of a run."""
        with self._lock:
            self._put(run_id, RunState(events))

    def ensure(
        self, run_id: str, events: list[dict[str, Any]], order: list[str], memo: dict[str, Any]
    ) -> None:
        """Make sure the run's full state is here (it may have been evicted)."""
        with self._lock:
            state = self._runs.get(run_id)
            if state is not None and len(state.order) == len(order):
                self._runs.move_to_end(run_id)
                return
        self.reset(run_id, events)
        self.extend(run_id, events, 0, [[sid, memo[sid]] for sid in order])

    def record(self, run_id: str, step_id: str, entry: dict[str, Any]) -> None:
        """Append one memo entry."""
        with self._lock:
            state = self._runs.get(run_id)
            if state is not None and step_id not in state.memo:
                state.index[step_id] = len(state.order)
                state.order.append(step_id)
                state.memo[step_id] = entry

    def get(
        self, run_id: str, memo_len: int
    ) -> tuple[list[dict[str, Any]], Mapping[str, dict[str, Any]]] | None:
        """Events and a view of the first ``memo_len`` entries, or None if this worker lacks them."""
        with self._lock:
            state = self._runs.get(run_id)
            if state is None or len(state.order) < memo_len:
                return None
            self._runs.move_to_end(run_id)
            return state.events, MemoView(state, memo_len)

    def length(self, run_id: str) -> int:
        """How many entries of the run this worker holds (-1: none, not even its events)."""
        with self._lock:
            state = self._runs.get(run_id)
            return -1 if state is None else len(state.order)

    def extend(
        self,
        run_id: str,
        events: list[dict[str, Any]],
        since: int,
        entries: list[list[Any]],
        nbytes: int = 0,
    ) -> None:
        """Add entries fetched from the orchestrator (``nbytes`` of JSON), from index ``since``."""
        with self._lock:
            state = self._runs.get(run_id)
            if state is None or since < 0:
                state = RunState(events)
                self._put(run_id, state)
            for step_id, entry in entries:
                if step_id not in state.memo:
                    state.index[step_id] = len(state.order)
                    state.order.append(step_id)
                    state.memo[step_id] = entry
            state.fetched += nbytes
            self._fetched += nbytes
            self._runs.move_to_end(run_id)
            self._trim_fetched(keep=run_id)

    def drop(self, run_id: str) -> None:
        """Forget a finished run."""
        with self._lock:
            state = self._runs.pop(run_id, None)
            if state is not None:
                self._fetched -= state.fetched


RUN_STATES = RunStateCache()
