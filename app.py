"""Start the Transformer Playground: `python app.py` (host/port from GRADIO_SERVER_NAME/PORT)."""

from playground.ui import build_app, configure_torch_threads, launch_kwargs

demo = build_app()

if __name__ == "__main__":
    configure_torch_threads()
    demo.queue(default_concurrency_limit=2).launch(**launch_kwargs())
