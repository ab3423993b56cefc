"""The Chat and Sandbox pages in a real browser (Debian's Chromium through Playwright).

One test, one dev server (the session's), one reloading dev worker (adapter/_dev) and one
browser: the chat plans and writes a function, the dev worker picks the new module up
without a restart, "invoke now" on the Functions page runs it to the end, and the
sandbox shows a stubbed step's value; a module that fails to import is on the banner.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from adapter._console.context import LoadProblem
from adapter._dev.folder import FolderLoad
from adapter._dev.workers import DevWorkers
from tests.browser_support import ConsoleSite, console_site
from tests.helpers import eventually

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CLIENT = """\
from adapter import Inngest

inngest = Inngest(app_id="{app_id}")
"""


async def open_function_card(site: ConsoleSite, function_id: str) -> object:
    """Reload the Functions page until the registration lists the function; its card."""
    page = site.page
    slug = "fn-" + "".join(c if c.isalnum() else "-" for c in f"{site.app_id}:{function_id}")

    async def listed() -> bool:
        await site.visit("/functions")
        return await page.locator(f"#{slug}").count() == 1

    await eventually(listed, timeout=45, message=f"{function_id} not on the Functions page")
    return page.locator(f"#{slug}")


async def test_chat_creates_a_live_function_and_the_sandbox_stubs_it(
    client: Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    fid, event = f"welcome-{tag}", f"signup-{tag}/created"
    async with console_site(client, tmp_path, {"client.py": CLIENT}) as site:
        lines: list[str] = []
        workers = DevWorkers(
            client, FolderLoad.of(site.functions_dir, []), interval=0.2, out=lines.append
        )
        site.console.reload_status = lambda: [
            LoadProblem(p.file, p.message, p.details) for p in workers.problems()
        ]
        stop = asyncio.Event()
        task = asyncio.create_task(workers.run(stop))
        try:
            page = site.page
            # Chat: plan (nothing written), then create; the dev worker serves it.
            await site.visit("/chat")
            await page.get_by_label("What should it do, and when?").fill(
                f'Send a welcome email on "{event}"'
            )
            await page.get_by_label("Function id").fill(fid)
            await page.get_by_role("button", name="Plan it").click()
            await page.locator("#plan-id", has_text=fid).wait_for()
            assert event in await page.locator("#plan-trigger").inner_text()
            assert "send-welcome-email" in await page.locator("#plan-steps").inner_text()
            module = site.functions_dir / f"welcome_{tag}.py"
            assert not module.exists()
            await page.locator("#chat-create").click()
            await page.locator("#created-title", has_text="Wrote").wait_for()
            assert f'fn_id="{fid}"' in module.read_text()
            live = page.locator("#chat-live", has_text="Live: the dev worker serves")
            await live.wait_for(timeout=60_000)
            assert any(f"+{fid}" in line for line in lines), lines

            # The Functions page's "invoke now": the run completes.
            card = await open_function_card(site, fid)
            await card.get_by_label("Event data for").fill('{"email": "jane@example.com"}')  # type: ignore[attr-defined]
            await card.get_by_role("button", name="Invoke").click()  # type: ignore[attr-defined]
            run_link = card.locator("a", has_text=f"{site.app_id}:{fid}:")  # type: ignore[attr-defined]
            workflow_id = (await run_link.inner_text()).strip()
            assert await client.get_workflow_handle(workflow_id).result() is None  # the skeleton
            await run_link.click()
            await page.locator("#run-status", has_text="completed").wait_for(timeout=60_000)

            # Sandbox: stub the step; its value is the run's output, nothing reaches Temporal.
            await site.visit(f"/sandbox/{site.app_id}/{fid}")
            await page.get_by_label("What step send-welcome-email does").select_option("value")
            await page.get_by_label("Value or error of step send-welcome-email").fill(
                f'{{"sent": "stubbed-{tag}"}}'
            )
            await page.get_by_label("Data (JSON object)").fill('{"email": ')
            await page.get_by_role("button", name="Run in the sandbox").click()
            await page.locator("#sandbox-error", has_text="not valid JSON").wait_for()
            await page.get_by_label("Data (JSON object)").fill('{"email": "jane@example.com"}')
            await page.get_by_role("button", name="Run in the sandbox").click()
            await page.locator("#sandbox-status", has_text="completed").wait_for()
            assert f"stubbed-{tag}" in await page.locator("#sandbox-output").inner_text()
            row = page.locator("#sandbox-steps tr", has_text="send-welcome-email")
            assert await row.locator(".status").inner_text() == "stubbed"
            assert f"stubbed-{tag}" in await row.inner_text()

            # A module that fails to import: every page's banner shows it and its error.
            (site.functions_dir / "broken.py").write_text("def nope(:\n")
            await eventually(lambda: workers.problems(), message="the broken module not seen")
            await site.visit("/sandbox")
            banner = page.get_by_role("alert")
            assert "broken.py:1: SyntaxError" in await banner.inner_text()
            assert await page.get_by_role("link", name=fid).count() == 1  # still served
        finally:
            stop.set()
            await task
