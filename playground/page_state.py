"""What a page shows, as a link: model, text, tab, selection and Generate settings <-> URL query.

Why a library module: a teacher's slide carries the link, so the encoding must be stable,
validated and testable without a browser. `to_query` writes only what is set; `from_query`
reads a query mapping (e.g. gr.Request.query_params), keeps every valid parameter and returns
a keyed error for each invalid one, so a half-broken link still restores what it can.

A session's private model ("My model") cannot be linked: it exists only in that browser
session on that server. Hub ids can (anyone opening the link loads the same public model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from urllib.parse import urlencode

from . import hub
from .errors import PlaygroundError, register

# The page's tabs, in lesson order (playground/ui/app.py builds them in this order; a test checks).
TAB_IDS = ("tokens", "embeddings", "attention", "model", "worked", "train", "generate", "article", "translate")
PRIVATE_MODEL = "My model"
MAX_LINK_TEXT = 2_000  # characters of text in a link: longer URLs break in mail clients and slides
MAX_INDEX = 1_023  # layer / head / query token: the tab clamps to what the model has
# name: (low, high, whole) — the Generate tab's controls have the same bounds (a test checks).
GENERATE_LIMITS = {
    "max_new": (1, 256, True),
    "temperature": (0.05, 2.0, False),
    "top_k": (0, 100, True),
    "top_p": (0.05, 1.0, False),
    "seed": (0, 2**31 - 1, True),
}

register(
    {
        "link.private_model": (
            "“My model” lives only in your browser session, so a link cannot carry it; the link opens the "
            "page's default model instead",
            "“我的模型”（My model）只存在于你的浏览器会话中，链接无法带上它；链接会打开页面的默认模型",
        ),
        "link.bad_model": (
            "the link's model {got} is neither a built-in model nor a Hugging Face Hub id",
            "链接中的模型 {got} 既不是内置模型，也不是 Hugging Face Hub 的 id",
        ),
        "link.bad_tab": (
            "the link's tab {got} is not one of: {choices}",
            "链接中的标签页 {got} 不是以下之一：{choices}",
        ),
        "link.bad_whole": (
            "the link's {name} must be a whole number from {low} to {high} (got {got})",
            "链接中的 {name} 必须是 {low} 到 {high} 之间的整数（收到 {got}）",
        ),
        "link.bad_number": (
            "the link's {name} must be a number from {low} to {high} (got {got})",
            "链接中的 {name} 必须是 {low} 到 {high} 之间的数（收到 {got}）",
        ),
        "link.text_too_long": (
            "the link's text has {n} characters; a link carries at most {limit}",
            "链接中的文本有 {n} 个字符；链接最多只能带 {limit} 个",
        ),
    }
)


@dataclass
class PageState:
    """Everything a link restores; None = not in the link (the page keeps its default)."""

    model: str | None = None
    text: str | None = None
    tab: str | None = None
    layer: int | None = None
    head: int | None = None
    query: int | None = None  # the Attention tab's step-by-step query token
    prompt: str | None = None  # Generate
    max_new: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    greedy: bool | None = None
    projector: bool | None = None
    lesson: str | None = None  # a built-in lesson's name, or "data:" + an encoded lesson (lessons.py)
    step: int | None = None  # 0-based step of the lesson

    def set_fields(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def to_query(state: PageState) -> str:
    """"?model=stories&text=..." with only the fields that are set ("" when none)."""
    params = {}
    for name, value in state.set_fields().items():
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, float):
            value = f"{value:g}"
        params[name] = str(value)
    return "?" + urlencode(params) if params else ""


def check_model(name: str) -> str:
    """A model name a link may carry: built-in or a Hub id, never the session's private model."""
    from . import api

    if name == PRIVATE_MODEL:
        raise PlaygroundError("link.private_model")
    if name in api.builtin_names() or name == api.DEMO_MODEL or hub.is_hub_name(name):
        return name
    raise PlaygroundError("link.bad_model", got=repr(name[:80]))


def _number(name: str, raw: str, low: float, high: float, whole: bool):
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    ok = math.isfinite(value) and low <= value <= high and (not whole or value.is_integer())
    if not ok:
        key = "link.bad_whole" if whole else "link.bad_number"
        raise PlaygroundError(key, name=name, low=low, high=high, got=repr(raw[:40]))
    return int(value) if whole else value


def from_query(query: Mapping[str, str]) -> tuple[PageState, list[PlaygroundError]]:
    """The state a query mapping describes, and one error per parameter that was refused.

    Unknown parameters (e.g. Gradio's own `view=api`) are ignored."""
    state, problems = PageState(), []
    known = {f.name for f in fields(PageState)}
    for name, raw in query.items():
        if name not in known or raw is None:
            continue
        raw = str(raw)
        try:
            setattr(state, name, _parse(name, raw))
        except PlaygroundError as err:
            problems.append(err)
    return state, problems


def _parse(name: str, raw: str):
    if name == "model":
        return check_model(raw.strip())
    if name in ("text", "prompt"):
        if len(raw) > MAX_LINK_TEXT:
            raise PlaygroundError("link.text_too_long", n=len(raw), limit=MAX_LINK_TEXT)
        return raw
    if name == "tab":
        if raw not in TAB_IDS:
            raise PlaygroundError("link.bad_tab", got=repr(raw[:40]), choices=", ".join(TAB_IDS))
        return raw
    if name in ("layer", "head", "query", "step"):
        return _number(name, raw, 0, MAX_INDEX, True)
    if name in GENERATE_LIMITS:
        return _number(name, raw, *GENERATE_LIMITS[name])
    if name in ("greedy", "projector"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw  # lesson: checked by lessons.lesson_from_link
