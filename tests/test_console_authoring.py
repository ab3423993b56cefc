"""The console's Chat and Sandbox pages (adapter/_console/chat.py, sandbox.py): their handlers.

Requests go through httpx's ASGI transport into the console app (dev mode). The chat
writes into a tmp functions folder with the planner of ``adapter new``; the sandbox runs
the folder's functions in-process. Only "run live" needs Temporal (the last test).
"""

from __future__ import annotations

import contextlib
import re
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from adapter._authoring.write import new_function
from adapter._console.app import create_console_app
from adapter._console.context import Console, fixed_client
from adapter._console.sandbox import stubs_of
from adapter._define.discovery import discover
from adapter._dev.folder import FolderLoad, load_folder, publish
from adapter.worker import Worker
from tests.helpers import eventually, timer_started, wait_registered
from tests.test_new import VALID, Stub, stub  # noqa: F401 (stub is a fixture)

CLIENT = "from adapter import Inngest\n\ninngest = Inngest(app_id={app!r})\n"

SHOP = """
from pathlib import Path

from adapter import Context, TriggerEvent

from {pkg}.client import inngest

MARK = Path({mark!r})


def fetch(data):
    MARK.write_text("fetch ran")
    return {{"items": data.get("n", 0)}}


@inngest.create_function(fn_id="checkout", trigger=TriggerEvent(event={event!r}), retries=0)
async def checkout(ctx: Context) -> dict:
    cart = await ctx.step.run("fetch-cart", fetch, ctx.event.data)
    charged = await ctx.step.run("charge", lambda: {{"charged": True}})
    confirm = await ctx.step.wait_for_event("confirm", event="shop/confirmed", timeout="1h")
    return {{"cart": cart, "charged": charged, "confirmed": confirm is not None}}
"""


def _folder(tmp_path: Path, *, client: bool = True) -> tuple[Path, str]:
    app = f"authoring-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / f"fns_{uuid.uuid4().hex[:10]}"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    if client:
        (folder / "client.py").write_text(CLIENT.format(app=app))
    return folder, app


async def _no_temporal() -> Client:
    raise AssertionError("this page must not reach Temporal")


@contextlib.asynccontextmanager
async def _site(folder: Path, client: Client | None = None) -> AsyncIterator[httpx.AsyncClient]:
    console = Console(
        client=fixed_client(client) if client is not None else _no_temporal,
        functions_dir=folder,
        dev=True,
    )
    transport = httpx.ASGITransport(app=create_console_app(console))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        yield http


HX = {"HX-Request": "true"}


# --- Chat -----------------------------------------------------------------------------------


async def test_chat_plans_with_the_cli_planner_and_writes_what_adapter_new_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADAPTER_LLM_BASE_URL", raising=False)
    folder, _ = _folder(tmp_path)
    description = "Send a Slack summary of open tickets at 9 AM Berlin on weekdays"
    async with _site(folder) as http:
        page = await http.get("/chat")
        assert page.status_code == 200
        assert "sync our salesforce contacts every hour" in page.text.lower()
        assert "the skeleton" in page.text

        planned = await http.post("/chat/plan", data={"description": description}, headers=HX)
        assert planned.status_code == 200
        assert "<html" not in planned.text  # a partial for htmx
        assert 'id="plan-id">send-slack-summary-open-tickets<' in planned.text
        assert "0 9 * * 1-5" in planned.text
        assert "Europe/Berlin" in planned.text
        assert "At 09:00, Monday through Friday" in planned.text
        assert not list(folder.glob("send_*.py"))  # planning writes nothing

        made = await http.post("/chat/create", data={"description": description}, headers=HX)
        assert made.status_code == 200
        assert "Wrote" in made.text
        assert "/chat/live?file=send_slack_summary_open_tickets.py" in made.text
    written = folder / "send_slack_summary_open_tickets.py"
    twin_folder, _ = _folder(tmp_path)
    cli = new_function(description, functions=twin_folder, out=lambda _: None)
    assert written.read_text() == cli.read_text().replace(twin_folder.name, folder.name)


async def test_chat_unreadable_phrase_quotes_it_and_lists_phrases_that_work(
    tmp_path: Path,
) -> None:
    folder, _ = _folder(tmp_path)
    async with _site(folder) as http:
        answer = await http.post(
            "/chat/plan", data={"description": "sync contacts every blue moon"}, headers=HX
        )
    assert answer.status_code == 200
    assert "cannot read the description &#34;sync contacts every blue moon&#34;" in answer.text
    assert "blue moon" in answer.text
    assert "Phrases that work" in answer.text
    assert "daily at 9 AM" in answer.text
    assert sorted(p.name for p in folder.glob("*.py")) == ["__init__.py", "client.py"]


