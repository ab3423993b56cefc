"""``adapter check-deploy``: runs in flight whose recorded steps the new code no longer reaches."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client

from adapter._define.step_ids import StepNames, source_step_names
from adapter._observe.deploy_check import run_problems
from tests.helpers import (
    eventually,
    make_app,
    run_adapter,
    run_adapter_async,
    running,
    timer_started,
)

# --- what a module names (static) ------------------------------------------------------------


def test_source_step_names_reads_literal_ids_of_every_step_method() -> None:
    source = textwrap.dedent(
        """
        async def handler(ctx):
            a = await ctx.step.run("fetch", load)
            await ctx.step.sleep("nap", "1h")
            step = ctx.step
            await step.wait_for_event("approval", event="x/approved", timeout="1d")
            await ctx.step.invoke("child", function=other)
            await ctx.step.send_event("notify", {"name": "x/done"})
            for i in range(3):
                await ctx.step.run(f"item-{i}", load)
            return helper(ctx)

        def helper(ctx):
            return ctx.step.run("in-helper", load)
        """
    )
    names = source_step_names(source, "handler")
    assert names.complete
    assert names.literals == {"fetch", "nap", "approval", "child", "notify", "in-helper"}
    assert names.reaches("fetch")
    assert names.reaches("fetch:2")
    assert names.reaches("item-0")
    assert names.reaches("item-12")
    assert not names.reaches("fetch-all")
    assert not names.reaches("item")
    assert names.order == ["fetch", "nap", "approval", "child", "notify"]


def test_a_non_literal_step_id_makes_the_names_incomplete() -> None:
    source = "async def h(ctx, sid):\n    await ctx.step.run(sid, load)\n"
    names = source_step_names(source, "h")
    assert not names.complete
    assert names.reaches("anything")


def test_run_problems_finds_removed_and_reordered_steps() -> None:
    names = StepNames(literals={"b", "a", "c"}, order=["b", "a", "c"])
    assert run_problems(["a", "gone", "b"], names) == [
        ("gone", "step removed or renamed"),
        ("a", "reordered: the new code reaches 'b' before 'a'"),
    ]
    assert run_problems(["b", "a", "a:1"], names) == []
    assert run_problems(["x"], StepNames(complete=False)) == []


# --- against Temporal --------------------------------------------------------------------------


def _folder(root: Path, app_id: str, tag: str, body: str) -> Path:
    pkg = root / "functions"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        f"from adapter import Inngest\ninngest = Inngest(app_id={app_id!r})\n"
    )
    (pkg / "flows.py").write_text(
        "from functions.client import inngest\n\n" + textwrap.dedent(body).replace("TAG", tag)
    )
    return root


V1 = """
@inngest.create_function(id="onboard", event="TAG/signup")
async def onboard(ctx):
    await ctx.step.run("create-account", lambda: 1)
    await ctx.step.sleep("wait-a-day", "1d")
    await ctx.step.run("send-email", lambda: 2)

@inngest.create_function(id="legacy", event="TAG/legacy")
async def legacy(ctx):
    await ctx.step.sleep("nap", "1d")

@inngest.create_function(id="steady", event="TAG/steady")
async def steady(ctx):
    await ctx.step.run("first", lambda: 1)
    await ctx.step.sleep("second", "1d")
"""
V2 = """
@inngest.create_function(id="onboard", event="TAG/signup")
async def onboard(ctx):
    await ctx.step.run("create-user", lambda: 1)
    await ctx.step.sleep("wait-a-day", "1d")
    await ctx.step.run("send-email", lambda: 2)

@inngest.create_function(id="steady", event="TAG/steady")
async def steady(ctx):
    await ctx.step.run("first", lambda: 1)
    await ctx.step.sleep("second", "1d")
"""
V3 = V1.replace(
    """    await ctx.step.run("first", lambda: 1)
    await ctx.step.sleep("second", "1d")""",
    """    await ctx.step.sleep("second", "1d")
    await ctx.step.run("first", lambda: 1)""",
)


async def test_check_deploy_lists_the_runs_a_changed_folder_would_break(
    client: Client, tmp_path: Path
) -> None:
    tag = f"deploy-{uuid.uuid4().hex[:8]}"
    app = make_app(client)
    namespace: dict[str, Any] = {"inngest": app}
    exec(compile(textwrap.dedent(V1).replace("TAG", tag), "<v1>", "exec"), namespace)
    handles = {}
    async with running(client, app):
        for fn, event in (("onboard", "signup"), ("legacy", "legacy"), ("steady", "steady")):
            [event_id] = await app.send({"name": f"{tag}/{event}", "data": {}})
            handles[fn] = client.get_workflow_handle(f"{app.app_id}:{fn}:{event_id}")
        for fn, timer in (("onboard", "wait-a-day"), ("legacy", "nap"), ("steady", "second")):
            await eventually(
                lambda h=handles[fn], t=timer: timer_started(h, t),
                message=f"{fn} sleeping on {timer}",
            )
    try:
        # The worker is gone: check-deploy reads only Temporal (and the folder).
        same = _folder(tmp_path / "same", app.app_id, tag, V1)
        ok = await run_adapter_async("check-deploy", "--json", cwd=same, client=client)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert json.loads(ok.stdout)["affected"] == []
        assert json.loads(ok.stdout)["checked_runs"] == 3

        changed = _folder(tmp_path / "changed", app.app_id, tag, V2)
        out = await run_adapter_async("check-deploy", "--json", cwd=changed, client=client)
        assert out.returncode == 1, out.stdout + out.stderr
        report = json.loads(out.stdout)
        found = {(r["function"], r["step"], r["problem"]) for r in report["affected"]}
        assert found == {
            ("onboard", "create-account", "step removed or renamed"),
            ("legacy", None, "function removed"),
        }
        (onboard,) = [r for r in report["affected"] if r["function"] == "onboard"]
        assert onboard["workflow_id"] == handles["onboard"].id
        assert onboard["step_status"] == "completed"

        table = await run_adapter_async("check-deploy", cwd=changed, client=client)
        assert table.returncode == 1, table.stderr
        assert handles["onboard"].id in table.stdout
        assert "create-account" in table.stdout
        assert "function removed" in table.stdout
        assert "2 of 3 running run(s)" in table.stdout

        reordered = _folder(tmp_path / "reordered", app.app_id, tag, V3)
        moved = await run_adapter_async("check-deploy", "--json", cwd=reordered, client=client)
        assert moved.returncode == 1, moved.stdout + moved.stderr
        (row,) = json.loads(moved.stdout)["affected"]
        assert (row["function"], row["step"]) == ("steady", "first")
        assert row["problem"].startswith("reordered")

        usage = await run_adapter_async(
            "check-deploy", "--functions", "nowhere", cwd=tmp_path, client=client
        )
        assert usage.returncode == 2
        assert "functions folder 'nowhere' not found" in usage.stderr
    finally:
        for handle in handles.values():
            await handle.terminate("test over")


def test_check_deploy_without_temporal_cannot_check(tmp_path: Path) -> None:
    cwd = _folder(tmp_path, "check-offline", "offline", V1)
    out = run_adapter("check-deploy", "--address", "127.0.0.1:1", cwd=cwd)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("adapter check-deploy: ")
    assert "127.0.0.1:1" in line
