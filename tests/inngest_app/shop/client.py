"""The Inngest client and the app's middleware."""

import logging
import typing

import inngest

logger = logging.getLogger("shop")


class AuditMiddleware(inngest.MiddlewareSync):
    """Stamps every run's event with where it was handled, and counts outputs."""

    outputs: typing.ClassVar[list[object]] = []

    def transform_input(
        self,
        ctx: inngest.Context | inngest.ContextSync,
        function: inngest.Function[typing.Any],
        steps: inngest.StepMemos,
    ) -> None:
        ctx.event.data["handled_by"] = "shop"

    def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if result.step is None:  # the function's own output, not a step's
            AuditMiddleware.outputs.append(result.output)


inngest_client = inngest.Inngest(
    app_id="shop",
    is_production=False,
    logger=logger,
    middleware=[AuditMiddleware],
)
