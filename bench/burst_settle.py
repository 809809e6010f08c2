"""How long a burst of Inspect clicks takes to settle, in Chromium (issue 16: "five quick Inspect
clicks took 13.6 s to settle").

    python -m bench.burst_settle [--repeats 4] [--clicks 5] [--compare /path/to/other/checkout]

Each checkout (this one, and optionally another, e.g. a temporary worktree of an older commit)
is served in its own subprocess by this script's `--serve` mode, which counts the server's work:
every handler is wrapped to count the calls running now and the calls that took over 20 ms (a
computation, not a skipped or cancelled one). In Chromium, on the Attention tab: `--clicks`
times, type a new text and click Inspect at Playwright's pace (each click waits until the button
takes it). Measured from the first click:

- `clicks_s`: the clicks themselves (typing and clicking at Playwright's pace);
- `shown_s`: the Attention tab shows the last text's tokens;
- `settle_s`: shown, and the server idle (nothing running, nothing queued) for 0.3 s;
- `after_last_click_s`: settle_s less clicks_s, the wait after the last click;
- `computed`: handler calls that took over 20 ms during the burst.

Checkouts are interleaved repeat by repeat, so both see the same machine load; prints JSON with
best and median per checkout and the ratios, and the load average.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COMPUTE_S = 0.02  # a handler call longer than this did real work
WORDS = ["dog", "cat", "ball", "tree", "bird", "cake", "park", "kite", "sun", "boat", "fish", "hat",
         "box", "duck", "frog", "car", "book", "cup", "bed", "pig"]


# ---------------------------------------------------------------- the server (subprocess)


class Counter:
    """Calls running now, and the calls that computed, across the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.computed = 0
        self.calls = 0

    def wrap(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.lock:
                self.active += 1
                self.calls += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.active -= 1
                    self.computed += time.perf_counter() - start > COMPUTE_S

        return wrapper


def serve(checkout: str, port: int) -> None:
    """Serve `checkout`'s app on `port` with /bench/busy (never returns)."""
    os.chdir(checkout)
    sys.path.insert(0, checkout)
    from playground.ui import build_app, configure_torch_threads, launch_kwargs
    from playground.ui.app import queue_kwargs

    configure_torch_threads()
    demo = build_app()
    counter = Counter()
    for block_fn in demo.fns.values():
        fn = block_fn.fn
        if fn is None or inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn) \
                or inspect.isasyncgenfunction(fn):
            continue
        block_fn.fn = counter.wrap(fn)
    demo.queue(**queue_kwargs())
    app, _, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                            **launch_kwargs())

    @app.get("/bench/busy")
    def busy() -> dict:
        queue = demo._queue
        return {"active": counter.active, "queued": len(queue), "computed": counter.computed, "calls": counter.calls}

    # FastAPI matches routes in order: move ours before Gradio's catch-all routes
    app.router.routes.insert(0, app.router.routes.pop())
    print("ready", flush=True)
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------- the browser (this process)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(checkout: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": checkout}
    proc = subprocess.Popen([sys.executable, "-m", "bench.burst_settle", "--serve", checkout, str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.strip() == "ready":
            return proc, f"http://127.0.0.1:{port}/"
    raise RuntimeError(f"the server for {checkout} did not start")


def busy(page, url: str) -> dict:
    return page.request.get(url + "bench/busy").json()


def wait_idle(page, url: str, quiet_s: float = 0.3, timeout_s: float = 120.0) -> None:
    deadline, idle_since = time.perf_counter() + timeout_s, None
    while time.perf_counter() < deadline:
        state = busy(page, url)
        if state["active"] == 0 and state["queued"] == 0:
            idle_since = idle_since or time.perf_counter()
            if time.perf_counter() - idle_since >= quiet_s:
                return
        else:
            idle_since = None
        time.sleep(0.05)
    raise TimeoutError("the server did not settle")


# The Attention tab's tokens, joined (each span's label without its id), hold `word`.
SHOWS_JS = """(word) => {
  const labels = [...document.querySelectorAll('#att-tokens .tok')]
    .map(t => t.firstChild ? t.firstChild.textContent : '');
  return labels.join('').replace(/[^A-Za-z]/g, ' ').split(/ +/).includes(word);
}"""


def burst(page, url: str, texts: list[str], word: str) -> dict:
    """Type and click `texts` in turn; time until the last one's word shows and the server idles."""
    before = busy(page, url)["computed"]
    box, button = page.locator("#text-input textarea"), page.locator("#inspect-button")
    start = time.perf_counter()
    for text in texts:
        box.fill(text)
        button.click()
    clicks = time.perf_counter() - start
    page.wait_for_function(SHOWS_JS, arg=word, timeout=120_000, polling=50)
    shown = time.perf_counter() - start
    wait_idle(page, url)
    settled = time.perf_counter() - start - 0.3  # less the quiet period wait_idle requires
    return {"clicks_s": round(clicks, 2), "shown_s": round(shown, 2), "settle_s": round(settled, 2),
            "after_last_click_s": round(settled - clicks, 2),
            "computed": busy(page, url)["computed"] - before}


def summary(rows: list[dict]) -> dict:
    out = {}
    for key in ("clicks_s", "shown_s", "settle_s", "after_last_click_s", "computed"):
        values = [r[key] for r in rows]
        out[key] = {"best": min(values), "median": statistics.median(values), "all": values}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--compare", help="another checkout (e.g. a worktree of an older commit) to measure too")
    parser.add_argument("--serve", nargs=2, metavar=("CHECKOUT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    from playwright.sync_api import sync_playwright

    checkouts = {"this": str(ROOT)}
    if args.compare:
        checkouts["compare"] = str(Path(args.compare).resolve())
    servers = {name: start_server(path) for name, path in checkouts.items()}
    rows: dict[str, list] = {name: [] for name in checkouts}
    load_before = os.getloadavg()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            pages = {}
            for name, (_, url) in servers.items():
                page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 900})
                page.goto(url)
                page.wait_for_selector("#att-tokens .tok", timeout=120_000)
                wait_idle(page, url)
                pages[name] = page
            n = 0
            for r in range(args.repeats):
                for name, (_, url) in servers.items():  # interleaved: both see the same load
                    words = [WORDS[(n + i) % len(WORDS)] for i in range(args.clicks)]
                    n += args.clicks
                    texts = [f"The {w} is here, said Tom." for w in words]
                    row = burst(pages[name], url, texts, words[-1])
                    rows[name].append(row)
                    print(name, r, row, file=sys.stderr, flush=True)
            browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
    result = {"clicks": args.clicks, "repeats": args.repeats, "checkouts": checkouts,
              "load_average_before": [round(x, 2) for x in load_before],
              "load_average_after": [round(x, 2) for x in os.getloadavg()],
              **{name: summary(r) for name, r in rows.items()}}
    if "compare" in result:
        for key in ("shown_s", "settle_s", "after_last_click_s"):
            result[f"{key}_median_ratio_this_over_compare"] = round(
                result["this"][key]["median"] / max(result["compare"][key]["median"], 1e-9), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
