"""Which model a request means. Shared read-only models are cached once per process; a user's
own model ("My model", trained or uploaded in the Train tab) lives in a session-keyed registry
with an idle timeout (playground.sessions), never in gr.State.

Every inspection tab resolves the picker through `get_bundle(name, session)`. "My model" needs
the session: pass the handler's `gr.Request` (or its session_hash); without one, the request
of the event being processed is used, so existing callers work unchanged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from .. import api, hub
from ..errors import register
from ..sessions import MB, SessionError, SessionEvicted, SessionRegistry, nbytes
from . import zerogpu
from .i18n import add

MY_MODEL = "My model"
MODEL_SLOT = "my_model"
SESSION_TTL = float(os.environ.get("PLAYGROUND_SESSION_TTL", 30 * 60))  # seconds idle before freeing
LOCAL_SESSION = "local"  # handlers called outside a request (tests, notebooks)

# All sessions' slots together (models, views, generations) may hold at most this much; past
# it the least recently used sessions are freed and told so when they return. A trained model
# is at most ~12 MB (3M parameters), an uploaded one at most 80 MB, a view or generation a few MB.
SESSION_MEMORY_MB = float(os.environ.get("PLAYGROUND_SESSION_MEMORY_MB", 768))

REGISTRY = SessionRegistry(ttl=SESSION_TTL, max_bytes=int(SESSION_MEMORY_MB * MB))

register({
    "limits.what_attention": ("Your attention view", "你的注意力视图"),
    "limits.again_inspect": ("press Inspect", "请按“分析”"),
    "limits.what_generation": ("Your generation", "你生成的文本"),
    "limits.again_generate": ("press Generate", "请按“生成”"),
    "limits.what_my_model": ('"My model"', "“我的模型”"),
    "limits.again_model": ("train or upload it in the Train tab", "在“训练”标签页重新训练或上传"),
})

add(
    en={"model_info": "A built-in model, or type a GPT-2 model id from the Hugging Face Hub "
        f"(e.g. {hub.EXAMPLES}) and press Enter"},
    zh={"model_info": f"选择内置模型，或输入 Hugging Face Hub 上的 GPT-2 模型 id（例如 {hub.EXAMPLES}）并按回车"},
)
register(
    {
        "ui.nothing_inspected": (
            "Nothing inspected yet: type a text and press Inspect first.",
            "还没有分析任何内容：请先输入文本并按“分析”。",
        ),
        "session.my_model": (f'"{MY_MODEL}"', f"“我的模型”（{MY_MODEL}）"),
        "model.my_model_missing": (
            '{reason}. "My model" is the model trained or uploaded in the Train tab of this browser session; each '
            "user sees only their own",
            "{reason}。“我的模型”（My model）是本浏览器会话在“训练”标签页中训练或上传的模型；每个用户只能看到自己的",
        ),
    }
)


@dataclass
class MyModel:
    """A session's own model and its summary; `close()` deletes its temp folder (zip exports)."""

    bundle: api.ModelBundle
    info: dict = field(default_factory=dict)  # source, steps, corpus, losses... for display
    workdir: Path | None = None

    def folder(self) -> Path:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="playground-session-"))
        return self.workdir

    def nbytes(self) -> int:
        """About what this model keeps in memory (weights, buffers, tokenizer), for the registry's
        budget. parameters() lists the tied output layer once."""
        model = self.bundle.model
        tensors = [*model.parameters(), *model.buffers()]
        weights = sum(t.element_size() * t.numel() for t in tensors)
        return weights + 128 * self.bundle.tokenizer.vocab_size + nbytes(self.info)

    def close(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def session_of(request=None) -> str:
    """The session id of `request` (a gr.Request or a string); the current event's request
    when None; LOCAL_SESSION outside any request."""
    if isinstance(request, str) and request:
        return request
    if request is None:
        request = _current_request()
    key = getattr(request, "session_hash", None) if request is not None else None
    return key or LOCAL_SESSION


def _current_request():
    try:
        from gradio.context import LocalContext

        return LocalContext.request.get(None)
    except (ImportError, AttributeError, LookupError):
        return None


def model_choices(session=None) -> list[str]:
    """Names for the model picker: the shipped checkpoints (or the random demo model), plus
    "My model" when `session` (a gr.Request or id) has one."""
    names = api.builtin_names() or [api.DEMO_MODEL]
    if session is not None and REGISTRY.has(session_of(session), MODEL_SLOT):
        names = [*names, MY_MODEL]
    return names


PICKED_SLOT = "picked"  # the model this session last chose in the picker (shared.on_check records it)


def remember_pick(session, name: str | None) -> None:
    """Record the picker's value after a successful check (a short string per session)."""
    REGISTRY.put(session_of(session), PICKED_SLOT, str(name or ""))


def last_pick(session) -> str | None:
    """The model this session last chose, or None if it never chose one through the page."""
    return REGISTRY.peek(session_of(session), PICKED_SLOT)


def picker_update(session, select: bool = False):
    """A gr.update for the picker with this session's choices (optionally selecting My model)."""
    choices = model_choices(session)
    return gr.update(choices=choices, value=MY_MODEL) if select else gr.update(choices=choices)


def get_bundle(name: str | None, session=None) -> api.ModelBundle:
    """The model called `name` (default: the first choice); unknown names list the valid ones.

    "My model" resolves only for the session that trained or uploaded it; every other name goes
    to `api.load_model` (built-in names, then GPT-2-family Hub ids such as "gpt2", "hf:distilgpt2";
    never a local path)."""
    name = name or model_choices()[0]
    if name == MY_MODEL:
        return get_my_model(session).bundle
    if name == api.DEMO_MODEL:
        return api.demo_model()
    # The notebook's resolver without local paths: a typed name never becomes a file here.
    return api.load_model(name, local_paths=False, choices=model_choices(session))


@zerogpu.gpu(duration=30)
def inspect_on_gpu(bundle: api.ModelBundle, text_in: str, max_tokens: int) -> api.Inspection:
    """`api.inspect` in a GPU worker on a ZeroGPU Space (zerogpu.py; the Inspection comes back
    on the CPU), for the models big enough to need it: those from the Hub."""
    if zerogpu.active():
        import dataclasses

        bundle = dataclasses.replace(bundle, model=bundle.model.to(zerogpu.device()))  # the worker's copy
        try:
            return api.inspect(bundle, text_in, max_tokens=max_tokens)
        except ValueError as err:  # only gr.Error crosses back from the worker with its message
            raise gr.Error(str(err)) from None
    return api.inspect(bundle, text_in, max_tokens=max_tokens)


def inspect_or_error(model_name: str | None, text_in: str) -> tuple[api.ModelBundle, api.Inspection]:
    """Resolve the picker's model and inspect `text_in` (a keyed error reaches the user through
    the app's guard). Hub models (up to GPT-2 small) are inspected under ZeroGPU's GPU when there
    is one."""
    bundle = get_bundle(model_name)
    inspect = inspect_on_gpu if bundle.meta.get("source") == "hub" else api.inspect
    return bundle, inspect(bundle, text_in, max_tokens=api.MAX_VIEW_TOKENS)


def get_my_model(session=None) -> MyModel:
    """This session's MyModel, or a PlaygroundError saying there is none (or it expired)."""
    key = session_of(session)
    try:
        return REGISTRY.get(key, MODEL_SLOT, what="session.my_model")
    except SessionEvicted:
        raise REGISTRY.evicted_error("limits.what_my_model", "limits.again_model") from None
    except SessionError as err:
        raise api.PlaygroundError("model.my_model_missing", reason=err) from None


def set_my_model(session, bundle: api.ModelBundle, info: dict | None = None) -> MyModel:
    """Make `bundle` this session's "My model" (replacing and freeing the previous one)."""
    bundle.name = MY_MODEL
    mine = MyModel(bundle, dict(info or {}))
    REGISTRY.put(session_of(session), MODEL_SLOT, mine)
    return mine


def forget_session(request: gr.Request) -> None:
    """demo.unload handler: the tab closed, free the session's objects now."""
    key = getattr(request, "session_hash", None)
    if key:
        REGISTRY.drop(key)
