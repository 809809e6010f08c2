"""Loaded by Python at start when bench.memory_probe puts this folder on the server's PYTHONPATH:
installs bench.memory_report's SIGUSR1 handler in `app.py` only (not in other processes)."""

import os
import sys

if os.environ.get("MEMORY_PROBE_DIR") and sys.argv and sys.argv[0].endswith("app.py"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from bench.memory_report import install

    install(os.environ["MEMORY_PROBE_DIR"])
