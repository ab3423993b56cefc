"""What an app's workers serve, as senders route by it: registrations and routes.

A worker publishes one registration per app into Temporal when it starts
(:mod:`adapter._temporal.registry`); any sender reads them back and routes each
event to every function of the namespace whose trigger matches, with the options
the *deployed* function has. This module is the pure part: building a
registration from an app's functions, and matching events against it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapter._define.expressions import matches
from adapter._define.function import App, Function
from adapter._define.waited_names import waited_event_names
from adapter._protocol_ids import HUB_SHARDS

REGISTRATION_VERSION = 1  # the shape of a registration; bump on incompatible changes


@dataclass(frozen=True)
class Route:
    """One deployed function, as a sender needs it to start its runs."""

    app_id: str
    task_queue: str
    function_id: str
    triggers: tuple[tuple[str, str | None], ...]  # (event name, if expression)
    run_opts: dict[str, Any]
    gate: dict[str, Any] | None
    gate_keys: tuple[str | None, ...]
    singleton: dict[str, Any] | None
    idempotency: str | None

    def matches(self, name: str, event: dict[str, Any]) -> bool:
        """Whether an event of ``name`` (with this data) triggers the function."""
        return any(
            trigger == name and matches(expression, event=event)
            for trigger, expression in self.triggers
        )

    def listens_to(self, name: str) -> bool:
        """Whether the function has an event trigger on ``name`` (whatever its ``if``)."""
        return any(trigger == name for trigger, _ in self.triggers)

    def to_wire(self) -> dict[str, Any]:
        """The JSON form stored in a registration."""
        return {
            "id": self.function_id,
            "triggers": [{"event": e, "if": x} for e, x in self.triggers],
            "run_opts": self.run_opts,
            "gate": self.gate,
            "gate_keys": list(self.gate_keys),
            "singleton": self.singleton,
            "idempotency": self.idempotency,
        }

    @classmethod
    def from_wire(cls, app_id: str, task_queue: str, wire: dict[str, Any]) -> Route:
        """Read one function of a registration."""
        return cls(
            app_id=app_id,
            task_queue=task_queue,
            function_id=wire["id"],
            triggers=tuple((t["event"], t.get("if")) for t in wire.get("triggers", [])),
            run_opts=wire["run_opts"],
            gate=wire.get("gate"),
            gate_keys=tuple(wire.get("gate_keys", [])),
            singleton=wire.get("singleton"),
            idempotency=wire.get("idempotency"),
        )


def route_of(fn: Function) -> Route:
    """The route of one function, from its config (search attributes decided by the sender)."""
    singleton = fn.config.singleton
    return Route(
        app_id=fn.app_id,
        task_queue=fn.client.task_queue,
        function_id=fn.id,
        triggers=tuple((t.event, t.expression) for t in fn.config.event_triggers),
        run_opts=fn.run_options(False),
        gate=fn.gate_options(),
        gate_keys=tuple(fn.gate_keys()),
        singleton=None if singleton is None else {"key": singleton.key, "mode": singleton.mode},
        idempotency=fn.config.idempotency,
    )


def waited_names(functions: Iterable[Function]) -> list[str] | None:
    """Event names the functions wait or cancel on; None when any name may be waited on."""
    names: set[str] = set()
    for fn in functions:
        names.update(c.event for c in fn.config.cancel)
        waits = waited_event_names(fn.handler)
        if waits is None:
            return None
        names |= waits
    return sorted(names)


def registration(app: App) -> dict[str, Any]:
    """What an app's workers serve: its functions' routes and the names it waits on."""
    functions = list(app.functions)
    body: dict[str, Any] = {
        "v": REGISTRATION_VERSION,
        "app_id": app.app_id,
        "task_queue": app.task_queue,
        "functions": [route_of(fn).to_wire() for fn in functions],
        "waits": waited_names(functions),
    }
    body["digest"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return body


@dataclass(frozen=True)
class RouteTable:
    """Every registration of the namespace, as one sender's routing table."""

    apps: tuple[str, ...]
    routes: tuple[Route, ...]
    waited: frozenset[str]  # names some app's runs wait or cancel on
    waits_any: bool  # some app may wait on any name (a non-literal wait_for_event)
    paused: frozenset[tuple[str, str]] = frozenset()  # (app id, function id) of paused ones
    shard_counts: tuple[tuple[str, int], ...] = ()  # hub shards each app publishes

    @property
    def hub_shards(self) -> list[int]:
        """The distinct hub shard counts published, ascending (the default when none is)."""
        return sorted({n for _, n in self.shard_counts}) or [HUB_SHARDS]

    @classmethod
    def of(
        cls,
        registrations: Sequence[dict[str, Any]],
        *,
        paused: Sequence[dict[str, Any]] = (),
    ) -> RouteTable:
        """Build the table from registrations and pauses (memo values)."""
        apps: list[str] = []
        routes: list[Route] = []
        waited: set[str] = set()
        waits_any = False
        counts: dict[str, int] = {}
        for reg in registrations:
            if reg.get("v") != REGISTRATION_VERSION:
                continue
            app_id, queue = reg["app_id"], reg["task_queue"]
            apps.append(app_id)
            shards = reg.get("hub_shards", HUB_SHARDS)  # absent: a worker before the setting
            counts[app_id] = shards if isinstance(shards, int) and shards >= 1 else HUB_SHARDS
            routes.extend(Route.from_wire(app_id, queue, f) for f in reg["functions"])
            waits = reg.get("waits")
            if waits is None:
                waits_any = True
            else:
                waited.update(waits)
        held = frozenset((str(p.get("app_id")), str(p.get("function_id"))) for p in paused)
        return cls(
            tuple(sorted(apps)),
            tuple(routes),
            frozenset(waited),
            waits_any,
            held,
            tuple(sorted(counts.items())),
        )

    @property
    def empty(self) -> bool:
        """True before any app has registered."""
        return not self.apps

    def for_event(self, name: str, event: dict[str, Any]) -> list[Route]:
        """The functions an event triggers."""
        return [r for r in self.routes if r.matches(name, event)]

    def is_paused(self, route: Route) -> bool:
        """Whether ``adapter pause`` holds this function's events."""
        return (route.app_id, route.function_id) in self.paused

    def waited_on(self, name: str) -> bool:
        """Whether runs may wait or cancel on events of ``name`` (so its hub must see them)."""
        return self.waits_any or name in self.waited
