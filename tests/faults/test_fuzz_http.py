"""Fuzzing the Event API in-process: whatever a client sends, no 5xx and the Inngest shape.

Hypothesis generates request bodies (event objects, arrays of them, any JSON value,
wrong types for name/data/ts/id, unknown fields, nested junk, strings around the size
limits, random bytes, invalid UTF-8, NaN) plus a random event key and a random
``x-inngest-event-id-seed`` header, and posts them through ``httpx.ASGITransport`` to
``create_app([...], event_keys=..., dev=False)`` whose app sends to the test session's
real Temporal. With Temporal up, every answer must be a 200, 400, 401 or 413 whose JSON
body is ``{"ids": [...], "status": N[, "error": "..."]}`` with ``N`` the HTTP status,
and the app must never raise (the transport re-raises application errors).

Inputs that made the server fail when this file was first written (deep nesting, lone
surrogates, ids too long for Temporal, "/" in the key) have their own tests at the end;
the generators keep clear of them (nesting at most 100 deep, event ids of at most 200 characters, names of at most
600 UTF-8 bytes, no lone surrogate escapes, no "/" in the key) so that the property
covers everything else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from temporalio.testing import WorkflowEnvironment

from adapter import Inngest
from adapter._http.app import create_app
from adapter._http.wire import SEED_HEADER
from tests.helpers import make_app

# Hypothesis' caches go to a temporary folder, not .hypothesis/ in the work tree.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "adapter-hypothesis")
)

KEY = "fuzz-key"
KNOWN = "fuzz/known"
MAX_BODY = 256 * 1024
MAX_EVENT = 32 * 1024
# Every status the fuzzing reached, for the coverage check after it.
SEEN: Counter[int] = Counter()

# --- strategies ---------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def nested(draw: st.DrawFn) -> Any:
    """Objects and arrays nested up to 100 deep."""
    value: Any = draw(_scalars)
    for _ in range(draw(st.integers(1, 100))):
        value = {"k": value} if draw(st.booleans()) else [value]
    return value


@st.composite
def big_string(draw: st.DrawFn) -> str:
    """Around the per-event limit (MAX_EVENT) and the body limit (MAX_BODY)."""
    size = draw(st.sampled_from([MAX_EVENT - 512, MAX_EVENT + 1, MAX_BODY + 1]))
    return draw(st.sampled_from("xé€😀")) * (size // 4)


names = (
    st.sampled_from([KNOWN, KNOWN, "fuzz/other", "", "  ", "inngest/function.failed"])
    | st.sampled_from(["n" * 512, "n" * 513, "é" * 300])
    | st.text(max_size=40)
    | json_values
)
data = (
    st.dictionaries(st.text(max_size=10), json_values, max_size=5)
    | st.fixed_dictionaries({"blob": big_string()})
    | st.fixed_dictionaries({"deep": nested()})
    | st.fixed_dictionaries({"_inngest": json_values, "x": json_values})
    | json_values
)
timestamps = (
    st.integers(315532800000, 4102444800000 - 1)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=15)
    | json_values
)
ids = st.just("") | st.text(min_size=1, max_size=200) | st.uuids().map(str) | json_values
events = st.tuples(
    st.fixed_dictionaries(
        {},
        optional={
            "name": names,
            "data": data,
            "ts": timestamps,
            "id": ids,
            "user": json_values,
            "v": json_values,
        },
    ),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
).map(lambda pair: {**pair[1], **pair[0]})
# Mostly well-formed events, so that many requests get as far as Temporal.
good_events = st.fixed_dictionaries(
    {"name": st.sampled_from([KNOWN, "fuzz/other"])},
    optional={"data": st.dictionaries(st.text(max_size=8), json_values, max_size=4)},
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def invalid_utf8(draw: st.DrawFn) -> bytes:
    body = _dumps(draw(good_events))
    at = draw(st.integers(0, len(body)))
    junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    return body[:at] + junk + body[at:]


big_events = st.fixed_dictionaries(
    {
        "name": st.sampled_from([KNOWN, "fuzz/other"]),
        "data": st.fixed_dictionaries({"blob": big_string()}),
    }
)
bodies = st.one_of(
    good_events.map(_dumps),
    big_events.map(_dumps),
    st.lists(good_events | big_events, min_size=1, max_size=3).map(_dumps),
    st.lists(good_events, max_size=10).map(_dumps),
    events.map(_dumps),
    st.lists(events | good_events, max_size=8).map(_dumps),
    json_values.map(_dumps),
    st.binary(max_size=200),
    invalid_utf8(),
    st.sampled_from(
        [
            b'{"name": "fuzz/known", "data": {"x": NaN}}',
            b'{"name": "fuzz/known", "ts": Infinity}',
            b'[{"name": "fuzz/known"},',
            b"",
            b"   ",
            b"null",
        ]
    ),
)
# Mostly the right key; else anything that keeps the path one segment long ("/" has its
# own test below).
event_keys = (
    st.just(KEY)
    | st.just(KEY)
    | st.text(max_size=30).filter(lambda k: "/" not in k and k not in (".", ".."))
)
seeds = st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def api(temporal_env: WorkflowEnvironment) -> tuple[Inngest, Starlette]:
    app = make_app(temporal_env.client)

    @app.create_function(id="known", event=KNOWN)
    async def known(ctx: Any) -> None:  # never runs: no worker, the runs just start
        return None

    return (
        app,
        create_app(
            [app], event_keys={KEY, "other-key"}, max_body_bytes=MAX_BODY, max_event_bytes=MAX_EVENT
        ),
    )


def _count(body: bytes) -> int | None:
    """How many events a 200 must return ids for, or None when the body is not JSON."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return 1 if isinstance(decoded, dict) else len(decoded) if isinstance(decoded, list) else None


