"""inngest-py's logger case: ctx.logger logs each line once per run, again only on a retry."""

from __future__ import annotations

import logging
from typing import Any

import adapter as inngest
from tests.inngest_cases.base import Check, Env, case


class StatefulLogger(logging.Logger):
    """A logger that records its ``info`` calls (inngest-py's test does the same)."""

    def __init__(self) -> None:
        super().__init__("inngest-cases")
        self.info_calls: list[object] = []

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Record ``msg``."""
        self.info_calls.append(msg)


@case
def case_logger(app: inngest.Inngest, name: str) -> Check:
    """Lines in a step body log while it runs; code run again after a retry logs again.

    No other case logs through ctx.logger, so set_logger on the shared client sees only these.
    """
    raised: dict[str, bool] = {"fn": False, "step": False}

    @app.create_function(fn_id="logger", retries=1, trigger=inngest.TriggerEvent(event=name))
    async def fn(ctx: inngest.Context) -> None:
        ctx.logger.info("function start")

        async def step_1() -> None:
            ctx.logger.info("step_1")

        await ctx.step.run("step_1", step_1)
        ctx.logger.info("log before function-level raise")
        if not raised["fn"]:
            raised["fn"] = True
            raise inngest.RetryAfterError("", 1000, quiet=True)

        async def step_2() -> None:
            ctx.logger.info("step_2")

        await ctx.step.run("step_2", step_2)
        ctx.logger.info("log before step-level raise")

        async def step_3() -> None:
            if not raised["step"]:
                raised["step"] = True
                raise inngest.RetryAfterError("", 1000, quiet=True)

        await ctx.step.run("step_3", step_3)
        ctx.logger.info("function end")

    logger = StatefulLogger()

    async def check(env: Env) -> None:
        env.app.set_logger(logger)
        await env.handle("logger", await env.send(name)).result()
        assert logger.info_calls == [
            "function start",
            "step_1",
            "log before function-level raise",
            "log before function-level raise",
            "step_2",
            "log before step-level raise",
            "log before step-level raise",
            "function end",
        ]

    return check
