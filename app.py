"""Start the Transformer Playground: `python app.py` (host/port from GRADIO_SERVER_NAME/PORT)."""

from playground.ui import build_app, configure_torch_threads, launch_kwargs
from playground.ui.app import queue_kwargs

demo = build_app()

if __name__ == "__main__":
    configure_torch_threads()
    demo.queue(**queue_kwargs()).launch(**launch_kwargs())
