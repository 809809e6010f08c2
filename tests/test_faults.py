"""Faults: what a cancelled run, a vanished client, a hostile upload, concurrent users or a full
queue leave behind. After each one the server keeps serving everyone correctly and no session
ever sees another's model."""

from __future__ import annotations

import functools
import json
import os
import pickle
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import gradio as gr
import httpx
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError
from train_ui import shown, train_ui

from playground import api
from playground.ui import state
from playground.ui import train_tab as tab
from playground.ui.errors import guard

UI = train_ui()  # the Train tab's components: its handlers return {component: value}

TINY = dict(
    corpus="copy",
    pasted=None,
    upload=None,
    tokenizer="char",
    vocab=32,
    layers=1,
    heads=2,
    d_model=32,
    n_ctx=32,
    steps=40,
    batch=8,
    lr=3e-3,
    seed=0,
    probe="12345=12345",
    continue_mine=False,
)
HTTP_TINY = {k: v for k, v in TINY.items() if k not in ("pasted", "upload", "continue_mine")}


class Request:
    """Stands in for gr.Request: a session id and the browser's language."""

    def __init__(self, session, lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


@pytest.fixture(autouse=True)
def fresh_sessions():
    yield
    for key in state.REGISTRY.sessions():
        state.REGISTRY.drop(key)


def assert_model_usable(bundle: api.ModelBundle) -> None:
    """Finite weights, a forward pass and a short generation."""
    assert all(torch.isfinite(p).all() for p in bundle.model.parameters())
    result = api.inspect(bundle, "12345=")
    assert torch.isfinite(result.logits).all()
    assert len(api.generate(bundle, "12", 3, seed=0).steps) == 3


# ---------------------------------------------------------------- cancelled training


def test_a_run_cancelled_mid_step_keeps_a_consistent_model_and_a_new_run_can_start(monkeypatch):
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 0.0)  # an update after every step
    run = tab.on_train(UI, **{**TINY, "steps": 3000}, request=Request("alice"))
    seen = []  # status lines of training steps (preparation updates come first)
    while len(seen) < 6:
        status = str(next(run).get(UI.status, ""))
        if "Step " in status:
            seen.append(status)
    run.close()  # Gradio closes the generator when the event is cancelled or the client leaves
    last_step = max(int(s.split("Step ")[1].split(" /")[0]) for s in seen)
    mine = state.get_my_model(Request("alice"))
    assert mine.info["steps"] in (last_step, last_step + 1)  # the step in flight completes or is dropped whole
    assert not mine.bundle.model.training and not state.REGISTRY.is_busy("alice", "training")
    assert state.REGISTRY.peek("alice", tab.STOP_SLOT) is None
    assert_model_usable(mine.bundle)
    final = shown(list(tab.on_train(UI, **{**TINY, "steps": 5}, request=Request("alice"))))
    assert "Finished 5 steps" in str(final[UI.status])
    assert state.get_my_model(Request("alice")).info["steps"] == 5
    with pytest.raises(api.PlaygroundError, match="only their own"):
        state.get_bundle(state.MY_MODEL, Request("bob"))


def test_cancel_over_http_frees_the_training_queue_and_others_are_served(app_url):
    trainer, other = Client(app_url, verbose=False), Client(app_url, verbose=False)
    try:
        job = trainer.submit(**{**HTTP_TINY, "steps": 3000}, api_name="/train")
        end = time.time() + 120
        while not any("Step" in str(o[0]) for o in job.outputs()) and time.time() < end:
            time.sleep(0.1)
        job.cancel()
        end = time.time() + 60
        while not job.done() and time.time() < end:
            time.sleep(0.1)
        # the trainer's model is kept at its last completed step (a cancelled event sends no
        # more updates, so the picker offers it after the next run); nobody else has it
        with zipfile.ZipFile(trainer.predict(api_name="/export_model")) as zf:
            config = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("config.json"))))
        assert (config["n_embd"], config["n_layer"]) == (HTTP_TINY["d_model"], HTTP_TINY["layers"])
        with pytest.raises(AppError, match="My model"):
            other.predict(api_name="/export_model")
        assert "tokens" in other.predict("stories", "The dog saw the cat.", api_name="/inspect")[1]
        final = trainer.predict(**{**HTTP_TINY, "steps": 5}, api_name="/train")
        assert "Finished 5 steps" in final[0]
        out = trainer.predict("My model", "123", 4, 1.0, 0, 1.0, False, 1, api_name="/generate")
        assert out[1].startswith("123")
        with pytest.raises(AppError):
            other.predict("My model", "123", 4, 1.0, 0, 1.0, False, 1, api_name="/generate")
    finally:
        trainer.close()
        other.close()


# ---------------------------------------------------------------- a client that vanishes


