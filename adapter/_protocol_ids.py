"""The workflow ids our code builds (and parses back), and the static summary of a run.

Part of :mod:`adapter._protocol` (which re-exports every name here): these strings
are recorded by runs in flight, so renaming one breaks every run sleeping across a
deploy. Change them only with a replay test.
"""

from __future__ import annotations

import hashlib
import re

# --- workflow ids ---------------------------------------------------------------------

INVOKE_MARK = ":invoke:"
REPLAY_MARK = ":replay-"


def digest(key: str) -> str:
    """A short stable digest of a user's key, for use inside a workflow id."""
    return hashlib.sha1(key.encode()).hexdigest()[:16] if key else "-"


def run_id(app_id: str, function_id: str, event_id: str) -> str:
    """The run an event starts: one per function per event id (Temporal dedupes it)."""
    return f"{app_id}:{function_id}:{event_id}"


def batch_run_id(app_id: str, function_id: str, first_event_id: str) -> str:
    """The run a batch starts, named by its first event."""
    return f"{app_id}:{function_id}:batch:{first_event_id}"


def singleton_run_id(app_id: str, function_id: str, key: str) -> str:
    """The one run a singleton key may have at a time."""
    return f"{app_id}:{function_id}:singleton:{digest(key)}"


_SINGLETON_REF = re.compile(
    r"^(?P<workflow>.+:singleton:(?:[0-9a-f]{16}|-))@(?P<run>[0-9a-fA-F-]{36})$"
)


def public_run_id(workflow_id: str, temporal_run_id: str) -> str:
    """``ctx.run_id``: the workflow id, unique per run — but a singleton key's id is reused.

    Every run of one singleton key shares its workflow id (that is how Temporal keeps it
    to one at a time), so those runs are told apart by Temporal's run id:
    ``<app>:<function>:singleton:<digest>@<temporal run id>``. :func:`split_run_ref`
    reads it back (``adapter run``, ``GET /v1/runs/{id}``).
    """
    if _SINGLETON_REF.match(f"{workflow_id}@{'0' * 36}") and temporal_run_id:
        return f"{workflow_id}@{temporal_run_id}"
    return workflow_id


def split_run_ref(ref: str) -> tuple[str, str | None]:
    """A run id as users see it → (workflow id, Temporal run id or None for the latest)."""
    match = _SINGLETON_REF.match(ref)
    return (match["workflow"], match["run"]) if match else (ref, None)


def idempotency_run_id(app_id: str, function_id: str, key: str) -> str:
    """The one run an idempotency key may start (for 24 hours)."""
    return f"{app_id}:{function_id}:idempotency:{digest(key)}"


def gate_id(app_id: str, function_id: str, key: str) -> str:
    """The gate (rate limit, throttle, debounce, batch) of one function and key."""
    return f"{app_id}:{function_id}:gate:{digest(key)}"


def hub_id(app_id: str, event_name: str) -> str:
    """The per-app hub id senders used before hubs were namespace-wide and sharded.

    A hub started under such an id relays each event to its shard (hub.py), so senders
    not yet updated are still heard; new senders use :func:`hub_shard_for_event`.
    """
    return f"{app_id}:events:{event_name}"


HUB_SHARDS = 4
"""How many hub workflows share one event name, by default. Every sender and every
subscriber of a namespace must use the same count: an event goes to one shard (by its
id), a subscription to all of them."""

HUB_PREFIX = "adapter:hub:"
_HUB_NAME_BYTES = 256  # longer names are cut and suffixed with their digest (id limit)


def _hub_name_part(event_name: str) -> str:
    raw = event_name.encode("utf-8", "surrogatepass")
    if len(raw) <= _HUB_NAME_BYTES:
        return event_name
    cut = raw[:_HUB_NAME_BYTES].decode("utf-8", "ignore")
    return f"{cut}~{digest(event_name)}"


def hub_shard_ids(event_name: str, shards: int = HUB_SHARDS) -> list[str]:
    """The hub workflows of one event name, namespace-wide: ``adapter:hub:<name>:<i>``.

    A name over 256 bytes is cut there and suffixed with ``~<digest>``, so that every id
    stays well under Temporal's MAX_WORKFLOW_ID_BYTES.
    """
    if not 1 <= shards <= 256:
        raise ValueError(f"hub shards must be between 1 and 256, got {shards}")
    name = _hub_name_part(event_name)
    return [f"{HUB_PREFIX}{name}:{i}" for i in range(shards)]


