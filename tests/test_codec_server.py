"""``adapter codec-server``: the Temporal Web UI decodes EncryptionCodec payloads through it.

A run of an app with the encryption codec leaves ciphertext in its history; the codec
server (in-process app, and the ``adapter codec-server`` command) turns the history's
payloads back into the plaintext the function saw, for the UI's origin only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import signal
import uuid
from pathlib import Path

import httpx
import temporalio.converter
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client

import adapter as inngest
from adapter._http.codec import codec_app
from adapter._protocol import registry_id
from adapter.encryption import EncryptionCodec
from tests.helpers import make_app, read_until, running, spawn_adapter_async

KEY = secrets.token_hex(32)
UI = "http://localhost:8233"


async def _history_input(client: Client) -> dict[str, object]:
    """The encrypted input payload of a run made with the codec (what the UI receives)."""
    app = make_app(client, payload_codec=EncryptionCodec(KEY))
    name = f"codec-{uuid.uuid4().hex[:8]}/secret"

    @app.create_function(fn_id="secret", trigger=inngest.TriggerEvent(event=name))
    async def secret(ctx: inngest.Context) -> str:
        return str(ctx.event.data["card"])

    try:
        async with running(client, app):
            [event_id] = await app.send(inngest.Event(name=name, data={"card": "SECRET-4242"}))
            encrypted = await app.temporal()
            handle = encrypted.get_workflow_handle(f"{app.app_id}:secret:{event_id}")
            assert await handle.result() == "SECRET-4242"
    finally:
        # An encrypted registration left Running would stop the routing of later tests'
        # senders, which have no key (as tests/test_encryption.py's cleanup says).
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(registry_id(app.app_id)).terminate("test cleanup")
    # A client without the codec, as the server and the UI hold the history.
    raw = client.get_workflow_handle(handle.id)
    first = (await raw.fetch_history()).events[0]
    payloads = first.workflow_execution_started_event_attributes.input
    assert b"SECRET-4242" not in payloads.SerializeToString()  # ciphertext in Temporal
    return json_format.MessageToDict(payloads)


async def test_the_codec_server_decodes_a_runs_encrypted_history_for_the_ui(
    client: Client,
) -> None:
    body = await _history_input(client)
    transport = httpx.ASGITransport(app=codec_app(EncryptionCodec(KEY), ui_origins=[UI]))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        decoded = await http.post(
            "/decode", json=body, headers={"Origin": UI, "X-Namespace": "default"}
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI
        [payload] = json_format.ParseDict(decoded.json(), Payloads()).payloads
        assert payload.metadata["encoding"] == b"json/plain"
        assert json.loads(payload.data)["events"][0]["data"] == {"card": "SECRET-4242"}

        encoded = await http.post("/encode", json=decoded.json())
        [sealed] = json_format.ParseDict(encoded.json(), Payloads()).payloads
        assert sealed.metadata["encoding"] == b"binary/encrypted"

        preflight = {
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }
        assert (await http.options("/decode", headers=preflight)).status_code == 200
        other = {**preflight, "Origin": "http://evil.example"}
        refused = await http.options("/decode", headers=other)
        assert "access-control-allow-origin" not in refused.headers
        wrong_key = codec_app(EncryptionCodec(secrets.token_hex(32)), ui_origins=[UI])
    transport = httpx.ASGITransport(app=wrong_key)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        assert (await http.post("/decode", json=body)).status_code == 422
        assert (await http.post("/decode", json={"nope": 1})).status_code == 400


async def test_adapter_codec_server_serves_the_plugin_codec(tmp_path: Path) -> None:
    missing = await spawn_adapter_async(
        "codec-server",
        "--port",
        "0",
        cwd=tmp_path,
        env={"ADAPTER_PLUGINS": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(missing.communicate(), 60)
    assert missing.returncode == 1, out
    assert b"no payload codec" in out

    plain = temporalio.converter.default().payload_converter.to_payload({"a": 1})
    [sealed] = await EncryptionCodec(KEY).encode([plain])
    body = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                "data": base64.b64encode(sealed.data).decode(),
            }
        ]
    }
    proc = await spawn_adapter_async(
        "codec-server",
        "--port",
        "0",
        "--ui-origin",
        UI,
        "--plugin",
        "adapter.encryption:EncryptionCodec",
        cwd=tmp_path,
        env={"ADAPTER_ENCRYPTION_KEY": KEY},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        seen: list[str] = []
        assert proc.stdout is not None
        await read_until(proc.stdout, "Codec server on", seen)
        url = re.search(r"http://[\d.]+:\d+", seen[-1])
        assert url, seen
        async with httpx.AsyncClient(base_url=url.group(0)) as http:
            decoded = await http.post("/decode", json=body, headers={"Origin": UI})
        [payload] = json_format.ParseDict(decoded.json(), Payloads()).payloads
        assert payload == plain
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
