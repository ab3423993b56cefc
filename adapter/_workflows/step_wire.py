"""The compact form of a step activity's input and result (what history records per step).

Every step costs one ``ActivityTaskScheduled`` and one ``ActivityTaskCompleted`` event;
what the orchestrator adds to them beyond a plain activity is history it pays for on
every step. A run whose input says ``"wire": 2`` (every run a current sender starts:
``Function.run_options``), or that took the ``run-compact-steps`` patch (runs started
without the flag since that patch), gives its step activities:

* input ``[memo_len]`` or ``[memo_len, flags]`` (1: ``run_new``, 2: ``hint``): the
  target is the activity id (the step id), a handler call (local activity) has none;
* a retry policy without ``non_retryable_error_types`` (the activity marks those
  errors non-retryable itself); the summary stays the step id, for Temporal's UI;
* result keys of one letter: ``x`` the executed step's data, ``i`` its id when it is not
  the target (``run_new``), ``t`` its completion time (ms) when the plan holds a wait
  (a wait's window opens there), ``p`` the plan as ``[kind, id]`` or ``[kind, id,
  opts]``, ``d`` the handler's return value, ``f`` lookahead failed, ``c`` a cancel seen.

Histories recorded before either keep the long form; :func:`expand_outcome` reads both.
The flag in the input versions the change as a patch does, without the patch's marker and
search-attribute update at the run's start (~250 bytes and a millisecond per run), and an
older worker that gets such a run simply ignores the flag.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from adapter._protocol import StepTask

COMPACT_STEPS = "run-compact-steps"
WIRE = 2  # opts["wire"] of a run whose step activities are compact
_RUN_NEW, _HINT = 1, 2


def step_input(
    memo_len: int, target: str | None, run_new: bool, hint: bool, wire: Any = None
) -> Any:
    """The input of a step (``target``) or handler-call activity, compact in new runs.

    ``wire`` is the run's ``opts["wire"]``.
    """
    if wire != WIRE and not workflow.patched(COMPACT_STEPS):
        inp: StepTask = {"memo_len": memo_len}
        if target is not None:
            inp["target"] = target
            inp["run_new"] = run_new
        if hint:
            inp["hint"] = True
        return inp
    flags = (_RUN_NEW if run_new and target is not None else 0) | (_HINT if hint else 0)
    return [memo_len, flags] if flags else [memo_len]


def read_step_input(inp: Any, activity_id: str, is_local: bool) -> tuple[StepTask, bool]:
    """An activity's view of its input (either form), and whether it is the compact one."""
    if isinstance(inp, dict):
        return inp, False  # type: ignore[return-value]
    memo_len, flags = [*inp, 0][:2]
    task: StepTask = {"memo_len": int(memo_len)}
    if not is_local:
        task["target"] = activity_id
        task["run_new"] = bool(flags & _RUN_NEW)
    if flags & _HINT:
        task["hint"] = True
    return task, True


def compact_outcome(wire: dict[str, Any], target: str | None) -> dict[str, Any]:
    """The one-letter form of a handler call's report (see the module docstring)."""
    out: dict[str, Any] = {}
    plan = wire.get("plan") or []
    executed = wire.get("executed")
    if executed is not None:
        out["x"] = executed["data"]
        if executed["id"] != target:
            out["i"] = executed["id"]
        if not plan or any(p.get("kind") == "wait" for p in plan):
            out["t"] = executed["completed_ms"]
    if plan:
        out["p"] = [
            [p["kind"], p["id"], p["opts"]] if p.get("opts") else [p["kind"], p["id"]] for p in plan
        ]
    if wire.get("done"):
        out["d"] = wire.get("result")
    if wire.get("lookahead_failed"):
        out["f"] = 1
    if "cancelled" in wire:
        out["c"] = wire["cancelled"]
    return out


def expand_outcome(wire: Any, target: str | None) -> Any:
    """A report in the long form (``executed``, ``plan``, ...), from either form."""
    if not isinstance(wire, dict) or not wire.keys() & {"x", "p", "d", "f", "c"}:
        return wire
    out: dict[str, Any] = {}
    if "x" in wire:
        executed = {"id": wire.get("i", target), "data": wire["x"]}
        if "t" in wire:
            executed["completed_ms"] = wire["t"]
        out["executed"] = executed
    if "p" in wire:
        out["plan"] = [
            {"kind": p[0], "id": p[1], **({"opts": p[2]} if len(p) > 2 else {})} for p in wire["p"]
        ]
    if "d" in wire:
        out["done"], out["result"] = True, wire["d"]
    if "f" in wire:
        out["lookahead_failed"] = True
    if "c" in wire:
        out["cancelled"] = wire["c"]
    return out
