"""inngest-py's ``inngest.experimental.sentry_middleware``: Sentry tags per call, errors captured.

Needs ``sentry-sdk`` (``pip install sentry-sdk``), imported when the middleware is built.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from adapter._define.middleware import MiddlewareSync, StepMemos, TransformOutputResult


def _sentry() -> ModuleType:
    try:
        return importlib.import_module("sentry_sdk")
    except ImportError:
        raise ImportError(
            "SentryMiddleware needs the sentry-sdk package: pip install sentry-sdk"
        ) from None


class SentryMiddleware(MiddlewareSync):
    """Tags each handler call with the app, function, event and run; captures step and run errors."""

    def __init__(self, client: Any, raw_request: object) -> None:
        """One instance per handler call; warns once per call when Sentry is not initialized."""
        super().__init__(client, raw_request)
        self._sdk = _sentry()
        if not self._sdk.is_initialized():
            client.logger.warning("Sentry SDK is not initialized")
        self._sdk.set_tag("inngest.app.id", client.app_id)

    def before_response(self) -> None:
        """Send what was captured before the call reports."""
        self._sdk.flush()

    def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
        """Tag the call with what it runs."""
        tags = {
            "inngest.event.count": len(ctx.events),
            "inngest.event.id": ctx.event.id,
            "inngest.event.name": ctx.event.name,
            "inngest.function.id": getattr(function, "local_id", None),
            "inngest.function.name": getattr(function, "name", None),
            "inngest.run.id": ctx.run_id,
        }
        for key, value in tags.items():
            self._sdk.set_tag(key, value)

    def transform_output(self, output: TransformOutputResult) -> None:
        """Capture a step's or the run's error."""
        if output.error:
            self._sdk.capture_exception(output.error)
