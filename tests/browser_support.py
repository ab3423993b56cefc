"""Browser tests' support: a console on a real dev server and worker, and Chromium.

``async with console_site(client, tmp_path, {"greet.py": SOURCE}) as site:`` writes a
functions package (a unique name, with a client.py unless given) under ``tmp_path``,
loads it as ``adapter dev`` does (schedules synced, apps registered, a worker per
app), serves the Event API with the console on a free port (dev mode: open), and
opens Debian's Chromium (``/usr/bin/chromium``, never a downloaded browser) through
Playwright. ``site.page`` is the Playwright page, ``site.url`` the console's address.
When the block fails, a full-page screenshot of the page lands in ``tmp_path``
(``failure-<n>.png``, named in the error output); ``site.snap(name)`` saves one on
purpose.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from adapter._console.app import mount_console
from adapter._console.context import Console, LoadProblem, fixed_client
from adapter._define.client import Inngest
from adapter._define.discovery import apps_of, discover
from adapter._define.function import Function
from adapter._http.app import create_app
from adapter._http.server import EventServer
from adapter._http.wire import EventApiSettings
from adapter._temporal.registry import register
from adapter._temporal.schedules import sync_schedules
from adapter.worker import Worker, WorkerSettings

CHROMIUM = os.environ.get("ADAPTER_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium: the browser tests never download one."""

VIEWPORT = {"width": 1366, "height": 900}  # a laptop screen

CLIENT_SOURCE = """\
from adapter import Inngest

inngest_client = Inngest(app_id={app_id!r})
"""


def require_chromium() -> str:
    """The Chromium binary, or skip with how to install it (``make test`` installs it)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium (make test does)")
    return CHROMIUM


def write_functions(
    root: Path, modules: Mapping[str, str], *, app_id: str | None = None
) -> tuple[Path, str]:
    """A functions package under ``root`` with ``modules`` (file name → source); its app id.

    The package name is unique (modules are imported once per process), and a
    ``client.py`` defining ``inngest_client = Inngest(app_id=...)`` is added unless
    ``modules`` has one; sources may import it as ``from <package>.client import
    inngest_client`` or, more simply, use ``{package}`` in the text.
    """
    app_id = app_id or f"console-{uuid.uuid4().hex[:8]}"
    package = f"fns_{uuid.uuid4().hex[:10]}"
    folder = root / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    files = dict(modules)
    files.setdefault("client.py", CLIENT_SOURCE.format(app_id=app_id))
    for name, source in files.items():
        text = textwrap.dedent(source).replace("{package}", package).replace("{app_id}", app_id)
        (folder / name).write_text(text)
    return folder, app_id


@dataclass
class ConsoleSite:
    """A running console (Event API + pages) and a browser page on it."""

    url: str
    client: Client
    functions_dir: Path
    app_id: str
    apps: list[Inngest]
    functions: list[Function]
    console: Console
    page: Any  # playwright.async_api.Page
    tmp_path: Path
    shots: list[Path] = field(default_factory=list)

    async def visit(self, path: str) -> Any:
        """Open ``path`` of the console and wait until htmx has loaded; returns the page."""
        await self.page.goto(self.url + path)
        await self.page.wait_for_function("window.htmx !== undefined")
        return self.page

    async def snap(self, name: str, folder: Path | None = None) -> Path:
        """A full-page screenshot of the page as ``<folder or tmp_path>/<name>.png``."""
        target = (folder or self.tmp_path) / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(target), full_page=True)
        self.shots.append(target)
        return target


@contextlib.asynccontextmanager
async def console_site(
    client: Client,
    tmp_path: Path,
    modules: Mapping[str, str],
    *,
    app_id: str | None = None,
    reload_status: Callable[[], list[LoadProblem]] | None = None,
    worker_settings: WorkerSettings | None = None,
) -> AsyncIterator[ConsoleSite]:
    """The functions in ``modules`` served like ``adapter dev``, with the console and Chromium."""
    from playwright.async_api import async_playwright

    executable = require_chromium()
    folder, app_id = write_functions(tmp_path, modules, app_id=app_id)
    functions = discover(folder)
    apps = apps_of(functions)
    for app in apps:
        app.set_temporal_client(client)
        await sync_schedules(client, app)
        await register(client, app)
    console = Console(
        client=fixed_client(client),
        functions_dir=folder,
        dev=True,
        temporal_ui="http://127.0.0.1:8233",
        sender=apps[0] if apps else None,
        reload_status=reload_status,
    )
    web = create_app(apps or [Inngest(app_id=app_id)], EventApiSettings(dev=True))
    mount_console(web, console)
    async with contextlib.AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(Worker(client, app, worker_settings))
        server = await stack.enter_async_context(EventServer(web, port=0))
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        stack.push_async_callback(browser.close)
        context = await browser.new_context(viewport=VIEWPORT)
        page = await context.new_page()
        page.set_default_timeout(30_000)
        site = ConsoleSite(
            url=server.url,
            client=client,
            functions_dir=folder,
            app_id=app_id,
            apps=apps,
            functions=functions,
            console=console,
            page=page,
            tmp_path=tmp_path,
        )
        try:
            yield site
        except BaseException:
            with contextlib.suppress(Exception):
                shot = await site.snap(f"failure-{len(site.shots) + 1}")
                print(f"screenshot of the failing page: {shot}", file=sys.stderr)
            raise