async def test_chat_asks_before_replacing_a_file_and_replaces_only_when_confirmed(
    tmp_path: Path,
) -> None:
    folder, _ = _folder(tmp_path)
    description = "Send a welcome email when a new user is added"
    target = folder / "send_welcome_email.py"
    target.write_text("# mine\n")
    async with _site(folder) as http:
        planned = await http.post("/chat/plan", data={"description": description}, headers=HX)
        assert "exists: creating asks before replacing it" in planned.text
        asked = await http.post("/chat/create", data={"description": description}, headers=HX)
        assert "Replace fns_" in asked.text
        assert 'name="overwrite" value="yes"' in asked.text
        assert target.read_text() == "# mine\n"  # nothing written yet
        done = await http.post(
            "/chat/create", data={"description": description, "overwrite": "yes"}, headers=HX
        )
    assert "Replaced" in done.text
    assert 'fn_id="send-welcome-email"' in target.read_text()
    assert 'TriggerEvent(event="user/created")' in target.read_text()


async def test_chat_refuses_without_a_client_and_for_an_id_in_use(tmp_path: Path) -> None:
    bare, _ = _folder(tmp_path, client=False)
    async with _site(bare) as http:
        answer = await http.post(
            "/chat/plan", data={"description": "hourly sync contacts"}, headers=HX
        )
    assert "client.py not found" in answer.text

    folder, _ = _folder(tmp_path)
    (folder / "other.py").write_text(
        'from adapter import TriggerCron\nfrom .client import inngest\n\n@inngest.create_function(fn_id="sync-contacts", trigger=TriggerCron(cron="0 * * * *"))\nasync def f(ctx):\n    return 1\n'
    )
    async with _site(folder) as http:
        answer = await http.post(
            "/chat/plan", data={"description": "Sync contacts every hour"}, headers=HX
        )
        plain = await http.post("/chat/plan", data={"description": "Sync contacts every hour"})
    assert "already defined in" in answer.text
    assert "chat-create" not in answer.text
    assert "<html" in plain.text
    assert "already defined in" in plain.text


async def test_chat_names_the_model_never_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADAPTER_LLM_BASE_URL", "https://user:pw@llm.example.com/v1")
    monkeypatch.setenv("ADAPTER_LLM_MODEL", "tiny-coder")
    monkeypatch.setenv("ADAPTER_LLM_API_KEY", "sk-very-secret")
    folder, _ = _folder(tmp_path)
    async with _site(folder) as http:
        page = await http.get("/chat")
        planned = await http.post(
            "/chat/plan", data={"description": "Sync contacts every hour"}, headers=HX
        )
    for text in (page.text, planned.text):
        assert "tiny-coder at llm.example.com" in text
        assert "sk-very-secret" not in text
        assert "pw@" not in text


async def test_chat_live_follows_what_the_dev_worker_serves(tmp_path: Path) -> None:
    folder, app = _folder(tmp_path)
    new_function("Send a welcome email when a new user is added", functions=folder, out=print)
    url = "/chat/live?file=send_welcome_email.py&fn=send-welcome-email"
    current = {"load": FolderLoad(folder.resolve())}
    undo = publish(folder, lambda: current["load"])
    try:
        async with _site(folder) as http:
            waiting = await http.get(url, headers=HX)
            assert "Waiting for the dev worker" in waiting.text
            assert "hx-get" in waiting.text
            current["load"] = load_folder(folder)
            live = await http.get(url, headers=HX)
            assert f"serves <code>{app}/send-welcome-email</code>" in live.text
            assert f"/sandbox/{app}/send-welcome-email" in live.text
            (folder / "send_welcome_email.py").write_text("def broken(:\n")
            current["load"] = load_folder(folder, current["load"])
            broken = await http.get(url, headers=HX)
            assert "did not load" in broken.text
            assert "SyntaxError" in broken.text
            odd = await http.get("/chat/live?file=../x.py&fn=x", headers=HX)
            assert "No module" in odd.text
    finally:
        undo()


# --- Sandbox --------------------------------------------------------------------------------


