"""Catching up from the event log: what a hub shard's buffer could not check, as a pure class.

A shard's look-back buffer is bounded in bytes (hub_state.py), so under load an event
can leave it before some subscription was checked against it: the subscription reached
the shard after the event was evicted (its window opened before the shard's *horizon*,
the latest send time it evicted), or the shard lagged and evicted events it had not yet
matched (``missed``), or a new subscription's look-back scan had not reached them. Such
a subscription gets a **gap**: the range of send times ``[from, to]`` the buffer no
longer covers for it (within its window). The hub (hub.py) asks an activity
(adapter/_temporal/hub_log.py) to match the gap against the event log — every accepted
event is a record or a run in visibility — and delivers the earliest match it returns.

While a subscription catches up, it keeps being matched against the buffer; a buffer
match is *parked* (held back, at most ``PARKED_BYTES`` in all, beyond which it is
delivered at once) so that an earlier event found in the log wins, as it would have
without the gap. After the log scan: the earlier of the log's and the parked match is
delivered; with neither, the subscription goes on from the buffer alone (or scans a
gap that grew meanwhile).

Record fields (carried across continue-as-new by the hub's state): ``gap`` (to scan),
``scanning`` (a scan in flight: scanned again after continue-as-new), ``parked``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapter._workflows.hub_events import json_size

PARKED_BYTES = 64 * 1024
FIELDS = ("gap", "scanning", "parked")


def widen(record: dict[str, Any], start: int, end: int) -> None:
    """Add send times ``[start, end]`` (cut to the record's window) to its gap."""
    start = max(start, int(record["window_ms"]))
    expires = record.get("expires_ms")
    if expires is not None:
        end = min(end, int(expires))
    if start > end:
        return
    gap = record.get("gap")
    record["gap"] = [start, end] if gap is None else [min(gap[0], start), max(gap[1], end)]


def catching_up(record: Mapping[str, Any]) -> bool:
    """Whether a log scan is due or in flight for this subscription."""
    return "gap" in record or "scanning" in record


class CatchUp:
    """A shard's horizon and its parked matches' bytes; decisions on one record at a time."""

    def __init__(self) -> None:
        """Nothing evicted yet; off until the hub turns it on (``workflow.patched``)."""
        self.enabled = False
        self.horizon_ms = -1  # the latest send time of an event this shard evicted
        self.parked_bytes = 0
        self.evicted = 0
        self.scans = 0  # subscriptions handed to a log scan (stats)
        self.lost: list[int] | None = None  # send times evicted before they were matched

    def evicted_entry(self, entry: Mapping[str, Any], *, lost: bool) -> None:
        """An event left the buffer (``lost``: before it was matched against older ones)."""
        sent = int(entry["sent_ms"])
        self.evicted += 1
        self.horizon_ms = max(self.horizon_ms, sent)
        if lost:
            self.lost = (
                [sent, sent]
                if self.lost is None
                else [min(self.lost[0], sent), max(self.lost[1], sent)]
            )

    def give_lost(self, records: Iterable[dict[str, Any]]) -> None:
        """The lost events' send times become a gap of the subscriptions older than them."""
        if self.lost is not None:
            for record in records:
                widen(record, *self.lost)
            self.lost = None

    def arrived(self, record: dict[str, Any]) -> None:
        """A new subscription: a gap when its window opened before the horizon."""
        if self.horizon_ms >= int(record["window_ms"]):
            widen(record, int(record["window_ms"]), self.horizon_ms)

    def due(self, records: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records whose gap is due: their gap moves to ``scanning``."""
        out: list[dict[str, Any]] = []
        for record in records:
            if len(out) >= limit:
                break
            if "gap" in record and "scanning" not in record:
                record["scanning"] = record.pop("gap")
                out.append(record)
        self.scans += len(out)
        return out

    def park(self, record: dict[str, Any], entry: Mapping[str, Any]) -> bool:
        """Hold a buffer match back while the record catches up; False: deliver it now."""
        if not self.enabled or not catching_up(record) or "parked" in record:
            return False
        size = json_size(entry)
        if self.parked_bytes + size > PARKED_BYTES:
            return False
        record["parked"] = dict(entry)
        self.parked_bytes += size
        return True

    def settle(
        self, record: dict[str, Any], found: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        """A log scan of the record ended (``found``: its earliest match); what to deliver.

        None: nothing yet (no match so far; a grown gap is due again, or the record goes
        on from the buffer alone).
        """
        record.pop("scanning", None)
        parked = self.unpark(record)
        candidates = [e for e in (found, parked) if e is not None]
        if not candidates:
            return None
        record.pop("gap", None)
        return min(candidates, key=lambda e: int(e["sent_ms"]))

    def unpark(self, record: dict[str, Any]) -> Mapping[str, Any] | None:
        """Take a record's parked match out (it is delivered, or the record is dropped)."""
        parked: Mapping[str, Any] | None = record.pop("parked", None)
        if parked is not None:
            self.parked_bytes -= json_size(parked)
        return parked

    def restore(self, record: dict[str, Any]) -> None:
        """A record carried across continue-as-new: a scan in flight is due again."""
        scanning = record.pop("scanning", None)
        if scanning is not None:
            widen(record, int(scanning[0]), int(scanning[1]))
        if "parked" in record:
            self.parked_bytes += json_size(record["parked"])
