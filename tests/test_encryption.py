"""Encryption (adapter.encryption.EncryptionCodec) and Temporal options (codec, plugins, runtime).

Unit tests for the codec and the ``module:attr`` loading; end-to-end tests on the real dev
server: the history holds ciphertext only, the handler sees plaintext, waits with a
condition match through the (namespace-wide) hub, old plaintext and old-key payloads
still decode after turning encryption on and rotating the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import temporalio.converter
import temporalio.worker
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.plugin import SimplePlugin

from adapter import Backoff, ConfigError, Inngest
from adapter._observe.events import list_events
from adapter._protocol import registry_id
from adapter._temporal.connect import connect
from adapter._temporal.options import (
    PLUGINS_ENV,
    TemporalOptions,
    options_from_env,
    options_from_specs,
    prometheus_runtime,
    with_options,
)
from adapter.encryption import (
    ENCRYPTED_ENCODING,
    ENCRYPTION_KEY_ENV,
    ENCRYPTION_OLD_KEYS_ENV,
    DecryptionError,
    EncryptionCodec,
    key_id,
    parse_key,
)
from adapter.worker import WorkerSettings
from tests.helpers import (
    eventually,
    make_app,
    run_adapter_async,
    running,
    spawn_adapter,
    temporal_address,
    wait_registered,
)

K1, K2 = secrets.token_hex(32), secrets.token_hex(32)
PLAIN = temporalio.converter.default().payload_converter


def payload(value: Any) -> Payload:
    return PLAIN.to_payload(value)


# --- the codec ----------------------------------------------------------------------------


async def test_codec_round_trip_marks_payloads_and_hides_the_bytes() -> None:
    codec = EncryptionCodec(K1)
    [sealed] = await codec.encode([payload({"card": "4242-SECRET"})])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert sealed.metadata["encryption-key-id"] == key_id(bytes.fromhex(K1)).encode()
    assert b"SECRET" not in sealed.SerializeToString()
    [clear] = await codec.decode([sealed])
    assert PLAIN.from_payload(clear) == {"card": "4242-SECRET"}
    # a fresh nonce per payload
    [again] = await codec.encode([payload({"card": "4242-SECRET"})])
    assert again.data != sealed.data


async def test_codec_passes_unencrypted_payloads_through_on_decode() -> None:
    old = payload({"written": "before encryption"})
    [out] = await EncryptionCodec(K1).decode([old])
    assert out == old


async def test_rotation_decrypts_old_keys_and_encrypts_with_the_new_one() -> None:
    [by_k1] = await EncryptionCodec(K1).encode([payload(1)])
    rotated = EncryptionCodec(K2, old_keys=[K1])
    assert PLAIN.from_payload((await rotated.decode([by_k1]))[0]) == 1
    [by_k2] = await rotated.encode([payload(2)])
    assert by_k2.metadata["encryption-key-id"] == key_id(bytes.fromhex(K2)).encode()
    with pytest.raises(DecryptionError, match="neither ADAPTER_ENCRYPTION_KEY"):
        await EncryptionCodec(K1).decode([by_k2])


async def test_tampered_payload_does_not_authenticate() -> None:
    codec = EncryptionCodec(K1)
    [sealed] = await codec.encode([payload("x")])
    bad = Payload(
        metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    with pytest.raises(DecryptionError, match="does not authenticate"):
        await codec.decode([bad])
    # relabelling to another key the codec has fails too (the key id is associated data)
    relabelled = Payload(
        metadata={**sealed.metadata, "encryption-key-id": key_id(bytes.fromhex(K2)).encode()},
        data=sealed.data,
    )
    with pytest.raises(DecryptionError):
        await EncryptionCodec(K1, old_keys=[K2]).decode([relabelled])


async def test_decrypt_only_reads_but_writes_plain() -> None:
    [sealed] = await EncryptionCodec(K1).encode([payload("x")])
    codec = EncryptionCodec(old_keys=[K1], decrypt_only=True, environ={})
    [written] = await codec.encode([payload("y")])
    assert written.metadata["encoding"] != ENCRYPTED_ENCODING
    assert PLAIN.from_payload((await codec.decode([sealed]))[0]) == "x"


def test_keys_from_the_environment_hex_or_base64() -> None:
    import base64

    raw = secrets.token_bytes(32)
    env = {
        ENCRYPTION_KEY_ENV: base64.b64encode(raw).decode(),
        ENCRYPTION_OLD_KEYS_ENV: f"{K1}, {base64.urlsafe_b64encode(bytes.fromhex(K2)).decode()}",
    }
    codec = EncryptionCodec(environ=env)
    assert codec.key_id == key_id(raw)
    assert codec.key_ids == [key_id(raw), key_id(bytes.fromhex(K1)), key_id(bytes.fromhex(K2))]
    assert K1 not in repr(codec)
    assert codec == EncryptionCodec(environ=env)


def test_bad_or_missing_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="no key: set ADAPTER_ENCRYPTION_KEY"):
        EncryptionCodec(environ={})
    with pytest.raises(ConfigError, match="ADAPTER_ENCRYPTION_KEY is not a 32-byte key"):
        EncryptionCodec(environ={ENCRYPTION_KEY_ENV: "my passphrase"})
    with pytest.raises(ConfigError, match=r"ADAPTER_ENCRYPTION_OLD_KEYS\[0\]"):
        EncryptionCodec(K1, environ={ENCRYPTION_OLD_KEYS_ENV: "abcd"})
    with pytest.raises(ConfigError, match="32 bytes, not 5"):
        parse_key(b"short")


# --- options: module:attr, plugins, conflicts ------------------------------------------------


def test_plugin_specs_load_classes_instances_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENCRYPTION_KEY_ENV, K1)
    options = options_from_specs(["adapter.encryption:EncryptionCodec"])
    assert options.payload_codec == EncryptionCodec(K1)
    monkeypatch.setenv(
        PLUGINS_ENV, "adapter.encryption:EncryptionCodec, tests.test_encryption:PLUGINS"
    )
    env = options_from_env()
    assert env.payload_codec == EncryptionCodec(K1)
    assert env.plugins == (PLUGIN,)
    assert env.interceptors == (INTERCEPTOR,)
    with pytest.raises(ConfigError, match="module:attribute"):
        options_from_specs(["adapter.encryption"])
    with pytest.raises(ConfigError, match="has no Nope"):
        options_from_specs(["adapter.encryption:Nope"])
    with pytest.raises(ConfigError, match="is not a PayloadCodec"):
        options_from_specs(["adapter.encryption:ENCRYPTION_KEY_ENV"])


def test_two_different_codecs_are_refused() -> None:
    with pytest.raises(ConfigError, match="two different payload codecs"):
        TemporalOptions(EncryptionCodec(K1)).merged(TemporalOptions(EncryptionCodec(K2)))
    same = TemporalOptions(EncryptionCodec(K1)).merged(TemporalOptions(EncryptionCodec(K1)))
    assert same.payload_codec == EncryptionCodec(K1)


class CountingInterceptor(temporalio.worker.Interceptor):
    """A worker interceptor that counts the activities it sees (worker-only)."""

    def __init__(self) -> None:
        self.activities = 0

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        outer = self

        class Counting(temporalio.worker.ActivityInboundInterceptor):
            async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
                outer.activities += 1
                return await super().execute_activity(input)

        return Counting(next)


PLUGIN = SimplePlugin("test-plugin")
INTERCEPTOR = CountingInterceptor()
PLUGINS = [PLUGIN, INTERCEPTOR]


# --- end to end on the dev server ---------------------------------------------------------


@pytest.fixture
async def cleanup(client: Client) -> AsyncIterator[list[str]]:
    """Terminates what an encrypted test leaves running (registrations, hubs, runs) at the end.

    A later test's worker has no key: an encrypted registration would stop its routing.
    Yields a list the test appends app ids to.
    """
    since = datetime.now(UTC)
    apps: list[str] = []
    yield apps
    query = f"ExecutionStatus = 'Running' AND StartTime >= '{since.isoformat()}'"
    ids = {wf.id async for wf in client.list_workflows(query)}
    ids |= {registry_id(app_id) for app_id in apps}
    for wid in ids:
        with contextlib.suppress(Exception):  # closed meanwhile
            await client.get_workflow_handle(wid).terminate("test cleanup")


async def raw_history(client: Client, handle: WorkflowHandle[Any, Any]) -> bytes:
    history = await client.get_workflow_handle(handle.id).fetch_history()
    return b"".join(e.SerializeToString() for e in history.events)


async def waiting_on(enc: Client, handle: WorkflowHandle[Any, Any], step_id: str) -> bool:
    """Whether the run started the timer of ``step_id`` (summaries are encrypted too)."""
    history = await enc.get_workflow_handle(handle.id).fetch_history()
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED and e.user_metadata.HasField(
            "summary"
        ):
            [summary] = await enc.data_converter.decode([e.user_metadata.summary])
            if summary == step_id:
                return True
    return False


def payloads_in(message: Message) -> list[Payload]:
    """Every Payload inside a protobuf message."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for v in values:
            if isinstance(v, Message):
                found += payloads_in(v)
    return found


