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
