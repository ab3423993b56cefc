"""A hub shard's state across continue-as-new: :class:`HubState` to JSON and back.

The JSON (``"v": 2``) holds the buffer, the subscriptions (renumbered from 0) and the
counters, under ``STATE_BYTES`` whatever the inputs (tests/test_hub_state.py builds the
worst cases). A hub that catches up from the event log (hub_catchup.py) also carries
its horizon and each subscription's gap, scan and parked match; one that does not (a
history recorded before that change, replayed) writes exactly what it wrote then.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adapter._workflows.hub_catchup import FIELDS, widen
from adapter._workflows.hub_events import json_size

if TYPE_CHECKING:
    from adapter._workflows.hub_state import HubState

BOOKKEEPING = ("ord", "seq", "scan", *FIELDS)  # not part of a subscription's own size
SUB_OVERHEAD = 64  # the bookkeeping a stored subscription adds (ord, seq, scan)


def dump(hub: HubState) -> dict[str, Any]:
    """JSON for continue-as-new; numbers renumbered from 0."""
    base = hub.first_seq
    missed = hub.missed + max(base - hub.match_seq, 0)
    hub.catchup.give_lost(r for r in hub.subs.values() if r["seq"] < base)
    ords = {old: new for new, old in enumerate(sorted(hub.subs))}
    match_ord = max((new for old, new in ords.items() if old <= hub.match_ord), default=-1)
    subs = []
    for old in sorted(hub.subs):
        record = dict(hub.subs[old])
        record["ord"] = ords[old]
        record["seq"] = max(record["seq"] - base, 0)
        if "scan" in record:
            record["scan"] = max(record["scan"] - base, 0)
        if not hub.catchup.enabled:
            for name in FIELDS:
                record.pop(name, None)
        elif "scanning" in record:  # its answer is lost with this run: scan it again
            scanning = record.pop("scanning")
            widen(record, int(scanning[0]), int(scanning[1]))
        subs.append(record)
    state: dict[str, Any] = {
        "v": 2,
        "buffer": list(hub.buffer),
        "next_seq": hub.next_seq - base,
        "match_seq": max(hub.match_seq - base, 0),
        "match_ord": match_ord,
        "subs": subs,
        "pending": [ords[o] for o in hub.pending if o in ords],
        "seen": list(hub.seen),
        "missed": missed,
        "refused": hub.refused,
        "last_prune_ms": hub.last_prune_ms,
    }
    if hub.catchup.enabled:
        state["horizon_ms"] = hub.catchup.horizon_ms
    return state


def load(hub: HubState, state: Mapping[str, Any]) -> None:
    """Fill an empty ``hub`` from what :func:`dump` wrote."""
    for entry in state.get("buffer", []):
        size = json_size(entry) + 1
        hub.buffer.append(entry)
        hub._sizes.append(size)
        hub.buffer_bytes += size
    hub.next_seq = int(state.get("next_seq", len(hub.buffer)))
    hub.first_seq = hub.next_seq - len(hub.buffer)
    hub.match_seq = int(state.get("match_seq", hub.next_seq))
    hub.match_ord = int(state.get("match_ord", -1))
    for record in state.get("subs", []):
        plain = {k: v for k, v in record.items() if k not in BOOKKEEPING}
        hub._hold(dict(record), json_size(plain) + SUB_OVERHEAD)
        hub.catchup.restore(hub.subs[int(record["ord"])])
        hub.next_ord = max(hub.next_ord, int(record["ord"]) + 1)
    hub.pending = deque(o for o in state.get("pending", []) if o in hub.subs)
    hub.seen = OrderedDict((d, None) for d in state.get("seen", []))
    hub.missed = int(state.get("missed", 0))
    hub.refused = int(state.get("refused", 0))
    hub.last_prune_ms = int(state.get("last_prune_ms", 0))
    hub.catchup.horizon_ms = int(state.get("horizon_ms", -1))