def _fn_index(url: str, api_name: str) -> int:
    config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def test_a_client_disconnecting_mid_generate_stream_does_not_hurt_the_server(app_url):
    """Join the queue like a browser, read the stream until tokens flow, then drop the connection."""
    base, session = app_url.rstrip("/"), "vanishing-client"
    body = {
        "data": ["stories", "Once upon a time", 256, 0.8, 0, 1.0, False, 1],
        "event_data": None,
        "fn_index": _fn_index(app_url, "generate"),
        "trigger_id": None,
        "session_hash": session,
    }
    assert httpx.post(f"{base}/gradio_api/queue/join", json=body, timeout=30).status_code == 200
    got = []
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}, timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                got.append(json.loads(line[5:])["msg"])
                if got[-1] == "process_generating":
                    break  # leave mid-stream: the connection closes here
    assert "process_generating" in got
    client = Client(app_url, verbose=False)
    try:
        for _ in range(2):  # the server still streams and inspects for others
            out = client.predict("stories", "The dog", 12, 0.8, 0, 1.0, False, 3, api_name="/generate")
            assert out[1].startswith("The dog") and "new tokens" in out[2]
        assert "tokens" in client.predict("stories", "The cat sat.", api_name="/inspect")[1]
    finally:
        client.close()


def test_a_cancelled_generate_job_leaves_the_server_serving(app_url):
    a, b = Client(app_url, verbose=False), Client(app_url, verbose=False)
    try:
        job = a.submit("stories", "Once upon a time", 256, 0.8, 0, 1.0, False, 1, api_name="/generate")
        end = time.time() + 60
        while not job.outputs() and time.time() < end:
            time.sleep(0.05)
        job.cancel()
        out = b.predict("stories", "The dog", 8, 0.8, 0, 1.0, False, 3, api_name="/generate")
        assert out[1].startswith("The dog")
    finally:
        a.close()
        b.close()


# ---------------------------------------------------------------- hostile uploads


def _good_zip(tmp_path: Path) -> Path:
    list(tab.on_train(UI, **{**TINY, "steps": 3}, request=Request("maker")))
    return Path(tab.on_export(Request("maker")))


