"""The layout's rules, checked on the code itself (docs/architecture.md explains them).

- The core (``train``, ``data``, ``models``, ``monitor``) and the server never import the ui kit,
  a feature package or the magics; the ui kit imports no feature package.
- No import cycles between modules, counting imports inside functions too.
- No private name (``_x``) is imported from another module.
- No module is over 400 lines unless its docstring says why ("... over 400 lines ...").
- A package's lazily exported names resolve, and none is also the name of one of its modules.
- One version number: the package, its installed metadata and js/package.json agree.
"""
from __future__ import annotations

import ast
import importlib
import json
import re
from importlib import metadata
from pathlib import Path

import pytest

import jupyter_dl

PACKAGE = Path(jupyter_dl.__file__).resolve().parent
REPO = PACKAGE.parent
CORE = ("train", "data", "models", "monitor", "server")
FEATURES = ("finetuning", "dashboard", "browser", "gpu", "history", "integrations", "labelling")
KIT = "ui"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "labextension" not in p.parts}


def is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def resolve(name: str, imported: str) -> str:
    """The module that ``from name import imported`` depends on (a package's lazy export -> its module)."""
    if f"{name}.{imported}" in MODULES:
        return f"{name}.{imported}"
    if is_package(name):
        value = getattr(importlib.import_module(name), imported, None)
        owner = getattr(value, "__module__", None)
        if owner in MODULES:
            return owner
    return name


def imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every jupyter_dl import of ``module``, also inside functions."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "jupyter_dl":
                found.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "jupyter_dl"]
    return found


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, names, _ in imports(module):
            targets = {resolve(target, n) for n in names} if names else {target}
            graph[module] |= {t for t in targets if t in MODULES and t != module}
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_core_and_the_ui_kit_import_nothing_above_them():
    wrong = []
    for module, targets in edges().items():
        if layer(module) in CORE:
            wrong += [f"{module} -> {t}" for t in targets if layer(t) in (*FEATURES, KIT, "magics")]
        elif layer(module) == KIT:
            wrong += [f"{module} -> {t}" for t in targets if layer(t) in (*FEATURES, "magics")]
    assert wrong == []


def test_no_import_cycles():
    graph, cycles = edges(), []
    state: dict[str, int] = {}   # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_private_name_is_imported_from_another_module():
    private = [f"{module}:{line} imports {name} from {target}"
               for module in MODULES for target, names, line in imports(module)
               for name in names if name.startswith("_") and not name.startswith("__")]
    assert private == []


def test_modules_stay_small_or_say_why():
    long = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        if source.count("\n") > MAX_LINES:
            doc = ast.get_docstring(ast.parse(source)) or ""
            if not re.search(r"over 400 lines", doc):
                long.append(f"{module}: {source.count(chr(10))} lines")
    assert long == []


@pytest.mark.parametrize("package", sorted(m for m in MODULES if is_package(m)))
def test_lazy_exports_resolve_and_shadow_no_module(package):
    module = importlib.import_module(package)
    exported = list(getattr(module, "__all__", []))
    assert [n for n in exported if f"{package}.{n}" in MODULES] == []
    for name in exported:
        assert getattr(module, name) is not None


def test_one_version_number():
    js = json.loads((REPO / "js" / "package.json").read_text(encoding="utf-8"))["version"]
    assert jupyter_dl.__version__ == metadata.version("jupyter_dl") == js
    written = [p for p in (REPO / "pyproject.toml", PACKAGE / "__init__.py")
               if re.search(r'^(__version__|version)\s*=\s*"', p.read_text(encoding="utf-8"), re.M)]
    assert written == []  # only jupyter_dl/_version.py writes it
