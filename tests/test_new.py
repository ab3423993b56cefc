"""``adapter new``: a function module from a description, with an optional model body.

The model endpoint is a stub chat-completions server on 127.0.0.1; no network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from adapter import TriggerCron, TriggerEvent, discover
from adapter._authoring.check import check_module
from adapter._authoring.command import new_command
from adapter._authoring.errors import PhraseError
from adapter._authoring.model import extract_code
from adapter._authoring.plan import NewFunctionError, plan_function, split_actions
from adapter._authoring.skeleton import render_skeleton
from adapter._authoring.write import new_function
from adapter.cli.author import HANDLERS

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = str(Path(sys.executable).parent / "adapter")
RUFF = Path(sys.executable).parent / "ruff"
BERLIN = "Send a Slack summary of open tickets every weekday at 9 AM Berlin time"


def make_package(tmp_path: Path, name: str | None = None) -> Path:
    """A functions package with a client.py, under a unique name (so imports don't clash)."""
    pkg = tmp_path / (name or f"fns_{uuid.uuid4().hex[:10]}")
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "client.py").write_text(
        f'from adapter import Inngest\n\ninngest = Inngest(app_id="{pkg.name}")\n'
    )
    return pkg


def no_model_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ADAPTER_LLM_")}


# --- planning -----------------------------------------------------------------------


def test_plan_for_the_issue_example() -> None:
    plan = plan_function(BERLIN)
    assert plan.id == "send-slack-summary-open-tickets"
    assert plan.module == "send_slack_summary_open_tickets"
    assert plan.trigger_code == 'TriggerCron(cron="0 9 * * 1-5", timezone="Europe/Berlin")'
    assert plan.trigger.describe() == "At 09:00, Monday through Friday, Europe/Berlin"
    assert [s.id for s in plan.steps] == ["send-slack-summary-open-tickets"]


@pytest.mark.parametrize(
    ("description", "fid", "steps", "trigger"),
    [
        (
            "Create a workflow that syncs our Salesforce contacts every hour.",
            "sync-salesforce-contacts",
            ["sync-salesforce-contacts"],
            TriggerCron(cron="0 * * * *"),
        ),
        (
            "Set up a daily job that sends a Slack summary of open tickets at 9 AM.",
            "send-slack-summary-open-tickets",
            ["send-slack-summary-open-tickets"],
            TriggerCron(cron="0 9 * * *"),
        ),
        (
            "Add a workflow that sends a welcome email when a new user is added to the database.",
            "send-welcome-email",
            ["send-welcome-email"],
            TriggerEvent(event="user/created"),
        ),
        (
            "Every hour, fetch new orders from Shopify, upsert them into Postgres and then "
            "notify the team on Slack",
            "fetch-new-orders-shopify",
            ["fetch-new-orders-shopify", "upsert-postgres", "notify-team-slack"],
            TriggerCron(cron="0 * * * *"),
        ),
        (
            "When an invoice is created, charge the card, email the receipt and update the ledger",
            "charge-card",
            ["charge-card", "email-receipt", "update-ledger"],
            TriggerEvent(event="invoice/created"),
        ),
        (
            "Create a job that runs every hour and syncs contacts",
            "sync-contacts",
            ["sync-contacts"],
            TriggerCron(cron="0 * * * *"),
        ),
        ("every day at noon", "scheduled-job", ["do-work"], TriggerCron(cron="0 12 * * *")),
        ("when an order is paid", "on-order-paid", ["do-work"], TriggerEvent(event="order/paid")),
    ],
)
def test_plans(
    description: str, fid: str, steps: list[str], trigger: TriggerCron | TriggerEvent
) -> None:
    plan = plan_function(description)
    assert plan.id == fid
    assert [s.id for s in plan.steps] == steps
    assert plan.trigger.trigger == trigger


def test_split_actions_starts_a_step_at_each_known_verb() -> None:
    assert split_actions("Send a summary of bugs and tickets, then archive them") == [
        "Send a summary of bugs and tickets",
        "archive them",
    ]
    assert split_actions("syncs contacts") == ["sync contacts"]


def test_repeated_steps_get_unique_ids_and_names() -> None:
    plan = plan_function("Every hour, send the report and send the report")
    assert [s.id for s in plan.steps] == ["send-report", "send-report-2"]
    assert len({s.func for s in plan.steps}) == 2