def key_ids_in(history: bytes, *keys: str) -> set[str]:
    return {k for k in keys if key_id(bytes.fromhex(k)).encode() in history}


async def test_encrypted_run_history_is_ciphertext_and_the_handler_sees_plaintext(
    client: Client, cleanup: list[str]
) -> None:
    name = f"enc-{uuid.uuid4().hex[:8]}"
    app = make_app(client, payload_codec=EncryptionCodec(K1))
    cleanup.append(app.app_id)
    seen: list[Any] = []

    @app.create_function(id="charge", event=f"{name}/order")
    async def charge(ctx: Any) -> Any:
        card = await ctx.step.run("read-card", lambda: ctx.event.data["card"] + "-STEP")
        paid = await ctx.step.wait_for_event(
            "wait-paid",
            event=f"{name}/paid",
            timeout="60s",
            if_exp="async.data.order == event.data.order",
        )
        seen.append((ctx.event.data, card, paid.data if paid else None))
        return {"card": card, "paid": paid.data if paid else None}

    enc = await app.temporal()
    assert enc.data_converter.payload_codec == EncryptionCodec(K1)
    async with running(client, app):
        await app.send(
            {"name": f"{name}/order", "id": "o1", "data": {"order": 1, "card": "SECRET-4242"}}
        )
        handle = enc.get_workflow_handle(f"{app.app_id}:charge:o1")
        await eventually(lambda: waiting_on(enc, handle, "wait-paid"), message="run waits")
        await app.send({"name": f"{name}/paid", "data": {"order": 2, "note": "SECRET-other"}})
        await app.send({"name": f"{name}/paid", "data": {"order": 1, "note": "SECRET-paid"}})
        result = await handle.result()
    assert result == {"card": "SECRET-4242-STEP", "paid": {"order": 1, "note": "SECRET-paid"}}
    assert seen[-1][0] == {"order": 1, "card": "SECRET-4242"}
    history = await raw_history(client, handle)
    # Every secret value holds "SECRET"; a shorter probe ("4242") also matches ids and
    # ciphertext by chance (CI saw it once in a run whose history had no plaintext).
    assert b"SECRET" not in history
    assert ENCRYPTED_ENCODING in history
    # every workflow this test started (hubs, event records, the registration) holds ciphertext
    query = f"TaskQueue = '{app.task_queue}' OR WorkflowId = '{registry_id(app.app_id)}'"
    others = [wf async for wf in client.list_workflows(query)]
    hubs = [
        wf async for wf in client.list_workflows(f"WorkflowId STARTS_WITH 'adapter:hub:{name}'")
    ]
    assert hubs, "the wait went through a hub"
    for wf in [*others, *hubs]:
        assert b"SECRET" not in await raw_history(client, client.get_workflow_handle(wf.id))
    # the registration's memo is encrypted, and still read by this app's sends (routing worked)
    desc = await client.get_workflow_handle(registry_id(app.app_id)).describe()
    raw_memo = b"".join(
        p.SerializeToString()
        for p in desc.raw_description.workflow_execution_info.memo.fields.values()
    )
    assert ENCRYPTED_ENCODING in raw_memo
    assert b"charge" not in raw_memo
    # the event listing reads events through the codec; search attributes stay readable
    events = await eventually(
        lambda: list_events(enc, name=f"{name}/order"), message="the event is listed"
    )
    assert events[0].data["card"] == "SECRET-4242"
    assert await client.count_workflows(f"TaskQueue = '{app.task_queue}'")


