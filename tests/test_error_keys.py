"""Every user-facing error in playground/ is keyed: read off the source, not by convention.

A PlaygroundError (or any subclass: ConfigError, HubError, ...) built with an English sentence
could only be shown in Chinese by parsing it back — the thing keyed errors replace. So every
construction of one must pass a registered key first (or a key computed from registered ones);
range and choice checks must name a registered field; a gr.Error raised in the UI must carry
text from `i18n.text(key, lang)`, not a sentence written in place.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import playground
from playground import errors

PKG = Path(playground.__file__).resolve().parent
SOURCES = sorted(PKG.rglob("*.py"))


def _import_everything() -> None:
    """Modules register their messages when imported: import them all before checking keys."""
    for info in pkgutil.walk_packages([str(PKG)], prefix="playground."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_import_everything()


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


ERROR_CLASSES = {errors.PlaygroundError, *_subclasses(errors.PlaygroundError)}
ERROR_NAMES = {cls.__name__ for cls in ERROR_CLASSES}
RANGE_NAMES = {cls.__name__ for cls in ERROR_CLASSES if issubclass(cls, errors.RangeError)}
FIELD_CHECKS = {"check_range", "check_choice"}
WORDS = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}")  # two English words: a phrase, not a name or a number


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _aliases(tree: ast.AST) -> dict[str, str]:
    """`from .errors import PlaygroundError as KeyedError` -> {"KeyedError": "PlaygroundError"}."""
    return {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname
    }


def _key_problem(arg: ast.AST) -> str | None:
    """Why `arg` is not a usable key (None when it is)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return None if arg.value in errors.MESSAGES else f"{arg.value!r} is not a registered key"
    if isinstance(arg, ast.IfExp):
        return _key_problem(arg.body) or _key_problem(arg.orelse)
    if isinstance(arg, ast.Tuple) and arg.elts:  # (key, params), as LessonError's "where"
        return _key_problem(arg.elts[0])
    if isinstance(arg, ast.JoinedStr):
        prefix = arg.values[0].value if arg.values and isinstance(arg.values[0], ast.Constant) else ""
        if "." in prefix and any(key.startswith(prefix) for key in errors.MESSAGES):
            return None  # a key built from a registered family, e.g. f"config.{name}"
        return "an f-string that is not a key (a sentence?)"
    if isinstance(arg, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
        return None  # a key computed at run time (e.g. a parameter that holds one)
    return f"{ast.unparse(arg)!r} is not a key"


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _aliases(tree)
    where = path.relative_to(PKG.parent)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        name = aliases.get(name, name)
        if name in ERROR_NAMES or name in FIELD_CHECKS:
            if not node.args:
                found.append(f"{where}:{node.lineno}: {name}() without a key")
                continue
            problem = _key_problem(node.args[0])
            if problem:
                what = "field" if name in RANGE_NAMES or name in FIELD_CHECKS else "key"
                found.append(f"{where}:{node.lineno}: {name}(...) {what}: {problem}")
            for kw in node.keywords:  # words inside a message are keys too (errors.Label), not English
                value = kw.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and WORDS.search(value.value):
                    found.append(f"{where}:{node.lineno}: {name}(..., {kw.arg}={value.value!r}): English in a message")
        elif name == "Error" and "ui" in path.relative_to(PKG).parts and node.args:
            first = node.args[0]
            if isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                found.append(f"{where}:{node.lineno}: gr.Error with a sentence written in place")
    return found


def test_the_scan_sees_the_error_kinds():
    assert {"PlaygroundError", "ConfigError", "CorpusError", "TokenizerError", "CheckpointError", "HubError",
            "SessionError", "TranslateError", "ExportError", "RangeError"} <= ERROR_NAMES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_every_error_in_the_code_uses_a_registered_key(path):
    assert _problems(path) == []


def test_the_scan_catches_sentences(tmp_path):
    bad = tmp_path / "ui" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "raise PlaygroundError(f'the text has {n} characters')\n"
        "raise HubError('not a key at all')\n"
        "raise KeyedError('also.not.registered')\n"
        "check_range(f'{name} must be', 1, 0, 2)\n"
        "raise gr.Error(f'unknown model {name}')\n"
        "raise PlaygroundError('range.whole', field='config.steps')\n"
        "raise PlaygroundError('range.whole', field='config.steps', got='two words')\n"
        "from .errors import PlaygroundError as KeyedError\n",
        encoding="utf-8",
    )
    global PKG
    saved, PKG = PKG, tmp_path
    try:
        problems = _problems(bad)
    finally:
        PKG = saved
    assert len(problems) == 6, problems


def test_every_key_has_both_languages_and_the_same_parameters():
    import string

    fields = string.Formatter()
    for key, texts in errors.MESSAGES.items():
        assert set(texts) == set(errors.LANGUAGES), key
        names = [{f for _, f, _, _ in fields.parse(texts[lang]) if f} for lang in errors.LANGUAGES]
        assert names[0] == names[1], (key, names)
