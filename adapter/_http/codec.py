"""A codec server: the HTTP endpoints the Temporal Web UI (and ``temporal`` CLI) call to decode.

Payloads encrypted by a payload codec (:class:`adapter.encryption.EncryptionCodec`, or any
``temporalio.converter.PayloadCodec``) show as ciphertext in the UI. Point the UI's
"Codec Server" setting (or ``temporal server start-dev --ui-codec-endpoint``) at this
server and it decodes them in the browser's requests, with the keys of this process:

* ``POST /decode`` and ``POST /encode``: body and answer ``{"payloads": [...]}``, each
  payload in protobuf JSON (``metadata`` values and ``data`` base64), as Temporal's
  codec server protocol has it;
* CORS for the UI's origins only (``--ui-origin``), with the headers the UI sends
  (``Content-Type``, ``X-Namespace``, ``Authorization``) and credentials.

Anyone who can reach it can decrypt: bind it to localhost (the default) or behind your
own authentication.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

DEFAULT_CODEC_PORT = 8888
DEFAULT_UI_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
"""The dev server's Web UI (``make dev``)."""


def _payloads(body: Any) -> Payloads:
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        raise ValueError('the body must be {"payloads": [...]}')
    return json_format.ParseDict(body, Payloads())


def codec_app(codec: PayloadCodec, *, ui_origins: Sequence[str] = DEFAULT_UI_ORIGINS) -> Starlette:
    """The codec server's ASGI app: ``/encode`` and ``/decode`` through ``codec``."""

    async def run(request: Request, encode: bool) -> Response:
        try:
            payloads = _payloads(json.loads(await request.body()))
        except (ValueError, json_format.ParseError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        items = list(payloads.payloads)
        try:
            out = await (codec.encode(items) if encode else codec.decode(items))
        except Exception as exc:  # e.g. a key this process does not hold
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=422)
        return JSONResponse(json_format.MessageToDict(Payloads(payloads=out)))

    async def encode(request: Request) -> Response:
        return await run(request, True)

    async def decode(request: Request) -> Response:
        return await run(request, False)

    return Starlette(
        routes=[
            Route("/encode", encode, methods=["POST"]),
            Route("/decode", decode, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=list(ui_origins),
                allow_methods=["POST"],
                allow_headers=["content-type", "x-namespace", "authorization"],
                allow_credentials=True,
            )
        ],
    )
