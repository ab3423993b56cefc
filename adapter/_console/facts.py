"""A registered function in words, for the Functions page: triggers and flow control.

Reads the registration's wire form (:meth:`adapter._define.routes.Route.to_wire`),
which is what senders route by, and the cron schedules as ``adapter schedules``
shows them (:func:`adapter._observe.schedules.schedule_info`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from adapter._define.cron import parse_cron
from adapter._observe.words import human_duration, human_time

__all__ = ["FunctionFacts", "flow_control", "function_facts"]


@dataclass
class FunctionFacts:
    """One function of a registered app, as the Functions page shows it."""

    app_id: str
    function_id: str
    events: list[dict[str, Any]]  # {"event", "if"}
    crons: list[dict[str, Any]]  # schedule infos (cron, description, next_utc, next_local...)
    flow: list[str]
    paused: bool
    pause_note: str | None = None
    module: str | None = None  # the module's file in the functions folder, when known
    version: dict[str, Any] | None = field(default=None)

    @property
    def key(self) -> str:
        """``<app>:<function>``, unique in the namespace (an HTML id too, once slugged)."""
        return f"{self.app_id}:{self.function_id}"

    @property
    def slug(self) -> str:
        """An id attribute for the function's card."""
        return "fn-" + "".join(c if c.isalnum() else "-" for c in self.key)

    @property
    def first_event(self) -> str | None:
        """The event "invoke now" sends (the first event trigger)."""
        return str(self.events[0]["event"]) if self.events else None


def _per(limit: Any, period: Any) -> str:
    return f"{limit} per {human_duration(float(period)) if period is not None else '?'}"


def _key(expression: Any) -> str:
    return f" per key {expression}" if expression else ""


def flow_control(wire: dict[str, Any]) -> list[str]:
    """The function's flow-control and run options in words, one item each."""
    out: list[str] = []
    opts = wire.get("run_opts") or {}
    # One key per admission option present, in the order rate limit, throttle, debounce, batch.
    keys = iter(list(wire.get("gate_keys") or []))
    gate = wire.get("gate") or {}
    for c in opts.get("concurrency") or []:
        scope = f", scope {c['scope']}" if c.get("scope") not in (None, "fn") else ""
        out.append(f"concurrency {c.get('limit')}{_key(c.get('key'))}{scope}")
    if gate.get("rate_limit"):
        r = gate["rate_limit"]
        out.append(f"rate limit {_per(r.get('limit'), r.get('period'))}{_key(next(keys, None))}")
    if gate.get("throttle"):
        t = gate["throttle"]
        burst = f", burst {t['burst']}" if t.get("burst") else ""
        key = next(keys, None)
        out.append(f"throttle {_per(t.get('limit'), t.get('period'))}{burst}{_key(key)}")
    if gate.get("debounce"):
        d = gate["debounce"]
        timeout = f", at most {human_duration(float(d['timeout']))}" if d.get("timeout") else ""
        key = next(keys, None)
        out.append(f"debounce {human_duration(float(d.get('period') or 0))}{timeout}{_key(key)}")
    if gate.get("batch"):
        b = gate["batch"]
        cond = f" if {b['if']}" if b.get("if") else ""
        timeout = human_duration(float(b.get("timeout") or 0))
        key = next(keys, None)
        out.append(f"batch up to {b.get('max_size')} events or {timeout}{cond}{_key(key)}")
    if opts.get("priority"):
        out.append(f"priority {opts['priority']}")
    singleton = wire.get("singleton")
    if singleton:
        out.append(f"singleton ({singleton.get('mode')}){_key(singleton.get('key'))}")
    if wire.get("idempotency"):
        out.append(f"idempotency key {wire['idempotency']}")
    for c in opts.get("cancel") or []:
        cond = f" if {c['if']}" if c.get("if") else ""
        within = f" within {human_duration(float(c['timeout']))}" if c.get("timeout") else ""
        out.append(f"cancelled by {c.get('event')}{cond}{within}")
    timeouts = opts.get("timeouts") or {}
    if timeouts.get("start"):
        out.append(f"must start within {human_duration(float(timeouts['start']))}")
    if timeouts.get("finish"):
        out.append(f"must finish within {human_duration(float(timeouts['finish']))}")
    if opts.get("retries") is not None:
        out.append(f"retries {opts['retries']} per step")
    return out


UPCOMING = 3


def upcoming(cron: dict[str, Any]) -> list[tuple[str, str]]:
    """The next fire times of a schedule's cron as (UTC, in its zone), as ``adapter functions``.

    Computed from the cron text (:meth:`CronSpec.next_times`), so a paused schedule,
    for which Temporal lists no next action, still shows when it would run.
    """
    try:
        spec = parse_cron(str(cron.get("cron")), cron.get("timezone") or None)
    except (ValueError, TypeError):
        return []
    return [
        (human_time(when, UTC), human_time(when, when.tzinfo or UTC))
        for when in spec.next_times(UPCOMING)
    ]


def function_facts(
    registrations: list[dict[str, Any]],
    pauses: list[dict[str, Any]],
    schedules: list[dict[str, Any]],
    modules: dict[tuple[str, str], str] | None = None,
) -> list[FunctionFacts]:
    """Every function of every registration, with its crons and whether it is paused."""
    paused = {(str(p.get("app_id")), str(p.get("function_id"))): p for p in pauses}
    crons: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in schedules:
        key = (str(s.get("app_id")), str(s.get("function_id")))
        crons.setdefault(key, []).append({**s, "upcoming": upcoming(s)})
    out: list[FunctionFacts] = []
    for reg in sorted(registrations, key=lambda r: str(r.get("app_id"))):
        app_id = str(reg.get("app_id"))
        for wire in sorted(reg.get("functions", []), key=lambda f: str(f.get("id"))):
            fid = str(wire.get("id"))
            pause = paused.get((app_id, fid))
            out.append(
                FunctionFacts(
                    app_id=app_id,
                    function_id=fid,
                    events=[
                        {"event": t.get("event"), "if": t.get("if")}
                        for t in wire.get("triggers", [])
                    ],
                    crons=crons.get((app_id, fid), []),
                    flow=flow_control(wire),
                    paused=pause is not None,
                    pause_note=(pause or {}).get("note") or None,
                    module=(modules or {}).get((app_id, fid)),
                    version=reg.get("version"),
                )
            )
    return out
