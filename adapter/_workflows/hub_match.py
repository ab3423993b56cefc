"""How a hub evaluates subscriptions' conditions: an equality index and a cost model.

Conditions are CEL over ``async`` (the candidate event), with the trigger's values
already filled in by the subscribing run. Two things keep matching cheap and bounded:

* **The equality index**: a condition that is exactly ``LITERAL == async.PATH`` (what
  ``match="data.x"`` becomes) is looked up by the event's value at PATH instead of being
  evaluated against every event; candidates are still evaluated, so the index only ever
  skips events CEL would reject.
* **The cost model**: every check, compile, conversion and evaluation is charged in
  units, and a hub spends at most ``MATCH_BUDGET`` units per workflow task. The charge
  is computed from the condition's text and the event's size, never from the clock, so
  a replay spends exactly the same and takes the same decisions.

Costs are in units of ~2.5 µs of CPU, measured with cel-python 0.5 on the 2-core
machine this was built on (tests/test_hub_state.py times a slice of each kind):
evaluating ``"u1" == async.data.id`` takes ~0.25-0.6 ms, a long condition up to
~0.025 ms per character (a 3,700-character ``||`` chain: 90 ms), a comprehension
(``.exists(...)``) ~0.25 ms more per list element it walks; compiling takes ~0.4-1 ms
+ up to 0.03 ms per character; converting an event to CEL values up to 0.6 ms per KiB
(lists of small numbers; long strings cost almost nothing). ``MATCH_BUDGET`` (20,000
units ≈ 50 ms) keeps a hub's workflow task 40 times under Temporal's 2 s deadlock
detector when it runs alone; the margin is for what the load test measured: four hubs
and their runs sharing one worker's interpreter (the GIL) on two cores stretched a
0.1 s budget to 1 s of wall time. A comprehension
is charged for every list element of the event, whichever list it walks.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from adapter._define.expressions import compile_condition, to_cel
from adapter._define.expressions import holds as condition_holds
from adapter._workflows.hub_events import SCALARS, json_size, list_elements

COST_CHECK = 1  # a window, expiry or index check
COST_EVAL = 100
COST_EVAL_PER_CHAR = 10
COST_PER_ELEMENT = 100  # per comprehension macro, per list element in the event
COST_COMPILE = 360
COST_COMPILE_PER_CHAR = 12
COST_CONVERT = 20
COST_CONVERT_PER_KIB = 240
COST_DELIVER = 50
MATCH_BUDGET = 20_000

PROGRAM_CACHE = 512  # compiled conditions kept per shard (~16-60 KiB each)
CONVERT_CACHE = 8  # events kept converted to CEL values

_LITERAL_SIDE = re.compile(r"^\(?\s*(.+?)\s*\)?$", re.S)
_ASYNC_PATH = re.compile(r"^async((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+)$")
_MACRO = re.compile(r"\.\s*(?:exists_one|exists|all|map|filter)\s*\(")
_NOT_LITERAL = object()

Index = tuple[tuple[str, ...], Hashable]


@dataclass(frozen=True)
class Match:
    """A subscription that matched an event: the hub signals the run."""

    kind: str
    run: str
    step_id: str
    event: dict[str, Any]
    partial: bool


def equality_index(condition: str | None) -> Index | None:
    """``(path, literal)`` for ``LITERAL == async.PATH`` (or reversed), alone or ``&&``-ed.

    A top-level ``&&`` of conditions is indexed by its first such conjunct. The literal must be a JSON scalar (what interpolation writes). An event whose value
    differs fails that conjunct, and in CEL ``false && x`` is false whatever ``x`` is (even
    an error), so the subscription cannot match it. Python's ``==`` on JSON scalars is at
    least as wide as CEL's (``1 == 1.0 == True``): a lookup never misses a match.
    """
    if condition is None or "==" not in condition:
        return None
    for conjunct in _conjuncts(condition):
        found = _equality(conjunct)
        if found is not None:
            return found
    return None


def _conjuncts(condition: str) -> list[str]:
    """The top-level ``&&`` operands; the whole condition when it has a top-level ``||``/``?``."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(condition):
        c = condition[i]
        if c in "\"'":
            quote = condition[i : i + 3] if condition.startswith(c * 3, i) else c
            i += len(quote)
            while i < len(condition) and not condition.startswith(quote, i):
                i += 2 if condition[i] == "\\" else 1
            i += len(quote)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and (condition.startswith("||", i) or c == "?"):
            return [condition]
        elif depth == 0 and condition.startswith("&&", i):
            parts.append(condition[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(condition[start:])
    return [p.strip() for p in parts]


def _equality(condition: str) -> Index | None:
    for at in (m.start() for m in re.finditer("==", condition)):
        left, right = condition[:at].strip(), condition[at + 2 :].strip()
        for path_side, literal_side in ((left, right), (right, left)):
            path = _ASYNC_PATH.match(path_side)
            literal = _literal(literal_side)
            if path is not None and literal is not _NOT_LITERAL:
                fields = tuple(p.strip() for p in path.group(1).split(".") if p.strip())
                return fields, cast(Hashable, literal)
    return None


def _literal(text: str) -> Any:
    match = _LITERAL_SIDE.match(text)
    if match is None or text.count("(") != text.count(")"):
        return _NOT_LITERAL
    inner = match.group(1) if text.startswith("(") else text
    try:
        value = json.loads(inner)
    except ValueError:
        return _NOT_LITERAL
    return value if isinstance(value, SCALARS) else _NOT_LITERAL


class Conditions:
    """Compiled conditions and converted events, cached per shard, with their costs."""

    def __init__(self) -> None:
        """Empty caches (rebuilt lazily after continue-as-new, and charged again)."""
        self._programs: OrderedDict[str, Any] = OrderedDict()
        self._converted: OrderedDict[int, Any] = OrderedDict()
        self._elements: OrderedDict[int, int] = OrderedDict()

    def cost(self, condition: str | None, seq: int, event: Mapping[str, Any]) -> int:
        """What evaluating ``condition`` against event ``seq`` will be charged."""
        if condition is None:
            return 0
        cost = COST_EVAL + COST_EVAL_PER_CHAR * len(condition)
        macros = len(_MACRO.findall(condition))
        if macros:
            elements = self._elements.get(seq)
            if elements is None:
                elements = list_elements(event)
                _put(self._elements, seq, elements)
            cost += COST_PER_ELEMENT * macros * elements
        cost += self.compile_cost(condition)
        if seq not in self._converted:
            kib = (json_size(event) + 1023) // 1024
            cost += COST_CONVERT + COST_CONVERT_PER_KIB * kib
        return cost

    def compile_cost(self, condition: str | None) -> int:
        """What compiling ``condition`` will be charged (0 when it is compiled already)."""
        if condition is None or condition in self._programs:
            return 0
        return COST_COMPILE + COST_COMPILE_PER_CHAR * len(condition)

    def compile(self, condition: str | None) -> None:
        """Compile ``condition`` into the cache (a separate step of the budget)."""
        if condition is None or condition in self._programs:
            return
        try:
            program = compile_condition(condition)
        except ValueError:
            program = False  # never true; remembered so it is not compiled again
        _put(self._programs, condition, program, PROGRAM_CACHE)

    def true(self, condition: str | None, seq: int, event: Mapping[str, Any]) -> bool:
        """Whether ``condition`` holds for event ``seq`` (no condition: always)."""
        if condition is None:
            return True
        self.compile(condition)
        program = self._programs[condition]
        self._programs.move_to_end(condition)
        activation: Any = self._converted.get(seq)
        if activation is None:
            try:
                activation = {"async": to_cel(event)}
            except Exception:
                activation = False  # not convertible: matches nothing
            _put(self._converted, seq, activation)
        if program is False or activation is False:
            return False
        return condition_holds(program, activation)

    def forget(self, seq: int) -> None:
        """Event ``seq`` left the buffer."""
        self._converted.pop(seq, None)
        self._elements.pop(seq, None)


def _put(cache: OrderedDict[Any, Any], key: Any, value: Any, limit: int = CONVERT_CACHE) -> None:
    cache[key] = value
    while len(cache) > limit:
        cache.popitem(last=False)
