"""The package's shape: layers import one way, no cycles, no private names across modules.

The layers, lowest first (README, "Architecture")::

    scenario  <-  model  <-  results  <-  experiments  <-  cli

A module may import from its own layer and the layers below it, never above. Two modules
sit outside the chain: :mod:`evacsim.version` (imports nothing; anyone may read it) and
:mod:`evacsim.validation` (the theory oracles: pure formulas that import nothing of evacsim,
so any layer or test may check itself against them without coupling to another layer). The
top-level package ``evacsim`` is the public facade over all layers: nothing inside the
package imports it.

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``. The
oracle is the source itself, read with :mod:`ast`; the last test proves each rule fails on a
violation, so the checks cannot pass vacuously.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "evacsim"
LAYERS = ("scenario", "model", "results", "experiments", "cli")
OUTSIDE = {"version": "leaf", "validation": "leaf"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__``)."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """``(target module, imported name or '', line)`` for every import of a package module
    in the file, wherever it is written. ``from pkg import mod`` targets ``pkg.mod``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:  # a submodule, not a name defined in the package
                    found.append((sub, "", node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    top = PACKAGE.name
    return [(t, n, line) for t, n, line in found if t == top or t.startswith(top + ".")]


def layer(module: str) -> str:
    """``scenario`` ... ``cli``, ``version``/``validation`` (outside the chain), or
    ``facade`` for the top-level package."""
    parts = module.split(".")
    return "facade" if len(parts) == 1 else parts[1]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(root: Path = PACKAGE) -> dict[str, list[str]]:
    """Every breach of the three rules, as readable lines, by rule."""
    modules = package_modules(root)
    found: dict[str, list[str]] = {"private": [], "layer": [], "cycle": []}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        where = path.relative_to(root.parent)
        for target, imported, line in imports(name, path, modules):
            if target not in modules:
                continue  # e.g. a name of a module that does not exist: the import fails
            if target != name:
                graph[name].add(target)
            shown = f"{where}:{line}: imports {target}" + (f".{imported}" if imported else "")
            if is_private(imported) or any(is_private(p) for p in target.split(".")):
                found["private"].append(f"{shown} (a private name of another module)")
            mine, theirs = layer(name), layer(target)
            if mine == theirs:
                continue
            if theirs == "facade":
                found["layer"].append(f"{shown} (nothing in the package imports the facade)")
            elif mine in OUTSIDE and mine != "facade":
                found["layer"].append(f"{shown} ({mine} imports nothing of evacsim)")
            elif theirs in OUTSIDE or mine == "facade":
                continue
            elif LAYERS.index(theirs) > LAYERS.index(mine):
                found["layer"].append(
                    f"{shown} ({mine} may not import {theirs}: the layers "
                    f"are {' <- '.join(LAYERS)})"
                )
    found["cycle"] = [" -> ".join([*c, c[0]]) for c in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_subpackage_is_a_known_layer():
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    subpackages |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    assert subpackages <= set(LAYERS) | set(OUTSIDE), subpackages - set(LAYERS) - set(OUTSIDE)
    assert set(LAYERS) <= subpackages


@pytest.mark.parametrize("rule", ["private", "layer", "cycle"])
def test_the_package_keeps_the_rule(rule):
    broken = violations()[rule]
    assert not broken, f"{len(broken)} {rule} violation(s):\n" + "\n".join(broken)


def test_each_rule_catches_a_violation(tmp_path):
    """A small package that breaks each rule once: the checks see all three."""
    root = tmp_path / "evacsim"
    files = {
        "__init__.py": "from evacsim.model.a import run\n",
        "version.py": "__version__ = '0'\n",
        "scenario/__init__.py": "",
        "scenario/s.py": "def f():\n    from evacsim.results.r import table  # upward\n",
        "model/__init__.py": "",
        "model/a.py": "from evacsim.version import __version__\nfrom .b import _secret\n"
        "def run(): ...\n",
        "model/b.py": "from . import a\n_secret = 1\n",
        "results/__init__.py": "",
        "results/r.py": "import evacsim\ntable = 1\n",
        "experiments/__init__.py": "",
        "cli/__init__.py": "",
        "validation/__init__.py": "from evacsim.scenario import s\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    found = violations(root)
    assert found["private"] == [
        "evacsim/model/a.py:2: imports evacsim.model.b._secret (a private name of another module)"
    ]
    assert len(found["layer"]) == 3
    assert "scenario may not import results" in found["layer"][1]
    assert any("facade" in line for line in found["layer"])
    assert any("validation imports nothing" in line for line in found["layer"])
    assert found["cycle"] == ["evacsim.model.a -> evacsim.model.b -> evacsim.model.a"]
