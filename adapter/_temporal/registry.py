"""Registrations in Temporal: workers publish what they serve, senders read it back.

Each app's registration is a Running ``adapter.registry`` workflow whose memo holds
:func:`adapter._define.routes.registration` (packed when it is large, and then maybe
only in the workflow's input: :mod:`adapter._temporal.registry_memo`). Workers write it when they start
(replacing an older one in the same request when it changed); senders list every
Running registration through visibility — no worker needs to be up — and cache the
routing table for ``max_age`` (5 s by default), so a function deployed while a
sender runs is reached within that bound plus the visibility delay.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.function import App
from adapter._define.routes import RouteTable, registration
from adapter._define.version import CodeVersion, code_version
from adapter._errors import ConfigError
from adapter._protocol import (
    PAUSE_MEMO,
    REGISTRY_MEMO,
    SHARED_TASK_QUEUE,
    Signal,
    WorkflowName,
    registry_id,
)
from adapter._temporal.hub_shards import resolve as hub_shards_setting
from adapter._temporal.hub_shards import warn_if_disagreeing
from adapter._temporal.registry_memo import digest, digest_of, memo_of, unpack

log = logging.getLogger("adapter")
DEFAULT_MAX_AGE = 5.0  # seconds a sender trusts its copy of the routing table
VISIBILITY_DELAY = 2.0  # seconds within which visibility shows a new registration
INPUTS_KEPT = 256  # registrations read from their workflow's input, by run id
_INPUTS: OrderedDict[str, dict[str, Any]] = OrderedDict()
_LIST_QUERY = f"WorkflowType = '{WorkflowName.REGISTRY.value}' AND ExecutionStatus = 'Running'"


async def register(
    client: Client, app: App, version: CodeVersion | None = None, hub_shards: int | None = None
) -> dict[str, Any]:
    """Publish what ``app``'s workers serve; returns the registration in force.

    ``hub_shards``: the worker's hub shard count (default ``ADAPTER_HUB_SHARDS`` or 4),
    published for senders (:mod:`adapter._temporal.hub_shards`).

    The registration carries the deploy's :class:`~adapter._define.version.CodeVersion`
    (default: :func:`~adapter._define.version.code_version`). A worker of an older deploy
    (a lower stamp) started after a newer one leaves the newer registration in place
    and says so: routing follows the newest deploy, whatever the start order.
    """
    version = version or code_version(app)
    entry = {
        **registration(app),
        "version": version.to_json(),
        "hub_shards": hub_shards_setting(hub_shards),
    }
    handle = client.get_workflow_handle(registry_id(app.app_id))
    try:
        desc = await handle.describe()
        current = (await desc.memo()).get(REGISTRY_MEMO)
        if desc.status == WorkflowExecutionStatus.RUNNING and isinstance(current, dict):
            if digest_of(current) == digest(entry):
                REGISTRY.learn(client, entry)
                return entry
            theirs = CodeVersion.from_json(current.get("version"))
            if theirs is not None and theirs.stamp > version.stamp:
                current = unpack(current) or await _input_entry(client, handle.id, desc.run_id)
            if theirs is not None and theirs.stamp > version.stamp and current is not None:
                log.info(
                    "app %s: a newer deploy is registered (%s); this worker (%s) leaves it "
                    "in place",
                    app.app_id,
                    theirs,
                    version,
                )
                REGISTRY.learn(client, current)
                return current
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    await client.start_workflow(
        WorkflowName.REGISTRY,
        entry,  # the whole entry, whatever its size; the memo may hold only a digest
        id=registry_id(app.app_id),
        task_queue=SHARED_TASK_QUEUE,
        memo={REGISTRY_MEMO: memo_of(entry)},
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        static_summary=f"registration of {app.app_id} ({len(entry['functions'])} functions)",
    )
    REGISTRY.learn(client, entry)
    return entry


async def unregister(client: Client, app_id: str) -> bool:
    """Retract an app's registration: its functions stop being routed. False if none."""
    try:
        await client.get_workflow_handle(registry_id(app_id)).signal(Signal.RETRACT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    REGISTRY.forget(client, app_id)
    return True


async def list_registrations(client: Client) -> list[dict[str, Any]]:
    """Every Running registration of the namespace (from visibility)."""
    return (await list_entries(client))[0]


async def list_entries(client: Client) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every Running registration and every paused function (one visibility listing).

    A pause is an ``adapter.registry`` workflow of its own (``adapter:pause:<app>:<fn>``)
    whose memo ``adapter.pause`` names the function: no worker needed to hold it.
    """
    registrations: list[dict[str, Any]] = []
    pauses: list[dict[str, Any]] = []
    async for execution in client.list_workflows(_LIST_QUERY):
        try:
            memo = await execution.memo()
        except Exception as exc:  # a payload codec this client lacks, or another key
            raise ConfigError(
                f"cannot read the registration {execution.id!r}: its memo does not decode with "
                f"this client's payload codec ({type(exc).__name__}: {exc}); every worker and "
                "sender of a namespace needs the same codec (Inngest(payload_codec=...), "
                "ADAPTER_PLUGINS, --plugin)"
            ) from exc
        entry, pause = memo.get(REGISTRY_MEMO), memo.get(PAUSE_MEMO)
        if isinstance(entry, dict):
            full = unpack(entry) or await _input_entry(client, execution.id, execution.run_id)
            if full is not None:
                registrations.append(full)
        elif isinstance(pause, dict):
            pauses.append({**pause, "since": execution.start_time.isoformat()})
    return registrations, pauses


async def _input_entry(
    client: Client, workflow_id: str, run_id: str | None
) -> dict[str, Any] | None:
    """A packed registration's entry, from its workflow's input (read once per run)."""
    if run_id and run_id in _INPUTS:
        return _INPUTS[run_id]
    entry: Any = None
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    async for event in handle.fetch_history_events(page_size=1):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        if payloads:
            [entry] = await client.data_converter.decode(payloads[:1])
        break
    if not isinstance(entry, dict):
        return None
    if run_id:
        _INPUTS[run_id] = entry
        while len(_INPUTS) > INPUTS_KEPT:
            _INPUTS.popitem(last=False)
    return entry


@dataclass
class _Copy:
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)
    learned: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    forgotten: dict[str, float] = field(default_factory=dict)
    paused: list[dict[str, Any]] = field(default_factory=list)
    loaded_at: float = float("-inf")
    table: RouteTable | None = None


class RegistryCache:
    """Each sender process's copy of the namespace's registrations, per Temporal endpoint.

    Registrations this process wrote itself (its own workers) count at once, before
    visibility shows them.
    """

    def __init__(self) -> None:
        self._copies: dict[tuple[str, str], _Copy] = {}

    def _copy(self, client: Client) -> _Copy:
        key = (client.service_client.config.target_host, client.namespace)
        return self._copies.setdefault(key, _Copy())

    def learn(self, client: Client, entry: dict[str, Any]) -> None:
        """A registration this process just wrote."""
        copy = self._copy(client)
        copy.learned[entry["app_id"]] = (time.monotonic(), entry)
        copy.forgotten.pop(entry["app_id"], None)
        copy.table = None

    def forget(self, client: Client, app_id: str) -> None:
        """A registration this process just retracted."""
        copy = self._copy(client)
        copy.learned.pop(app_id, None)
        copy.forgotten[app_id] = time.monotonic()
        copy.table = None

    def invalidate(self, client: Client) -> None:
        """Read the registrations again at the next send (e.g. after a pause)."""
        self._copy(client).loaded_at = float("-inf")

    async def table(self, client: Client, max_age: float = DEFAULT_MAX_AGE) -> RouteTable:
        """The routing table, read again from Temporal when older than ``max_age`` seconds."""
        copy = self._copy(client)
        now = time.monotonic()
        if now - copy.loaded_at > max_age:
            visible = True
            try:
                listed, paused = await list_entries(client)
            except RPCError as err:
                if err.status != RPCStatusCode.UNIMPLEMENTED:
                    raise
                # No visibility (the time-skipping test server): what this process
                # registered is all there is to route by, for as long as it runs.
                visible = False
                listed, paused = [], []
            copy.listed = {entry["app_id"]: entry for entry in listed}
            copy.paused = paused
            copy.loaded_at = now
            if visible:
                # What this process wrote overrides visibility only until visibility has
                # had time to show it (then a newer deploy elsewhere must win).
                settled = now - VISIBILITY_DELAY
                copy.learned = {a: v for a, v in copy.learned.items() if v[0] > settled}
                copy.forgotten = {a: t for a, t in copy.forgotten.items() if t > settled}
            copy.table = None
        if copy.table is None:
            merged = {**copy.listed, **{a: entry for a, (_, entry) in copy.learned.items()}}
            for app in copy.forgotten:
                merged.pop(app, None)
            copy.table = RouteTable.of(list(merged.values()), paused=copy.paused)
            warn_if_disagreeing(dict(copy.table.shard_counts))
        return copy.table


REGISTRY = RegistryCache()
"""The process-wide cache every sender uses."""
