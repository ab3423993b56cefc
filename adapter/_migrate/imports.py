"""Rewrite ``inngest`` imports to ``adapter`` in Python source, keeping everything else.

With a concrete syntax tree (libcst), so comments, blank lines and formatting stay as
they were. The rules:

* ``import inngest`` / ``import inngest as x`` become ``import adapter as inngest`` /
  ``import adapter as x``: every ``inngest.Name`` in the file keeps working;
* ``import inngest.sub`` becomes ``import adapter.sub`` (and ``import adapter as
  inngest`` is added when the file has no such binding, so ``inngest.sub.f()`` works);
* ``from inngest[.sub] import a, b`` becomes ``from adapter[.sub] import a, b``.

Every use the adapter has no counterpart for — a name ``adapter`` does not export, a
submodule it lacks (``inngest._internal...``), an attribute ``inngest.X`` it does not
have — is reported with its line and what to do instead; the rewrite leaves it as is.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

SOURCE = "inngest"
TARGET = "adapter"


@dataclass(frozen=True)
class Unmapped:
    """One use of inngest-py that has no counterpart here."""

    line: int
    use: str
    fix: str


@dataclass
class Migration:
    """The rewritten source of one file and what could not be mapped."""

    source: str
    changed: bool
    unmapped: list[Unmapped] = field(default_factory=list)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _as_expr(dotted: str) -> cst.Attribute | cst.Name:
    parts = dotted.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def has_module(dotted: str) -> bool:
    """Whether ``adapter.<dotted>`` exists (``dotted`` "" is the package itself)."""
    name = TARGET + (f".{dotted}" if dotted else "")
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def has_name(module: str, name: str) -> bool:
    """Whether ``from adapter[.module] import name`` works."""
    target = TARGET + (f".{module}" if module else "")
    try:
        mod = importlib.import_module(target)
    except ImportError:
        return False
    return hasattr(mod, name) or has_module(f"{module}.{name}".strip("."))


class _Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.unmapped: list[Unmapped] = []
        self.aliases: set[str] = set()  # local names bound to the package (import adapter as x)
        self.needs_package_alias = False
        self.changed = False
        self.in_import = 0  # inside an import statement: its dotted names are not uses

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def _report(self, node: cst.CSTNode, use: str, fix: str) -> None:
        self.unmapped.append(Unmapped(self._line(node), use, fix))

    def visit_Import(self, node: cst.Import) -> None:
        self.in_import += 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.in_import += 1

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        self.in_import -= 1
        names = []
        for alias in updated.names:
            dotted = _dotted(alias.name)
            if dotted != SOURCE and not dotted.startswith(SOURCE + "."):
                names.append(alias)
                continue
            sub = dotted[len(SOURCE) + 1 :]
            if not has_module(sub):
                self._report(original, f"import {dotted}", _module_fix(sub))
                names.append(alias)
                continue
            self.changed = True
            if not sub:
                local = alias.asname.name if alias.asname else cst.Name(SOURCE)
                assert isinstance(local, cst.Name)
                self.aliases.add(local.value)
                names.append(
                    alias.with_changes(name=cst.Name(TARGET), asname=cst.AsName(name=local))
                )
            elif alias.asname is not None:
                names.append(alias.with_changes(name=_as_expr(f"{TARGET}.{sub}")))
            else:
                self.needs_package_alias = True
                names.append(alias.with_changes(name=_as_expr(f"{TARGET}.{sub}")))
        return updated.with_changes(names=names)

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        self.in_import -= 1
        if updated.relative or updated.module is None:
            return updated
        dotted = _dotted(updated.module)
        if dotted != SOURCE and not dotted.startswith(SOURCE + "."):
            return updated
        sub = dotted[len(SOURCE) + 1 :]
        if not has_module(sub):
            self._report(original, f"from {dotted} import ...", _module_fix(sub))
            return updated
        if not isinstance(updated.names, cst.ImportStar):
            for alias in updated.names:
                name = _dotted(alias.name)
                if not has_name(sub, name):
                    self._report(
                        original,
                        f"from {dotted} import {name}",
                        f"{TARGET}{'.' + sub if sub else ''} has no {name!r}: see README "
                        "'Migrating from Inngest' for its replacement",
                    )
        self.changed = True
        return updated.with_changes(module=_as_expr(f"{TARGET}.{sub}" if sub else TARGET))

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        base = original.value
        if self.in_import:
            return updated
        if isinstance(base, cst.Name) and (
            base.value in self.aliases or (base.value == SOURCE and self.needs_package_alias)
        ):
            name = original.attr.value
            if not has_name("", name):
                self._report(
                    original,
                    f"{base.value}.{name}",
                    f"{TARGET} has no {name!r}: see README 'Migrating from Inngest'",
                )
        return updated


def _module_fix(sub: str) -> str:
    if sub.startswith("_") or "._" in sub:
        return "a private module of inngest-py: use the public names it re-exports"
    return f"{TARGET} has no module {sub!r}: see README 'Migrating from Inngest'"


def migrate_source(source: str) -> Migration:
    """Rewrite one file's source; says whether it changed and what it could not map."""
    module = cst.parse_module(source)
    rewriter = _Rewriter()
    rewritten = MetadataWrapper(module).visit(rewriter)
    if rewriter.needs_package_alias and SOURCE not in rewriter.aliases:
        alias = cst.parse_statement(f"import {TARGET} as {SOURCE}\n")
        body = list(rewritten.body)
        at = next(
            (i for i, stmt in enumerate(body) if _imports_source_sub(stmt)),
            0,
        )
        rewritten = rewritten.with_changes(body=[*body[:at], alias, *body[at:]])
    unmapped = sorted(set(rewriter.unmapped), key=lambda u: (u.line, u.use))
    return Migration(rewritten.code, rewritten.code != source, unmapped)


def _imports_source_sub(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    return any(
        isinstance(s, cst.Import) and any(_dotted(a.name).startswith(f"{TARGET}.") for a in s.names)
        for s in stmt.body
    )
