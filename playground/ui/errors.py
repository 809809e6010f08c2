"""User-facing errors, in the user's language, from one place.

Every event function of the app is wrapped by `guard_app(demo)` (called once in build_app), so
tab handlers just raise: keyed library errors (`playground.errors.PlaygroundError` and its kinds
ConfigError, CorpusError, CheckpointError, ... — each a key plus parameters) or a `gr.Error`
whose text they composed with `i18n.text(key, lang)`. The wrapper turns each into ONE gr.Error:

- a keyed error is worded with `error.message(lang)`, the language coming from the request's
  Accept-Language header (`i18n.language`). `gr.Error` takes a plain string (Gradio 6.31:
  `message: str`, sent verbatim in the event's JSON), so the wording is chosen on the server;
- `<` and `&` are escaped: Gradio renders an error message as HTML, and messages quote input;
- an unexpected exception (a bug) is logged with its traceback and shown as a short notice in
  the user's language instead of Gradio's bare "Error"; the server keeps serving.

Gradio's own input checks (a slider value outside its range, a dropdown value not among its
choices, a file type or path it refuses) run before any handler; `guard_app` also wraps
`demo.process_api` and words those few messages — Gradio's, not ours, so they are recognised by
their text — with keys of their own (`GRADIO_CHECKS`). Two messages stay Gradio's English:
"Queue is full" (refused before any of our code runs) and an upload over `max_file_size`
(refused by the upload route).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
from pathlib import Path

import gradio as gr

from ..errors import PlaygroundError, register, render
from .i18n import add, language, text

log = logging.getLogger("playground.ui")

add(
    en={
        "err_internal": "Something went wrong on the server ({kind}). Nothing you had is lost; please try "
        "again, or with different input.",
        "err_generic": "{message}",
        "err_title": "Error",
        "err_bad_input": "The request could not be processed: an input has the wrong type or form ({detail}). "
        "Each endpoint's inputs and their types are listed on the page's “Use via API” page.",
    },
    zh={
        "err_internal": "服务器出了点问题（{kind}）。你已有的内容都没有丢失；请再试一次，或换一个输入。",
        "err_generic": "无法完成请求：{message}",
        "err_title": "错误",
        "err_bad_input": "无法处理这个请求：某个输入的类型或格式不对（{detail}）。"
        "每个接口的输入及其类型列在页面的“通过 API 使用”（Use via API）页上。",
    },
)
register(
    {
        "upload.outside": (
            "That file was not uploaded through this page; upload it with the file box",
            "这个文件不是通过本页面上传的；请用文件框上传它",
        ),
        "gradio.above_max": ("Value {got} is greater than maximum value {high}", "数值 {got} 大于允许的最大值 {high}"),
        "gradio.below_min": ("Value {got} is less than minimum value {low}", "数值 {got} 小于允许的最小值 {low}"),
        "gradio.not_a_choice": (
            "Value: {got} is not in the list of choices: {choices}",
            "{got} 不在可选项中：{choices}",
        ),
        "gradio.file_type": (
            "Invalid file type. Please upload a file that is one of these formats: {types}",
            "文件类型无效。请上传以下格式之一的文件：{types}",
        ),
        "gradio.not_uploaded": (
            "File {path} is not in the cache folder and cannot be accessed",
            "文件 {path} 不是上传的文件，不能访问",
        ),
    }
)

# Gradio's own refusals (gradio/components/*.py, processing_utils.py), as Gradio words them.
GRADIO_CHECKS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern, re.S), key)
    for pattern, key in (
        (r"Value (?P<got>.+) is greater than maximum value (?P<high>.+?)\.?", "gradio.above_max"),
        (r"Value (?P<got>.+) is less than minimum value (?P<low>.+?)\.?", "gradio.below_min"),
        (r"Value: (?P<got>.+?)(?: \(type: .*\))? is not in the list of choices: (?P<choices>.+)",
         "gradio.not_a_choice"),
        (r"Invalid file type\. Please upload a file that is one of these formats: (?P<types>.+)", "gradio.file_type"),
        (r"File (?P<path>.+) is not in the cache folder and cannot be accessed\.?", "gradio.not_uploaded"),
    )
)


def gradio_message(message: str, lang: str) -> str:
    """One of Gradio's own input-check messages in `lang` (any other text is returned as is)."""
    for pattern, key in GRADIO_CHECKS:
        match = pattern.fullmatch(message.strip())
        if match is not None:
            return render(key, lang, match.groupdict())
    return message


def _escape(message: str) -> str:
    """Gradio renders an error message as HTML; messages quote user input."""
    return message.replace("&", "&amp;").replace("<", "&lt;")


