"""Memory a burst of sessions used goes back: Gradio's per-session records are forgotten after
the TTL, glibc is asked to trim (and only glibc), and the server runs on the system allocator.

No RSS is asserted (it depends on the machine); bench/soak.py measures it."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import gradio as gr
import httpx
import pytest

from playground import memory
from playground.ui import gradio_sessions

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- glibc only


class FakeLibc:
    """Records the calls made from the test's own thread: session sweepers that earlier tests
    started keep running in the background and may trim at any moment."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.thread = threading.get_ident()

    def _record(self, call: tuple) -> None:
        if threading.get_ident() == self.thread:
            self.calls.append(call)

    def malloc_trim(self, pad: int) -> int:
        self._record(("malloc_trim", pad))
        return 1

    def mallopt(self, param: int, value: int) -> int:
        self._record(("mallopt", param, value))
        return 1


def test_trim_asks_glibc_and_nothing_else(monkeypatch):
    fake = FakeLibc()
    monkeypatch.setattr(memory, "glibc", lambda: fake)
    assert memory.trim() is True and fake.calls == [("malloc_trim", 0)]
    assert memory.release_memory(["s1"]) is True and fake.calls[-1] == ("malloc_trim", 0)

    monkeypatch.setattr(memory, "glibc", lambda: None)  # musl, macOS: no malloc_trim to call
    assert memory.trim() is False and memory.release_memory() is False
    assert memory.configure_malloc() is False
    assert len(fake.calls) == 2


def test_glibc_is_detected_from_the_c_library_not_assumed(monkeypatch):
    memory.glibc.cache_clear()
    try:
        def no_glibc(name):
            raise ValueError(f"unrecognized configuration name {name}")  # what musl's Python raises

        monkeypatch.setattr(os, "confstr", no_glibc)
        assert memory.glibc() is None
        memory.glibc.cache_clear()
        monkeypatch.setattr(os, "confstr", lambda name: "glibc 2.36")
        assert memory.glibc() is not None  # this test machine's libc.so.6 loads
    finally:
        memory.glibc.cache_clear()


def test_the_malloc_env_vars_win_over_our_settings(monkeypatch):
    fake = FakeLibc()
    monkeypatch.setattr(memory, "glibc", lambda: fake)
    assert memory.configure_malloc() is True
    assert fake.calls == [("mallopt", memory.M_MMAP_THRESHOLD, 1 << 20), ("mallopt", memory.M_ARENA_MAX, 2)]
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.configure_malloc() is False and len(fake.calls) == 2


# ---------------------------------------------------------------- PYTHONMALLOC=malloc


@pytest.mark.parametrize("environ, wanted", [
    ({}, True),
    ({"PYTHONMALLOC": "pymalloc"}, False),  # the operator chose an allocator
    ({"PYTHONMALLOC": "malloc"}, False),  # already on it
    ({"PLAYGROUND_PYTHONMALLOC": "default"}, False),  # opted out
    ({memory.REEXEC_MARK: "1"}, False),  # never twice
])
def test_the_server_asks_for_the_system_allocator_once_and_only_on_glibc(monkeypatch, environ, wanted):
    monkeypatch.setattr(memory, "glibc", lambda: FakeLibc())
    assert memory.system_malloc_wanted(environ) is wanted
    monkeypatch.setattr(memory, "glibc", lambda: None)
    assert memory.system_malloc_wanted(environ) is False


def test_use_system_malloc_reexecutes_with_the_same_arguments(monkeypatch):
    monkeypatch.setattr(memory, "glibc", lambda: FakeLibc())
    for name in ("PYTHONMALLOC", "PLAYGROUND_PYTHONMALLOC", memory.REEXEC_MARK):
        monkeypatch.delenv(name, raising=False)
    seen = []
    monkeypatch.setattr(os, "execve", lambda path, args, env: seen.append((path, args, env)))
    memory.use_system_malloc(["app.py", "--flag"])
    (path, args, env), = seen
    assert path == sys.executable and args == [sys.executable, "app.py", "--flag"]
    assert env["PYTHONMALLOC"] == "malloc" and env[memory.REEXEC_MARK] == "1"


@pytest.mark.skipif(memory.glibc() is None, reason="the re-execution happens only on glibc")
def test_a_real_reexecution_keeps_the_pid_and_switches_the_allocator(tmp_path):
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        print(os.getpid(), os.environ.get("PYTHONMALLOC"), flush=True)
        from playground.memory import use_system_malloc
        use_system_malloc()
        print("served", os.getpid(), os.environ.get("PYTHONMALLOC"), flush=True)
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "PLAYGROUND_PYTHONMALLOC",
                                                             memory.REEXEC_MARK)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    lines = out.stdout.split()
    assert out.returncode == 0, out.stderr
    # first run: no allocator chosen, re-executes; second run (same pid): malloc, serves once
    assert lines == [lines[0], "None", lines[0], "malloc", "served", lines[0], "malloc"]

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env={**env, "PLAYGROUND_PYTHONMALLOC": "default"})
    assert out.stdout.split()[1:] == ["None", "served", out.stdout.split()[0], "None"]


