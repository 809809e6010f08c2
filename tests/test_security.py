"""Security settings for a public Space: nothing is ever unpickled, no user string becomes a
filesystem path in the web UI, Gradio serves no file it should not, monitoring is off."""

from __future__ import annotations

import ast
import io
import pickle
import zipfile
from pathlib import Path

import gradio as gr
import httpx
import pytest
import torch
from train_ui import train_ui

from playground import api
from playground.ui import attention_tab, embeddings_tab, generate_tab, launch_kwargs, state, tokens_tab
from playground.ui import train_tab as tab
from playground.ui.errors import guard

ROOT = Path(__file__).resolve().parents[1]
PATH_LIKE = [
    "../../etc/passwd",
    "/etc/passwd",
    "assets/checkpoints/stories",
    str(api.CHECKPOINT_DIR / "stories"),
    "stories/../stories",
    "./stories",
    "~/.ssh/id_rsa",
    "C:\\Windows\\win.ini",
    "file:///etc/passwd",
    "stories\x00",
    "https://example.com/model.zip",
]


class Request:
    def __init__(self, session="sec", lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


# ---------------------------------------------------------------- never unpickle


def test_no_code_in_the_app_can_unpickle_or_evaluate():
    """No import of a pickle-family module, no call of a loader that unpickles, no eval/exec."""
    modules = {"pickle", "_pickle", "cPickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
    loaders = {("torch", "load"), ("np", "load"), ("numpy", "load"), ("pickle", "load"), ("pickle", "loads")}
    found = []
    for path in [*ROOT.joinpath("playground").rglob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] in modules for a in node.names):
                found.append(where)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in modules:
                found.append(where)
            elif isinstance(node, ast.Call):
                fn = node.func
                if isinstance(fn, ast.Name) and fn.id in ("eval", "exec", "__import__"):
                    found.append(where)
                elif isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name):
                    if (fn.value.id, fn.attr) in loaders:
                        found.append(where)
    assert not found, found


def test_loading_every_model_and_an_upload_never_calls_the_unpickler(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    api._load_builtin.cache_clear()
    try:
        for name in api.builtin_names():
            api.load_model(name)
        list(
            tab.on_train(
                train_ui(),
                corpus="copy",
                tokenizer="char",
                vocab=32,
                layers=1,
                heads=2,
                d_model=32,
                n_ctx=32,
                steps=2,
                batch=4,
                lr=3e-3,
                seed=0,
                probe="",
                request=Request("sec"),
            )
        )
        path = tab.on_export(Request("sec"))
        tab.on_upload(train_ui(), path, Request("sec2"))
        assert state.get_bundle(state.MY_MODEL, Request("sec2")) is not None
    finally:
        api._load_builtin.cache_clear()
        for key in ("sec", "sec2"):
            state.REGISTRY.drop(key)


def test_a_pickle_disguised_as_safetensors_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", '{"n_layer": 1, "n_head": 1, "n_embd": 8, "n_positions": 8, "vocab_size": 8}')
        zf.writestr("model.safetensors", pickle.dumps(Payload()))
        zf.writestr("tokenizer.json", "{}")
    path = tmp_path / "evil.zip"
    path.write_bytes(buf.getvalue())
    with pytest.raises(gr.Error):
        guard(tab.on_upload)(str(path), Request("sec3"))
    assert not marker.exists()
    assert not state.REGISTRY.has("sec3", state.MODEL_SLOT)


# ---------------------------------------------------------------- no user string becomes a path


@pytest.mark.parametrize("name", PATH_LIKE)
def test_the_web_ui_refuses_path_like_model_names(name):
    """The notebook's api.load_model accepts local paths on purpose; the UI resolves only the
    picker's names (built-ins and the session's own model)."""
    with pytest.raises(api.PlaygroundError, match="unknown model"):
        state.get_bundle(name, Request())
    handlers = [
        lambda: attention_tab.on_inspect(name, "The dog", None, Request()),
        lambda: tokens_tab.on_tokenize(name, "The dog", Request()),
        lambda: embeddings_tab.on_embeddings(name, "The dog", None, Request()),
        lambda: embeddings_tab.on_neighbours(name, 1, Request()),
        lambda: list(generate_tab.on_generate(name, "The dog", 4, 1.0, 0, 1.0, False, 0, Request())),
    ]
    for handler in handlers:
        with pytest.raises(gr.Error, match="unknown model"):
            guard(handler)()


def test_the_notebook_api_still_loads_a_checkpoint_folder_by_path():
    folder = next(iter(api.CHECKPOINT_DIR.iterdir()), None)
    if folder is None:
        pytest.skip("no shipped checkpoint")
    assert api.load_model(folder).model is not None
    # the same resolver for the web UI: the existing folder is refused, never read
    with pytest.raises(api.PlaygroundError, match="unknown model"):
        api.load_model(str(folder), local_paths=False)


@pytest.mark.parametrize("corpus", ["../../etc/passwd", "/etc/hosts", "stories/../../x"])
def test_corpus_names_never_become_paths(corpus):
    with pytest.raises(gr.Error, match="unknown corpus"):
        list(guard(tab.on_train)(train_ui(), corpus=corpus, request=Request()))
    with pytest.raises(gr.Error, match="nknown corpus"):
        guard(tokens_tab.on_train_bpe)(corpus, 300, "stories", "The dog", Request())


# ---------------------------------------------------------------- what the server serves


def test_launch_settings_are_minimal():
    kwargs = launch_kwargs()
    assert kwargs["enable_monitoring"] is False
    assert "allowed_paths" not in kwargs and "share" not in kwargs and "auth" not in kwargs
    assert kwargs["max_file_size"] <= 100 * 1024 * 1024


@pytest.mark.server
@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "app.py", str(ROOT / "app.py"), "../../etc/passwd", str(api.CHECKPOINT_DIR), "/proc/self/environ"],
)
def test_the_server_serves_no_file_outside_its_upload_folder(app_url, path):
    r = httpx.get(f"{app_url.rstrip('/')}/gradio_api/file={path}", timeout=30)
    assert r.status_code in (403, 404), (path, r.status_code)


@pytest.mark.server
def test_monitoring_is_off(app_url):
    assert httpx.get(f"{app_url.rstrip('/')}/monitoring", timeout=30).status_code in (403, 404)


@pytest.mark.server
def test_a_file_reference_outside_the_upload_folder_is_refused_before_the_handler(app_url):
    """A crafted API call naming a server path instead of uploading a file."""
    from test_fuzz_http import raw_predict

    ok, message = raw_predict(
        app_url, "/upload_model", [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}, "orig_name": "x.zip"}]
    )
    assert not ok and "/etc/passwd" in message and "not uploaded by a user" in message, message