def user_error(err: BaseException, lang: str = "en") -> gr.Error:
    """The one gr.Error a user sees for `err`: keyed errors in `lang`, bugs as a short notice."""
    if getattr(err, "_playground_translated", False):
        return err
    if isinstance(err, gr.Error):  # composed by a handler with i18n.text(key, lang): already in `lang`
        title = text("err_title", lang) if err.title == "Error" else err.title  # Gradio's default, translated
        out = gr.Error(
            _escape(str(err.message)), duration=err.duration, visible=err.visible, title=title,
            print_exception=False,
        )
    elif isinstance(err, PlaygroundError):
        out = gr.Error(_escape(err.message(lang)), title=text("err_title", lang), print_exception=False)
    elif isinstance(err, ValueError):  # a check without a key: say what it says, behind a lead-in
        log.warning("an error without a key reached the user: %s: %s", type(err).__name__, err)
        out = gr.Error(_escape(text("err_generic", lang, message=str(err))), title=text("err_title", lang),
                       print_exception=False)
    else:
        log.error("unexpected error in a handler", exc_info=err)
        out = gr.Error(text("err_internal", lang, kind=type(err).__name__), title=text("err_title", lang),
                       print_exception=False)
    out._playground_translated = True
    return out


def _request_language(args, kwargs) -> str:
    """The language of the handler's request argument, else of the event being processed."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request) or (hasattr(value, "headers") and hasattr(value, "session_hash")):
            return language(value)
    return language(None)


def guard(fn):
    """Wrap an event function so every exception reaches the user as a translated gr.Error.

    Keeps the signature (Gradio injects gr.Request by it) and generator-ness (streams)."""
    if fn is None or getattr(fn, "_playground_guarded", False):
        return fn
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return fn  # none in this app; left to Gradio
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:
                raise user_error(err, _request_language(args, kwargs)) from None

    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                raise user_error(err, _request_language(args, kwargs)) from None

    wrapper._playground_guarded = True
    return wrapper


def guard_app(demo: gr.Blocks) -> int:
    """Wrap every event function of `demo` with `guard`, and `demo.process_api` so that
    Gradio's own input checks (run before any handler) are translated too; returns how many
    event functions were wrapped."""
    count = 0
    for block_fn in demo.fns.values():
        if block_fn.fn is not None and not getattr(block_fn.fn, "_playground_guarded", False):
            block_fn.fn = guard(block_fn.fn)
            count += 1
    original = demo.process_api
    if not getattr(original, "_playground_guarded", False):

        @functools.wraps(original)
        async def process_api(*args, **kwargs):
            try:
                return await original(*args, **kwargs)
            except Exception as err:
                request = kwargs.get("request")
                if isinstance(request, list):
                    request = request[0] if request else None
                lang = language(request)
                if isinstance(err, gr.Error) and not getattr(err, "_playground_translated", False):
                    # Gradio's own check of an input, before any handler ran
                    err = gr.Error(gradio_message(str(err.message), lang), print_exception=False)
                if isinstance(err, gr.Error):
                    raise user_error(err, lang) from None
                # Handlers' own failures arrive as gr.Error (guard): this is Gradio reading the
                # request's inputs (e.g. a word where a number belongs) or writing the outputs.
                log.warning("request not processed: %s: %s", type(err).__name__, err)
                lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()] or [""]
                detail = next((ln for ln in lines if ln.startswith("Expected")), None)
                if detail is None:  # Gradio's own refusals say why; anything else: just its kind
                    detail = f"{type(err).__name__}: {lines[0]}" if "Path" in type(err).__name__ else type(err).__name__
                bad = gr.Error(_escape(text("err_bad_input", lang, detail=detail[:300])), title=text("err_title", lang),
                               print_exception=False)
                bad._playground_translated = True
                raise bad from None

        process_api._playground_guarded = True
        demo.process_api = process_api  # Gradio calls blocks.process_api(..., request=...) per event
    return count


# ---------------------------------------------------------------- uploads


def upload_folder() -> Path:
    """Where Gradio stores uploaded files (GRADIO_TEMP_DIR, default <tmp>/gradio)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def check_upload(path: str | os.PathLike) -> str:
    """`path` if it is a file Gradio received from the user, else a keyed PlaygroundError.

    During a request only files inside Gradio's upload folder are accepted (Gradio checks this
    too when it preprocesses a gr.File; this is the second lock). Outside a request (handler
    tests, notebooks) any local file is the caller's own."""
    from .state import _current_request

    if _current_request() is None:
        return str(path)
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(upload_folder()):
        raise PlaygroundError("upload.outside")
    return str(resolved)
