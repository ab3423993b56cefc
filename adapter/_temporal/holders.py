"""Whether the runs holding a semaphore's slots still hold them: the semaphore's sweep.

Temporal tells no other workflow that a run closed, and a terminated or timed-out run
runs none of its code, so it never releases its slots. The semaphore asks instead, by
this local activity, while some run waits for a slot (adapter/_workflows/semaphore_state.py):

* ``describe`` of the holder's workflow id (its latest run, strongly consistent): closed
  (terminated, timed out, failed, ...) or gone, its tokens are released;
* running, and the run that asked: it still holds them;
* running, but another run of that id (a reset, or the next run of a singleton key):
  that run is asked (query) which tokens it holds or waits for; the others are released.

A run that does not answer in time keeps its slots until the next sweep. The whole check
ends within ``DEADLINE_S``; what is unsettled by then waits for the next one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import QueryRejectCondition
from temporalio.service import RPCError, RPCStatusCode

from adapter._protocol import ActivityName, Query
from adapter._workflows.semaphore_state import HolderCheck, HolderVerdict

DEADLINE_S = 3.0
RPC_TIMEOUT = timedelta(seconds=2)
PARALLEL = 16  # describe calls in flight per check


@activity.defn(name=ActivityName.CHECK_HOLDERS)
async def check_holders(checks: list[HolderCheck]) -> HolderVerdict:
    """The semaphore's sweep: which held tokens to release, which moved to another run."""
    return await holder_verdict(activity.client(), checks)


async def holder_verdict(client: Client, checks: list[HolderCheck]) -> HolderVerdict:
    """Check each holding run (concurrently, within DEADLINE_S)."""
    verdict: HolderVerdict = {"release": [], "moved": {}}
    limit = asyncio.Semaphore(PARALLEL)

    async def one(check: HolderCheck) -> None:
        async with limit:
            await _check(client, check, verdict)

    tasks = [asyncio.ensure_future(one(c)) for c in checks]
    if not tasks:
        return verdict
    _, pending = await asyncio.wait(tasks, timeout=DEADLINE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return verdict


async def _check(client: Client, check: HolderCheck, verdict: HolderVerdict) -> None:
    tokens = check["tokens"]
    try:
        desc = await client.get_workflow_handle(check["run"]).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # deleted, or past retention
            verdict["release"].extend(tokens)
        return
    if desc.status != WorkflowExecutionStatus.RUNNING:
        verdict["release"].extend(tokens)
        return
    if not check["run_id"] or desc.run_id == check["run_id"]:
        return  # the run that asked is running: it holds them
    try:
        claimed = await client.get_workflow_handle(check["run"], run_id=desc.run_id).query(
            Query.RUN_SLOTS,
            reject_condition=QueryRejectCondition.NOT_OPEN,
            rpc_timeout=RPC_TIMEOUT,
        )
    except Exception:  # not answering (no worker), or closed meanwhile: next sweep
        return
    held = set(claimed) if isinstance(claimed, list) else set()
    for token in tokens:
        if token in held:
            assert desc.run_id is not None
            verdict["moved"][token] = desc.run_id
        else:
            verdict["release"].append(token)
