"""Definition-time and send-time validation: clear errors naming the field (no server)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pydantic
import pytest

from adapter import (
    ConfigError,
    EventValidationError,
    Inngest,
    TriggerCron,
    TriggerEvent,
)
from adapter._define.cron import parse_cron
from adapter._define.durations import parse_duration


async def noop(ctx: Any) -> None:
    return None


@pytest.fixture
def app() -> Inngest:
    return Inngest(app_id="defs")


def test_three_call_styles_build_the_same_config(app: Inngest) -> None:
    seed = app.create_function({"id": "a"}, {"cron": "0 * * * *"}, noop)
    py = app.create_function(fn_id="b", trigger=TriggerCron(cron="0 * * * *"))(noop)
    short = app.create_function(id="c", cron="0 * * * *")(noop)
    assert seed.triggers == py.triggers == short.triggers == (TriggerCron(cron="0 * * * *"),)
    ev = app.create_function({"id": "d"}, {"event": "user/created"}, noop)
    assert ev.triggers == (TriggerEvent(event="user/created"),)
    assert [f.id for f in app.functions] == ["a", "b", "c", "d"]
    assert seed.config.retries == 4


@pytest.mark.parametrize(
    "cron",
    ["* * * * *", "*/15 * * * *", "0 * * * *", "0 9 * * *", "0 9 * * 1", "0 0 1 * *"],
)
def test_every_seed_cron_is_accepted(app: Inngest, cron: str) -> None:
    fn = app.create_function({"id": "seed"}, {"cron": cron}, noop)
    assert fn.config.cron_triggers[0].spec.timezone == "UTC"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"cron": "0 0 9 * * 1-5"},
            "create_function(id='f'): trigger: cron: '0 0 9 * * 1-5' has 6 fields",
        ),
        ({"cron": "61 * * * *"}, "is not a valid cron expression"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"cron": "TZ=Nowhere/City 0 9 * * *"}, "unknown time zone 'Nowhere/City'"),
        ({"event": ""}, "trigger: event:"),
        ({}, "a trigger is required"),
        ({"event": "x", "retries": 21}, "retries: Input should be less than or equal to 20"),
        ({"event": "x", "retries": -1}, "retries: Input should be greater than or equal to 0"),
        ({"event": "x", "concurrency_typo": 3}, "concurrency_typo: is not a known option"),
        ({"event": "x", "backoff": {"initial": "soon"}}, "backoff: initial:"),
        ({"timezone": "UTC", "event": "x"}, "timezone is given but there is no cron trigger"),
    ],
)
def test_bad_config_names_function_and_field(
    app: Inngest, kwargs: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        app.create_function(id="f", **kwargs)(noop)
    assert expected in str(info.value)
    assert "create_function(id='f')" in str(info.value)


def test_bad_id_and_duplicate_id(app: Inngest) -> None:
    with pytest.raises(ConfigError, match="is not a valid function id"):
        app.create_function(id="has space", event="x")(noop)
    with pytest.raises(ConfigError, match="'id' is required"):
        app.create_function({"name": "no id"}, {"event": "x"}, noop)
    app.create_function(id="dup", event="x")(noop)
    with pytest.raises(ConfigError, match="already has a function with this id"):
        app.create_function(id="dup", event="y")(noop)


def test_bad_trigger_shapes(app: Inngest) -> None:
    with pytest.raises(ConfigError, match="not a bare string"):
        app.create_function({"id": "s"}, "user/created", noop)
    with pytest.raises(ConfigError, match="either 'cron' or 'event'"):
        app.create_function({"id": "s"}, {"cron": "* * * * *", "event": "x"}, noop)
    with pytest.raises(ConfigError, match="needs 'event'"):
        app.create_function({"id": "s"}, {"evnt": "x"}, noop)
    with pytest.raises(ConfigError, match="handler must be a function"):
        app.create_function({"id": "s"}, {"event": "x"}, "not callable")  # type: ignore[call-overload]


def test_cron_prefix_and_option_conflict() -> None:
    with pytest.raises(ValueError, match="give the zone once"):
        parse_cron("TZ=Europe/Paris 0 9 * * *", "America/New_York")
    spec = parse_cron("CRON_TZ=Europe/Paris 0 9 * * 1-5")
    assert spec.timezone == "Europe/Paris"
    assert spec.fields == "0 9 * * 1-5"
    assert parse_cron("@daily").fields == "0 0 * * *"
    assert parse_cron("0 9 1 * 1").expressions == ["0 9 1 * *", "0 9 * * 1"]
    assert "09:00" in parse_cron("0 9 * * 1-5").describe()


def test_cron_next_times_follow_daylight_saving() -> None:
    from datetime import datetime

    spec = parse_cron("TZ=America/New_York 0 9 * * *")
    july = spec.next_times(1, datetime(2026, 7, 1, tzinfo=UTC))[0]
    january = spec.next_times(1, datetime(2027, 1, 10, tzinfo=UTC))[0]
    assert july.astimezone(UTC).hour == 13
    assert january.astimezone(UTC).hour == 14


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ({"data": {}}, "name is required"),
        ({"name": ""}, "name String should have at least 1 character"),
        ({"name": "   "}, "name Value error, must not be blank"),
        ({"name": "x" * 513}, "name String should have at most 512 characters"),
        ({"name": "a", "data": [1]}, "data must be a JSON object"),
        ({"name": "a", "data": {"when": object()}}, "data is not JSON-serializable"),
        ({"name": "a", "ts": 5}, "ts 5 is not between 1980 and 2100"),
        ({"name": "inngest/function.failed"}, "reserved prefix"),
        ({"name": "a", "colour": "red"}, "colour is not an event field"),
        ([{"name": "ok"}, {"data": {}}], "event[1].name is required"),
        ("user/created", "takes an event dict or a list"),
    ],
)
async def test_bad_events_are_refused_before_anything_is_sent(events: Any, expected: str) -> None:
    app = Inngest(app_id="events")  # no Temporal: validation happens first
    with pytest.raises(EventValidationError) as info:
        await app.send(events)
    assert expected in str(info.value)


async def test_oversized_event_is_refused_with_the_limit(app: Inngest) -> None:
    small = Inngest(app_id="small", payload_limit=1000)
    assert small.event_limit == 500  # a small limit: half is left for the run's options
    with pytest.raises(EventValidationError, match="over the 500 bytes an event may have"):
        await small.send({"name": "big", "data": {"blob": "x" * 600}})


async def test_an_event_that_fits_the_payload_but_not_a_run_input_is_refused_at_send() -> None:
    # The run's input carries the event and the function's options in one payload: an
    # event just under the payload limit would be refused by Temporal at the run's start.
    app = Inngest(app_id="edge")
    assert app.event_limit == app.payload_limit - 64 * 1024
    with pytest.raises(EventValidationError) as info:
        await app.send({"name": "big", "data": {"blob": "x" * (app.payload_limit - 200)}})
    message = str(info.value)
    assert "event ('big') is 2,097,0" in message
    assert f"over the {app.event_limit:,} bytes an event may have" in message
    assert f"payload limit of {app.payload_limit:,}" in message
    assert "send a reference to large data instead" in message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("2 hours", 7200),
        (1500, 1.5),
    ],
)
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_bad_duration_names_the_forms() -> None:
    with pytest.raises(ValueError, match=r'write e\.g\. "30s"'):
        parse_duration("soon")


def test_type_adapter_and_output_type_together_are_refused_at_definition() -> None:
    app = Inngest(app_id="typed")
    with pytest.raises(ConfigError, match="give output_type= or type_adapter=, not both"):
        app.create_function(
            fn_id="both",
            event="t/both",
            output_type=int,
            type_adapter=pydantic.TypeAdapter(int),
        )(lambda ctx: 1)
    with pytest.raises(ConfigError, match="type_adapter= must be a pydantic TypeAdapter"):
        app.create_function(fn_id="bad", event="t/bad", type_adapter=object())(lambda ctx: 1)
