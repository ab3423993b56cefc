"""The layout rules of adapter/ (README "Code map"), checked from the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "adapter"
# Deterministic code that runs inside workflow tasks may import only these.
WORKFLOW_SAFE = (
    "adapter._protocol",
    "adapter._errors",
    "adapter._workflows",
    "adapter._define.expressions",
    "adapter._temporal.search_attributes",
    "adapter._define.event",
    "adapter._execution.state",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str] | None = None) -> set[str]:
    """Modules of ours imported at module level (not under TYPE_CHECKING, not in functions).

    With ``modules``, ``from adapter.x import y`` resolves to ``adapter.x.y`` when y is a
    submodule, else to ``adapter.x``.
    """
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("adapter"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if modules is not None and sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("adapter"))
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    names = set(paths)
    return {
        name: {m for m in _imports(path, names) if m in names and m != name}
        for name, path in paths.items()
    }


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_workflow_code_imports_only_deterministic_modules() -> None:
    for path in (PACKAGE / "_workflows").glob("*.py"):
        for imported in _imports(path):
            assert imported.startswith(WORKFLOW_SAFE), (
                f"{path.name} imports {imported}: workflow code runs unsandboxed inside "
                "workflow tasks and may import only deterministic modules"
            )


def test_no_module_is_over_450_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 450
    }
    assert not long, f"modules over ~400 lines: {long}"
