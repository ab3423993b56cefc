"""``adapter new``: a function module from a plain-language description.

"Send a Slack summary of open tickets every weekday at 9 AM Berlin time" becomes
``functions/send_slack_summary_open_tickets.py``: the function id (a slug of the
action), the trigger read by :mod:`adapter._authoring.phrases`, and a handler with one named
step per action. Nothing is registered: the worker discovers the module.

When an OpenAI-compatible endpoint is configured (``ADAPTER_LLM_BASE_URL``,
``ADAPTER_LLM_API_KEY``, ``ADAPTER_LLM_MODEL``), the module body is asked of the
model, then checked before it is written: it must compile, import the app's
client, define exactly one function through ``create_function`` with the planned
id and trigger (validated by the adapter's own config code), and use steps with
unique literal ids. Otherwise the reason is printed and the skeleton is written.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import json
import keyword
import os
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from adapter._authoring.phrases import EventSpec, Schedule, action_verb, parse_description
from adapter._define.config import _ID_PATTERN, Backoff, FunctionConfig, TriggerCron, TriggerEvent
from adapter._define.function import build_config
from adapter._errors import ConfigError

MAX_LINE = 100


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS = _words(
    """
    a an the of to for from in into on onto at by with via our my your their its his her all
    any some each every and or then that which this these those them it they we us me i you
    is are be as about s also
    """
)
_CONNECTORS = ("and then", "then", "also", "finally", "first", "next", "and")
_RUN_WORDS = _words("run runs execute executes fire fires happen happens go goes it")
_RESERVED_NAMES = frozenset(
    {"inngest", "Context", "TriggerCron", "TriggerEvent", "Any", "annotations"}
)
STEP_METHODS = frozenset(
    {"run", "sleep", "sleep_until", "wait_for_event", "invoke", "invoke_by_id", "send_event"}
)


class NewFunctionError(ValueError):
    """``adapter new`` cannot write the function; the message says why and what to do."""


class ModelOutputError(ValueError):
    """The model's reply cannot be used; the message is the reason."""


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
            zone = "" if t.timezone == "UTC" else f", timezone={_q(t.timezone)}"
            return f"TriggerCron(cron={_q(t.cron)}{zone})"
        return f"TriggerEvent(event={_q(t.name)})"

    @property
    def trigger_text(self) -> str:
        """The trigger for people: cron and zone (or event name), then in words."""
        t = self.trigger
        if isinstance(t, Schedule):
            return f'cron "{t.cron}" in {t.timezone}: {t.describe()}'
        return f'event "{t.name}" (one run per event sent with this name)'


@dataclass(frozen=True)
class Generated:
    """The module source, where it came from, and why a model's reply was not used."""

    source: str
    origin: Literal["skeleton", "model"]
    note: str = ""


# --- planning -----------------------------------------------------------------------


def slug(text: str, max_words: int = 6) -> str:
    """The id for an action: "Sends a Slack summary of tickets" -> "send-slack-summary-tickets"."""
    text = re.sub(r"\be-mail", "email", text, flags=re.IGNORECASE)
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]
    if not words:
        return ""
    first = action_verb(words[0]) or words[0]
    rest = [w for w in words[1:] if w not in _STOP_WORDS]
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
        words = text.split()
        if all(w.lower().strip(".,") in _RUN_WORDS for w in words):
            continue  # "a job that runs every hour and syncs ..." -> drop "runs"
        if clauses and action_verb(words[0].strip(".,")) is None:
            clauses[-1] = f"{clauses[-1]} and {text}"
        else:
            clauses.append(_imperative(text))
    return clauses


def _imperative(text: str) -> str:
    """The first verb in its base form: "Sends a welcome email" -> "Send a welcome email"."""
    first, _, rest = text.partition(" ")
    base = action_verb(first)
    if base is None or base == first.lower():
        return text
    if first[:1].isupper():
        base = base[:1].upper() + base[1:]
    return f"{base} {rest}".strip()


def _python_name(name: str, taken: set[str]) -> str:
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
    """The module a function id is written to: '-' and '.' become '_'."""
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


# --- rendering the skeleton --------------------------------------------------------------


def _q(text: str) -> str:
    """A double-quoted Python string literal (the style ruff format keeps)."""
    return json.dumps(text, ensure_ascii=False)


