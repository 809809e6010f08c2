"""Dependencies point one way (DESIGN.md): checked on the source, not by convention."""

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "playground"


def _imports(path: Path) -> set[str]:
    """Top-level names imported by a file; relative imports as '.module'."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." + (node.module or "") if node.level else node.module.split(".")[0])
    return found


@pytest.mark.parametrize("name", ["model.py", "hooks.py", "kernels.py", "device.py"])
def test_model_and_hooks_import_only_torch_and_the_standard_library(name):
    allowed_local = {".config", ".hooks", ".model", ".kernels", ".device", ".errors"}
    for module in _imports(PKG / name):
        if module.startswith("."):
            assert module in allowed_local, f"{name} imports {module}"
        else:
            assert module == "torch" or module in sys.stdlib_module_names, f"{name} imports {module}"


def test_nothing_outside_the_ui_package_imports_gradio():
    offenders = [
        str(path.relative_to(PKG))
        for path in PKG.rglob("*.py")
        if "ui" not in path.relative_to(PKG).parts and "gradio" in _imports(path)
    ]
    assert offenders == []


def test_figures_do_not_import_torch_or_gradio():
    assert not {"torch", "gradio"} & _imports(PKG / "figures.py")


def _module_name(path: Path) -> str:
    """'playground.ui.state' for playground/ui/state.py; a package is its __init__."""
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _local_imports(path: Path, modules: set[str]) -> set[str]:
    """The playground modules a file imports, anywhere in it (function-local imports included):
    `from .x import y`, `from . import x`, `from .. import x`, `import playground.x`."""
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import hub` imports the module playground.hub
                if f"{target}.{alias.name}" in modules:
                    found.add(f"{target}.{alias.name}")
                elif target in modules:
                    found.add(target)
    return found - {this}


def test_no_import_cycles_among_playground_modules():
    """Layers point one way: no module imports, even inside a function, one that imports it back
    (directly or through others)."""
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {name: _local_imports(path, set(files)) for name, path in files.items()}
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == [], cycles
