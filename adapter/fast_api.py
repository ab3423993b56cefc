"""FastAPI: ``serve(app, client, functions)`` runs the app's worker in the web app's lifespan.

inngest-py's ``inngest.fast_api.serve`` with the same arguments (so ``import adapter as
inngest`` keeps ``inngest.fast_api.serve(app, client, [fn])`` working). Instead of the
endpoint an Inngest server would call, it starts a worker (:mod:`adapter.worker`) for
the client's app when the FastAPI app starts (its lifespan, merged with the app's own:
the worker starts after the app's startup and stops before its shutdown) and stops it
cleanly when the app stops; the worker runs in the server's event loop, sync handlers
and steps in its thread pool. ``GET /api/inngest`` (``serve_path``) answers the app's
function count and the worker's state. See :mod:`adapter._http.embedded`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._http.embedded import EmbeddedWorker, ignored_options, serve_path_of
from adapter.worker import WorkerSettings

__all__ = ["serve"]

FRAMEWORK = "fast_api"


def serve(
    app: FastAPI,
    client: Inngest,
    functions: list[Function],
    *,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    streaming: Any = None,
    worker_settings: WorkerSettings | None = None,
    start_worker: bool | None = None,
) -> None:
    """Run ``client``'s functions in ``app``'s process: a worker started and stopped with the app.

    Args:
        app: the FastAPI app.
        client: the Inngest client whose app the worker serves.
        functions: the functions to serve (all must be ``client``'s; the worker runs
            every function of the client, since Temporal routes events by app).
        public_path: inngest-py's; ignored (no Inngest server calls this app).
        serve_origin: inngest-py's; ignored.
        serve_path: where ``GET`` answers the worker's state (default ``/api/inngest``
            or ``INNGEST_SERVE_PATH``).
        streaming: inngest-py's; ignored.
        worker_settings: the worker's :class:`~adapter.worker.WorkerSettings`.
        start_worker: False (or ``ADAPTER_SERVE_WORKER=0``): mount the path, start no
            worker (``adapter worker`` processes run the functions).
    """
    ignored_options(
        FRAMEWORK, public_path=public_path, serve_origin=serve_origin, streaming=streaming
    )
    embedded = EmbeddedWorker(
        client, functions, worker_settings, framework=FRAMEWORK, start_worker=start_worker
    )

    async def inngest_api() -> JSONResponse:
        return JSONResponse(embedded.introspection())

    app.add_api_route(
        serve_path_of(serve_path), inngest_api, methods=["GET"], include_in_schema=False
    )
    original: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] = (
        app.router.lifespan_context
    )

    @contextlib.asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with original(asgi_app) as state, embedded.running():
            yield state

    app.router.lifespan_context = lifespan
    app.state.adapter_worker = embedded
