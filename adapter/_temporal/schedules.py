"""Cron triggers as Temporal Schedules, kept in step with the code at worker start.

Every schedule carries the :class:`~adapter._define.version.CodeVersion` that wrote it
(in its action's memo, beside the cron text). In a rolling deploy a worker whose deploy
stamp is lower than the newest one on its app's schedules is an older version started
late: it creates, updates and deletes nothing, and says so in one log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import temporalio.converter
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from adapter._define.client import Inngest
from adapter._define.config import TriggerCron
from adapter._define.event import CRON_EVENT
from adapter._define.function import Function
from adapter._define.version import CodeVersion, code_version
from adapter._protocol import cron_run_prefix, cron_summary, run_input, schedule_id
from adapter._temporal.search_attributes import run_search_attributes

MEMO_KEY = "adapter"
log = logging.getLogger("adapter")


@dataclass
class SyncReport:
    """What a sync changed, by schedule id.

    ``restamped``: unchanged schedules that now carry this (newer) version's stamp;
    ``left_alone``: schedules a newer version wrote, which this sync did not touch
    (``newer`` is that version).
    """

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    restamped: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    newer: CodeVersion | None = None


def build_schedule(
    inngest: Inngest,
    fn: Function,
    trigger: TriggerCron,
    *,
    tagged: bool = False,
    version: CodeVersion | None = None,
) -> tuple[Schedule, str]:
    """The Temporal Schedule for one cron trigger, and a signature of its content.

    The cron text, zone, signature and code version ride in the action's memo: describe
    does not return cron strings, and a schedule's own memo cannot be updated.
    """
    spec = trigger.spec
    cron = {"cron": trigger.cron, "timezone": spec.timezone}
    inp = run_input(fn.app_id, None, fn.run_options(tagged), cron)
    signed: list[Any] = [inp, spec.expressions, inngest.task_queue, overlap_policy(fn).name]
    if trigger.jitter:
        signed.append(trigger.jitter.total_seconds())  # only when set: older signatures hold
    signature = hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()
    action = ScheduleActionStartWorkflow(
        fn.id,
        inp,
        id=cron_run_prefix(inngest.app_id, fn.id),
        task_queue=inngest.task_queue,
        # Already a payload, so a payload codec leaves it as is: schedule_memo reads it
        # without one (cron, zone, signature and version are no user data).
        memo={
            MEMO_KEY: temporalio.converter.default().payload_converter.to_payload(
                {
                    **cron,
                    "signature": signature,
                    "version": (version or code_version(inngest)).to_json(),
                }
            )
        },
        static_summary=cron_summary(fn.id, trigger.cron),
        typed_search_attributes=run_search_attributes(
            inngest.app_id, fn.id, {"name": CRON_EVENT, "id": ""}
        )
        if tagged
        else TypedSearchAttributes.empty,
    )
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(
            cron_expressions=spec.expressions,
            time_zone_name=spec.timezone,
            jitter=trigger.jitter or None,
        ),
        policy=SchedulePolicy(overlap=overlap_policy(fn), catchup_window=timedelta(minutes=1)),
    )
    return schedule, signature


def overlap_policy(fn: Function) -> ScheduleOverlapPolicy:
    """Inngest starts every tick even if the last run still goes; ``singleton`` changes that."""
    singleton = fn.config.singleton
    if singleton is None:
        return ScheduleOverlapPolicy.ALLOW_ALL
    if singleton.mode == "skip":
        return ScheduleOverlapPolicy.SKIP
    return ScheduleOverlapPolicy.CANCEL_OTHER


def schedule_memo(client: Client, schedule: Schedule) -> dict[str, Any]:
    """The adapter's record (cron, timezone, signature) in a described schedule's action."""
    action = schedule.action
    memo = getattr(action, "memo", None) or {}
    raw = memo.get(MEMO_KEY)
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    value = client.data_converter.payload_converter.from_payload(raw, dict)
    return value if isinstance(value, dict) else {}


def desired_schedules(inngest: Inngest) -> dict[str, tuple[Function, TriggerCron]]:
    """Schedule id → (function, cron trigger) for every cron trigger of the app."""
    out: dict[str, tuple[Function, TriggerCron]] = {}
    for fn in inngest.functions:
        for i, trigger in enumerate(fn.config.cron_triggers):
            out[schedule_id(inngest.app_id, fn.id, i)] = (fn, trigger)
    return out


def schedule_version(client: Client, schedule: Schedule) -> CodeVersion | None:
    """The code version that wrote a described schedule (None before versions existed)."""
    return CodeVersion.from_json(schedule_memo(client, schedule).get("version"))


async def _describe(client: Client, sid: str) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(sid).describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


async def _app_schedules(
    client: Client, inngest: Inngest, desired: dict[str, tuple[Function, TriggerCron]]
) -> dict[str, ScheduleDescription]:
    """The app's schedules now: the desired ids (read directly), and the rest visibility lists."""
    ids = list(desired)
    prefix = f"{inngest.app_id}:"
    async for listed in await client.list_schedules():
        if listed.id.startswith(prefix) and listed.id not in desired:
            ids.append(listed.id)
    found: dict[str, ScheduleDescription] = {}
    for sid in ids:
        desc = await _describe(client, sid)
        if desc is not None:
            found[sid] = desc
    return found


