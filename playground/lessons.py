"""Lessons: an ordered list of steps, each setting the page (model, text, tab, selection) and
showing one paragraph, in English and 中文. Lessons are JSON files (assets/lessons/*.json),
so a teacher writes their own without touching code; this module reads and validates them.

Why so strict: a teacher finds a typo in front of a class otherwise. Every problem is reported
with where it is ("step 3 · layer") and what is allowed, in the user's language (keyed errors).
Only JSON is read, never pickle or YAML tags; size is checked before parsing.

A lesson can travel in a link: a built-in one by name (`lesson=tokens-to-induction`), a
teacher's own inside the link itself (`lesson=data:<base64url of zlib-compressed JSON>`), so
nothing is ever fetched from another server.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import Label, PlaygroundError, register, render
from .page_state import PageState, _parse

FORMAT = "transformer-playground-lesson/1"
LESSON_DIR = Path(__file__).resolve().parents[1] / "assets" / "lessons"
MAX_LESSON_BYTES = 64 * 1024
MAX_LINK_LESSON_CHARS = 6_000  # the encoded lesson in a link; URLs over ~8k characters break
MAX_STEPS = 50
MAX_PARAGRAPH_CHARS = 3_000
MAX_TITLE_CHARS = 200
LANGS = ("en", "zh")
# What a step may set (page_state's names; "input" is the shared text box, "text" the paragraph).
STEP_SETTINGS = ("model", "input", "layer", "head", "query", "prompt", "max_new", "temperature", "top_k",
                 "top_p", "seed", "greedy")
STEP_KEYS = ("title", "text", "tab", *STEP_SETTINGS)

register(
    {
        "lesson.at": ("lesson file, {where}: {detail}", "课程文件，{where}：{detail}"),
        "lesson.too_big": (
            "the lesson file is {n} bytes; at most {limit} are allowed",
            "课程文件有 {n} 字节；最多允许 {limit} 字节",
        ),
        "lesson.not_json": (
            "the lesson file is not valid UTF-8 JSON ({detail}); a lesson is a .json file",
            "课程文件不是有效的 UTF-8 JSON（{detail}）；课程是一个 .json 文件",
        ),
        "lesson.format": (
            "\"format\" must be \"{expected}\" (got {got})",
            "\"format\" 必须是 \"{expected}\"（收到 {got}）",
        ),
        "lesson.missing": ("{key} is missing", "缺少 {key}"),
        "lesson.wrong_type": ("{key} must be {expected} (got {got})", "{key} 必须是 {expected}（收到 {got}）"),
        "lesson.kind_text": ("text", "文本"),
        "lesson.kind_text_or_number": ("text or number", "文本或数字"),
        "lesson.unknown_key": (
            "unknown key {key}; a step may have: {allowed}",
            "未知的键 {key}；一个步骤可以有：{allowed}",
        ),
        "lesson.too_long": ("{key} has {n} characters; at most {limit}", "{key} 有 {n} 个字符；最多 {limit} 个"),
        "lesson.steps_count": (
            "a lesson has 1 to {limit} steps (got {n})",
            "一个课程有 1 到 {limit} 个步骤（收到 {n} 个）",
        ),
        "lesson.unknown": (
            "there is no built-in lesson {got}; choose one of: {choices}",
            "没有名为 {got} 的内置课程；请从 {choices} 中选择",
        ),
        "lesson.bad_link": (
            "the lesson in the link cannot be read ({detail})",
            "无法读取链接中的课程（{detail}）",
        ),
        "lesson.where_root": ("the top level", "顶层"),
        "lesson.where_step": ("step {n}", "第 {n} 步"),
    }
)


class LessonError(PlaygroundError):
    """A problem in a lesson file: where it is, and the problem itself (both in the user's language)."""

    def __init__(self, where: tuple[str, dict], cause: PlaygroundError) -> None:
        self.where, self.cause = where, cause
        super().__init__("lesson.at", where=_where(where, "en"), detail=cause.message("en"))

    def message(self, lang: str = "en") -> str:
        return render("lesson.at", lang, {"where": _where(self.where, lang), "detail": self.cause.message(lang)})


def _where(where: tuple[str, dict], lang: str) -> str:
    key, params = where
    field = params.get("field")
    place = render(key, lang, {k: v for k, v in params.items() if k != "field"})
    return f"{place} · {field}" if field else place


@dataclass
class Step:
    title: dict[str, str]
    text: dict[str, str]
    tab: str
    state: PageState  # what the step sets (tab included)

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]

    def text_in(self, lang: str) -> str:
        return self.text.get(lang) or self.text["en"]


@dataclass
class Lesson:
    name: str
    title: dict[str, str]
    steps: list[Step]

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["en"]


def _type_name(value) -> str:
    return type(value).__name__ if value is not None else "null"


def _bilingual(obj, key: str, where, limit: int) -> dict[str, str]:
    """{"en": ..., "zh": ...}: both languages, non-empty, at most `limit` characters."""
    value = obj.get(key)
    if value is None:
        raise LessonError(where, PlaygroundError("lesson.missing", key=key))
    if not isinstance(value, dict):
        raise LessonError(where, PlaygroundError("lesson.wrong_type", key=key, expected="{\"en\", \"zh\"}",
                                                 got=_type_name(value)))
    out = {}
    for lang in LANGS:
        text = value.get(lang)
        name = f"{key}.{lang}"
        if text is None:
            raise LessonError(where, PlaygroundError("lesson.missing", key=name))
        if not isinstance(text, str) or not text.strip():
            raise LessonError(where, PlaygroundError("lesson.wrong_type", key=name, expected=Label("lesson.kind_text"),
                                                     got=_type_name(text)))
        if len(text) > limit:
            raise LessonError(where, PlaygroundError("lesson.too_long", key=name, n=len(text), limit=limit))
        out[lang] = text
    return out


