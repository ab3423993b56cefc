"""Cron triggers as Temporal Schedules, kept in step with the code at worker start."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
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
from adapter._protocol import cron_run_prefix, cron_summary, run_input, schedule_id
from adapter._temporal.search_attributes import run_search_attributes

MEMO_KEY = "adapter"


@dataclass
class SyncReport:
    """What a sync changed, by schedule id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def build_schedule(
    inngest: Inngest, fn: Function, trigger: TriggerCron, *, tagged: bool = False
) -> tuple[Schedule, str]:
    """The Temporal Schedule for one cron trigger, and a signature of its content.

    The cron text, zone and signature ride in the action's memo: describe does not
    return cron strings, and a schedule's own memo cannot be updated.
    """
    spec = trigger.spec
    cron = {"cron": trigger.cron, "timezone": spec.timezone}
    inp = run_input(fn.app_id, None, fn.run_options(tagged), cron)
    signature = hashlib.sha256(
        json.dumps(
            [inp, spec.expressions, inngest.task_queue, overlap_policy(fn).name], sort_keys=True
        ).encode()
    ).hexdigest()
    action = ScheduleActionStartWorkflow(
        fn.id,
        inp,
        id=cron_run_prefix(inngest.app_id, fn.id),
        task_queue=inngest.task_queue,
        memo={MEMO_KEY: {**cron, "signature": signature}},
        static_summary=cron_summary(fn.id, trigger.cron),
        typed_search_attributes=run_search_attributes(
            inngest.app_id, fn.id, {"name": CRON_EVENT, "id": ""}
        )
        if tagged
        else TypedSearchAttributes.empty,
    )
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(cron_expressions=spec.expressions, time_zone_name=spec.timezone),
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


async def sync_schedules(client: Client, inngest: Inngest) -> SyncReport:
    """Create, update or delete the app's schedules so that they match its functions."""
    report = SyncReport()
    desired = desired_schedules(inngest)
    tagged = await inngest._uses_search_attributes(client)
    for sid, (fn, trigger) in desired.items():
        schedule, signature = build_schedule(inngest, fn, trigger, tagged=tagged)
        handle = client.get_schedule_handle(sid)
        try:
            current = await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            try:
                await client.create_schedule(
                    sid, schedule, memo={MEMO_KEY: {"app_id": inngest.app_id, "function_id": fn.id}}
                )
                report.created.append(sid)
            except ScheduleAlreadyRunningError:
                report.unchanged.append(sid)  # another worker created it a moment ago
            continue
        if schedule_memo(client, current.schedule).get("signature") == signature:
            report.unchanged.append(sid)
            continue

        def replace(inp: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
            new.state = inp.description.schedule.state  # keep paused/unpaused as it was
            return ScheduleUpdate(schedule=new)

        await handle.update(replace)
        report.updated.append(sid)
    prefix = f"{inngest.app_id}:"
    async for listed in await client.list_schedules():
        if listed.id.startswith(prefix) and listed.id not in desired:
            try:
                await client.get_schedule_handle(listed.id).delete()
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue  # another worker deleted it first
            report.deleted.append(listed.id)
    return report
