"""What the server's memory is made of, written to a JSON file on SIGUSR1 (bench.memory_probe).

Installed into the soak's server by bench/memory_probe_site/sitecustomize.py (never by the app
itself). A report separates the three things "RSS stayed up" can mean: live objects (gc counts
by type, `lru_cache` sizes, Gradio's per-session records, tracemalloc), memory freed but kept by
an allocator (glibc's mallinfo2 in use / free, CPython's arenas from sys._debugmallocstats), and
where the resident pages are (/proc/self/smaps grouped: [heap], glibc's thread arenas, other
anonymous mappings, shared libraries). "trim" also calls malloc_trim(0) and reports after it.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
import warnings

ARENA_ALIGN = 64 << 20  # glibc's non-main arenas are 64 MB-aligned heaps


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def mallinfo() -> dict:
    """glibc's own view in MB: `uordblks` in use, `fordblks` free but kept, `hblkhd` mmapped."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return {name: round(getattr(info, name) / 2**20, 1) for name in ("arena", "hblkhd", "uordblks", "fordblks")}


def resident_by_mapping() -> dict:
    """Resident MB per kind of mapping (from /proc/self/smaps)."""
    groups: collections.Counter = collections.Counter()
    kind = None
    with open("/proc/self/smaps") as fh:
        for line in fh:
            parts = line.split()
            if "-" in parts[0] and ":" not in parts[0]:
                start = int(parts[0].split("-")[0], 16)
                name = parts[5] if len(parts) > 5 else ""
                if not name:
                    kind = "glibc_thread_arenas" if start % ARENA_ALIGN == 0 else "anonymous_other"
                else:
                    kind = name if name.startswith("[") else "shared_libraries" if ".so" in name else "files"
            elif parts[0] == "Rss:":
                groups[kind] += int(parts[1])
    return {k: round(v / 1024, 1) for k, v in groups.most_common() if v >= 1024}


def rollup() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts[0] in ("Rss:", "Anonymous:"):
                out[parts[0][:-1]] = round(int(parts[1]) / 1024, 1)
    return out


def obmalloc() -> dict:
    """CPython's small-object allocator (empty under PYTHONMALLOC=malloc): arenas held, bytes in
    live blocks, free blocks and wholly free pools inside them (MB)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile("w+") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read()
    out: dict = {}
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = "unused pools" if "unused pools" in key else key.strip().lstrip("# ").strip()
        try:
            number = int(value.strip().replace(",", ""))
        except ValueError:
            continue
        out.setdefault(key, round(number / 2**20, 1) if "bytes" in key or "pools" in key else number)
    wanted = ("arenas allocated current", "bytes in allocated blocks", "bytes in available blocks", "unused pools")
    return {k: out[k] for k in wanted if k in out}


def gradio_records() -> dict:
    """Per-session records Gradio and our registry hold right now."""
    import gradio as gr

    out: dict = {}
    for blocks in gc.get_objects():
        if isinstance(blocks, gr.Blocks) and getattr(blocks, "_queue", None) is not None \
                and getattr(blocks.state_holder, "session_data", None) is not None:
            queue = blocks._queue
            out = {"state_sessions": len(blocks.state_holder.session_data),
                   "queue_message_boxes": len(queue.pending_messages_per_session),
                   "queue_pending_id_sets": len(queue.pending_event_ids_session),
                   "queue_analytics": len(queue.event_analytics)}
            break
    try:
        from playground.ui.state import REGISTRY

        out["registry_sessions"] = len(REGISTRY)
        out["registry_mb"] = round(REGISTRY.total_bytes / 2**20, 1)
    except ImportError:
        pass
    return out


def lru_sizes() -> dict:
    return {f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', '')}": f.cache_info().currsize
            for f in gc.get_objects() if isinstance(f, functools._lru_cache_wrapper) and f.cache_info().currsize}


def report(folder: str, label: str, action: str) -> None:
    with warnings.catch_warnings():  # isinstance() on every object wakes deprecated torch aliases
        warnings.simplefilter("ignore")
        _report(folder, label, action)


def _report(folder: str, label: str, action: str) -> None:
    gc.collect()
    # memory first, then the objects, counted by type without a string per object (which made
    # ~30 MB of garbage that the next reading would have included)
    rep = {"label": label, "time": time.time(), "rss": rollup(), "malloc": mallinfo(),
           "resident": resident_by_mapping(), "obmalloc": obmalloc(), "threads": len(os.listdir("/proc/self/task"))}
    objects = gc.get_objects()
    types = collections.Counter(map(type, objects))
    rep |= {"python_threads": collections.Counter(t.name.split(" (")[0].rstrip("0123456789-_ ")
                                                  for t in threading.enumerate()).most_common(),
            "gradio": gradio_records(), "lru": lru_sizes(), "gc_objects": len(objects),
            "gc_types": [(f"{getattr(t, '__module__', '')}.{t.__qualname__}", n) for t, n in types.most_common(60)],
            "allocator": os.environ.get("PYTHONMALLOC") or "pymalloc"}
    del objects
    if tracemalloc.is_tracing():
        rep["tracemalloc_mb"] = [round(x / 2**20, 2) for x in tracemalloc.get_traced_memory()]
        tracemalloc.take_snapshot().dump(os.path.join(folder, f"{label}.snap"))
    if action == "trace":
        tracemalloc.start(int(os.environ.get("MEMORY_PROBE_FRAMES", "12")))
    elif action == "trim":
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        rep["after_trim"] = {"rss": rollup(), "malloc": mallinfo()}
    with open(os.path.join(folder, f"{label}.json"), "w") as fh:
        json.dump(rep, fh, indent=1, default=str)


def install(folder: str) -> None:
    """On SIGUSR1 read `<folder>/cmd` ("report|trace|trim LABEL") and write `<folder>/LABEL.json`
    from a thread (the signal handler itself returns at once)."""

    def safe(label: str, action: str) -> None:
        try:
            report(folder, label, action)
        except Exception:  # the probe must say why it has no report, not kill the server
            with open(os.path.join(folder, f"{label}.json"), "w") as fh:
                json.dump({"label": label, "error": traceback.format_exc()}, fh)

    def on_signal(signum, frame) -> None:
        with open(os.path.join(folder, "cmd")) as fh:
            action, label = fh.read().split()
        threading.Thread(target=safe, args=(label, action), daemon=True, name="memory-report").start()

    signal.signal(signal.SIGUSR1, on_signal)
