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


class Signal(StrEnum):
    """Signal names, by the workflow that receives them."""

    # orchestrator
    PERMIT = "adapter.permit"
    WAITED = "adapter.wait"
    CANCELLED = "adapter.cancelled"
    # hub and gate
    EVENT = "event"
    # hub
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    # semaphore
    ACQUIRE = "acquire"
    RELEASE = "release"
    # registration
    RETRACT = "retract"


class Query(StrEnum):
    """Query names."""

    RUN_STATE = "__adapter_state"


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
    """The event hub of one event name, where waits and cancels listen."""
    return f"{app_id}:events:{event_name}"


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


def event_record_id(event_id: str) -> str:
    """The record of one accepted event: one per event id in the namespace."""
    return f"adapter:event:{event_id}"


def app_of(workflow_id: str) -> str:
    """The app id every workflow id of ours starts with."""
    return workflow_id.split(":", 1)[0]


def lifecycle_event_id(workflow_id: str, name: str) -> str:
    """The id of a run's ``function.failed`` / ``function.cancelled`` event: once per run."""
    return f"{workflow_id}:{name.rsplit('.', 1)[-1]}"


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
    """An event handed to a hub, with the time it was sent (ms)."""

    event: dict[str, Any]
    sent_ms: int


# A run waiting on (``wait``) or cancellable by (``cancel``) events of one name; the
# functional form because ``if`` (a CEL condition) is a Python keyword.
Subscription = TypedDict(
    "Subscription",
    {
        "kind": str,
        "step_id": str,
        "window_ms": int,
        "expires_ms": int | None,
        "if": str | None,
        "run": str,
        "trigger": dict[str, Any],
    },
)


class WaitedPayload(TypedDict):
    """The hub's answer to a ``wait`` subscription."""

    step_id: str
    event: dict[str, Any]


class CancelledPayload(TypedDict):
    """The hub's notice that a cancel event matched."""

    event: dict[str, Any]


class AcquireRequest(TypedDict):
    """A run's request for one concurrency slot."""

    token: str
    run: str
    limit: int
    priority: int
    lease_s: float


class GateInput(TypedDict):
    """A gate's input: whose events it admits and how."""

    app_id: str
    function_id: str
    task_queue: str
    opts: dict[str, Any]
    gate: dict[str, Any]
    state: NotRequired[dict[str, Any]]


class SignalWithStart(TypedDict):
    """The orchestrator's request to signal a workflow, starting it if needed."""

    workflow: str
    id: str
    task_queue: str
    signal: str
    arg: Any
    start: Any


class SendRequest(TypedDict):
    """Events the orchestrator sends (lifecycle events) through an activity."""

    app_id: str
    events: list[dict[str, Any]]


class EventOutcome(TypedDict):
    """What happened to one event at send time (or when its record routed it)."""

    runs: list[str]  # workflow ids of the runs it started (or found already started)
    gated: list[dict[str, str]]  # {"function": ..., "gate": gate workflow id}
    matched: int  # functions whose trigger matched


class EventRecordInput(TypedDict):
    """An event record's input: the event, when it was sent, and the sender's outcome."""

    event: dict[str, Any]
    sent_ms: int
    outcome: EventOutcome | None
