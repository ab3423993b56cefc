"""How many hub shards an event name has: a worker setting, published in the registry.

Each worker publishes its ``hub_shards`` in its app's registration (``WorkerSettings(
hub_shards=...)``, default ``ADAPTER_HUB_SHARDS`` or 4). Senders need no setting: they
learn every published count from the registrations they route by. Every worker of a
namespace should publish the same count; while they disagree (a change rolling out),
nothing is lost: a sender signals each event to its shard under *every* published
count (hubs drop an id they have), and a run subscribes to the shards of the largest,
which include every shard an event of a smaller count can go to. A run keeps the
count it started with: one that waits across a change to a *larger* count hears events
sent under the new count only once every app publishes it — so raise the count while
no long wait is open, or keep the old count published until those runs have ended.
"""

from __future__ import annotations

import logging
import os

from adapter._errors import ConfigError
from adapter._protocol import HUB_SHARDS

log = logging.getLogger("adapter")
ENV = "ADAPTER_HUB_SHARDS"
MAX_SHARDS = 256
_WARNED: set[tuple[tuple[str, int], ...]] = set()


def resolve(value: int | str | None = None) -> int:
    """The hub shard count: ``value``, else ``ADAPTER_HUB_SHARDS``, else 4 (ConfigError if bad)."""
    source = "WorkerSettings(hub_shards=...)"
    if value is None:
        value, source = os.environ.get(ENV) or HUB_SHARDS, ENV
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if isinstance(value, bool) or not 1 <= count <= MAX_SHARDS:
        raise ConfigError(
            f"{source}: the hub shard count must be a whole number from 1 to {MAX_SHARDS}, "
            f"got {value!r}; use the same count on every worker of the namespace (default "
            f"{HUB_SHARDS})"
        )
    return count


def warn_if_disagreeing(counts: dict[str, int]) -> None:
    """One warning per distinct disagreement (app id -> published count)."""
    if len(set(counts.values())) <= 1:
        return
    key = tuple(sorted(counts.items()))
    if key in _WARNED:
        return
    _WARNED.add(key)
    log.warning(
        "the apps of this namespace publish different hub shard counts (%s): events go to "
        "their shard under each count, waits listen on the largest; set the same %s (or "
        "WorkerSettings(hub_shards=...)) on every worker",
        ", ".join(f"{app}: {n}" for app, n in key),
        ENV,
    )
