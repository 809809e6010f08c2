"""Keyed errors: every user-facing failure is a key plus parameters, worded once per language.

Why keys: a message composed as an English sentence can only be shown in Chinese by parsing
the sentence back, which breaks whenever the wording changes. Here a raise site says *what*
went wrong (`PlaygroundError("generate.prompt_too_long", limit=..., got=...)`) and the one
table `MESSAGES` says *how* to word it in English and 中文. `str(error)` is the English text,
so notebooks and logs read naturally; the UI asks `error.message(lang)`.

Each module registers the messages it raises next to its raise sites with `register`, so a
key and its wording live together; a test checks every key has both languages and every raise
site passes a registered key. Range checks go through `check_range`, which words one rule
("<field> must be between <low> and <high>") the same way everywhere.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

LANGUAGES = ("en", "zh")

# key -> {"en": template, "zh": template}; templates use str.format names.
MESSAGES: dict[str, dict[str, str]] = {}

KEY_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class Label(str):
    """A parameter value that is a registered key, shown by its text in the reader's language
    (e.g. the kind of value a file should hold). `field` parameters are always labels."""


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Add `{key: (english, chinese)}` to the table. A key may be registered once only."""
    for key, (en, zh) in messages.items():
        if not KEY_PATTERN.match(key):
            raise RuntimeError(f"message key {key!r} must look like 'area.what'")
        if key in MESSAGES and MESSAGES[key] != {"en": en, "zh": zh}:
            raise RuntimeError(f"message key {key!r} registered twice with different text")
        MESSAGES[key] = {"en": en, "zh": zh}


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:g}"
    return str(value)


def render(key: str, lang: str, params: dict[str, Any]) -> str:
    """The message for `key` in `lang` ("en" or "zh"), numbers formatted for reading."""
    texts = MESSAGES.get(key)
    if texts is None:
        raise KeyError(f"no message registered for key {key!r}")
    template = texts.get(lang) or texts["en"]
    values = {}
    for name, value in params.items():
        # The `field` parameter is a key whose text is the field's label, in `lang` too.
        if (name == "field" or isinstance(value, Label)) and value in MESSAGES:
            values[name] = MESSAGES[value].get(lang) or MESSAGES[value]["en"]
        elif isinstance(value, PlaygroundError):  # a wrapped cause ("cannot load x.zip: <why>")
            values[name] = value.message(lang)
        elif isinstance(value, list) and value and all(isinstance(v, PlaygroundError) for v in value):
            values[name] = "; ".join(v.message(lang) for v in value)  # several findings, each keyed
        else:
            values[name] = _format_value(value)
    return template.format(**values)


class PlaygroundError(ValueError):
    """A failure the user can fix: a registered key and the parameters its message needs.

    It is a ValueError so plain Python callers (`except ValueError`) keep working.
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(render(key, "en", params))

    def message(self, lang: str = "en") -> str:
        return render(self.key, lang, self.params)


class RangeError(PlaygroundError):
    """A value outside its allowed range. `field` is the key of the field's label.

    `high=None` means no upper bound; `low_open` excludes `low` itself (a learning rate > 0).
    """

    def __init__(
        self,
        field: str,
        /,
        *,
        low: Any,
        high: Any = None,
        got: Any,
        whole: bool = False,
        low_open: bool = False,
    ) -> None:
        if low_open:
            kind = "range.above"
        elif high is None:
            kind = "range.whole_min" if whole else "range.number_min"
        else:
            kind = "range.whole" if whole else "range.number"
        params = {"field": field, "low": low, "got": _shown(got)}
        if high is not None:
            params["high"] = high
        super().__init__(kind, **params)
        self.field = field


def _shown(value: Any) -> str:
    """How a bad value is quoted back: short, and empty input called empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "∅"
    text = _format_value(value) if isinstance(value, (int, float)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


register(
    {
        "range.whole": (
            "{field} must be a whole number from {low} to {high} (got {got})",
            "{field}必须是 {low} 到 {high} 之间的整数（收到 {got}）",
        ),
        "range.number": (
            "{field} must be a number from {low} to {high} (got {got})",
            "{field}必须是 {low} 到 {high} 之间的数（收到 {got}）",
        ),
        "range.above": (
            "{field} must be a number above {low} and at most {high} (got {got})",
            "{field}必须是大于 {low}、不大于 {high} 的数（收到 {got}）",
        ),
        "range.whole_min": (
            "{field} must be a whole number of at least {low} (got {got})",
            "{field}必须是不小于 {low} 的整数（收到 {got}）",
        ),
        "range.number_min": (
            "{field} must be a number of at least {low} (got {got})",
            "{field}必须是不小于 {low} 的数（收到 {got}）",
        ),
        "choice.one_of": (
            "unknown {field} {got}; choose one of: {choices}",
            "未知的{field} {got}；请从 {choices} 中选择",
        ),
    }
)


def check_range(
    field: str,
    value: Any,
    low: float,
    high: float | None,
    *,
    whole: bool = False,
    low_open: bool = False,
    error: type[RangeError] = RangeError,
) -> Any:
    """Return `value` if it is a number (a whole one if `whole`) in [low, high], else raise.

    One rule, one wording: None, text, NaN, infinities and booleans are refused with the same
    message as an out-of-range number, which says what *is* allowed. `error` is the RangeError
    subclass to raise, so a caller can still catch its module's kind of failure (ConfigError).
    """
    ok_type = isinstance(value, numbers.Real) and not isinstance(value, bool)  # numpy numbers too
    if ok_type and not isinstance(value, numbers.Integral):
        ok_type = math.isfinite(value) and (not whole or float(value).is_integer())
    ok = ok_type and (low < value if low_open else low <= value) and (high is None or value <= high)
    if not ok:
        raise error(field, low=low, high=high, got=value, whole=whole, low_open=low_open)
    return int(value) if whole else value


def check_choice(field: str, value: Any, choices: Any, *, error: type[PlaygroundError] = PlaygroundError) -> Any:
    """Return `value` if it is one of `choices`, else raise `error("choice.one_of", ...)`."""
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set/dict
        ok = False
    if not ok:
        raise error("choice.one_of", field=field, choices=", ".join(map(str, choices)), got=_shown(value))
    return value
