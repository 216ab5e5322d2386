"""The package's shape, read from the code: no import cycles, SQL only in the store layer, thin surfaces."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "matcher"
# Statements a string would start with if it were SQL: such strings belong in matcher/store only.
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|WITH)\b")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Modules of the package that a file imports, at any depth (function-level imports count too)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != me:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(p, known) for m, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_the_package() -> None:
    g = graph()
    # Package faces (__init__) re-export their modules; a module importing its own package face is not a cycle.
    g = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in g.items()}
    assert cycles(g) == []


def test_layers_point_down() -> None:
    def layer(name: str) -> str:
        return (name.split(".") + [""])[1]

    for mod, deps in graph().items():
        if layer(mod) == "store":
            assert not {d for d in deps if layer(d) in {"match", "work", "ingest", "knowledge", "cli", "ui"}}, mod
        if layer(mod) == "match":
            assert not {d for d in deps if layer(d) in {"work", "ingest", "cli", "ui"}}, mod
        assert "matcher.cli" not in deps or mod == "matcher.cli", f"{mod} imports the CLI"


def test_sql_only_in_the_store_layer() -> None:
    found = []
    for mod, path in modules().items():
        if mod.startswith("matcher.store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:50]!r}")
            if isinstance(node, ast.Attribute) and node.attr == "db" and isinstance(node.value, ast.Name) \
                    and node.value.id == "store":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: direct database access (store.db)")
    assert found == []


def test_app_entry_is_thin() -> None:
    lines = (ROOT / "app.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"app.py has {len(lines)} lines; pages belong in their own files"


def test_public_api() -> None:
    import matcher
    from matcher.engine import Matcher as Old
    from matcher.match.engine import Matcher

    assert matcher.Matcher is Matcher is Old
    assert matcher.Store.__module__ == "matcher.store.database"
