"""inngest-py's function test cases, ported (tests/inngest_cases/): one app, one worker.

Every case's functions are defined on one app with inngest-py's spelling (``import
adapter as inngest``); one worker serves them for the whole module, and each test runs
one case's check against the real Temporal dev server.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

pytest.register_assert_rewrite("tests.inngest_cases")

import tests.inngest_cases  # noqa: E402
from tests.helpers import make_app, running  # noqa: E402
from tests.inngest_cases.base import CASES, Check, Env  # noqa: E402

# Every module of the package registers its cases on import: a new one cannot be left out.
MODULES = [
    importlib.import_module(f"tests.inngest_cases.{m.name}")
    for m in pkgutil.iter_modules(tests.inngest_cases.__path__)
    if m.name != "base"
]
NAMES = list(CASES.cases)


@pytest.fixture(scope="module")
async def cases_env(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[Env, dict[str, Check]]]:
    """One app holding every case's functions, and a worker for it."""
    client = temporal_env.client
    app = make_app(client)
    env = Env(client=client, app=app, prefix=f"cases-{uuid.uuid4().hex[:8]}")
    checks = {name: define(app, env.event(name)) for name, define in CASES.cases.items()}
    async with running(client, app):
        yield env, checks


def test_at_least_twenty_cases_are_ported() -> None:
    assert len(NAMES) >= 20, NAMES


@pytest.mark.parametrize("name", NAMES)
async def test_case(cases_env: tuple[Env, dict[str, Check]], name: str) -> None:
    env, checks = cases_env
    await checks[name](env)


async def test_a_step_function_is_a_plain_call_again_after_a_sandbox_run() -> None:
    """inngest.experimental.step outside a run calls the function (the sandbox's context stays its own)."""
    import adapter as inngest
    from adapter.testing import run

    app = inngest.Inngest(app_id=f"step-fn-{uuid.uuid4().hex[:6]}")
    calls: list[int] = []

    @inngest.experimental.step("double")
    def double(x: int) -> int:
        calls.append(x)
        return x * 2

    @app.create_function(fn_id="uses-double", trigger=inngest.TriggerEvent(event="t/double"))
    async def uses_double(ctx: inngest.Context) -> int:
        return int(await double(3))  # type: ignore[misc]

    result = await run(uses_double, event={"name": "t/double"})
    assert (result.status, result.output, result.step_ids) == ("completed", 6, ["double"])
    assert double(5) == 10
    assert calls == [3, 5]
    with pytest.raises(LookupError):
        inngest.experimental.get_step_context()
