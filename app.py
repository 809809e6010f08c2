"""Start the Transformer Playground: `python app.py` (host/port from GRADIO_SERVER_NAME/PORT)."""

if __name__ == "__main__":
    # First, before torch is imported: no per-thread MKL buffer pools, and on glibc re-execute once
    # with PYTHONMALLOC=malloc, so the memory a burst of sessions used goes back to the OS
    # (playground/memory.py explains; PLAYGROUND_PYTHONMALLOC=default keeps CPython's allocator).
    from playground.memory import prepare_server_process

    prepare_server_process()

from playground.ui import build_app, configure_torch_threads, launch_kwargs  # noqa: E402
from playground.ui.app import queue_kwargs  # noqa: E402

demo = build_app()

if __name__ == "__main__":
    configure_torch_threads()
    demo.queue(**queue_kwargs()).launch(**launch_kwargs())
