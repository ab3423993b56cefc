"""What one event hub shard holds, as a pure class: bounded buffer, subscriptions, work.

No Temporal here: the hub workflow (hub.py) feeds signals in, asks for a budgeted slice
of matching work per workflow task, and carries :meth:`HubState.to_state` across
continue-as-new. The bounds that keep a hub alive under load:

* **Look-back**: events stay ``LOOKBACK_MS`` (10 min), at most ``BUFFER_BYTES`` (256 KiB)
  per shard, oldest out first. One that leaves before it was matched against the
  subscriptions it predates counts in ``missed`` (overload only: more unmatched events
  than the buffer holds).
* **Large events** (over 64 KiB) are kept partial (hub_events.py): conditions see only
  the fields kept, and a wait receives that partial event (``partial: true`` in the
  hub's signal). The full event reaches a run only when the hub buffered it in full.
* **Subscriptions**: at most ``SUB_BYTES`` (6 KiB) each and ``SUBS_BYTES`` (512 KiB) per
  shard; over that one is refused (``refused``) and the run's periodic check sends it
  again. Subscribing twice (same key) is a no-op; expired ones are dropped.
* **Dedupe**: the digests of the last ``SEEN_IDS`` event ids; a resent id is ignored.
* **Work**: :meth:`HubState.work` spends at most a budget of cost units
  (hub_match.py) and resumes where it stopped, equality conditions looked up by index.
* **State**: :meth:`HubState.to_state` is JSON under ``STATE_BYTES`` (1 MiB) whatever the
  inputs, well below Temporal's 2 MB payload limit.

Work is FIFO: an event is matched against the subscriptions that arrived before it; a new
subscription scans the events buffered before it (its look-back), oldest first. Each
event/subscription pair is evaluated at most once.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable, Mapping
from typing import Any, cast

from adapter._define.expressions import interpolate_event
from adapter._protocol import HubEvent, Subscription, subscription_key
from adapter._workflows import hub_carry
from adapter._workflows.hub_carry import SUB_OVERHEAD as SUB_OVERHEAD
from adapter._workflows.hub_catchup import CatchUp, catching_up, widen
from adapter._workflows.hub_events import (
    ABSENT,
    EVENT_BYTES,
    id_digest,
    json_size,
    stub_event,
    value_at,
)
from adapter._workflows.hub_match import (
    COST_CHECK,
    COST_DELIVER,
    MATCH_BUDGET,
    Conditions,
    Index,
    Match,
    equality_index,
)

LOOKBACK_MS = 10 * 60_000
BUFFER_BYTES = 256 * 1024
SUB_BYTES = 6 * 1024  # a condition of ~4.5 KiB compiles and runs in ~0.25 s
SUBS_BYTES = 512 * 1024
SEEN_IDS = 4096
EXPIRY_GRACE_MS = 60_000
PRUNE_EVERY_MS = 10_000
STATE_BYTES = 1024 * 1024


class HubState:
    """One hub shard's buffer, subscriptions and pending matching work (see module doc)."""

    def __init__(self) -> None:
        """An empty hub."""
        self.buffer: deque[dict[str, Any]] = deque()  # {"sent_ms", "event", "partial"?}
        self._sizes: deque[int] = deque()
        self.buffer_bytes = 0
        self.first_seq = 0  # seq of buffer[0]
        self.next_seq = 0
        self.match_seq = 0  # the next event to match against older subscriptions
        self.match_ord = -1  # ...of which subscriptions up to this ord are done
        self.subs: dict[int, dict[str, Any]] = {}  # ord → record (a Subscription + bookkeeping)
        self._keys: dict[str, int] = {}
        self._runs: dict[str, set[int]] = {}
        self._sub_sizes: dict[int, int] = {}
        self.sub_bytes = 0
        self.next_ord = 0
        self.pending: deque[int] = deque()  # subscriptions whose look-back scan is due
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.missed = 0
        self.refused = 0
        self.last_prune_ms = 0
        self._always: set[int] = set()
        self._unindexed: set[int] = set()
        self._eq: dict[tuple[str, ...], dict[Hashable, set[int]]] = {}
        self._eq_of: dict[int, Index] = {}
        self._conditions = Conditions()
        self.catchup = CatchUp()  # what the buffer missed, matched against the event log

    # --- signals in --------------------------------------------------------------------

    def add_event(self, item: HubEvent, now_ms: int) -> bool:
        """Buffer an event for matching; False when its id was seen already (a resend)."""
        event = item["event"]
        event_id = event.get("id")
        if event_id:
            seen = id_digest(str(event_id))
            if seen in self.seen:
                return False
            self.seen[seen] = None
            while len(self.seen) > SEEN_IDS:
                self.seen.popitem(last=False)
        entry: dict[str, Any] = {"sent_ms": int(item["sent_ms"]), "event": event}
        size = json_size(entry) + 1
        if item.get("partial") or size > EVENT_BYTES:
            entry = {"sent_ms": entry["sent_ms"], "event": stub_event(event), "partial": True}
            size = json_size(entry) + 1
        self.buffer.append(entry)
        self._sizes.append(size)
        self.buffer_bytes += size
        self.next_seq += 1
        while self.buffer_bytes > BUFFER_BYTES and len(self.buffer) > 1:
            self._evict()
        return True

    def add_subscription(self, sub: Subscription, now_ms: int) -> bool:
        """Hold a subscription (idempotent by key); False when refused for its size."""
        sub = cast(Subscription, dict(sub))
        if "trigger" in sub:  # recorded by an older run: fill in its trigger now
            trigger = sub.pop("trigger")
            if sub.get("if"):
                sub["if"] = interpolate_event(str(sub["if"]), trigger or {})
        key = subscription_key(sub)
        if key in self._keys:
            return True
        expires = sub.get("expires_ms")
        if expires is not None and expires + EXPIRY_GRACE_MS < now_ms:
            return True  # already over: nothing can match it
        size = json_size(sub) + SUB_OVERHEAD
        if size > SUB_BYTES or self.sub_bytes + size > SUBS_BYTES:
            self.refused += 1
            return False
        ord_ = self.next_ord
        self.next_ord += 1
        record: dict[str, Any] = {**sub, "ord": ord_, "seq": self.next_seq}
        if self.first_seq < self.next_seq:
            record["scan"] = self.first_seq
            self.pending.append(ord_)
        self.catchup.arrived(record)
        self._hold(record, size)
        return True

    def remove_run(self, run: str) -> None:
        """Drop every subscription of a run (it ended, or a cancel matched)."""
        for ord_ in sorted(self._runs.get(run, ())):
            self._drop(ord_)

    def remove_key(self, key: str) -> None:
        """Drop one subscription (a wait that ended)."""
        ord_ = self._keys.get(key)
        if ord_ is not None:
            self._drop(ord_)

    def holds(self, key: str) -> bool:
        """Whether a subscription is held (the waiting run's check asks)."""
        return key in self._keys

    # --- time --------------------------------------------------------------------------

    def prune(self, now_ms: int, *, force: bool = False) -> None:
        """Forget matched events past the look-back and subscriptions past their expiry."""
        if not force and now_ms - self.last_prune_ms < PRUNE_EVERY_MS:
            return
        self.last_prune_ms = now_ms
        horizon = now_ms - LOOKBACK_MS
        while self.buffer and self.first_seq < self.match_seq:
            if self.buffer[0]["sent_ms"] >= horizon:
                break
            self._evict()
        for ord_, record in list(self.subs.items()):
            expires = record.get("expires_ms")
            if expires is not None and expires + EXPIRY_GRACE_MS < now_ms:
                self._drop(ord_)

    def next_expiry_ms(self) -> int | None:
        """When the earliest subscription expires (None when none has an expiry)."""
        times = [r["expires_ms"] for r in self.subs.values() if r.get("expires_ms") is not None]
        return min(times) + EXPIRY_GRACE_MS if times else None

    # --- work ----------------------------------------------------------------------------

    def has_work(self) -> bool:
        """Whether matching work is pending."""
        return self.match_seq < self.next_seq or any(o in self.subs for o in self.pending)

    def idle(self) -> bool:
        """Nothing held and nothing to do: the hub may end."""
        return not self.subs and not self.buffer and not self.has_work()

    def work(self, budget: int = MATCH_BUDGET) -> list[Match]:
        """Match for at most ``budget`` cost units; returns what matched, resumable."""
        spent = 0
        out: list[Match] = []
        while spent < budget:
            while self.pending and self.pending[0] not in self.subs:
                self.pending.popleft()
            scan = self.subs[self.pending[0]] if self.pending else None
            if scan is not None and scan["seq"] <= self.match_seq:
                spent += self._scan(scan, budget - spent, out)
            elif self.match_seq < self.next_seq:
                spent += self._match_event(budget - spent, out)
            else:
                break
        return out

    def _scan(self, record: dict[str, Any], allowance: int, out: list[Match]) -> int:
        """A new subscription's look-back: the events buffered before it, oldest first."""
        spent = COST_CHECK
        if int(record.get("scan", 0)) < self.first_seq:  # evicted before the scan got there
            widen(record, int(record["window_ms"]), self.catchup.horizon_ms)
        cursor = max(int(record.get("scan", 0)), self.first_seq)
        while cursor < record["seq"] and spent < allowance:
            entry = self.buffer[cursor - self.first_seq]
            spent += COST_CHECK
            if self._eligible(record, entry, indexed=False):
                spent, holds = self._evaluate(record, cursor, entry, spent, allowance)
                if holds is None:
                    break  # compiled; evaluate this event in the next slice
                if holds:
                    self._deliver(record, entry, out)
                    return spent + COST_DELIVER
            cursor += 1
        if cursor >= record["seq"]:
            record.pop("scan", None)
            if self.pending and self.pending[0] == record["ord"]:
                self.pending.popleft()
        else:
            record["scan"] = cursor
        return spent

    def _match_event(self, allowance: int, out: list[Match]) -> int:
        """The next event against the subscriptions that arrived before it."""
        if self.match_seq < self.first_seq:  # evicted before it was matched
            self.missed += self.first_seq - self.match_seq
            self.match_seq, self.match_ord = self.first_seq, -1
            self.catchup.give_lost(r for r in self.subs.values() if r["seq"] < self.first_seq)
            return COST_CHECK * (1 + len(self.subs))
        seq = self.match_seq
        entry = self.buffer[seq - self.first_seq]
        candidates = self._candidates(entry["event"], seq)
        spent = COST_CHECK * (1 + len(self._eq) + len(candidates))
        for ord_ in candidates:
            if spent >= allowance:
                return spent
            record = self.subs.get(ord_)
            if record is not None:  # (else dropped meanwhile: a cancel of its run matched)
                spent += COST_CHECK
                if self._eligible(record, entry, indexed=True):
                    spent, holds = self._evaluate(record, seq, entry, spent, allowance)
                    if holds is None:
                        return spent  # compiled; evaluate it in the next slice
                    if holds:
                        self._deliver(record, entry, out)
                        spent += COST_DELIVER
            self.match_ord = ord_
        self.match_seq, self.match_ord = seq + 1, -1
        return spent

    def _candidates(self, event: Mapping[str, Any], seq: int) -> list[int]:
        found = set(self._always) | self._unindexed
        for path, by_value in self._eq.items():
            value = value_at(event, path)
            if value is not ABSENT:
                found |= by_value.get(cast(Hashable, value), set())
        return sorted(o for o in found if o > self.match_ord and self.subs[o]["seq"] <= seq)

    def _eligible(self, record: Mapping[str, Any], entry: Mapping[str, Any], indexed: bool) -> bool:
        sent = entry["sent_ms"]
        if sent < record["window_ms"] or "parked" in record:
            return False
        expires = record.get("expires_ms")
        if expires is not None and sent > expires:
            return False
        eq = None if indexed else self._eq_of.get(record["ord"])
        if eq is not None:
            value = value_at(entry["event"], eq[0])
            return value is not ABSENT and value == eq[1]
        return True

    def _evaluate(
        self,
        record: Mapping[str, Any],
        seq: int,
        entry: Mapping[str, Any],
        spent: int,
        allowance: int,
    ) -> tuple[int, bool | None]:
        """Charge and evaluate; None when compiling used up the slice (resume here)."""
        condition = record.get("if")
        compiling = self._conditions.compile_cost(condition)
        if compiling:
            self._conditions.compile(condition)
            spent += compiling
            if spent >= allowance:
                return spent, None
        spent += self._conditions.cost(condition, seq, entry["event"])
        return spent, self._conditions.true(condition, seq, entry["event"])

    def _deliver(self, record: dict[str, Any], entry: Mapping[str, Any], out: list[Match]) -> None:
        if self.catchup.park(record, entry):
            return  # the log may hold an earlier match (hub_catchup.py)
        out.append(
            Match(
                kind=record["kind"],
                run=record["run"],
                step_id=record["step_id"],
                event=entry["event"],
                partial=bool(entry.get("partial")),
            )
        )
        if record["kind"] == "cancel":
            self.remove_run(record["run"])
        else:
            self._drop(record["ord"])

    # --- bookkeeping -------------------------------------------------------------------

    def _hold(self, record: dict[str, Any], size: int) -> None:
        ord_ = record["ord"]
        self.subs[ord_] = record
        self._keys[subscription_key(cast(Subscription, record))] = ord_
        self._runs.setdefault(record["run"], set()).add(ord_)
        self._sub_sizes[ord_] = size
        self.sub_bytes += size
        condition = record.get("if")
        eq = equality_index(condition)
        if condition is None:
            self._always.add(ord_)
        elif eq is None:
            self._unindexed.add(ord_)
        else:
            self._eq_of[ord_] = eq
            self._eq.setdefault(eq[0], {}).setdefault(eq[1], set()).add(ord_)

    def _drop(self, ord_: int) -> None:
        record = self.subs.pop(ord_, None)
        if record is None:
            return
        self.catchup.unpark(record)
        self._keys.pop(subscription_key(cast(Subscription, record)), None)
        runs = self._runs.get(record["run"])
        if runs is not None:
            runs.discard(ord_)
            if not runs:
                del self._runs[record["run"]]
        self.sub_bytes -= self._sub_sizes.pop(ord_, 0)
        self._always.discard(ord_)
        self._unindexed.discard(ord_)
        eq = self._eq_of.pop(ord_, None)
        if eq is not None:
            by_value = self._eq[eq[0]]
            by_value[eq[1]].discard(ord_)
            if not by_value[eq[1]]:
                del by_value[eq[1]]
            if not by_value:
                del self._eq[eq[0]]

    def _evict(self) -> None:
        self._note_evicted()
        self.buffer.popleft()
        self.buffer_bytes -= self._sizes.popleft()
        self._conditions.forget(self.first_seq)
        self.first_seq += 1

    def _note_evicted(self) -> None:
        """The oldest event leaves (O(1): the gaps it makes are given out lazily)."""
        self.catchup.evicted_entry(self.buffer[0], lost=self.first_seq >= self.match_seq)

    # --- catching up from the event log (hub_catchup.py) -------------------------------

    def due_scans(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` log scans to start: each subscription's condition and gap."""
        return [
            {
                "key": subscription_key(cast(Subscription, record)),
                "kind": record["kind"],
                "if": record.get("if"),
                "window_ms": record["window_ms"],
                "expires_ms": record.get("expires_ms"),
                "from_ms": record["scanning"][0],
                "to_ms": record["scanning"][1],
                "shards": record.get("shards"),
            }
            for record in self.catchup.due(self.subs.values(), limit)
        ]

    def scanned(self, key: str, found: Mapping[str, Any] | None) -> list[Match]:
        """A log scan of subscription ``key`` ended with its earliest match (or None)."""
        ord_ = self._keys.get(key)
        if ord_ is None:
            return []  # dropped meanwhile
        entry = self.catchup.settle(self.subs[ord_], found)
        out: list[Match] = []
        if entry is not None:
            self._deliver(self.subs[ord_], entry, out)
        return out

    # --- continue-as-new -----------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts for the hub's stats query and for tests."""
        return {
            "subscriptions": len(self.subs),
            "subscription_bytes": self.sub_bytes,
            "buffered": len(self.buffer),
            "buffer_bytes": self.buffer_bytes,
            "pending_events": self.next_seq - self.match_seq,
            "pending_scans": sum(o in self.subs for o in self.pending),
            "seen": len(self.seen),
            "missed": self.missed,
            "refused": self.refused,
            "evicted": self.catchup.evicted,
            "catching_up": sum(catching_up(r) for r in self.subs.values()),
            "log_scans": self.catchup.scans,
        }

    def to_state(self) -> dict[str, Any]:
        """JSON for continue-as-new, under ``STATE_BYTES``; numbers renumbered from 0."""
        return hub_carry.dump(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, now_ms: int = 0) -> HubState:
        """The state :meth:`to_state` wrote (or an older hub's ``{"buffer", "subs"}``)."""
        hub = cls()
        if state and state.get("v") != 2:
            items = [cast(HubEvent, i) for i in state.get("buffer", [])]
            for item in sorted(items, key=lambda i: i["sent_ms"]):
                hub.add_event(item, now_ms)
            hub.match_seq = hub.next_seq  # the old hub matched these already
            for sub in (state.get("subs") or {}).values():
                hub.add_subscription(sub, now_ms)
        elif state:
            hub_carry.load(hub, state)
        return hub
