"""Hand memory that a burst of visitors freed back to the operating system (glibc only).

Why: after 1,000 sessions had come and expired, the server kept ~240 MB more than before them,
although the objects they used were gone (bench/soak.py; measured with the allocators' own
statistics). Two allocators kept the freed memory:

- CPython's small-object allocator (obmalloc) takes memory in 1 MB arenas and returns an arena
  only when every object in it is dead. A burst allocates ~0.7 MB of small objects per session
  (Gradio's copy of the page's component configs) interleaved with a few long-lived ones (Gradio's
  per-session queue records, token-display caches, our tombstones); once the sessions expire each
  survivor pins its whole arena. In a 300-session run 84 arenas (84 MB) stayed with 0.7 MB of
  objects in them. With `PYTHONMALLOC=malloc` Python's objects go to glibc instead, where a
  survivor pins a 4 KB page, not 1 MB, and `malloc_trim` returns the rest.
- glibc itself keeps freed memory in its heaps until `malloc_trim(0)` is called.

And one more thing kept memory per *worker thread*: MKL's own memory manager keeps ~3 MB of
buffers for every thread that ever ran a matrix product, for the thread's whole life. Gradio's
thread pool grows to the burst's concurrency and keeps its idle threads: 8 idle threads held
+27 MB, +3.6 MB with `MKL_DISABLE_FAST_MM=1`.

`prepare_server_process()` sets `MKL_DISABLE_FAST_MM=1` (unless set) and re-executes the server
once with `PYTHONMALLOC=malloc` (app.py calls it before importing anything heavy);
`release_memory()` runs after each sweep that freed sessions.
On other C libraries (musl, macOS) every function here is a no-op.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import sys

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc mallopt parameters (malloc.h)
REEXEC_MARK = "PLAYGROUND_MALLOC_REEXEC"  # set in the re-executed process: never twice


@functools.lru_cache(maxsize=1)
def glibc() -> ctypes.CDLL | None:
    """The process's glibc, or None on any other C library (no trimming there)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (AttributeError, ValueError, OSError):  # not Linux, or not glibc (musl has no such name)
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def trim() -> bool:
    """`malloc_trim(0)`: give glibc's free pages back to the OS (heaps' tops and free pages in
    the middle). True if glibc was asked; False on other C libraries."""
    libc = glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def release_memory(_dropped=None) -> bool:
    """After sessions expired: collect cycles, then trim glibc's heaps. Returns `trim()`'s answer."""
    gc.collect()
    return trim()


def configure_malloc(mmap_threshold: int = 1 << 20, arena_max: int = 2) -> bool:
    """Fix glibc's mmap threshold at 1 MB and allow 2 arenas (the MALLOC_* env vars win if set).

    glibc raises the threshold after a large block is freed, so later 10 MB request bodies and
    tokenizer buffers land in the heap and fragment it; and every worker thread may get its own
    arena. A fixed threshold sends large blocks to mmap (returned on free); two arenas bound the
    fragmentation. In the soak that took the memory left after the sessions expired from +156 MB
    to +70 MB."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(libc.mallopt(M_ARENA_MAX, arena_max))


def system_malloc_wanted(environ: dict | os._Environ = os.environ) -> bool:
    """Whether the server should re-execute itself with `PYTHONMALLOC=malloc`: only on glibc,
    only if the operator has not chosen an allocator (`PYTHONMALLOC` set, or
    `PLAYGROUND_PYTHONMALLOC=default` to keep CPython's), and only once."""
    if environ.get(REEXEC_MARK) or environ.get("PYTHONMALLOC"):
        return False
    if environ.get("PLAYGROUND_PYTHONMALLOC", "malloc").strip().lower() != "malloc":
        return False
    return glibc() is not None


SERVER_ENV_DEFAULTS = {"MKL_DISABLE_FAST_MM": "1"}  # no per-thread MKL buffer pools (see above)


def prepare_server_process(argv: list[str] | None = None) -> None:
    """Call first thing in a server's `__main__`, before torch is imported: set the environment
    defaults above (an operator's own values win), then `use_system_malloc(argv)`."""
    for name, value in SERVER_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    use_system_malloc(argv)


def use_system_malloc(argv: list[str] | None = None) -> None:
    """Re-execute this Python process with `PYTHONMALLOC=malloc` when `system_malloc_wanted()`
    (same interpreter, arguments and pid); returns only when no re-execution is wanted."""
    if not system_malloc_wanted():
        return
    env = {**os.environ, "PYTHONMALLOC": "malloc", REEXEC_MARK: "1"}
    args = [sys.executable, *sys.argv] if argv is None else [sys.executable, *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, args, env)


def python_allocator() -> str:
    """'malloc' when Python's objects go straight to the C library, else 'pymalloc' (or a debug
    variant): reported by the soak next to its memory figures."""
    return os.environ.get("PYTHONMALLOC") or "pymalloc"
