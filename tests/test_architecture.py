"""Import rules of the code base, read from the source with `ast` (nothing is imported):

- no import cycles, counting every import (also those under TYPE_CHECKING or inside functions), between
  modules and between the packages that group them (`services.<name>.<part>`, `shared.<part>`,
  `replenish.<part>`): a type-only cycle still makes two modules impossible to read or move one at a time;
- a service never imports another service, and `shared` never imports a service or the CLI (docs/architecture.md);
- a private name (leading underscore) is imported only within its own service, `shared` package or the CLI.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("replenish", "shared", "services")


def modules() -> dict[str, Path]:
    """Dotted name -> file of every first-party module (a package by its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(imported module, names taken from it) for every import statement of a module, at any depth."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            names = tuple(alias.name for alias in node.names)
            yield target, names
            for sub in names:  # `from package import module` imports that module
                if f"{target}.{sub}" in MODULES:
                    yield f"{target}.{sub}", ()


def _first_party(target: str) -> str | None:
    """The nearest first-party module a dotted import names (a name inside a module counts as the module)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


@cache
def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _ in _imports(name, path):
            found = _first_party(target)
            if found and found != name:
                graph[name].add(found)
    return graph


def unit(name: str) -> str:
    """The package a module is grouped in: services.<name>.<part>, shared.<part>, replenish.<part>."""
    parts = name.split(".")
    return ".".join(parts[:3] if parts[0] == "services" else parts[:2])


def owner(name: str) -> str:
    """Who may share private names: one service, one `shared` package, or the CLI package."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] in ("services", "shared") else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for source, targets in graph.items():
        grouped.setdefault(unit(source), set()).update(unit(t) for t in targets if unit(t) != unit(source))
    return grouped


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_type_only_cycle_and_nothing_in_a_chain():
    # the detector itself must be able to fail: a two-node cycle and a chain
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_imports_its_way_back_to_itself():
    assert cycles(module_graph()) == []


def test_no_package_imports_its_way_back_to_itself():
    assert cycles(package_graph(module_graph())) == []


def test_services_never_import_each_other_and_shared_imports_no_service():
    wrong = sorted(
        f"{source} -> {target}"
        for source, targets in module_graph().items()
        for target in targets
        if (source.startswith("services.") and target.startswith("services.")
            and source.split(".")[1] != target.split(".")[1])
        or (source.startswith("shared") and target.startswith(("services", "replenish")))
    )
    assert wrong == []


def test_private_names_stay_inside_their_owner():
    wrong = sorted(
        f"{name} imports {target}.{taken}"
        for name, path in MODULES.items()
        for target, names in _imports(name, path)
        for taken in names
        if taken.startswith("_") and not taken.startswith("__")
        and (found := _first_party(target)) and owner(found) != owner(name)
    )
    assert wrong == []