def _shop(tmp_path: Path) -> tuple[Path, str, Path, str]:
    folder, app = _folder(tmp_path)
    mark = tmp_path / f"mark-{uuid.uuid4().hex[:6]}"
    event = f"shop/checkout-{uuid.uuid4().hex[:6]}"
    (folder / "shop.py").write_text(
        textwrap.dedent(SHOP).format(pkg=folder.name, mark=str(mark), event=event)
    )
    return folder, app, mark, event


def _fields(**extra: str) -> dict[str, str]:
    """The sandbox form as the page posts it: one row per step the source names."""
    fields = {"action": "sandbox", "data": '{"n": 3}'}
    for i, step in enumerate(["fetch-cart", "charge", "confirm"]):
        fields |= {f"stub-{i}-id": step, f"stub-{i}-mode": "run", f"stub-{i}-known": "1"}
    fields.update(extra)
    return fields


async def test_sandbox_picker_and_form_list_the_folders_functions_and_steps(
    tmp_path: Path,
) -> None:
    folder, app, _, event = _shop(tmp_path)
    async with _site(folder) as http:
        picker = await http.get("/sandbox")
        form = await http.get(f"/sandbox/{app}/checkout")
        missing = await http.get(f"/sandbox/{app}/nope")
    assert f'href="/sandbox/{app}/checkout"' in picker.text
    assert event in picker.text
    assert form.status_code == 200
    for step in ("fetch-cart", "charge", "confirm"):
        assert f'value="{step}"' in form.text
    assert f'value="{event}"' in form.text
    assert missing.status_code == 404
    assert "no function &#39;nope&#39;" in missing.text


async def test_sandbox_runs_with_stubs_and_shows_the_step_timeline(tmp_path: Path) -> None:
    folder, app, mark, _ = _shop(tmp_path)
    stubbed = _fields(
        **{
            "stub-1-mode": "value",
            "stub-1-value": '{"charged": "stubbed-42"}',
            "stub-2-mode": "value",
            "stub-2-value": '{"name": "shop/confirmed", "data": {}}',
        }
    )
    async with _site(folder) as http:
        answer = await http.post(f"/sandbox/{app}/checkout", data=stubbed, headers=HX)
    assert answer.status_code == 200
    text = answer.text
    assert 'id="sandbox-status">completed<' in text
    rows = re.findall(r"<tr class=\"(\w+)\">\s*<td>\d+</td>\s*<td><code>([\w-]+)</code>", text)
    assert rows == [("completed", "fetch-cart"), ("stubbed", "charge"), ("stubbed", "confirm")]
    assert "stubbed-42" in text
    assert "&#34;items&#34;: 3" in text
    assert mark.read_text() == "fetch ran"  # an unstubbed body ran for real
    assert "Nothing reached Temporal" in text


async def test_sandbox_error_and_timeout_stubs_and_an_unstubbed_wait(tmp_path: Path) -> None:
    folder, app, _, _ = _shop(tmp_path)
    async with _site(folder) as http:
        failed = await http.post(
            f"/sandbox/{app}/checkout",
            data=_fields(**{"stub-1-mode": "error", "stub-1-value": "card declined"}),
            headers=HX,
        )
        timed_out = await http.post(
            f"/sandbox/{app}/checkout", data=_fields(**{"stub-2-mode": "timeout"}), headers=HX
        )
        unstubbed = await http.post(f"/sandbox/{app}/checkout", data=_fields(), headers=HX)
    assert 'id="sandbox-status">failed<' in failed.text
    assert "StubError: card declined" in failed.text
    assert 'id="sandbox-status">completed<' in timed_out.text
    assert "&#34;confirmed&#34;: false" in timed_out.text
    assert "step.wait_for_event(&#39;confirm&#39;) needs a stub" in unstubbed.text


async def test_sandbox_malformed_json_is_an_inline_error_and_nothing_runs(tmp_path: Path) -> None:
    folder, app, mark, _ = _shop(tmp_path)
    async with _site(folder) as http:
        bad_data = await http.post(
            f"/sandbox/{app}/checkout", data=_fields(data='{"n": 3'), headers=HX
        )
        bad_stub = await http.post(
            f"/sandbox/{app}/checkout",
            data=_fields(**{"stub-1-mode": "value", "stub-1-value": "{oops"}),
            headers=HX,
        )
        bad_live = await http.post(
            f"/sandbox/{app}/checkout", data=_fields(action="live", data="[1]"), headers=HX
        )
    assert "event data is not valid JSON" in bad_data.text
    assert "Nothing ran" in bad_data.text
    assert "the stub of step &#39;charge&#39; is not valid JSON" in bad_stub.text
    assert "event data must be a JSON object" in bad_live.text
    assert not mark.exists()


