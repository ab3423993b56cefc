"""Flask: ``serve(app, client, functions)`` runs the app's worker in a background thread.

inngest-py's ``inngest.flask.serve`` with the same arguments. Flask is WSGI, so the
worker (:mod:`adapter.worker`) runs in a daemon thread with its own event loop, started
once per process and app when ``serve`` is called and stopped at interpreter exit
(:func:`stop` stops it earlier). Under ``flask run`` with the reloader, only the serving
process starts it (not the watcher). ``GET /api/inngest`` (``serve_path``) answers the
app's function count and the worker's state. See :mod:`adapter._http.embedded`.
"""

from __future__ import annotations

import os

import flask

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._http.embedded import (
    ignored_options,
    serve_path_of,
    stop_workers,
    threaded_worker,
)
from adapter.worker import WorkerSettings

__all__ = ["serve", "stop"]

FRAMEWORK = "flask"


def serve(
    app: flask.Flask,
    client: Inngest,
    functions: list[Function],
    *,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    worker_settings: WorkerSettings | None = None,
    start_worker: bool | None = None,
) -> None:
    """Run ``client``'s functions in ``app``'s process: a worker in a background thread.

    Args:
        app: the Flask app.
        client: the Inngest client whose app the worker serves.
        functions: the functions to serve (all must be ``client``'s; the worker runs
            every function of the client, since Temporal routes events by app).
        public_path: inngest-py's; ignored (no Inngest server calls this app).
        serve_origin: inngest-py's; ignored.
        serve_path: where ``GET`` answers the worker's state (default ``/api/inngest``
            or ``INNGEST_SERVE_PATH``).
        worker_settings: the worker's :class:`~adapter.worker.WorkerSettings`.
        start_worker: False (or ``ADAPTER_SERVE_WORKER=0``): mount the path, start no
            worker (``adapter worker`` processes run the functions).
    """
    ignored_options(FRAMEWORK, public_path=public_path, serve_origin=serve_origin)
    if start_worker is None and _reloader_watcher():
        start_worker = False  # the reloader's child process (the one serving) starts it
    embedded = threaded_worker(
        client, functions, worker_settings, framework=FRAMEWORK, start_worker=start_worker
    )

    def inngest_api() -> flask.Response:
        return flask.jsonify(embedded.introspection())

    app.add_url_rule(
        serve_path_of(serve_path),
        endpoint=f"adapter_inngest_{client.app_id}",
        view_func=inngest_api,
        methods=["GET"],
    )
    app.extensions.setdefault("adapter_workers", {})[client.app_id] = embedded


def stop(timeout: float | None = None) -> None:
    """Stop the workers ``serve`` started in this process (also done at exit)."""
    stop_workers(timeout)


def _reloader_watcher() -> bool:
    """Whether this process is ``flask run``'s reloader watcher (its child serves).

    The watcher loads the app too, but never serves and never reloads: a worker there
    would run the code as it was at start.
    """
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return False
    try:
        import click
    except ImportError:  # pragma: no cover - Flask depends on click
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = flask.helpers.get_debug_flag()
    return bool(reload)