async def test_a_sender_without_the_codec_is_told_so(client: Client, cleanup: list[str]) -> None:
    app = make_app(client, payload_codec=EncryptionCodec(K1))
    cleanup.append(app.app_id)

    @app.create_function(id="noop", event="enc-noop/x")
    async def noop(ctx: Any) -> None:
        return None

    async with running(client, app):
        plain = make_app(client, registry_ttl=timedelta(0))
        await eventually(
            lambda: _refused(plain), timeout=15, message="a plain sender reads the registry"
        )


async def _refused(plain: Any) -> bool:
    try:
        await plain.send({"name": "enc-noop/x"})
    except ConfigError as exc:
        return "does not decode with this client's payload codec" in str(exc)
    return False


async def test_turning_encryption_on_and_rotating_the_key_keep_old_runs_running(
    client: Client, cleanup: list[str]
) -> None:
    """One run lives through three workers: plaintext, key 1, then key 2 with key 1 as old."""
    name = f"rot-{uuid.uuid4().hex[:8]}"
    app_id = f"test-rot-{uuid.uuid4().hex[:8]}"
    cleanup.append(app_id)

    def build(codec: EncryptionCodec | None) -> Inngest:
        app = Inngest(
            app_id=app_id,
            temporal_client=client,
            payload_codec=codec,
            backoff=Backoff(initial=timedelta(seconds=1), coefficient=1.0),
        )

        @app.create_function(id="long", event=f"{name}/start")
        async def long(ctx: Any) -> Any:
            first = await ctx.step.run("first", lambda: ctx.event.data["v"])
            a = await ctx.step.wait_for_event("wait-a", event=f"{name}/a", timeout="120s")
            second = await ctx.step.run("second", lambda: a.data["v"] if a else None)
            b = await ctx.step.wait_for_event("wait-b", event=f"{name}/b", timeout="120s")
            return [first, second, b.data["v"] if b else None]

        return app

    plain_app = build(None)
    handle = client.get_workflow_handle(f"{app_id}:long:r1")
    async with running(client, plain_app):
        await plain_app.send({"name": f"{name}/start", "id": "r1", "data": {"v": "plain"}})
        await eventually(lambda: waiting_on(client, handle, "wait-a"), message="waits for a")
    k1_app = build(EncryptionCodec(K1))
    k1 = await k1_app.temporal()
    async with running(client, k1_app):
        await k1_app.send({"name": f"{name}/a", "data": {"v": "k1"}})
        await eventually(lambda: waiting_on(k1, handle, "wait-b"), message="waits for b")
    assert key_ids_in(await raw_history(client, handle), K1, K2) == {K1}
    k2_app = build(EncryptionCodec(K2, old_keys=[K1]))
    k2 = await k2_app.temporal()
    async with running(client, k2_app):
        await k2_app.send({"name": f"{name}/b", "data": {"v": "k2"}})
        assert await k2.get_workflow_handle(handle.id).result() == ["plain", "k1", "k2"]
    assert key_ids_in(await raw_history(client, handle), K1, K2) == {K1, K2}
    # without the old key, what key 1 encrypted no longer decodes
    history = await client.get_workflow_handle(handle.id).fetch_history()
    by_k1 = [
        p
        for e in history.events
        for p in payloads_in(e)
        if p.metadata.get("encryption-key-id") == key_id(bytes.fromhex(K1)).encode()
    ]
    assert by_k1
    with pytest.raises(DecryptionError):
        await EncryptionCodec(K2).decode(by_k1)
    assert await EncryptionCodec(K2, old_keys=[K1]).decode(by_k1)