def check_answer(resp: httpx.Response, body: bytes) -> None:
    """The Inngest answer shape, with the JSON status equal to the HTTP one."""
    assert resp.status_code in (200, 400, 401, 413), (resp.status_code, resp.text[:500])
    answer = resp.json()
    assert isinstance(answer, dict)
    assert answer["status"] == resp.status_code
    assert isinstance(answer["ids"], list)
    if resp.status_code == 200:
        assert set(answer) == {"ids", "status"}
        assert len(answer["ids"]) == _count(body)
        assert all(isinstance(i, str) and i for i in answer["ids"])
    else:
        assert set(answer) == {"ids", "status", "error"}
        assert answer["ids"] == []
        assert isinstance(answer["error"], str)
        assert answer["error"]


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,  # no .hypothesis/ folder in the work tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(body=bodies, key=event_keys, seed=seeds)
# Each kind of answer at least once, whatever the random draw.
@example(body=b'{"name": "fuzz/known", "data": {"n": 1}}', key=KEY, seed=None)
@example(body=b'[{"name": "fuzz/known"}, {"name": 5}]', key=KEY, seed="1,2")
@example(body=b'{"name": "fuzz/known"}', key="not-a-key", seed=None)
@example(
    body=b'{"name": "fuzz/known", "data": {"x": "' + b"y" * MAX_BODY + b'"}}', key=KEY, seed=None
)
async def test_any_request_gets_an_inngest_answer_and_never_a_5xx(
    api: tuple[Inngest, Starlette], body: bytes, key: str, seed: str | None
) -> None:
    _, asgi = api
    headers = {"content-type": "application/json"}
    if seed is not None:
        headers[SEED_HEADER] = seed
    transport = httpx.ASGITransport(app=asgi)  # raises whatever the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        resp = await http.post(f"/e/{quote(key, safe='')}", content=body, headers=headers)
    SEEN[resp.status_code] += 1
    check_answer(resp, body)
    if key not in (KEY, "other-key"):
        assert resp.status_code == 401


def test_fuzzing_reached_every_answer() -> None:
    """The generators are not all stopped early: each kind of answer came up."""
    if not SEEN:
        pytest.skip("the fuzz test did not run in this session")
    assert {200, 400, 401, 413} <= set(SEEN), SEEN


# --- inputs that once broke the server, now answered 400/401 ---------------------------------


async def _post(asgi: Starlette, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        return await http.post(f"/e/{KEY}", content=body)


@pytest.mark.parametrize("key", ["a/b", "/", "key/", "\n0"])
async def test_event_key_with_a_slash_gets_401(api: tuple[Inngest, Starlette], key: str) -> None:
    _, asgi = api
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        resp = await http.post(f"/e/{quote(key, safe='')}", json={"name": KNOWN})
    assert resp.status_code < 500
    check_answer(resp, b'{"name": "fuzz/known"}')
    assert resp.status_code == 401


async def test_deeply_nested_json_gets_400(api: tuple[Inngest, Starlette]) -> None:
    _, asgi = api
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"name": "a/b", "data": ' + b'{"x":' * 5_000 + b"1" + b"}" * 5_001,
    ):
        resp = await _post(asgi, body)
        check_answer(resp, body)
        assert resp.status_code == 400


async def test_lone_surrogate_in_event_id_gets_400(api: tuple[Inngest, Starlette]) -> None:
    _, asgi = api
    body = b'{"name": "fuzz/known", "id": "\\ud800"}'
    resp = await _post(asgi, body)
    check_answer(resp, body)
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "event",
    [{"name": KNOWN, "id": "i" * 1_000}, {"name": "\U0001f600" * 512}],
    ids=["long-id", "multibyte-name"],
)
async def test_event_whose_workflow_id_is_too_long_gets_400(
    api: tuple[Inngest, Starlette], event: dict[str, Any]
) -> None:
    _, asgi = api
    body = json.dumps(event).encode()
    resp = await _post(asgi, body)
    check_answer(resp, body)
    assert resp.status_code == 400