def _prose(text: str) -> str:
    """Text safe inside a docstring or comment."""
    return re.sub(r"\s+", " ", text.replace("\\", "/").replace('"', "'")).strip()


def _sentence(text: str) -> str:
    text = _prose(text)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _call(indent: str, head: str, args: list[str], tail: str = ")") -> list[str]:
    """A call laid out as ruff format lays it out at 100 columns."""
    one = f"{indent}{head}{', '.join(args)}{tail}"
    if len(one) <= MAX_LINE:
        return [one]
    inner = indent + "    "
    joined = inner + ", ".join(args)
    if len(joined) <= MAX_LINE:
        return [f"{indent}{head}", joined, f"{indent}{tail}"]
    return [f"{indent}{head}", *(f"{inner}{a}," for a in args), f"{indent}{tail}"]


def _import_line(package: str) -> str:
    if package.isidentifier() and not keyword.iskeyword(package):
        return f"from {package}.client import inngest"
    return "from adapter.client import inngest"


def render_skeleton(plan: FunctionPlan, package: str = "functions") -> str:
    """The deterministic module: docstring, one body function per step, the handler."""
    is_event = isinstance(plan.trigger, EventSpec)
    trigger_class = "TriggerEvent" if is_event else "TriggerCron"
    wrapped = textwrap.fill(
        _prose(plan.description), width=84, initial_indent="    ", subsequent_indent="    "
    )
    summary = _sentence(_imperative(plan.action)) or _sentence(plan.description)
    doc = [
        *textwrap.wrap(f'"""{summary}', width=88),
        "",
        "Generated by ``adapter new`` from the description:",
        "",
        wrapped,
        "",
        *textwrap.wrap(f"Trigger: {_prose(plan.trigger_text)}.", width=88),
        "Fill in each step's body. A step that raises is retried with backoff; a finished",
        "step never runs again, so side effects belong inside steps.",
        '"""',
    ]
    lines = [
        *doc,
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        f"from adapter import Context, {trigger_class}",
        _import_line(package),
    ]
    for index, step in enumerate(plan.steps):
        if index == 0 and is_event:
            params = "data: dict[str, Any]"
            note = "``data`` is the event's payload."
        elif index == 0:
            params, note = "", ""
        else:
            params, note = "previous: Any", "``previous`` is the result of the step before."
        summary = _sentence(step.text)
        lines += ["", "", f"def {step.func}({params}) -> Any:"]
        doc_line = f'    """{summary}{" " + note if note else ""}"""'
        if len(doc_line) <= MAX_LINE:
            lines.append(doc_line)
        else:
            lines += [f'    """{summary}', "", f"    {note}", '    """'] if note else [doc_line]
        lines += [f"    # TODO: {_prose(step.text)}", "    return None"]
    lines += [
        "",
        "",
        f"# {_prose(plan.trigger.describe())}",
        "@inngest.create_function(",
        f"    fn_id={_q(plan.id)},",
        f"    trigger={plan.trigger_code},",
        ")",
        f"async def {plan.module}(ctx: Context) -> Any:",
        '    """Run the steps in order; each step gets the result of the one before."""'
        if len(plan.steps) > 1
        else '    """Run the step; its result is the run\'s result."""',
    ]
    for index, step in enumerate(plan.steps):
        args = [_q(step.id), step.func]
        if index == 0 and is_event:
            args.append("ctx.event.data")
        elif index > 0:
            args.append("result")
        head = (
            "return await ctx.step.run(" if len(plan.steps) == 1 else "result = await ctx.step.run("
        )
        lines += _call("    ", head, args)
    if len(plan.steps) > 1:
        lines.append("    return result")
    return "\n".join(lines) + "\n"


