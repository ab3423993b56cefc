"""Everything that crosses Temporal, in one place.

Workflow, activity, signal and query names; the workflow ids our code builds (and
parses back); the static summary a run carries; the shapes of the payloads the
orchestrator, the hub, the gates, the semaphores and the activities exchange.

These strings are recorded in the histories of runs in flight: renaming one breaks
every run that is sleeping across a deploy. Change them only with a replay test.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

# The workflow ids and run summaries live in adapter/_protocol_ids.py; import them from here
# (re-exported: pyproject's mypy override allows it for this module).
from adapter._protocol_ids import (  # noqa: F401
    HUB_PREFIX,
    HUB_SHARDS,
    INVOKE_MARK,
    REPLAY_MARK,
    SUMMARY_ARROW,
    app_of,
    batch_run_id,
    cron_run_prefix,
    cron_summary,
    digest,
    event_record_id,
    gate_id,
    hub_id,
    hub_shard_for_event,
    hub_shard_ids,
    hub_shard_index,
    idempotency_run_id,
    invoke_child_id,
    invoked_step_id,
    lifecycle_event_id,
    pause_id,
    registry_id,
    replay_run_id,
    run_id,
    run_summary,
    schedule_id,
    semaphore_id,
    singleton_run_id,
    step_event_id,
    summary_event_name,
)

MAX_WORKFLOW_ID_BYTES = 1000  # Temporal's limit.maxIDLength
DEFAULT_PAYLOAD_LIMIT = 2 * 1024 * 1024  # Temporal's default per payload (limit.blobSize.error)
# What a run's input holds beside its events (options, ids) at most: an event, and a
# batch's events, get the payload limit less this (adapter/_workflows/gate_state.py).
RUN_INPUT_RESERVE = 64 * 1024

SHARED_TASK_QUEUE = "adapter"
"""The namespace-wide task queue every worker polls, whatever its app: the registry,
event records and event hubs run here, because events belong to the namespace, not to
the app that sent them."""

REGISTRY_MEMO = "adapter.registry"
"""The memo key of a registration (what one app's workers serve)."""
PAUSE_MEMO = "adapter.pause"
"""The memo key of a paused function (an ``adapter.registry`` workflow of its own)."""
HELD_MEMO = "adapter.held"
"""The memo key of an event record that holds an event for paused functions."""


class WorkflowName(StrEnum):
    """Workflow types we register beside the dynamic orchestrator."""

    HUB = "adapter.events"
    GATE = "adapter.gate"
    SEMAPHORE = "adapter.semaphore"
    REGISTRY = "adapter.registry"
    EVENT = "adapter.event"


class ActivityName(StrEnum):
    """Activity types the orchestrator schedules."""

    RUN_STEP = "step.run"
    HANDLER = "handler"
    SIGNAL_WITH_START = "adapter.signal_with_start"
    SEND = "adapter.send"
    ROUTE_EVENT = "adapter.route_event"
    CHECK_HOLDERS = "adapter.check_holders"
    SCAN_LOG = "adapter.scan_event_log"  # a hub matches what its buffer missed (hub_log.py)


class Signal(StrEnum):
    """Signal names, by the workflow that receives them."""

    # orchestrator
    PERMIT = "adapter.permit"
    WAITED = "adapter.wait"
    CANCELLED = "adapter.cancelled"
    WAKE = "adapter.wake"  # end a step.sleep early (adapter wake)
    # hub and gate
    EVENT = "event"
    # gate
    CANCEL_QUEUED = "adapter.cancel_queued"  # an operator drops held events
    # hub
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    YIELD = "adapter.yield"  # sent by a hub to a workflow that never exists (hub.py)
    # semaphore
    ACQUIRE = "acquire"
    RELEASE = "release"
    # registration
    RETRACT = "retract"
    # event record
    ROUTE = "adapter.route"  # a paused function resumed: route the held event now


class Query(StrEnum):
    """Query names."""

    RUN_STATE = "__adapter_state"
    RUN_SLOTS = "__adapter_slots"  # the concurrency tokens a run holds or waits for
    SEMAPHORE = "__adapter_semaphore"
    RUN_QUEUED = "__adapter_queued"  # whether a run waits for its first concurrency slot
    GATE_QUEUE = "__adapter_gate_queue"  # the events a gate holds
    # hub
    HUB_SUBSCRIBED = "__adapter_subscribed"
    HUB_STATS = "__adapter_hub_stats"
    HUB_CANCELLED = "__adapter_cancelled"  # whether a run's cancel matched (at a step's end)


class LifecycleEvent(StrEnum):
    """Events the adapter itself sends, as Inngest names them."""

    FAILED = "inngest/function.failed"
    CANCELLED = "inngest/function.cancelled"
    INVOKED = "inngest/function.invoked"
    SCHEDULED = "inngest/scheduled.timer"


# --- payloads -------------------------------------------------------------------------
# TypedDicts: the JSON on the wire is exactly what runs in flight already recorded.


class BackoffOptions(TypedDict):
    """Retry backoff, in seconds."""

    initial: float
    coefficient: float
    maximum: float


class RunOptions(TypedDict, total=False):
    """The function's options a run carries (from the deployed function)."""

    retries: int
    backoff: BackoffOptions
    step_timeout: float
    heartbeat_timeout: float
    timeouts: dict[str, float | None]
    cancel: list[dict[str, Any]]
    concurrency: list[dict[str, Any]]
    priority: str | None
    first_step: str | None
    search_attributes: bool
    hub_shards: int


class RunInput(TypedDict):
    """The orchestrator's input: app, events (or the cron to build one from), options."""

    app_id: str
    events: list[dict[str, Any]] | None
    cron: dict[str, Any] | None
    opts: dict[str, Any]


def run_input(
    app_id: str,
    events: list[dict[str, Any]] | None,
    opts: dict[str, Any],
    cron: dict[str, Any] | None = None,
) -> RunInput:
    """The orchestrator's input for one run."""
    return {"app_id": app_id, "events": events, "cron": cron, "opts": opts}


STEP_ACTIVITY_OPTIONS = frozenset({"retries", "timeout"})
"""What ``step.run`` may set of its own activity's options (else the function's)."""


def has_own_activity_options(step_opts: Mapping[str, Any]) -> bool:
    """Whether a planned step sets activity options of its own, so runs in no other's activity."""
    return bool(step_opts.keys() & STEP_ACTIVITY_OPTIONS)


class StepTask(TypedDict):
    """A step or handler activity's input: the memo length it may see, and its target.

    ``run_new``: the step is the only one in flight, so the call may run another new
    ``step.run`` the handler meets before its target (steps in a changing order).
    """

    memo_len: int
    target: NotRequired[str]
    hint: NotRequired[bool]
    run_new: NotRequired[bool]


class HubEvent(TypedDict):
    """An event handed to a hub, with the time it was sent (ms).

    ``partial``: the event was over the hub's per-event cap and ``event`` holds only its
    id, name, ts and small data fields (see adapter/_workflows/hub_events.py).
    """

    event: dict[str, Any]
    sent_ms: int
    partial: NotRequired[bool]


# A run waiting on (``wait``) or cancellable by (``cancel``) events of one name; the
# functional form because ``if`` (a CEL condition) is a Python keyword. ``if`` reads only
# ``async`` (the candidate): the run filled in its trigger's ``event.*`` values before
# subscribing. ``trigger`` appears only in subscriptions recorded by older runs.
Subscription = TypedDict(
    "Subscription",
    {
        "kind": str,
        "step_id": str,
        "window_ms": int,
        "expires_ms": int | None,
        "if": str | None,
        "run": str,
        "trigger": NotRequired[dict[str, Any]],
        # the run's shard count (its subscription went to every shard of it): a hub's
        # log scan reads only the events of its own shard under that count
        "shards": NotRequired[int],
    },
)


def subscription_key(sub: Subscription) -> str:
    """The key a hub stores a subscription under: subscribing twice is a no-op."""
    return f"{sub['run']}|{sub['kind']}|{sub['step_id']}"


class Unsubscribe(TypedDict):
    """Drop one subscription (the ``unsubscribe`` signal also takes a run id: all of its)."""

    key: str


class UnsubscribeMany(TypedDict):
    """Drop several subscriptions at once (a gate's held events that left it)."""

    keys: list[str]


class WaitedPayload(TypedDict):
    """The hub's answer to a ``wait`` subscription (``partial``: see :class:`HubEvent`)."""

    step_id: str
    event: dict[str, Any]
    partial: NotRequired[bool]


class CancelledPayload(TypedDict):
    """The hub's notice that a cancel event matched."""

    event: dict[str, Any]


class AcquireRequest(TypedDict):
    """A run's request for one concurrency slot (``since_ms``: when the run started)."""

    token: str
    run: str
    limit: int
    priority: int
    lease_s: float
    run_id: NotRequired[str]  # Temporal's: a reset, a singleton's next run reuse ``run``
    since_ms: NotRequired[int]


class GateInput(TypedDict):
    """A gate's input: whose events it admits and how."""

    app_id: str
    function_id: str
    task_queue: str
    opts: dict[str, Any]
    gate: dict[str, Any]
    state: NotRequired[dict[str, Any]]
    # The held events' windows and cancellations (adapter/_workflows/gate_queue.py).
    queued: NotRequired[dict[str, Any]]


class CancelQueued(TypedDict):
    """An operator's request to a gate: drop these held events (``adapter runs cancel``)."""

    event_ids: list[str]
    reason: NotRequired[str]


class HeldProbe(TypedDict):
    """A query that says whether a workflow already holds what we would signal it."""

    query: str
    arg: Any


class SignalWithStart(TypedDict):
    """The orchestrator's request to signal a workflow, starting it if needed.

    ``ids``: signal these workflows (concurrently, the same way) instead of ``id`` alone.
    ``unless``: skip a running workflow whose query answers true. ``only_running``: do not
    start a workflow that is not running (skip it). The activity returns the ids it
    signalled.
    """

    workflow: str
    id: str
    task_queue: str
    signal: str
    arg: Any
    start: Any
    ids: NotRequired[list[str]]
    unless: NotRequired[HeldProbe]
    only_running: NotRequired[bool]


class LogScan(TypedDict):
    """A hub shard's request to match subscriptions' gaps against the event log.

    ``subs``: ``{"key", "kind", "if", "window_ms", "expires_ms", "from_ms", "to_ms",
    "shards"}`` each (``shards``: the subscriber's shard count, None when unknown: every
    event of the name is then a candidate); the answer maps each key to its earliest match
    (``{"event", "sent_ms", "partial"?}``, as the hub buffers it) or None.
    """

    name: str
    shard: int
    subs: list[dict[str, Any]]


class SendRequest(TypedDict):
    """Events the orchestrator sends (lifecycle events) through an activity."""

    app_id: str
    events: list[dict[str, Any]]


class EventOutcome(TypedDict):
    """What happened to one event at send time (or when its record routed it)."""

    runs: list[str]  # workflow ids of the runs it started (or found already started)
    gated: list[dict[str, str]]  # {"function": ..., "gate": gate workflow id}
    matched: int  # functions whose trigger matched
    # {"function", "run", "by"}: a run of another event (singleton, idempotency key) held it
    absorbed: NotRequired[list[dict[str, str]]]
    duplicate: NotRequired[bool]  # its id was accepted before with other data: not delivered
    held: NotRequired[list[dict[str, str]]]  # {"app_id", "function"}: paused, run on resume


class EventRecordInput(TypedDict):
    """An event record's input: the event, when it was sent, and the sender's outcome."""

    event: dict[str, Any]
    sent_ms: int
    outcome: EventOutcome | None
    only: NotRequired[list[dict[str, str]]]  # route to these functions alone (held ones)