def test_bad_id_and_unreadable_descriptions() -> None:
    with pytest.raises(NewFunctionError, match="is not a valid function id"):
        plan_function(BERLIN, "has space")
    with pytest.raises(NewFunctionError, match="Python cannot import"):
        plan_function(BERLIN, "9lives")
    with pytest.raises(PhraseError, match="no schedule"):
        plan_function("Send a Slack summary of open tickets")


# --- the generated module ---------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        BERLIN,
        "Add a workflow that sends a welcome email when a new user is added to the database.",
        "Every 15 minutes, fetch new orders from Shopify, upsert them into Postgres and notify "
        "the team on Slack",
    ],
)
def test_generated_module_imports_and_defines_exactly_one_function(
    tmp_path: Path, description: str
) -> None:
    pkg = make_package(tmp_path)
    lines: list[str] = []
    path = new_function(description, functions=pkg, env={}, out=lines.append)
    plan = plan_function(description)
    assert path == pkg / f"{plan.module}.py"
    source = path.read_text()
    assert f"from {pkg.name}.client import inngest" in source
    functions = discover(pkg)
    assert [fn.id for fn in functions] == [plan.id]
    assert functions[0].triggers == (plan.trigger.trigger,)
    assert functions[0].is_async
    for step in plan.steps:
        assert (
            f'ctx.step.run(\n        "{step.id}"' in source or f'ctx.step.run("{step.id}"' in source
        )


