"""Serving the Event API: uvicorn inside the running event loop, started and stopped by the caller."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

DEFAULT_PORT = 8288
"""Inngest's dev server port; the SDKs in dev mode send to http://127.0.0.1:8288."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class EventServer:
    """Serves an ASGI app (the Event API) with uvicorn inside the running event loop.

    ``async with EventServer(app, port=8288) as server:`` binds at once (a busy port
    raises RuntimeError naming it), serves until the block ends, then stops
    accepting and lets requests in flight finish. ``port=0`` picks a free port;
    :attr:`url` tells which.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        graceful_timeout: float = 30.0,
    ) -> None:
        """Serve ``app`` on ``host:port`` once started; stopping waits ``graceful_timeout`` at most."""
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=int(graceful_timeout),
        )
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL to give the SDKs (``event_api_base_url`` / ``baseUrl``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        """Bind and start serving; returns :attr:`url`."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise RuntimeError(
                f"cannot listen on {self.host}:{self.port} for the Event API ({reason}); "
                "pick another port (--port / --events-port) or stop what uses it"
            ) from None
        self.port = int(sock.getsockname()[1])
        self._server = _Server(self._config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                sock.close()
                failure = self._task.exception()
                raise RuntimeError(f"the Event API server did not start: {failure!r}")
            await asyncio.sleep(0.01)
        return self.url

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, close."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> EventServer:
        """Start serving (see :meth:`start`)."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop serving (see :meth:`stop`)."""
        await self.stop()
