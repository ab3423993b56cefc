"""A step activity's copy of its run's events and memo, asked of the orchestrator.

An activity on a worker that did not record the run's steps (another worker did, or
this one restarted) asks the orchestrator by query — history does not grow — page by
page (adapter/_workflows/state_pages.py), and keeps what it got for the run's next steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from adapter._execution.payloads import json_size
from adapter._execution.state import RUN_STATES
from adapter._protocol import Query

State = tuple[list[dict[str, Any]], Mapping[str, dict[str, Any]]]


async def fetch_run_state(
    handle: WorkflowHandle[Any, Any],
    run_id: str,
    memo_len: int,
    *,
    on_page: Callable[[int], None] | None = None,
) -> State:
    """The run's events and its first ``memo_len`` memo entries, from here or by query.

    ``on_page`` hears how many entries each page brought. Raises RunStateMissing when the
    orchestrator holds fewer entries than ``memo_len``.
    """
    while True:
        cached = RUN_STATES.get(run_id, memo_len)
        if cached is not None:
            return cached
        have = RUN_STATES.length(run_id)
        page = await handle.query(Query.RUN_STATE, max(have, 0))
        # What the copy holds, for its byte bound: measured by the orchestrator as it
        # filled the page; an older release's answer says nothing, so it is measured here.
        nbytes = page.get("bytes")
        if nbytes is None:
            nbytes = json_size(page["entries"])
        RUN_STATES.extend(run_id, page["events"], have, page["entries"], nbytes)
        if on_page is not None:
            on_page(len(page["entries"]))
        # An orchestrator of an older release answers all at once, without "more".
        if not page.get("more") or not page["entries"]:
            cached = RUN_STATES.get(run_id, memo_len)
            if cached is None:
                raise ApplicationError(
                    "the orchestrator returned less state than expected", type="RunStateMissing"
                )
            return cached
