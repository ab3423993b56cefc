"""The Code tab: a function module's source from the functions folder, highlighted, read-only.

Highlighted on the server with Pygments (no JavaScript). Only ``.py`` files directly
in the functions folder are shown (the modules discovery imports); any other path,
or a function whose module is not in the folder, is a 404 page.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from pathlib import Path

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapter._console.context import Console
from adapter._define.function import Function

NAV: tuple[str, str] = ("Code", "/code")
"""The nav entry."""

MAX_SOURCE_BYTES = 1_000_000


def module_files(folder: Path) -> list[str]:
    """The modules' file names in the functions folder (those discovery imports), sorted."""
    return sorted(p.name for p in folder.glob("*.py") if p.is_file())


def _inside(folder: Path, filename: str | None) -> str | None:
    if not filename:
        return None
    try:
        path = Path(filename).resolve()
        path.relative_to(folder.resolve())
    except (OSError, ValueError):
        return None
    return path.name if path.parent == folder.resolve() else None


def function_modules(folder: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """``(app id, function id)`` → (file name, line) of each loaded function of the folder.

    Read from the modules this process imported from the folder (the dev worker's,
    or the ones ``adapter serve`` loaded), so it follows what actually runs.
    """
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for module in list(sys.modules.values()):
        name = _inside(folder, getattr(module, "__file__", None))
        if name is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Function):
                line = 1
                with contextlib.suppress(OSError, TypeError):
                    line = inspect.getsourcelines(value.handler)[1]
                found.setdefault((value.app_id, value.id), (name, line))
    return found


def is_folder(path: Path) -> bool:
    """Whether the functions folder exists."""
    return path.is_dir()


def module_path(folder: Path | None, name: str) -> Path | None:
    """The module file ``name`` directly in ``folder``; None for any other path."""
    if folder is None or "/" in name or "\\" in name or not name.endswith(".py"):
        return None
    path = folder / name
    if _inside(folder, str(path)) != name or not path.is_file():
        return None
    return path


def read_source(path: Path) -> str:
    """The module's text (cut at ``MAX_SOURCE_BYTES``)."""
    return path.read_bytes()[:MAX_SOURCE_BYTES].decode("utf-8", errors="replace")


def highlighted(source: str) -> Markup:
    """The source as highlighted HTML with line numbers (anchors ``L-<n>``)."""
    formatter = HtmlFormatter(
        cssclass="highlight", linenos="inline", lineanchors="L", anchorlinenos=True
    )
    return Markup(highlight(source, PythonLexer(), formatter))


def code_path(file_name: str, line: int | None = None) -> str:
    """The console path of a module's source (at a line)."""
    return f"/code/{file_name}" + (f"#L-{line}" if line else "")


def routes(console: Console) -> list[BaseRoute]:
    """``GET /code`` (the folder's modules; ``?function=app:fn`` opens its module), ``GET /code/{file}``."""

    async def index(request: Request) -> Response:
        folder = console.functions_dir
        if folder is None or not is_folder(folder):
            return console.page(request, "code_index.html", {"title": "Code", "files": None})
        modules = function_modules(folder)
        wanted = request.query_params.get("function")
        if wanted:
            for (app_id, fid), (name, line) in modules.items():
                if wanted in (f"{app_id}:{fid}", fid):
                    return RedirectResponse(code_path(name, line), status_code=303)
            return console.error_page(
                request,
                404,
                "No module for this function",
                f"Function {wanted!r} is not defined by a module of the functions folder "
                f"{folder} (it may be served by another app's workers).",
            )
        by_file: dict[str, list[str]] = {}
        for (app_id, fid), (name, _) in sorted(modules.items()):
            by_file.setdefault(name, []).append(f"{app_id}/{fid}")
        context = {
            "title": "Code",
            "files": module_files(folder),
            "by_file": by_file,
            "folder": str(folder),
        }
        return console.page(request, "code_index.html", context)

    async def source(request: Request) -> Response:
        folder = console.functions_dir
        name = request.path_params["file"]
        path = module_path(folder, name)
        if folder is None or path is None:
            where = "no functions folder" if folder is None else f"the functions folder {folder}"
            return console.error_page(
                request, 404, "No such module", f"There is no module {name!r} in {where}."
            )
        text = read_source(path)
        functions = [
            f"{app_id}/{fid}"
            for (app_id, fid), (file_name, _) in sorted(function_modules(folder).items())
            if file_name == name
        ]
        context = {
            "title": name,
            "name": name,
            "path": str(path),
            "code": highlighted(text),
            "functions": functions,
            "lines": len(text.splitlines()),
        }
        return console.page(request, "code.html", context)

    return [
        Route("/code", index, methods=["GET"]),
        Route("/code/{file:path}", source, methods=["GET"]),
    ]
