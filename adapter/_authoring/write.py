"""Writing ``<functions>/<module>.py`` for ``adapter new``, with its safety checks."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from adapter._authoring.check import create_function_calls
from adapter._authoring.generate import generate_module
from adapter._authoring.plan import NewFunctionError, plan_function


def existing_function_ids(folder: Path) -> dict[str, Path]:
    """Return the function ids defined by literal create_function calls in ``folder``'s modules."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for call in create_function_calls(tree):
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
    exists = f"{path} already exists; pass --force to replace it"
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
            raise NewFunctionError(exists)
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
            raise NewFunctionError(exists) from None
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