def hub_shard_index(event_id: str, shards: int = HUB_SHARDS) -> int:
    """The shard an event id belongs to: a stable hash (SHA-1), the same in every process."""
    if not 1 <= shards <= 256:
        raise ValueError(f"hub shards must be between 1 and 256, got {shards}")
    raw = hashlib.sha1(event_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(raw[:8], "big") % shards


def hub_shard_for_event(event_name: str, event_id: str, shards: int = HUB_SHARDS) -> str:
    """The one hub shard an event is signalled to (the same id always goes to the same one)."""
    return hub_shard_ids(event_name, shards)[hub_shard_index(event_id, shards)]


def semaphore_id(app_id: str, scope: str, key: str) -> str:
    """The semaphore of one concurrency rule: scope is a function id or ``app``."""
    return f"{app_id}:concurrency:{scope}:{key or '-'}"


def schedule_id(app_id: str, function_id: str, index: int = 0) -> str:
    """One schedule per cron trigger: ``app:function`` (``app:function#2`` for a second)."""
    return f"{app_id}:{function_id}" if index == 0 else f"{app_id}:{function_id}#{index + 1}"


def cron_run_prefix(app_id: str, function_id: str) -> str:
    """Prefix of cron runs' workflow ids; Temporal appends ``-<RFC3339 time>``."""
    return f"{app_id}:{function_id}:cron"


def invoke_child_id(parent_workflow_id: str, step_id: str) -> str:
    """The child workflow of an ``invoke`` step."""
    return f"{parent_workflow_id}{INVOKE_MARK}{step_id}"


def invoked_step_id(child_workflow_id: str) -> str | None:
    """The step id an invoke child was started for, or None for other workflow ids."""
    if INVOKE_MARK not in child_workflow_id:
        return None
    return child_workflow_id.rsplit(INVOKE_MARK, 1)[1]


def replay_run_id(original_workflow_id: str, ulid: str) -> str:
    """A replay of a past run: ``<original>:replay-<ULID>``."""
    return f"{original_workflow_id}{REPLAY_MARK}{ulid}"


def registry_id(app_id: str) -> str:
    """The registration of one app: what its workers serve (memo ``adapter.registry``)."""
    return f"adapter:registry:{app_id}"


def pause_id(app_id: str, function_id: str) -> str:
    """The pause of one function (``adapter pause``): Running while it is paused."""
    return f"adapter:pause:{app_id}:{function_id}"


def event_record_id(event_id: str) -> str:
    """The record of one accepted event: one per event id in the namespace."""
    return f"adapter:event:{event_id}"


def app_of(workflow_id: str) -> str:
    """The app id every workflow id of ours starts with."""
    return workflow_id.split(":", 1)[0]


def lifecycle_event_id(workflow_id: str, name: str, run_id: str = "") -> str:
    """The id of a run's ``function.failed`` / ``function.cancelled`` event: once per run."""
    return f"{workflow_id}:{name.rsplit('.', 1)[-1]}" + (f":{run_id}" if run_id else "")


def step_event_id(workflow_id: str, step_id: str) -> str:
    """An id derived from a run and a step (invoke events, events sent by a step)."""
    return f"{workflow_id}:{step_id}"


# --- the run summary ("fn ← event") ---------------------------------------------------

SUMMARY_ARROW = "←"
_REPLAY_NOTE = " (replay of "


def run_summary(function_id: str, event_name: str, *, replay_of: str | None = None) -> str:
    """The static summary the UI shows for a run: ``fn ← user/created``."""
    summary = f"{function_id} {SUMMARY_ARROW} {event_name}"
    return summary if replay_of is None else f"{summary}{_REPLAY_NOTE}{replay_of})"


def cron_summary(function_id: str, cron: str) -> str:
    """The static summary of a schedule's runs: ``fn ← cron 0 * * * *``."""
    return f"{function_id} {SUMMARY_ARROW} cron {cron}"


def summary_event_name(summary: str | None) -> str | None:
    """The event name a run summary names (None for cron runs and foreign workflows)."""
    if not summary or SUMMARY_ARROW not in summary:
        return None
    tail = summary.split(SUMMARY_ARROW, 1)[1].strip()
    if tail.startswith("cron "):
        return None
    return tail.split(_REPLAY_NOTE, 1)[0] or None