async def test_worker_settings_codec_and_worker_interceptors(
    client: Client, cleanup: list[str]
) -> None:
    app = make_app(client)
    cleanup.append(app.app_id)
    counter = CountingInterceptor()

    @app.create_function(id="step", event=f"ws-{app.app_id}/go")
    async def step(ctx: Any) -> Any:
        return await ctx.step.run("s", lambda: "SECRET-settings")

    settings = {"payload_codec": EncryptionCodec(K1), "interceptors": (counter,)}
    async with running(client, app, **settings):
        enc = with_options(client, WorkerSettings(**settings).temporal_options)  # type: ignore[arg-type]
        app.set_temporal_client(enc)
        await app.send({"name": f"ws-{app.app_id}/go", "id": "e1"})
        handle = enc.get_workflow_handle(f"{app.app_id}:step:e1")
        assert await handle.result() == "SECRET-settings"
    assert counter.activities >= 1
    assert b"SECRET" not in await raw_history(client, handle)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_prometheus_runtime_serves_worker_metrics(client: Client, cleanup: list[str]) -> None:
    port = _free_port()
    enc = await connect(
        temporal_address(client),
        client.namespace,
        TemporalOptions(runtime=prometheus_runtime(f"127.0.0.1:{port}")),
    )
    app = make_app(enc)
    cleanup.append(app.app_id)

    @app.create_function(id="m", event=f"m-{app.app_id}/go")
    async def metered(ctx: Any) -> Any:
        return await ctx.step.run("s", lambda: 1)

    async with running(enc, app):
        await app.send({"name": f"m-{app.app_id}/go", "id": "e1"})
        assert await enc.get_workflow_handle(f"{app.app_id}:m:e1").result() == 1

    async def scraped() -> bool:
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        return "temporal_" in text

    await eventually(scraped, message="Prometheus metrics served")


