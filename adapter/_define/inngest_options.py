"""inngest-py's client options, as the :class:`~adapter.Inngest` client keeps them.

``Inngest(...)`` takes every constructor option of inngest-py's client with its
spelling. ``logger``, ``serializer`` and ``middleware`` mean something here (the
logger behind ``ctx.logger``; the serializer of ``output_type=`` results; the
middleware that :mod:`adapter._execution.middleware` calls). The rest are kept as
attributes, with inngest-py's ``INNGEST_*`` environment fallbacks, and are otherwise
unused: runs start from Temporal and ``send`` hands events to Temporal, never to an
Inngest server. One INFO line names those given.
"""

from __future__ import annotations

import enum
import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from adapter._define.middleware import UninitializedMiddleware
from adapter._define.serializer import Serializer

if TYPE_CHECKING:
    from adapter._define.function import Logger

_client_log = logging.getLogger("adapter.client")
DEV_ORIGIN = "http://127.0.0.1:8288/"
"""inngest-py's Dev Server origin (``api_origin`` / ``event_api_origin`` in dev mode)."""
CLOUD_API_ORIGIN = "https://api.inngest.com/"
CLOUD_EVENT_API_ORIGIN = "https://inn.gs/"


class Streaming(enum.Enum):
    """inngest-py's streaming setting of its serve handlers; accepted and ignored here.

    ``adapter.fast_api.serve(..., streaming=Streaming.FORCE)`` runs a worker: there is
    no HTTP response to keep alive.
    """

    DISABLE = "disable"
    FORCE = "force"


class InngestPyOptions:
    """The part of the client that holds inngest-py's options (see the module docstring)."""

    app_id: str

    def _init_inngest_py(
        self,
        *,
        api_base_url: str | None,
        app_version: str | None,
        env: str | None,
        event_api_base_url: str | None,
        event_key: str | None,
        is_production: bool | None,
        logger: Logger | None,
        middleware: list[UninitializedMiddleware] | None,
        request_timeout: int | timedelta | None,
        serializer: Serializer | None,
        signing_key: str | None,
    ) -> None:
        self._custom_logger = logger
        self.serializer = serializer
        self.middleware: list[UninitializedMiddleware] = list(middleware or [])
        self.is_production = _is_production(is_production)
        self._app_version = app_version
        self._env = env or os.getenv("INNGEST_ENV")
        self._event_key = event_key or os.getenv("INNGEST_EVENT_KEY")
        self._signing_key = signing_key or os.getenv("INNGEST_SIGNING_KEY")
        self._signing_key_fallback = os.getenv("INNGEST_SIGNING_KEY_FALLBACK")
        self._api_origin = _origin(api_base_url, "INNGEST_API_BASE_URL", self.is_production)
        self._event_api_origin = _origin(
            event_api_base_url, "INNGEST_EVENT_API_BASE_URL", self.is_production, event_api=True
        )
        self.request_timeout = (
            timedelta(milliseconds=request_timeout)
            if isinstance(request_timeout, int)
            else request_timeout or timedelta(seconds=30)
        )
        unused: dict[str, Any] = {
            "api_base_url": api_base_url,
            "app_version": app_version,
            "env": env,
            "event_api_base_url": event_api_base_url,
            "event_key": event_key,
            "is_production": is_production,
            "request_timeout": request_timeout,
            "signing_key": signing_key,
        }
        given = [name for name, value in unused.items() if value is not None]
        if given:
            self.logger.info(
                "Inngest(app_id=%r): %s: accepted for inngest-py compatibility, unused on "
                "Temporal (runs start from Temporal and send() hands events to Temporal, not "
                "to an Inngest server)",
                self.app_id,
                ", ".join(given),
            )

    @property
    def logger(self) -> Logger:
        """The logger given with ``logger=`` / :meth:`set_logger`, else the adapter's."""
        return self._custom_logger or _client_log

    @property
    def custom_logger(self) -> Logger | None:
        """The logger behind ``ctx.logger`` if one was given; None: per-function loggers.

        Without one, ``ctx.logger`` logs to ``adapter.fn.<function id>``.
        """
        return self._custom_logger

    def set_logger(self, logger: Logger) -> None:
        """Use ``logger`` behind ``ctx.logger`` (inngest-py's ``set_logger``)."""
        self._custom_logger = logger

    def add_middleware(self, middleware: UninitializedMiddleware) -> None:
        """Append to ``client.middleware`` (inngest-py's ``add_middleware``)."""
        self.middleware = [*self.middleware, middleware]

    @property
    def env(self) -> str | None:
        """inngest-py's branch environment (``env=`` or ``INNGEST_ENV``); unused on Temporal."""
        return self._env

    @property
    def event_key(self) -> str | None:
        """``event_key=`` or ``INNGEST_EVENT_KEY``; unused: sends go to Temporal."""
        return self._event_key

    @property
    def signing_key(self) -> str | None:
        """``signing_key=`` or ``INNGEST_SIGNING_KEY``; unused: runs start from Temporal."""
        return self._signing_key

    @property
    def signing_key_fallback(self) -> str | None:
        """``INNGEST_SIGNING_KEY_FALLBACK`` (as inngest-py, no constructor option); unused."""
        return self._signing_key_fallback

    @property
    def app_version(self) -> str | None:
        """``app_version=``; unused (deploys are versioned by code hash and deploy stamp)."""
        return self._app_version

    @property
    def api_origin(self) -> str:
        """inngest-py's REST API origin (``api_base_url=``, its env vars, or the default)."""
        return self._api_origin

    @property
    def event_api_origin(self) -> str:
        """inngest-py's Event API origin; unused: ``send`` hands events to Temporal."""
        return self._event_api_origin


def _is_production(given: bool | None) -> bool:
    """inngest-py's mode: the argument, else dev when ``INNGEST_DEV`` is set, else production."""
    if given is not None:
        return given
    return os.getenv("INNGEST_DEV", "").strip().lower() in ("", "0", "false")


def _origin(given: str | None, env_var: str, production: bool, *, event_api: bool = False) -> str:
    """inngest-py's origin precedence: argument, its env var, INNGEST_BASE_URL, INNGEST_DEV URL."""
    dev = os.getenv("INNGEST_DEV", "")
    origin = (
        given
        or os.getenv(env_var)
        or os.getenv("INNGEST_BASE_URL")
        or (dev if dev.startswith(("http://", "https://")) else None)
    )
    if origin:
        return origin
    if not production:
        return DEV_ORIGIN
    return CLOUD_EVENT_API_ORIGIN if event_api else CLOUD_API_ORIGIN
