"""A worker inside a web app's process: what ``adapter.fast_api`` / ``flask`` / ``django`` serve.

inngest-py's ``serve()`` mounts the endpoint the Inngest server calls to run functions.
On Temporal nothing calls in: a worker polls. So ``serve()`` here starts an
:class:`~adapter.worker.Worker` for the app inside the web app's lifecycle
(:class:`EmbeddedWorker`): in the server's event loop for an ASGI app (FastAPI's
lifespan), or in a background thread with its own event loop for a WSGI app (Flask,
Django), started once per process and app and stopped at exit. It connects, registers
the search attributes when allowed, syncs the app's cron schedules and registers the
app, retrying with backoff while Temporal is unreachable (the web app serves meanwhile).

The serve path (``/api/inngest``, ``serve_path=`` or ``INNGEST_SERVE_PATH``) answers
``GET`` with :meth:`EmbeddedWorker.introspection` (the function count and the worker's
state), which suits a health check; other methods get 405 (no Inngest server syncs or
calls it). The Event API (``POST /e/<key>``) is not mounted: in inngest-py it is the
Inngest server's, not the app's; code sends with ``client.send`` straight to
Temporal, and ``adapter serve`` runs the Event API for SDKs in other languages.

``ADAPTER_SERVE_WORKER=0`` (or ``start_worker=False``) keeps the endpoint and starts no
worker: the deployment runs ``adapter worker`` processes instead.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, Literal

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._errors import ConfigError
from adapter._temporal.schedules import sync_schedules
from adapter._temporal.search_attributes import prepare_namespace
from adapter.worker import Worker, WorkerSettings

__all__ = [
    "DEFAULT_SERVE_PATH",
    "SERVE_WORKER_ENV",
    "EmbeddedWorker",
    "serve_path_of",
    "stop_workers",
    "worker_enabled",
]

log = logging.getLogger("adapter.serve")

DEFAULT_SERVE_PATH = "/api/inngest"
"""inngest-py's default serve path."""
SERVE_PATH_ENV = "INNGEST_SERVE_PATH"
SERVE_WORKER_ENV = "ADAPTER_SERVE_WORKER"
"""``0`` / ``false`` / ``no`` / ``off``: ``serve()`` starts no worker (run ``adapter worker``)."""
RETRY_MAX = timedelta(seconds=30)

State = Literal["disabled", "stopped", "starting", "retrying", "running", "stopping"]


def serve_path_of(serve_path: str | None) -> str:
    """The path to mount: ``serve_path``, else ``INNGEST_SERVE_PATH``, else ``/api/inngest``."""
    path = serve_path or os.environ.get(SERVE_PATH_ENV) or DEFAULT_SERVE_PATH
    return path if path.startswith("/") else "/" + path


def worker_enabled(start_worker: bool | None = None) -> bool:
    """``start_worker`` if given, else whether ``ADAPTER_SERVE_WORKER`` allows it (default yes)."""
    if start_worker is not None:
        return start_worker
    value = os.environ.get(SERVE_WORKER_ENV, "").strip().lower()
    return value not in ("0", "false", "no", "off")