# ---------------------------------------------------------------- Gradio's per-session records


@pytest.mark.server
def test_after_the_ttl_gradio_keeps_nothing_of_a_burst_of_sessions():
    """Twenty distinct sessions each run an event on a real Gradio server; once they are idle
    past the TTL the pruner leaves no SessionState, message queue, pending-id set or analytics
    record of theirs (Gradio alone keeps all four: the state until capacity, the rest forever)."""
    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        box.submit(lambda s: s.upper(), box, out, api_name="upper")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        fn_index = next(i for i, d in enumerate(httpx.get(url + "config").json()["dependencies"])
                        if d.get("api_name") == "upper")
        sessions = [uuid.uuid4().hex[:10] for _ in range(20)]
        for session in sessions:
            assert call(url, fn_index, session, "abc") == ["ABC"]
        queue, holder = demo._queue, demo.state_holder
        assert set(sessions) <= set(holder.session_data) and set(sessions) <= set(queue.pending_messages_per_session)
        assert len([r for r in queue.event_analytics.values() if r["session_hash"] in sessions]) == 20

        assert gradio_sessions.prune_gradio_sessions(demo, ttl=3600) == 0  # not idle yet: all kept
        assert set(sessions) <= set(queue.pending_messages_per_session)

        # One session was dropped by capacity earlier (its state gone, its queue records not),
        # and its last event is older than the TTL: those records go too.
        holder.session_data.pop(sessions[0])
        holder.time_last_used.pop(sessions[0])
        for record in queue.event_analytics.values():
            if record["session_hash"] == sessions[0]:
                record["time"] -= 7200
        assert gradio_sessions.prune_gradio_sessions(demo, ttl=3600) == 0
        assert sessions[0] not in queue.pending_messages_per_session
        assert sessions[0] not in queue.pending_event_ids_session

        for key in sessions[1:]:
            holder.time_last_used[key] -= datetime.timedelta(seconds=7200)
        assert gradio_sessions.prune_gradio_sessions(demo, ttl=3600) == 19
        left = set(sessions)
        assert not left & set(holder.session_data) and not left & set(holder.time_last_used)
        assert not left & set(queue.pending_messages_per_session)
        assert not left & set(queue.pending_event_ids_session)
        assert not [r for r in queue.event_analytics.values() if r["session_hash"] in left]
        assert call(url, fn_index, sessions[3], "again") == ["AGAIN"]  # a returning visitor is served
    finally:
        demo.close()


def test_a_session_with_an_event_pending_keeps_its_queue():
    import asyncio

    queue = type("Queue", (), {})()
    queue.pending_messages_per_session = {"busy": asyncio.Queue(), "idle": asyncio.Queue(), "unread": asyncio.Queue()}
    queue.pending_messages_per_session["unread"].put_nowait("a message not yet sent")
    queue.pending_event_ids_session = {"busy": {"event-1"}, "idle": set(), "unread": set()}
    queue.event_analytics = {"event-1": {"session_hash": "busy", "status": "queued", "time": 0.0},
                             "event-0": {"session_hash": "idle", "status": "success", "time": 0.0}}
    assert gradio_sessions.forget_queue_records(queue, {"busy", "idle", "unread"}) == 1
    assert set(queue.pending_messages_per_session) == {"busy", "unread"}
    assert queue.pending_event_ids_session == {"busy": {"event-1"}, "unread": set()}
    assert list(queue.event_analytics) == ["event-1"]


def call(url: str, fn_index: int, session: str, text: str) -> list:
    """One event over Gradio's queue protocol in `session`; its output data."""
    import json

    with httpx.Client(timeout=30) as http:
        http.post(url + "gradio_api/queue/join", json={"data": [text], "fn_index": fn_index, "session_hash": session,
                                                        "event_data": None, "trigger_id": None}).raise_for_status()
        with http.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return msg["output"]["data"]
    raise AssertionError("no result")


@pytest.mark.skipif(memory.glibc() is None, reason="the report reads glibc's mallinfo2 and Linux's /proc")
def test_the_memory_report_separates_live_objects_from_kept_memory(tmp_path):
    """bench.memory_probe's server-side report (bench/memory_report.py), written in-process."""
    from bench import memory_probe, memory_report

    memory_report.report(str(tmp_path), "now", "trim")
    rep = json.loads((tmp_path / "now.json").read_text())
    assert rep["rss"]["Rss"] > 0 and rep["malloc"]["uordblks"] > 0 and rep["threads"] >= 1
    assert rep["gc_objects"] > 1000 and rep["gc_types"][0][1] > 0
    assert "Rss" in rep["after_trim"]["rss"]
    if rep["allocator"] == "pymalloc":  # CPython's arenas are reported only when it is in use
        assert rep["obmalloc"]["arenas allocated current"] > 0
    text = memory_probe.line(rep, rep)
    assert "since warm: RSS +0.0 MB, gc objects +0" in text and "lru caches changed: none" in text
