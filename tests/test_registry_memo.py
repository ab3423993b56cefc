"""A registration stays under temporalio's 2 KB memo warning (TMPRL1103), whatever the app's size.

Senders still read the whole registration: from the memo (as is, or compressed) or, for
an app too large for that, from the registration workflow's input.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client

from adapter import Inngest
from adapter._protocol import registry_id
from adapter._temporal import registry_memo
from adapter._temporal.registry import list_registrations, register
from tests.helpers import eventually, make_app

MEMO_WARNING = 2048  # temporalio warns (TMPRL1103) over this many bytes of memo


def app_with(client: Client, functions: int) -> Inngest:
    app = make_app(client)
    tag = uuid.uuid4().hex[:6]

    async def handler(ctx: Any) -> None:
        return None

    for i in range(functions):
        app.create_function(
            id=f"function-{i}" if i % 3 else f"function-{i}-{uuid.uuid4().hex}",
            event=f"memo-{tag}/event-{i}",
            retries=i % 5,
        )(handler)
    return app


async def memo_bytes(client: Client, app_id: str) -> int:
    desc = await client.get_workflow_handle(registry_id(app_id)).describe()
    return desc.raw_description.workflow_execution_info.memo.ByteSize()


async def listed(client: Client, app_id: str) -> dict[str, Any]:
    """The registration as senders list it (once visibility shows it)."""

    async def found() -> list[dict[str, Any]]:
        return [e for e in await list_registrations(client) if e["app_id"] == app_id]

    [entry] = await eventually(found, message=f"{app_id}'s registration is listed")
    return entry


async def test_a_small_app_keeps_its_whole_registration_in_the_memo(client: Client) -> None:
    app = app_with(client, 1)
    entry = await register(client, app)
    assert registry_memo.memo_of(entry) is entry  # unchanged: every sender reads it
    assert await memo_bytes(client, app.app_id) < MEMO_WARNING
    assert await listed(client, app.app_id) == entry


async def test_many_functions_stay_under_the_memo_warning_and_are_read_whole(
    client: Client,
) -> None:
    for functions in (40, 400):  # compressed into the memo; only in the workflow's input
        app = app_with(client, functions)
        entry = await register(client, app)
        assert len(entry["functions"]) == functions
        assert await memo_bytes(client, app.app_id) < MEMO_WARNING, functions
        packed = registry_memo.memo_of(entry)
        assert ("z" in packed) == (functions == 40)
        assert await listed(client, app.app_id) == entry
        first = (await client.get_workflow_handle(registry_id(app.app_id)).describe()).run_id
        assert await register(client, app) == entry  # the same deploy again: left in place
        again = (await client.get_workflow_handle(registry_id(app.app_id)).describe()).run_id
        assert again == first