def test_default_folder_imports_from_functions_client() -> None:
    source = render_skeleton(plan_function(BERLIN))
    assert "from functions.client import inngest" in source
    assert "@inngest.create_function(" in source
    check_module(source, plan_function(BERLIN))  # the skeleton passes the model checks too


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed")
@pytest.mark.parametrize(
    "description",
    [
        BERLIN,
        "Add a workflow that sends a welcome email when a new user is added to the database.",
        "Create a job to fetch all the outstanding invoices from the accounting system and then "
        "email a long reminder to every customer whose invoice is overdue on the 1st of every "
        "month at 6am New York time",
    ],
)
def test_generated_module_is_ruff_clean(description: str) -> None:
    plan = plan_function(description)
    source = render_skeleton(plan)
    name = f"functions/{plan.module}.py"  # checked as if it sat in this repo's functions/
    for args in (["format", "--check", "--diff"], ["check"]):
        out = subprocess.run(
            [str(RUFF), *args, "--stdin-filename", name, "-"],
            input=source,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert out.returncode == 0, out.stdout + out.stderr


# --- the command ----------------------------------------------------------------------------


def _args(pkg: Path, description: str = BERLIN, **kwargs: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {"id": None, "force": False, "dry_run": False, "no_model": True}
    defaults.update(kwargs)
    return argparse.Namespace(
        command="new", description=description, functions=str(pkg), **defaults
    )


async def test_new_command_writes_prints_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert HANDLERS["new"] is new_command
    pkg = make_package(tmp_path)
    assert await new_command(_args(pkg)) == 0
    out = capsys.readouterr().out
    target = pkg / "send_slack_summary_open_tickets.py"
    assert f"Wrote {target}" in out
    assert "At 09:00, Monday through Friday, Europe/Berlin" in out
    assert target.read_text() in out  # the file is printed
    target.write_text(target.read_text() + "# my edits\n")
    with pytest.raises(NewFunctionError, match="already exists; pass --force"):
        await new_command(_args(pkg))
    assert target.read_text().endswith("# my edits\n")
    assert await new_command(_args(pkg, force=True)) == 0
    assert "# my edits" not in target.read_text()


async def test_dry_run_writes_nothing_and_id_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = make_package(tmp_path)
    await new_command(_args(pkg, dry_run=True))
    assert "Would write" in capsys.readouterr().out
    assert sorted(p.name for p in pkg.iterdir()) == ["__init__.py", "client.py"]
    await new_command(_args(pkg, id="ticket-digest"))
    source = (pkg / "ticket_digest.py").read_text()
    assert 'fn_id="ticket-digest"' in source


async def test_refuses_missing_folder_missing_client_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(NewFunctionError, match=r"not found; create it with a client\.py"):
        await new_command(_args(tmp_path / "nowhere"))
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(NewFunctionError, match=r"client\.py not found"):
        await new_command(_args(bare))
    pkg = make_package(tmp_path)
    (pkg / "digest.py").write_text(
        "from .client import inngest\n\n"
        '@inngest.create_function(id="send-slack-summary-open-tickets", event="x")\n'
        "async def digest(ctx):\n    return None\n"
    )
    with pytest.raises(NewFunctionError, match="is already defined in"):
        await new_command(_args(pkg))


def test_cli_subprocess_new_then_functions(tmp_path: Path) -> None:
    make_package(tmp_path, "functions")
    env = no_model_env()
    run = subprocess.run(
        [ADAPTER, "new", BERLIN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "At 09:00, Monday through Friday, Europe/Berlin" in run.stdout
    source = (tmp_path / "functions" / "send_slack_summary_open_tickets.py").read_text()
    assert "from functions.client import inngest" in source
    listed = subprocess.run(
        [ADAPTER, "functions", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["id"] == "send-slack-summary-open-tickets"
    assert row["triggers"][0]["timezone"] == "Europe/Berlin"
    again = subprocess.run(
        [ADAPTER, "new", BERLIN], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 1
    assert "already exists; pass --force" in again.stderr
    bad = subprocess.run(
        [ADAPTER, "new", "Send a report every blue moon"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert '"every blue moon" is not a schedule I know' in bad.stderr
    assert "Phrases that work" in bad.stderr


# --- the model -------------------------------------------------------------------------------


@dataclass
class Stub:
    """What the stub endpoint received and what it answers."""

    reply: str = ""
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def stub() -> Iterator[tuple[str, Stub]]:
    """A chat-completions endpoint on 127.0.0.1 (free port) in a thread."""
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                {
                    "path": self.path,
                    "body": json.loads(self.rfile.read(length)),
                    "auth": self.headers.get("Authorization"),
                }
            )
            message = {"role": "assistant", "content": state.reply}
            data = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


VALID = '''"""Post a summary of open tickets to Slack every weekday at 9 AM Berlin time."""

from __future__ import annotations

import os
from typing import Any

import httpx

from adapter import Context, TriggerCron
from PKG.client import inngest


def load_open_tickets() -> list[str]:
    """The open tickets' titles."""
    return ["#1 Checkout fails on Safari"]


def post_summary(titles: list[str]) -> bool:
    """Post to SLACK_WEBHOOK_URL; False when it is not set."""
    url = os.environ.get("SLACK_WEBHOOK_URL")
    if not url:
        return False
    httpx.post(url, json={"text": "\\n".join(titles)}, timeout=30).raise_for_status()
    return True


@inngest.create_function(
    fn_id="send-slack-summary-open-tickets",
    trigger=TriggerCron(cron="0 9 * * 1-5", timezone="Europe/Berlin"),
)
async def send_slack_summary_open_tickets(ctx: Context) -> Any:
    """Load, then post."""
    titles = await ctx.step.run("load-open-tickets", load_open_tickets)
    return await ctx.step.run("post-summary", post_summary, titles)
'''


def _model_env(base_url: str) -> dict[str, str]:
    return {
        "ADAPTER_LLM_BASE_URL": base_url,
        "ADAPTER_LLM_API_KEY": "sk-test",
        "ADAPTER_LLM_MODEL": "stub-model",
    }


def test_model_module_is_checked_and_written(tmp_path: Path, stub: tuple[str, Stub]) -> None:
    url, state = stub
    pkg = make_package(tmp_path)
    module = VALID.replace("PKG", pkg.name)
    state.reply = f"Here is the module:\n\n```python\n{module}```\n"
    lines: list[str] = []
    path = new_function(BERLIN, functions=pkg, env=_model_env(url), out=lines.append)
    assert path.read_text() == module
    assert "Body      written by stub-model" in lines
    (request,) = state.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "stub-model"
    assert body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "send-slack-summary-open-tickets" in body["messages"][1]["content"]
    assert 'timezone="Europe/Berlin"' in body["messages"][1]["content"]
    functions = discover(pkg)
    assert [fn.id for fn in functions] == ["send-slack-summary-open-tickets"]


SECOND_FUNCTION = """

@inngest.create_function(id="other", event="x/y")
async def other(ctx: Context) -> None:
    await ctx.step.run("noop", lambda: None)
"""


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: s + SECOND_FUNCTION, "it defines 2 functions through create_function"),
        (
            lambda s: s.replace('"post-summary"', '"load-open-tickets"'),
            "step id(s) 'load-open-tickets' are used more than once",
        ),
        (lambda s: s + "\ndef broken(:\n    pass\n", "it does not compile"),
        (
            lambda s: s.replace("await ctx.step.run", "ctx.step.run", 1) + "await x\n",
            "it does not compile",
        ),
        (
            lambda s: s.replace('cron="0 9 * * 1-5"', 'cron="61 9 * * 1-5"'),
            "'61 9 * * 1-5' is not a valid cron expression",
        ),
        (
            lambda s: s.replace('cron="0 9 * * 1-5"', 'cron="0 10 * * 1-5"'),
            "is not the one described",
        ),
        (lambda s: s.replace("Europe/Berlin", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda s: s.replace('fn_id="send-slack', 'fn_id="post-slack'), "its function id is"),
        (
            lambda s: s.replace('"load-open-tickets", ', "f'load-{1}', "),
            "needs a literal string id",
        ),
        (
            lambda s: re.sub(
                r"from \w+\.client import inngest",
                "from adapter import Inngest\n\ninngest = Inngest(app_id='x')",
                s,
            ),
            "does not import inngest",
        ),
    ],
)
def test_bad_model_modules_are_rejected_and_the_skeleton_written(
    tmp_path: Path, stub: tuple[str, Stub], mutate: Any, reason: str
) -> None:
    url, state = stub
    pkg = make_package(tmp_path)
    state.reply = mutate(VALID.replace("PKG", pkg.name))
    lines: list[str] = []
    path = new_function(BERLIN, functions=pkg, env=_model_env(url), out=lines.append)
    assert path.read_text() == render_skeleton(plan_function(BERLIN), pkg.name)
    (body,) = [line for line in lines if line.startswith("Body")]
    assert "skeleton (the model's module was not used:" in body
    assert reason in body
    assert [fn.id for fn in discover(pkg)] == ["send-slack-summary-open-tickets"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_endpoint_down_or_failing_gives_the_skeleton(
    tmp_path: Path, stub: tuple[str, Stub]
) -> None:
    pkg = make_package(tmp_path)
    lines: list[str] = []
    down = _model_env(f"http://127.0.0.1:{_closed_port()}/v1")
    path = new_function(BERLIN, functions=pkg, env=down, out=lines.append)
    assert path.read_text() == render_skeleton(plan_function(BERLIN), pkg.name)
    assert any("could not reach http://127.0.0.1:" in line for line in lines)

    url, state = stub
    state.status, state.reply = 500, "overloaded"
    lines.clear()
    new_function(BERLIN, functions=pkg, env=_model_env(url), force=True, out=lines.append)
    assert any("answered HTTP 500" in line for line in lines)

    lines.clear()
    no_model = {"ADAPTER_LLM_BASE_URL": url}
    new_function(BERLIN, functions=pkg, env=no_model, force=True, out=lines.append)
    assert any("ADAPTER_LLM_MODEL is not set" in line for line in lines)


async def test_cli_handler_uses_the_model_from_the_environment(
    tmp_path: Path,
    stub: tuple[str, Stub],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, state = stub
    pkg = make_package(tmp_path)
    state.reply = VALID.replace("PKG", pkg.name)  # no code fence: the whole reply is the module
    for key, value in _model_env(url).items():
        monkeypatch.setenv(key, value)
    await new_command(_args(pkg, no_model=False))
    assert "written by stub-model" in capsys.readouterr().out
    assert (pkg / "send_slack_summary_open_tickets.py").read_text() == state.reply
    await new_command(_args(pkg, no_model=True, force=True))  # --no-model: the skeleton
    assert len(state.requests) == 1
    assert "# TODO" in (pkg / "send_slack_summary_open_tickets.py").read_text()


def test_extract_code() -> None:
    assert extract_code("```py\nx = 1\n```") == "x = 1\n"
    assert extract_code("text\n```python\na = 1\n```\nmore ```python\nb = 2\n```") == "a = 1\n"
    assert extract_code("x = 1") == "x = 1\n"