def ignored_options(framework: str, **options: object) -> None:
    """Log once which inngest-py serve options were given that mean nothing on Temporal."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        log.info(
            "%s.serve: %s accepted for inngest-py compatibility and unused (no Inngest server "
            "calls this app; a worker polls Temporal)",
            framework,
            ", ".join(given),
        )


class EmbeddedWorker:
    """The worker of one app inside a web app: :meth:`run` in a loop, or :meth:`start_thread`.

    ``functions`` must be functions of ``client`` (inngest-py's ``serve`` argument); the
    worker serves every function of the client, as Temporal routes by app.
    """

    def __init__(
        self,
        client: Inngest,
        functions: Sequence[Function],
        settings: WorkerSettings | None = None,
        *,
        framework: str,
        start_worker: bool | None = None,
    ) -> None:
        """Check ``functions`` against ``client``; nothing starts yet."""
        if not isinstance(client, Inngest):
            raise ConfigError(
                f"{framework}.serve: client must be an Inngest client, not {client!r}"
            )
        for fn in functions:
            if not isinstance(fn, Function) or fn.app_id != client.app_id:
                raise ConfigError(
                    f"{framework}.serve: {fn!r} is not a function of the client {client.app_id!r}"
                )
        missing = sorted({fn.id for fn in client.functions} - {fn.id for fn in functions})
        if missing:
            log.warning(
                "%s.serve: app %s: the worker also runs %s, defined on the client but not "
                "listed (Temporal routes an app's events to its worker)",
                framework,
                client.app_id,
                ", ".join(missing),
            )
        self.app = client
        self.functions = list(functions)
        self.settings = settings or WorkerSettings()
        self.framework = framework
        self.enabled = worker_enabled(start_worker)
        self.state: State = "stopped" if self.enabled else "disabled"
        self.error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # --- in an event loop ------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Start the worker (retrying while Temporal is unreachable) and run it until ``stop``."""
        if not self.enabled:
            await stop.wait()
            return
        delay = 1.0
        while not stop.is_set():
            self.state = "starting"
            try:
                worker = await self._start()
            except Exception as exc:  # retried: the web app keeps serving meanwhile
                self.state, self.error = "retrying", f"{type(exc).__name__}: {exc}"
                log.warning(
                    "%s.serve: app %s: the worker did not start (%s); retrying in %.0fs",
                    self.framework,
                    self.app.app_id,
                    self.error.splitlines()[0],
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX.total_seconds())
                continue
            self.state, self.error = "running", None
            log.info(
                "%s.serve: worker for app %s (%d function(s)) polls task queue %s",
                self.framework,
                self.app.app_id,
                len(self.app.functions),
                self.app.task_queue,
            )
            try:
                await stop.wait()
            finally:
                self.state = "stopping"
                await worker.__aexit__(None, None, None)
                self.state = "stopped"
            return

    async def _start(self) -> Worker:
        temporal = await self.app.temporal()
        await prepare_namespace(temporal, [self.app])
        await sync_schedules(temporal, self.app)
        worker = Worker(temporal, self.app, self.settings)
        await worker.__aenter__()
        return worker

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the worker in the background of the current loop for the block (a lifespan)."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop), name=f"adapter-worker-{self.app.app_id}")
        try:
            yield
        finally:
            stop.set()
            await task

    # --- in a thread of its own (WSGI) ---------------------------------------------------
    def start_thread(self) -> None:
        """Start the worker in a daemon thread with its own event loop (once); stopped at exit."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            started = threading.Event()

            def main() -> None:
                async def go() -> None:
                    self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
                    started.set()
                    await self.run(self._stop)

                try:
                    asyncio.run(go())
                except Exception:
                    log.exception(
                        "%s.serve: the worker thread of %s failed", self.framework, self.app.app_id
                    )
                    self.state = "stopped"
                finally:
                    started.set()

            self._thread = threading.Thread(
                target=main, name=f"adapter-worker-{self.app.app_id}", daemon=True
            )
            self._thread.start()
            started.wait()
        atexit.register(self.stop_thread)

    def stop_thread(self, timeout: float | None = None) -> None:
        """Stop the thread's worker (running steps get the graceful shutdown) and join it."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(stop.set)
        if timeout is None:
            timeout = self.settings.graceful_shutdown.total_seconds() + 10
        thread.join(timeout)

    # --- what the serve path answers --------------------------------------------------
    def introspection(self) -> dict[str, Any]:
        """What ``GET <serve path>`` answers: the app, its function count, the worker's state."""
        return {
            "app_id": self.app.app_id,
            "function_count": len(self.app.functions),
            "functions": [fn.id for fn in self.app.functions],
            "mode": "temporal",
            "worker": {
                "state": self.state,
                "task_queue": self.app.task_queue,
                "error": self.error,
            },
        }


_THREADED: dict[str, EmbeddedWorker] = {}
_THREADED_LOCK = threading.Lock()


def threaded_worker(
    client: Inngest,
    functions: Sequence[Function],
    settings: WorkerSettings | None,
    *,
    framework: str,
    start_worker: bool | None,
) -> EmbeddedWorker:
    """The process's thread worker for ``client``'s app, started once (a second serve reuses it)."""
    with _THREADED_LOCK:
        current = _THREADED.get(client.app_id)
        if current is not None and current.app is client and current.enabled:
            return current
        if current is not None:
            current.stop_thread()
        embedded = EmbeddedWorker(
            client, functions, settings, framework=framework, start_worker=start_worker
        )
        _THREADED[client.app_id] = embedded
    if embedded.enabled:
        embedded.start_thread()
    return embedded


def stop_workers(timeout: float | None = None) -> None:
    """Stop every worker that ``flask.serve`` / ``django.serve`` started in this process."""
    with _THREADED_LOCK:
        workers = list(_THREADED.values())
        _THREADED.clear()
    for embedded in workers:
        embedded.stop_thread(timeout)