# --- the CLI: adapter worker --plugin ------------------------------------------------------

FUNCTIONS = """
import adapter as inngest

client = inngest.Inngest(app_id="{app_id}")


@client.create_function(fn_id="secret", trigger=inngest.TriggerEvent(event="{name}"))
def secret(ctx):
    return ctx.step.run("shout", lambda: ctx.event.data["word"].upper())
"""


async def test_worker_command_plugin_encrypts_what_the_worker_writes(
    client: Client, tmp_path: Path, cleanup: list[str]
) -> None:
    app_id, name = f"cli-enc-{uuid.uuid4().hex[:6]}", f"cli-enc/{uuid.uuid4().hex[:6]}"
    cleanup.append(app_id)
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "fns.py").write_text(FUNCTIONS.format(app_id=app_id, name=name))
    bad = await run_adapter_async(
        "worker", "--plugin", "nowhere:Codec", cwd=tmp_path, client=client
    )
    assert bad.returncode == 1
    assert "plugin 'nowhere:Codec': cannot import nowhere" in bad.stderr
    worker = spawn_adapter(
        "worker",
        "--plugin",
        "adapter.encryption:EncryptionCodec",
        cwd=tmp_path,
        client=client,
        env={ENCRYPTION_KEY_ENV: K1},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sender = Inngest(app_id=app_id, temporal_client=client, payload_codec=EncryptionCodec(K1))
        enc = await sender.temporal()
        await wait_registered(enc, app_id)
        await sender.send({"name": name, "id": "c1", "data": {"word": "secretword"}})
        handle = enc.get_workflow_handle(f"{app_id}:secret:c1")
        assert await asyncio.wait_for(handle.result(), 60) == "SECRETWORD"
        history = await raw_history(client, handle)
        assert b"secretword" not in history
        assert b"SECRETWORD" not in history
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr


async def test_a_gate_batches_encrypted_events(client: Client, cleanup: list[str]) -> None:
    """The gate workflow (batch, throttle, debounce) reads events through the codec too."""
    name = f"encb-{uuid.uuid4().hex[:8]}/item"
    app = make_app(client, payload_codec=EncryptionCodec(K1))
    cleanup.append(app.app_id)

    @app.create_function(id="batched", event=name, batch_events={"max_size": 3, "timeout": "30s"})
    async def batched(ctx: Any) -> Any:
        return sorted(e.data["secret"] for e in ctx.events)

    enc = await app.temporal()
    async with running(client, app):
        await app.send(
            [{"name": name, "id": f"b{i}", "data": {"secret": f"SECRET-{i}"}} for i in range(3)]
        )
        handle = enc.get_workflow_handle(f"{app.app_id}:batched:batch:b0")
        result = await eventually(lambda: handle.result(), message="the batch ran")
    assert result == ["SECRET-0", "SECRET-1", "SECRET-2"]
    gates = [
        wf
        async for wf in client.list_workflows(
            f"TaskQueue = '{app.task_queue}' AND WorkflowType != 'batched'"
        )
    ]
    assert gates, "the batch went through a gate"
    for wf in [*gates, await client.get_workflow_handle(handle.id).describe()]:
        assert b"SECRET" not in await raw_history(client, client.get_workflow_handle(wf.id))