def test_stub_rows_need_a_step_id_and_a_known_mode() -> None:
    with pytest.raises(ValueError, match="stub 1 has no step id"):
        stubs_of({"stub-0-id": "", "stub-0-mode": "value", "stub-0-value": "1"})
    with pytest.raises(ValueError, match="not one of"):
        stubs_of({"stub-0-id": "x", "stub-0-mode": "explode"})
    stubs, rows = stubs_of({"stub-3-id": " a ", "stub-3-mode": "value", "stub-3-value": ""})
    assert stubs == {"a": None}
    assert [r.index for r in rows] == [3]


async def test_sandbox_run_live_sends_the_event_and_links_the_run(
    client: Client, tmp_path: Path
) -> None:
    folder, app, mark, _event = _shop(tmp_path)
    async with _site(folder, client) as http:
        refused = await http.post(
            f"/sandbox/{app}/checkout",
            data=_fields(action="live", **{"stub-1-mode": "value", "stub-1-value": "1"}),
            headers=HX,
        )
        assert "stubs work in the sandbox only" in refused.text
        [fn] = [f for f in discover(folder) if f.id == "checkout"]
        fn.client.set_temporal_client(client)  # type: ignore[union-attr]
        async with Worker(client, fn.client):  # type: ignore[arg-type]
            await wait_registered(client, app)
            sent = await http.post(
                f"/sandbox/{app}/checkout", data=_fields(action="live"), headers=HX
            )
            link = re.search(r'href="(/runs/[^"]+)" id="sandbox-run-link"', sent.text)
            assert link is not None, sent.text
            workflow_id = link.group(1).removeprefix("/runs/")
            handle = client.get_workflow_handle(workflow_id)
            await eventually(lambda: timer_started(handle, "confirm"), message="no wait")
            await fn.client.send({"name": "shop/confirmed", "data": {}})  # type: ignore[union-attr]
            result = await handle.result()
    assert result["cart"] == {"items": 3}
    assert result["confirmed"] is True
    assert mark.read_text() == "fetch ran"


async def test_sandbox_gives_a_cron_function_its_timer_event_and_refuses_live(
    tmp_path: Path,
) -> None:
    folder, app = _folder(tmp_path)
    (folder / "nightly.py").write_text(
        f"from adapter import TriggerCron\nfrom {folder.name}.client import inngest\n\n"
        '@inngest.create_function(fn_id="nightly", trigger=TriggerCron(cron="0 3 * * *"))\n'
        "async def nightly(ctx):\n"
        '    return await ctx.step.run("tick", lambda: ctx.event.name)\n'
    )
    async with _site(folder) as http:
        form = await http.get(f"/sandbox/{app}/nightly")
        ran = await http.post(
            f"/sandbox/{app}/nightly", data={"action": "sandbox", "data": "{}"}, headers=HX
        )
        live = await http.post(
            f"/sandbox/{app}/nightly", data={"action": "live", "data": "{}"}, headers=HX
        )
    assert "it gets an <code>inngest/scheduled.timer</code> event" in form.text
    assert 'id="sandbox-status">completed<' in ran.text
    assert "inngest/scheduled.timer" in ran.text
    assert "is a cron function" in live.text


async def test_chat_writes_the_configured_models_module(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stub: tuple[str, Stub],  # noqa: F811 (the fixture)
) -> None:
    url, state = stub
    folder, _ = _folder(tmp_path)
    module = VALID.replace("PKG", folder.name)
    state.reply = f"```python\n{module}```\n"
    monkeypatch.setenv("ADAPTER_LLM_BASE_URL", url)
    monkeypatch.setenv("ADAPTER_LLM_MODEL", "stub-model")
    monkeypatch.setenv("ADAPTER_LLM_API_KEY", "sk-test")
    description = "Send a Slack summary of open tickets every weekday at 9 AM Berlin time"
    async with _site(folder) as http:
        made = await http.post("/chat/create", data={"description": description}, headers=HX)
    assert "written by stub-model" in made.text
    assert "sk-test" not in made.text
    assert (folder / "send_slack_summary_open_tickets.py").read_text() == module
    assert len(state.requests) == 1