async def sync_schedules(
    client: Client, inngest: Inngest, *, version: CodeVersion | None = None
) -> SyncReport:
    """Create, update or delete the app's schedules so that they match its functions.

    ``version`` (default :func:`~adapter._define.version.code_version` of the app) is
    written into every schedule. When a schedule of the app carries a higher deploy
    stamp, a newer version has synced them: nothing is changed (``left_alone``).
    Each update checks the stamp again on the schedule it replaces.
    """
    report = SyncReport()
    version = version or code_version(inngest)
    desired = desired_schedules(inngest)
    existing = await _app_schedules(client, inngest, desired)
    stored = {sid: schedule_version(client, d.schedule) for sid, d in existing.items()}
    newest = max((v for v in stored.values() if v is not None), key=lambda v: v.stamp, default=None)
    if newest is not None and newest.stamp > version.stamp:
        report.left_alone, report.newer = sorted(existing), newest
        log.warning(
            "app %s: its %d schedule(s) were written by a newer version (%s) than this "
            "worker's (%s): left them alone",
            inngest.app_id,
            len(existing),
            newest,
            version,
        )
        return report
    tagged = await inngest._uses_search_attributes(client)
    for sid, (fn, trigger) in desired.items():
        schedule, signature = build_schedule(inngest, fn, trigger, tagged=tagged, version=version)
        current = existing.get(sid)
        if current is None:
            try:
                await client.create_schedule(
                    sid, schedule, memo={MEMO_KEY: {"app_id": inngest.app_id, "function_id": fn.id}}
                )
                report.created.append(sid)
            except ScheduleAlreadyRunningError:
                report.unchanged.append(sid)  # another worker created it a moment ago
            continue
        same = schedule_memo(client, current.schedule).get("signature") == signature
        old = stored[sid]
        if same and old is not None and old.stamp >= version.stamp:
            report.unchanged.append(sid)
            continue
        outcome = await _replace(client, sid, schedule, version)
        if outcome == "left alone":
            report.left_alone.append(sid)
        elif same:
            report.unchanged.append(sid)
            report.restamped.append(sid)
        else:
            report.updated.append(sid)
    for sid in existing:
        if sid in desired:
            continue
        try:
            await client.get_schedule_handle(sid).delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            continue  # another worker deleted it first
        report.deleted.append(sid)
    return report


async def _replace(client: Client, sid: str, schedule: Schedule, version: CodeVersion) -> str:
    """Replace the schedule unless a newer version wrote it meanwhile; say which happened."""
    outcome = "updated"

    def replace(inp: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal outcome
        there = schedule_version(client, inp.description.schedule)
        if there is not None and there.stamp > version.stamp:
            outcome = "left alone"
            return None
        schedule.state = inp.description.schedule.state  # keep paused/unpaused as it was
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(sid).update(replace)
    return outcome