# --- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSettings:
    """An OpenAI-compatible chat-completions endpoint."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0

    @property
    def url(self) -> str:
        """``{base}/chat/completions``."""
        return self.base_url.rstrip("/") + "/chat/completions"


def model_settings(env: Mapping[str, str]) -> ModelSettings | None:
    """The endpoint from ADAPTER_LLM_BASE_URL / _API_KEY / _MODEL (/_TIMEOUT), or None."""
    base = env.get("ADAPTER_LLM_BASE_URL", "").strip()
    if not base:
        return None
    try:
        timeout = float(env.get("ADAPTER_LLM_TIMEOUT") or 60)
    except ValueError:
        timeout = 60.0
    return ModelSettings(
        base_url=base,
        model=env.get("ADAPTER_LLM_MODEL", "").strip(),
        api_key=env.get("ADAPTER_LLM_API_KEY") or None,
        timeout=timeout,
    )


SYSTEM_PROMPT = (
    "You write Python modules for an app that runs Inngest-style durable functions on "
    "Temporal (package `adapter`). Reply with one complete Python module and nothing else."
)


def model_messages(plan: FunctionPlan, skeleton: str, package: str) -> list[dict[str, str]]:
    """The chat messages that ask for the module."""
    steps = ", ".join(f'"{s.id}" ({s.text})' for s in plan.steps)
    payload = (
        "ctx.event.data holds the event's payload (a dict)."
        if isinstance(plan.trigger, EventSpec)
        else "The function runs on a schedule; there is no event payload to read."
    )
    user = f"""Write the module {package}/{plan.module}.py for this workflow:

    {plan.description}

Rules:
- Import the app's client with `{_import_line(package)}`; never create an Inngest client.
- Define exactly one function with `@inngest.create_function(fn_id={_q(plan.id)}, \
trigger={plan.trigger_code})`: keep that id and trigger unchanged ({plan.trigger.describe()}).
- The handler is `async def {plan.module}(ctx: Context)`. Put every side effect inside \
`await ctx.step.run("<id>", fn, *args)`, whose ids are unique string literals. Suggested \
steps: {steps}.
- {payload}
- Step bodies are plain functions returning JSON values. Read URLs and secrets from \
environment variables; use httpx for HTTP and sqlite3 for local data; only the standard \
library, httpx and adapter (Context, NonRetriableError, TriggerCron, TriggerEvent).

Start from this skeleton and fill in the step bodies:

```python
{skeleton}```
"""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def ask_model(settings: ModelSettings, messages: list[dict[str, str]]) -> str:
    """POST the chat-completions request (temperature 0); return the reply's text.

    Raises ModelOutputError when the endpoint cannot be reached or answers oddly.
    """
    import httpx

    if not settings.model:
        raise ModelOutputError("ADAPTER_LLM_MODEL is not set")
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    body = {"model": settings.model, "messages": messages, "temperature": 0}
    try:
        response = httpx.post(settings.url, json=body, headers=headers, timeout=settings.timeout)
    except httpx.HTTPError as exc:
        raise ModelOutputError(f"could not reach {settings.url} ({exc})") from None
    if response.status_code != 200:
        raise ModelOutputError(
            f"{settings.url} answered HTTP {response.status_code}: {response.text[:200]}"
        )
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelOutputError(
            f"{settings.url} did not answer like a chat-completions endpoint "
            '({"choices": [{"message": {"content": ...}}]})'
        ) from None
    if not isinstance(content, str) or not content.strip():
        raise ModelOutputError("the model's reply is empty")
    return content


def extract_code(reply: str) -> str:
    """The Python source in a reply: the first fenced block, or the whole reply."""
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", reply, re.DOTALL)
    code = fenced.group(1) if fenced else reply
    return code.strip("\n") + "\n"


# --- checking a module --------------------------------------------------------------------

_TRIGGER_MODELS: dict[str, type[TriggerCron] | type[TriggerEvent] | type[Backoff]] = {
    "TriggerCron": TriggerCron,
    "TriggerEvent": TriggerEvent,
    "Backoff": Backoff,
}


def _callee(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr) -> Any:
    """A create_function argument as a value: literals and TriggerCron(...)-style calls."""
    if isinstance(node, ast.Call):
        name = _callee(node.func)
        if name in _TRIGGER_MODELS and not node.args:
            kwargs = {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
            try:
                return _TRIGGER_MODELS[name].model_validate(kwargs)
            except ValidationError as exc:
                msg = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise ModelOutputError(f"{name}(...) is invalid: {msg}") from None
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                raise ModelOutputError("create_function's config may not use ** unpacking")
            key = _literal(key_node)
            if key not in ("on_failure", "onFailure"):
                out[key] = _literal(value_node)
        return out
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise ModelOutputError(
            f"create_function's arguments must be literal values; {ast.unparse(node)!r} is not"
        ) from None


def _create_function_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "create_function"
    ]


def _config_of(call: ast.Call) -> FunctionConfig:
    """Build the call's FunctionConfig with the adapter's own validation."""
    config = _literal(call.args[0]) if len(call.args) > 0 else None
    trigger = _literal(call.args[1]) if len(call.args) > 1 else None
    options: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise ModelOutputError("create_function may not use ** unpacking")
        if kw.arg not in ("on_failure", "onFailure"):
            options[kw.arg] = _literal(kw.value)
    try:
        return build_config(config, trigger, options)
    except ConfigError as exc:
        raise ModelOutputError(f"its function config is invalid: {exc}") from None


def _same_trigger(config: FunctionConfig, expected: Schedule | EventSpec) -> bool:
    if len(config.triggers) != 1:
        return False
    (trigger,) = config.triggers
    if isinstance(expected, Schedule):
        if not isinstance(trigger, TriggerCron):
            return False
        spec = trigger.spec
        return (spec.fields, spec.timezone) == (expected.cron, expected.timezone)
    return isinstance(trigger, TriggerEvent) and trigger.event == expected.name


def _imports_client(tree: ast.Module, package: str) -> bool:
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        from_package = node.level == 0 and node.module == f"{package}.client"
        relative = node.level == 1 and node.module == "client"
        if (from_package or relative) and any(
            a.name == "inngest" and a.asname in (None, "inngest") for a in node.names
        ):
            return True
    return False


def _step_ids(tree: ast.AST) -> list[str]:
    ids: list[str] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STEP_METHODS
        ):
            continue
        owner = node.func.value
        if not (
            (isinstance(owner, ast.Attribute) and owner.attr == "step")
            or (isinstance(owner, ast.Name) and owner.id == "step")
        ):
            continue
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise ModelOutputError(
                f"step call {ast.unparse(node)[:60]!r} needs a literal string id as its first "
                "argument"
            )
        ids.append(first.value)
    return ids


def check_module(source: str, plan: FunctionPlan, package: str = "functions") -> None:
    """Raise ModelOutputError unless ``source`` is a module ``adapter new`` may write.

    It must compile; import ``inngest`` from the app's client and create no other
    client; define exactly one function through ``create_function`` whose config the
    adapter accepts, with the planned id and trigger; and run at least one step,
    every step with a unique literal id.
    """
    try:
        tree = ast.parse(source)
        compile(tree, f"{plan.module}.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ModelOutputError(f"it does not compile: {exc.msg} (line {exc.lineno})") from None
    if not _imports_client(tree, package):
        raise ModelOutputError(f"it does not import inngest with `{_import_line(package)}`")
    if any(isinstance(n, ast.Call) and _callee(n.func) == "Inngest" for n in ast.walk(tree)):
        raise ModelOutputError("it creates its own Inngest client")
    calls = _create_function_calls(tree)
    if len(calls) != 1:
        raise ModelOutputError(
            f"it defines {len(calls)} functions through create_function; exactly one is allowed"
        )
    config = _config_of(calls[0])
    if config.id != plan.id:
        raise ModelOutputError(f"its function id is {config.id!r}, not {plan.id!r}")
    if not _same_trigger(config, plan.trigger):
        raise ModelOutputError(
            f"its trigger {[t.model_dump(exclude_none=True) for t in config.triggers]} is not "
            f"the one described ({plan.trigger_code})"
        )
    ids = _step_ids(tree)
    if not ids:
        raise ModelOutputError("it runs no step (ctx.step.run(...))")
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ModelOutputError(f"step id(s) {', '.join(map(repr, dupes))} are used more than once")


def generate_module(
    plan: FunctionPlan,
    package: str = "functions",
    env: Mapping[str, str] | None = None,
    *,
    use_model: bool = True,
) -> Generated:
    """The module to write: the model's, when configured and it passes check_module,
    else the skeleton (with the reason the model's reply was not used)."""
    skeleton = render_skeleton(plan, package)
    settings = model_settings(os.environ if env is None else env) if use_model else None
    if settings is None:
        return Generated(skeleton, "skeleton")
    try:
        reply = ask_model(settings, model_messages(plan, skeleton, package))
        source = extract_code(reply)
        check_module(source, plan, package)
    except ModelOutputError as exc:
        return Generated(skeleton, "skeleton", str(exc))
    return Generated(source, "model", f"written by {settings.model}")


# --- files and the command ------------------------------------------------------------------


def existing_function_ids(folder: Path) -> dict[str, Path]:
    """Function ids defined by literal create_function calls in ``folder``'s modules."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for call in _create_function_calls(tree):
            fid: Any = None
            for kw in call.keywords:
                if kw.arg in ("id", "fn_id") and isinstance(kw.value, ast.Constant):
                    fid = kw.value.value
            if fid is None and call.args and isinstance(call.args[0], ast.Dict):
                for k, v in zip(call.args[0].keys, call.args[0].values, strict=True):
                    if (
                        isinstance(k, ast.Constant)
                        and k.value == "id"
                        and isinstance(v, ast.Constant)
                    ):
                        fid = v.value
            if isinstance(fid, str):
                found.setdefault(fid, path)
    return found


def new_function(
    description: str,
    *,
    functions: str | Path = "functions",
    function_id: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    use_model: bool = True,
    env: Mapping[str, str] | None = None,
    out: Callable[[str], None] = print,
) -> Path:
    """Plan, generate and write ``<functions>/<module>.py``; print what was done.

    Refuses (NewFunctionError) to overwrite a file without ``force``, to reuse a
    function id defined elsewhere in the folder, or to write into a folder that
    has no ``client.py``. With ``dry_run`` nothing is written.
    """
    plan = plan_function(description, function_id)
    folder = Path(functions)
    path = folder / f"{plan.module}.py"
    if not dry_run:
        if not folder.is_dir():
            raise NewFunctionError(
                f"functions folder {str(functions)!r} not found; create it with a client.py "
                "(see README), or pass --functions PATH"
            )
        if not (folder / "client.py").is_file():
            raise NewFunctionError(
                f"{folder / 'client.py'} not found; the new module imports inngest from it "
                "(e.g. `from adapter import Inngest` / `inngest = Inngest(app_id='my-app')`)"
            )
        if path.exists() and not force:
            raise NewFunctionError(f"{path} already exists; pass --force to replace it")
        other = existing_function_ids(folder).get(plan.id)
        if other is not None and other.resolve() != path.resolve():
            raise NewFunctionError(
                f"function id {plan.id!r} is already defined in {other}; pass another --id"
            )
    package = folder.resolve().name
    generated = generate_module(plan, package, env, use_model=use_model)
    if not dry_run:
        try:
            with path.open("w" if force else "x", encoding="utf-8") as fh:
                fh.write(generated.source)
        except FileExistsError:
            raise NewFunctionError(f"{path} already exists; pass --force to replace it") from None
    if generated.origin == "model":
        body = generated.note
    elif generated.note:
        body = f"skeleton (the model's module was not used: {generated.note})"
    else:
        body = "skeleton"
    out(f"Function  {plan.id}")
    out(f"Trigger   {plan.trigger_text}")
    out(f"Steps     {', '.join(s.id for s in plan.steps)}")
    out(f"Body      {body}")
    out(f"{'Would write' if dry_run else 'Wrote'} {path}:\n")
    out(generated.source)
    if not dry_run:
        out("Fill in the steps, then run `adapter dev`; `adapter functions` shows the trigger.")
    return path


def add_new_parser(sub: Any, add_functions: Callable[..., None]) -> None:
    """Add ``adapter new DESCRIPTION`` to the subcommands."""
    parser = sub.add_parser(
        "new",
        help="write a function module from a plain-language description",
        description=(
            'Write functions/<id>.py from a description such as "Send a Slack summary of '
            'open tickets every weekday at 9 AM Berlin time" or "Send a welcome email when '
            'a new user is added". With ADAPTER_LLM_BASE_URL and ADAPTER_LLM_MODEL set, a '
            "model writes the step bodies (checked before writing)."
        ),
    )
    parser.add_argument("description", help="what the function does, and when")
    add_functions(parser)
    parser.add_argument("--id", help="function id (default: a slug of the action)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--dry-run", action="store_true", help="print the module, write nothing")
    parser.add_argument(
        "--no-model", action="store_true", help="write the skeleton even if a model is configured"
    )


async def new_command(args: argparse.Namespace) -> int:
    """The ``adapter new`` handler."""
    await asyncio.to_thread(
        new_function,
        args.description,
        functions=args.functions,
        function_id=args.id,
        force=args.force,
        dry_run=args.dry_run,
        use_model=not getattr(args, "no_model", False),
    )
    return 0
