"""The layout holds: dependencies point down the layers, no import cycles (lazy imports
included), a thin top level, no test doubles in the package, no large files in git."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "podsearch"

# Bottom to top. A module may import its own subpackage and the layers below its own; the
# subpackages of one layer are independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("speakers", "ingest", "embed", "store"),
    ("episodes",),
    ("cite",),
    ("pipeline", "query"),
    ("api",),
    ("serve",),
    ("cli",),
    ("__init__", "__main__"),  # the package itself: re-exports the API, runs the CLI
]
LAYER_OF = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def imports(module: str, *, runtime_only: bool) -> Iterator[str]:
    """The podsearch modules ``module`` imports anywhere in its code (inside functions
    too); with ``runtime_only``, not those under ``if TYPE_CHECKING:``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree) if runtime_only else set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] + [target]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name
                break


def part_of(module: str) -> str:
    """The top-level part of the package a module belongs to (``podsearch.store.index``:
    store; ``podsearch``: __init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer() -> None:
    assert {part_of(m) for m in MODULES} <= set(LAYER_OF)


def test_no_module_imports_a_layer_above_it_or_beside_it() -> None:
    wrong = []
    for module in MODULES:
        mine = part_of(module)
        for target in imports(module, runtime_only=False):
            theirs = part_of(target)
            if theirs != mine and LAYER_OF[theirs] >= LAYER_OF[mine]:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = {m: set(imports(m, runtime_only=True)) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_layer_check_sees_lazy_imports() -> None:
    """The checks read imports inside functions, where the heavy ones live."""
    assert "podsearch.pipeline.build" in set(imports("podsearch.api", runtime_only=True))


def test_top_level_holds_only_the_entry_points_and_the_api() -> None:
    files = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert files == ["__init__.py", "__main__.py", "api.py"]


@pytest.mark.parametrize("package", sorted({p for layer in LAYERS[:-1] for p in layer} - {"api"}))
def test_each_layer_says_what_it_owns_and_may_import(package: str) -> None:
    init = PACKAGE / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    assert doc.startswith(f"{package}:"), f"{init}: docstring should start with '{package}:'"
    assert "import" in doc, f"{init}: say what the layer may import"
    assert not [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)], (
        f"{init} imports: keep layer packages free of import side effects"
    )


def test_no_test_doubles_in_the_package() -> None:
    found = [
        f"{m}: {node.name}"
        for m, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.startswith(("Fake", "Mock", "Dummy"))
    ]
    assert found == []


def test_no_large_files_are_tracked() -> None:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout ({e})")
    files = [ROOT / f for f in listed.decode().split("\0") if f]
    big = [f for f in files if f.is_file() and f.stat().st_size > 5_000_000]
    assert big == []
