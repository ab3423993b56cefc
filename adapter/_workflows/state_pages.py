"""The orchestrator's answer to ``Query.RUN_STATE``: its events and memo, a page at a time.

A query's answer travels in one gRPC message, at most 4 MiB, while a memo may hold any
number of step results of up to 2 MiB each. So an answer holds the memo entries from
``since`` up to about :data:`PAGE_BYTES` (always at least one, so that every page moves
the asker on) and says whether more follow; the events come with the page from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapter._workflows.hub_events import json_size

# Well under the 4 MiB message: the trigger events (up to 2 MiB) and the entries of a
# page from 0 both fit, unless a single entry is near the payload limit itself.
PAGE_BYTES = 1024 * 1024


def run_state_page(
    events: list[dict[str, Any]],
    order: Sequence[str],
    memo: Mapping[str, dict[str, Any]],
    since: int,
    budget: int = PAGE_BYTES,
) -> dict[str, Any]:
    """Entries ``since`` onwards within ``budget`` bytes: ``events``, ``entries``, ``more``.

    ``bytes`` is the entries' JSON size, which the asking worker counts against its bound.
    """
    start = max(since, 0)
    entries: list[list[Any]] = []
    used = 0
    for step_id in order[start:]:
        entry = [step_id, memo[step_id]]
        size = json_size(entry)
        if entries and used + size > budget:
            break
        entries.append(entry)
        used += size
    return {
        "events": events if start == 0 else [],
        "entries": entries,
        "more": start + len(entries) < len(order),
        "bytes": used,
    }
