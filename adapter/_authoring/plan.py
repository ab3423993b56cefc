"""Planning ``adapter new``: the function id, module name, trigger and steps of a description."""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass

from adapter._authoring.describe import action_verb, parse_description
from adapter._authoring.events import EventSpec
from adapter._authoring.pysource import quote
from adapter._authoring.schedule import Schedule
from adapter._authoring.tokens import words
from adapter._define.config import _ID_PATTERN

_STOP_WORDS = words(
    """
    a an the of to for from in into on onto at by with via our my your their its his her all
    any some each every and or then that which this these those them it they we us me i you
    is are be as about s also
    """
)
_CONNECTORS = ("and then", "then", "also", "finally", "first", "next", "and")
_RUN_WORDS = words("run runs execute executes fire fires happen happens go goes it")
_RESERVED_NAMES = frozenset(
    {"inngest", "Context", "TriggerCron", "TriggerEvent", "Any", "annotations"}
)


class NewFunctionError(ValueError):
    """``adapter new`` cannot write the function; the message says why and what to do."""


@dataclass(frozen=True)
class StepPlan:
    """One step: its id (``fetch-orders``), body function name and the user's words."""

    id: str
    func: str
    text: str


@dataclass(frozen=True)
class FunctionPlan:
    """What ``adapter new`` will write: id, module name, trigger and steps."""

    description: str
    id: str
    module: str
    trigger: Schedule | EventSpec
    steps: tuple[StepPlan, ...]
    action: str

    @property
    def trigger_code(self) -> str:
        """The trigger as Python source, e.g. ``TriggerCron(cron="0 9 * * 1-5")``."""
        t = self.trigger
        if isinstance(t, Schedule):
            zone = "" if t.timezone == "UTC" else f", timezone={quote(t.timezone)}"
            return f"TriggerCron(cron={quote(t.cron)}{zone})"
        return f"TriggerEvent(event={quote(t.name)})"

    @property
    def trigger_text(self) -> str:
        """The trigger for people: cron and zone (or event name), then in words."""
        t = self.trigger
        if isinstance(t, Schedule):
            return f'cron "{t.cron}" in {t.timezone}: {t.describe()}'
        return f'event "{t.name}" (one run per event sent with this name)'


def slug(text: str, max_words: int = 6) -> str:
    """Make an action's id: "Sends a Slack summary of tickets" -> "send-slack-summary-tickets"."""
    text = re.sub(r"\be-mail", "email", text, flags=re.IGNORECASE)
    found = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]
    if not found:
        return ""
    first = action_verb(found[0]) or found[0]
    rest = [w for w in found[1:] if w not in _STOP_WORDS]
    out = "-".join([first, *rest][:max_words])
    return f"fn-{out}" if out[0].isdigit() else out


def split_actions(action: str) -> list[str]:
    """Split an action on commas, "and", "then": a new step starts at each verb I know."""
    parts = re.split(r"\s*(?:[,;]|\band then\b|\bthen\b|\band\b)\s*", action, flags=re.IGNORECASE)
    clauses: list[str] = []
    for part in parts:
        text = part.strip()
        for word in _CONNECTORS:
            text = re.sub(rf"^{word}\b\s*", "", text, flags=re.IGNORECASE)
        if not text:
            continue
        clause_words = text.split()
        if all(w.lower().strip(".,") in _RUN_WORDS for w in clause_words):
            continue  # "a job that runs every hour and syncs ..." -> drop "runs"
        if clauses and action_verb(clause_words[0].strip(".,")) is None:
            clauses[-1] = f"{clauses[-1]} and {text}"
        else:
            clauses.append(imperative(text))
    return clauses


def imperative(text: str) -> str:
    """Put the first verb in its base form: "Sends a welcome email" -> "Send a welcome email"."""
    first, _, rest = text.partition(" ")
    base = action_verb(first)
    if base is None or base == first.lower():
        return text
    if first[:1].isupper():
        base = base[:1].upper() + base[1:]
    return f"{base} {rest}".strip()


def _python_name(name: str, taken: set[str]) -> str:
    """Return a Python name for a step id, unlike any in ``taken`` (which it then joins)."""
    base = re.sub(r"[^0-9a-zA-Z_]", "_", name)
    if not base or base[0].isdigit():
        base = f"step_{base}"
    if keyword.iskeyword(base) or base in _RESERVED_NAMES or hasattr(builtins, base):
        base = f"{base}_step"
    out = base
    while out in taken:
        out = f"{out}_step" if not out.endswith("_step") else f"{base}_{len(taken)}"
    taken.add(out)
    return out


def module_name(function_id: str) -> str:
    """Return the module a function id is written to: '-' and '.' become '_'."""
    return re.sub(r"[-.]", "_", function_id)


def plan_function(description: str, function_id: str | None = None) -> FunctionPlan:
    """Read the description (trigger + action) and decide the id, module and steps.

    Raises PhraseError (a ValueError) when the trigger cannot be read and
    NewFunctionError for an unusable ``function_id``.
    """
    parsed = parse_description(description)
    clauses = split_actions(parsed.action)
    if function_id:
        if not _ID_PATTERN.match(function_id):
            raise NewFunctionError(
                f"--id {function_id!r} is not a valid function id: use letters, digits, '.', "
                "'_' and '-' (start with a letter or digit), e.g. 'sync-contacts'"
            )
        fid = function_id
    else:
        fid = slug(clauses[0]) if clauses else ""
        if not fid and isinstance(parsed.trigger, EventSpec):
            fid = "on-" + re.sub(r"[^a-z0-9]+", "-", parsed.trigger.name.lower()).strip("-")
        fid = fid or "scheduled-job"
    module = module_name(fid)
    if not module.isidentifier() or keyword.iskeyword(module) or module in ("client", "__init__"):
        raise NewFunctionError(
            f"function id {fid!r} gives the module name {module!r}, which Python cannot import; "
            "pass --id starting with a letter, e.g. --id sync-contacts"
        )
    taken = {module}
    steps: list[StepPlan] = []
    seen: set[str] = set()
    for clause in clauses or ["do the work"]:
        sid = slug(clause, max_words=5) or "step"
        base, n = sid, 2
        while sid in seen:
            sid, n = f"{base}-{n}", n + 1
        seen.add(sid)
        steps.append(StepPlan(id=sid, func=_python_name(sid, taken), text=clause))
    return FunctionPlan(
        description=description.strip(),
        id=fid,
        module=module,
        trigger=parsed.trigger,
        steps=tuple(steps),
        action=parsed.action,
    )
