"""Everything that crosses Temporal, in one place.

Workflow, activity, signal and query names; the workflow ids our code builds (and
parses back); the static summary a run carries; the shapes of the payloads the
orchestrator, the hub, the gates, the semaphores and the activities exchange.

These strings are recorded in the histories of runs in flight: renaming one breaks
every run that is sleeping across a deploy. Change them only with a replay test.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

MAX_WORKFLOW_ID_BYTES = 1000  # Temporal's limit.maxIDLength

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


class Signal(StrEnum):
    """Signal names, by the workflow that receives them."""

    # orchestrator
    PERMIT = "adapter.permit"
    WAITED = "adapter.wait"
    CANCELLED = "adapter.cancelled"
    WAKE = "adapter.wake"  # end a step.sleep early (adapter wake)
    # hub and gate
    EVENT = "event"
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
    # hub
    HUB_SUBSCRIBED = "__adapter_subscribed"
    HUB_STATS = "__adapter_hub_stats"


class LifecycleEvent(StrEnum):
    """Events the adapter itself sends, as Inngest names them."""

    FAILED = "inngest/function.failed"
    CANCELLED = "inngest/function.cancelled"
    INVOKED = "inngest/function.invoked"
    SCHEDULED = "inngest/scheduled.timer"


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


class StepTask(TypedDict):
    """A step or handler activity's input: the memo length it may see, and its target."""

    memo_len: int
    target: NotRequired[str]
    hint: NotRequired[bool]


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
    },
)


def subscription_key(sub: Subscription) -> str:
    """The key a hub stores a subscription under: subscribing twice is a no-op."""
    return f"{sub['run']}|{sub['kind']}|{sub['step_id']}"


class Unsubscribe(TypedDict):
    """Drop one subscription (the ``unsubscribe`` signal also takes a run id: all of its)."""

    key: str


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