def _step(raw, n: int) -> Step:
    where = ("lesson.where_step", {"n": n})
    if not isinstance(raw, dict):
        raise LessonError(where, PlaygroundError("lesson.wrong_type", key="step", expected="{...}",
                                                 got=_type_name(raw)))
    for key in raw:
        if key not in STEP_KEYS:
            raise LessonError(where, PlaygroundError("lesson.unknown_key", key=repr(str(key)[:40]),
                                                     allowed=", ".join(STEP_KEYS)))
    title = _bilingual(raw, "title", where, MAX_TITLE_CHARS)
    text = _bilingual(raw, "text", where, MAX_PARAGRAPH_CHARS)
    if "tab" not in raw:
        raise LessonError(where, PlaygroundError("lesson.missing", key="tab"))
    state = PageState()
    for key in ("tab", *STEP_SETTINGS):
        if key not in raw:
            continue
        value = raw[key]
        field = {"input": "text"}.get(key, key)
        if isinstance(value, bool) and key != "greedy" or not isinstance(value, (str, int, float, bool)):
            raise LessonError((where[0], {**where[1], "field": key}),
                              PlaygroundError("lesson.wrong_type", key=key,
                                              expected=Label("lesson.kind_text_or_number"), got=_type_name(value)))
        raw_text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        try:
            setattr(state, field, _parse(field, raw_text))
        except PlaygroundError as err:
            raise LessonError((where[0], {**where[1], "field": key}), err) from None
    return Step(title, text, state.tab, state)


def parse_lesson(data, name: str = "lesson") -> Lesson:
    """A Lesson from parsed JSON, or a LessonError saying where and what is wrong."""
    root = ("lesson.where_root", {})
    if not isinstance(data, dict):
        raise LessonError(root, PlaygroundError("lesson.wrong_type", key="lesson", expected="{...}",
                                                got=_type_name(data)))
    if data.get("format") != FORMAT:
        raise LessonError(root, PlaygroundError("lesson.format", expected=FORMAT, got=repr(data.get("format"))[:60]))
    for key in data:
        if key not in ("format", "title", "steps"):
            raise LessonError(root, PlaygroundError("lesson.unknown_key", key=repr(str(key)[:40]),
                                                    allowed="format, title, steps"))
    title = _bilingual(data, "title", root, MAX_TITLE_CHARS)
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise LessonError(root, PlaygroundError("lesson.wrong_type", key="steps", expected="[...]",
                                                got=_type_name(steps)))
    if not 1 <= len(steps) <= MAX_STEPS:
        raise LessonError(root, PlaygroundError("lesson.steps_count", limit=MAX_STEPS, n=len(steps)))
    return Lesson(name, title, [_step(raw, i + 1) for i, raw in enumerate(steps)])


def read_lesson(blob: bytes, name: str = "lesson") -> Lesson:
    """A lesson from the bytes of a .json file; the size is checked before anything is parsed."""
    if len(blob) > MAX_LESSON_BYTES:
        raise PlaygroundError("lesson.too_big", n=len(blob), limit=MAX_LESSON_BYTES)
    try:
        data = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PlaygroundError("lesson.not_json", detail=str(err)[:120]) from None
    return parse_lesson(data, name)


def load_lesson_file(path: str | Path) -> Lesson:
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_LESSON_BYTES:
        raise PlaygroundError("lesson.too_big", n=size, limit=MAX_LESSON_BYTES)
    return read_lesson(path.read_bytes(), path.stem)


def builtin_lessons() -> list[str]:
    """Names of the lessons shipped in assets/lessons (file stems), sorted."""
    return sorted(p.stem for p in LESSON_DIR.glob("*.json"))


def builtin_lesson(name: str) -> Lesson:
    if name not in builtin_lessons():
        raise PlaygroundError("lesson.unknown", got=repr(str(name)[:60]), choices=", ".join(builtin_lessons()))
    return load_lesson_file(LESSON_DIR / f"{name}.json")


def lesson_to_link(lesson_json: dict) -> str:
    """The `lesson` link parameter carrying a whole lesson: "data:" + base64url(zlib(JSON))."""
    compact = json.dumps(lesson_json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return "data:" + base64.urlsafe_b64encode(zlib.compress(compact, 9)).decode("ascii").rstrip("=")


def lesson_from_link(value: str) -> Lesson:
    """The lesson a link's `lesson` parameter names (built-in) or carries ("data:..."), size-checked
    at every stage: the encoded text, then the decompressed bytes (zlib bomb-safe)."""
    if not value.startswith("data:"):
        return builtin_lesson(value)
    encoded = value[5:]
    if len(encoded) > MAX_LINK_LESSON_CHARS:
        raise PlaygroundError("lesson.too_big", n=len(encoded), limit=MAX_LINK_LESSON_CHARS)
    try:
        packed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        inflater = zlib.decompressobj()
        blob = inflater.decompress(packed, MAX_LESSON_BYTES + 1)
    except (ValueError, zlib.error) as err:
        raise PlaygroundError("lesson.bad_link", detail=str(err)[:80]) from None
    if len(blob) > MAX_LESSON_BYTES or inflater.unconsumed_tail:
        raise PlaygroundError("lesson.too_big", n=f"> {MAX_LESSON_BYTES}", limit=MAX_LESSON_BYTES)
    return read_lesson(blob, "link")