def _members(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as zf:
        return {name.split("/")[-1]: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def _write_zip(path: Path, members: dict[str, bytes], **info_attrs) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            for attr, value in info_attrs.get(name, {}).items():
                setattr(info, attr, value)
            zf.writestr(info, data)
    return path


class Pwn:
    """Unpickling this would create the marker file."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _hostile_zips(tmp_path: Path, files: dict[str, bytes], marker: Path) -> dict[str, tuple[Path, str]]:
    Pwn.marker = str(marker)
    good = _write_zip(tmp_path / "ok.zip", files)
    raw = good.read_bytes()
    weights = files["model.safetensors"]
    corrupt = bytearray(raw)
    corrupt[len(raw) // 3 : len(raw) // 3 + 64] = b"\xff" * 64
    return {
        "truncated": (_write_bytes(tmp_path / "truncated.zip", raw[: len(raw) // 2]), "not a zip"),
        "corrupted": (_write_bytes(tmp_path / "corrupted.zip", bytes(corrupt)), ""),
        "not a zip": (_write_bytes(tmp_path / "text.zip", b"hello, I am text"), "not a zip"),
        "empty file": (_write_bytes(tmp_path / "empty.zip", b""), "not a zip"),
        "traversal": (_write_zip(tmp_path / "trav.zip", {**files, "../../evil.json": b"{}"}), "'..'"),
        "absolute": (_write_zip(tmp_path / "abs.zip", {**files, str(marker): b"{}"}), "absolute"),
        "symlink": (
            _write_zip(
                tmp_path / "link.zip",
                {**files, "card.json": b"/etc/passwd"},
                **{"card.json": {"external_attr": (0o120777 << 16)}},
            ),
            "symbolic link",
        ),
        "pickle weights": (
            _write_zip(tmp_path / "pickle.zip", {**files, "model.safetensors": pickle.dumps(Pwn())}),
            "never loaded",
        ),
        "truncated weights": (
            _write_zip(tmp_path / "tw.zip", {**files, "model.safetensors": weights[:200]}),
            "safetensors",
        ),
        "many members": (
            _write_zip(tmp_path / "many.zip", {**files, **{f"d{i}/": b"" for i in range(40)}}),
            "at most 16",
        ),
        "bomb": (
            _write_zip(tmp_path / "bomb.zip", {**files, "card.json": b"{" + b" " * 20_000_000 + b"}"}),
            "the limit is",
        ),
        "wrong config": (
            _write_zip(tmp_path / "cfg.zip", {**files, "config.json": b'{"model_type": "llama"}'}),
            "gpt2",
        ),
    }


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_hostile_checkpoint_zips_are_refused_clearly_and_change_nothing(tmp_path):
    files = _members(_good_zip(tmp_path))
    marker = tmp_path / "PWNED"
    upload = functools.partial(guard(tab.on_upload), UI)  # as the app runs it: every failure is a translated gr.Error
    list(tab.on_train(UI, **{**TINY, "steps": 3}, request=Request("alice")))
    before = state.get_my_model(Request("alice"))
    tmp_root = Path(tempfile.gettempdir())
    temp_before = {p.name for p in tmp_root.iterdir() if p.name.startswith("checkpoint-")}
    for what, (path, fragment) in _hostile_zips(tmp_path, files, marker).items():
        with pytest.raises(gr.Error) as info:
            upload(str(path), Request("alice"))
        message = str(info.value.message)
        assert fragment in message, f"{what}: {message}"
        assert "Something went wrong" not in message, f"{what} crashed: {message}"
        with pytest.raises(gr.Error) as info_zh:
            upload(str(path), Request("alice", "zh-CN,zh;q=0.9"))
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info_zh.value.message)), f"{what}: not translated"
        assert state.get_my_model(Request("alice")) is before, f"{what} replaced the model"
    assert not marker.exists(), "something was unpickled"
    assert not (tmp_path.parent / "evil.json").exists() and not (tmp_path.parent.parent / "evil.json").exists()
    temp_after = {p.name for p in tmp_root.iterdir() if p.name.startswith("checkpoint-")}
    assert temp_after <= temp_before, "a refused zip left a temp folder behind"
    assert_model_usable(state.get_my_model(Request("alice")).bundle)


def test_an_upload_from_outside_gradios_folder_is_refused_during_a_request(tmp_path, monkeypatch):
    """Gradio only hands handlers files it received; the handler checks it again (second lock)."""
    from playground.ui import errors

    zip_path = _good_zip(tmp_path)
    monkeypatch.setattr(state, "_current_request", lambda: Request("mallory"))
    with pytest.raises(gr.Error, match="not uploaded through this page"):
        guard(tab.on_upload)(UI, str(zip_path), Request("mallory"))
    with pytest.raises(gr.Error, match="not uploaded through this page"):
        guard(tab.on_upload)(UI, "/etc/passwd", Request("mallory"))
    assert not state.REGISTRY.has("mallory", state.MODEL_SLOT)
    inside = errors.upload_folder() / "test-upload" / "m.zip"
    inside.parent.mkdir(parents=True, exist_ok=True)
    try:
        inside.write_bytes(zip_path.read_bytes())
        guard(tab.on_upload)(UI, str(inside), Request("mallory"))
        assert state.REGISTRY.has("mallory", state.MODEL_SLOT)
    finally:
        inside.unlink()


# ---------------------------------------------------------------- concurrent users on shared models


def test_concurrent_inspections_of_the_shared_model_each_get_their_own_activations():
    """Hooks sit on the shared module: another thread's forward pass must not fill this one's
    cache (before the fix: wrong patterns and 'stack expects equal size' errors)."""
    bundle = api.load_model(api.builtin_names()[0]) if api.builtin_names() else api.demo_model()
    texts = ["The dog saw the cat. " * k for k in (1, 2, 3, 4)]
    expected = {t: api.inspect(bundle, t).cache.pattern(0).clone() for t in texts}
    problems: list[str] = []

    def work(text: str) -> None:
        for _ in range(10):
            try:
                got = api.inspect(bundle, text).cache.pattern(0)
                if got.shape != expected[text].shape or not torch.allclose(got, expected[text], atol=1e-5):
                    problems.append(f"wrong activations for {len(text)} chars")
                list(api.generate_stream(bundle, "Once", 4, seed=1, with_attention=True))
            except Exception as err:  # every failure is the bug
                problems.append(repr(err))

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not problems, problems[:3]


# ---------------------------------------------------------------- a full queue


def test_a_full_queue_says_so_and_the_server_recovers():
    from gradio_client.utils import QueueError

    from playground.ui import build_app, launch_kwargs
    from playground.ui.app import queue_kwargs

    assert queue_kwargs()["max_size"] >= 1  # the app's queue is bounded
    demo = build_app()
    demo.queue(**{**queue_kwargs(), "max_size": 1})
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_kwargs())
    clients = [Client(url, verbose=False) for _ in range(3)]
    try:
        running = clients[0].submit(**{**HTTP_TINY, "steps": 3000}, api_name="/train")
        end = time.time() + 120
        while not any("Step" in str(o[0]) for o in running.outputs()) and time.time() < end:
            time.sleep(0.1)
        waiting = clients[1].submit(**{**HTTP_TINY, "steps": 3000}, api_name="/train")  # fills the queue
        end = time.time() + 30
        while waiting.status().code.name != "IN_QUEUE" and time.time() < end:
            time.sleep(0.1)
        with pytest.raises(QueueError, match="Queue is full"):
            clients[2].predict("stories", "The dog", api_name="/inspect")
        running.cancel()
        waiting.cancel()
        end = time.time() + 60
        while not (running.done() and waiting.done()) and time.time() < end:
            time.sleep(0.1)
        assert "tokens" in clients[2].predict("stories", "The dog", api_name="/inspect")[1]
        with pytest.raises(AppError):  # the cancelled trainers' models stay theirs
            clients[2].predict("My model", "12", 3, 1.0, 0, 1.0, False, 1, api_name="/generate")
    finally:
        for client in clients:
            client.close()
        demo.close()


def test_the_served_app_has_no_extra_allowed_paths_and_no_monitoring():
    from playground.ui import launch_kwargs

    kwargs = launch_kwargs()
    assert kwargs["enable_monitoring"] is False
    assert not kwargs.get("allowed_paths") and not kwargs.get("share")
    assert os.environ.get("GRADIO_ALLOWED_PATHS") in (None, "")
