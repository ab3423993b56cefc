"""Django: ``serve(client, functions)`` returns the URL pattern and runs the app's worker.

inngest-py's ``inngest.django.serve`` with the same arguments: it returns a
``django.urls.path`` for ``urlpatterns`` (``GET`` answers the app's function count and
the worker's state). The worker (:mod:`adapter.worker`) runs in a daemon thread with its
own event loop, started once per process and app when ``serve`` runs (when Django
imports the URLconf: at start under ``runserver``, whose checks import it; at the first
request under gunicorn or uwsgi, unless ``wsgi.py`` or ``AppConfig.ready`` imports the
URLconf) and stopped at interpreter exit (:func:`stop` stops it earlier). Under
``runserver``'s autoreloader only the serving child imports the URLconf. See
:mod:`adapter._http.embedded`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

from adapter._define.client import Inngest
from adapter._define.function import Function
from adapter._http.embedded import ignored_options, serve_path_of, stop_workers, threaded_worker
from adapter.worker import WorkerSettings

__all__ = ["serve", "stop"]

FRAMEWORK = "django"


def serve(
    client: Inngest,
    functions: list[Function],
    *,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    worker_settings: WorkerSettings | None = None,
    start_worker: bool | None = None,
) -> URLPattern:
    """Start ``client``'s worker in a background thread; return the serve path's URL pattern.

    Args:
        client: the Inngest client whose app the worker serves.
        functions: the functions to serve (all must be ``client``'s; the worker runs
            every function of the client, since Temporal routes events by app).
        public_path: inngest-py's; ignored (no Inngest server calls this app).
        serve_origin: inngest-py's; ignored.
        serve_path: the pattern's path (default ``/api/inngest`` or ``INNGEST_SERVE_PATH``).
        worker_settings: the worker's :class:`~adapter.worker.WorkerSettings`.
        start_worker: False (or ``ADAPTER_SERVE_WORKER=0``): the URL pattern only, no
            worker (``adapter worker`` processes run the functions).
    """
    ignored_options(FRAMEWORK, public_path=public_path, serve_origin=serve_origin)
    embedded = threaded_worker(
        client, functions, worker_settings, framework=FRAMEWORK, start_worker=start_worker
    )

    def inngest_api(request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return HttpResponse(json.dumps(embedded.introspection()), content_type="application/json")

    view: Any = csrf_exempt(inngest_api)
    return path(serve_path_of(serve_path).lstrip("/"), view)


def stop(timeout: float | None = None) -> None:
    """Stop the workers ``serve`` started in this process (also done at exit)."""
    stop_workers(timeout)
