"""Where the server's memory goes in a burst of sessions, and what stays after they expire.

    python -m bench.memory_probe [--sessions 300] [--rounds 2] [--ttl 20] [--attacks] [--tracemalloc]

The soak (bench/soak.py) says *whether* memory returns to the warm level; this says *why not*.
It starts the app like the soak (same warm-up, short TTL) with bench/memory_report.py installed
in the server (a SIGUSR1 handler, through bench/memory_probe_site/sitecustomize.py), then runs
`--rounds` bursts of `--sessions` fresh sessions (/inspect, /tokenize, /generate, 8 at a time;
with `--attacks` also 6 oversized uploads and 2 ten-million-character prompts per round) and
asks the server for a report at warm, after each burst, after each expiry, and after one more
malloc_trim. Prints one line per report: RSS, glibc in use / free, CPython's arenas, threads,
Gradio's and our per-session records, and what changed since warm (gc objects by type, lru_cache
sizes; with `--tracemalloc`, the allocation sites of Python memory made after warm and still
alive). Reports stay in `--out` as JSON. Set PLAYGROUND_PYTHONMALLOC=default and
MKL_DISABLE_FAST_MM= (empty) to see CPython's and MKL's own allocators.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.load_test import ROOT, Server
from bench.soak import LONG_TEXT, Endpoints, call, cjk_text, train_args, upload_once, zero_weights_zip

SITE = ROOT / "bench" / "memory_probe_site"


def ask(server: Server, folder: Path, label: str, action: str = "report", timeout: float = 300) -> dict:
    """Have the server write `label`.json (action: report, trace = then start tracemalloc, trim)."""
    (folder / "cmd").write_text(f"{action} {label}")
    os.kill(server.proc.pid, signal.SIGUSR1)
    path, end = folder / f"{label}.json", time.time() + timeout
    while time.time() < end:
        if path.exists():
            time.sleep(0.5)  # written in one call; let it finish
            return json.loads(path.read_text())
        time.sleep(0.5)
    raise RuntimeError(f"the server wrote no {label} report in {timeout:.0f} s")


def line(rep: dict, warm: dict | None) -> str:
    if "error" in rep:
        return f"{rep['label']}: report failed: {rep['error'][-300:]}"
    ob = rep["obmalloc"]
    text = (f"{rep['label']:>10}: RSS {rep['rss'].get('Rss')} MB | glibc in use {rep['malloc']['uordblks']} "
            f"free {rep['malloc']['fordblks']} | CPython arenas {ob.get('arenas allocated current', '-')} "
            f"(live {ob.get('bytes in allocated blocks', '-')} MB, free pools {ob.get('unused pools', '-')} MB) | "
            f"threads {rep['threads']} | {rep['gradio']}")
    if warm is not None:
        before, after = dict(map(tuple, warm["gc_types"])), dict(map(tuple, rep["gc_types"]))
        moved = sorted(set(before) | set(after), key=lambda k: -abs(after.get(k, 0) - before.get(k, 0)))[:4]
        lru = {k: (warm["lru"].get(k, 0), v) for k, v in rep["lru"].items() if warm["lru"].get(k, 0) != v}
        text += (f"\n            since warm: RSS {rep['rss'].get('Rss', 0) - warm['rss'].get('Rss', 0):+.1f} MB, "
                 f"gc objects {rep['gc_objects'] - warm['gc_objects']:+d} "
                 f"({', '.join(f'{k} {after.get(k, 0) - before.get(k, 0):+d}' for k in moved)}), "
                 f"lru caches changed: {lru or 'none'}")
    if "after_trim" in rep:
        text += f"\n            after malloc_trim: RSS {rep['after_trim']['rss'].get('Rss')} MB"
    return text


def survivors(folder: Path, first: str, last: str, top: int = 8) -> str:
    """Allocation sites of Python memory made after `first` and alive at `last` (tracemalloc)."""
    import tracemalloc

    snap = tracemalloc.Snapshot.load(str(folder / f"{last}.snap"))
    stats = snap.statistics("traceback")
    lines = [f"alive at {last}, allocated after {first}: {sum(s.size for s in stats) / 2**20:.2f} MB in "
             f"{sum(s.count for s in stats)} blocks; largest sites by count:"]
    for stat in sorted(stats, key=lambda s: -s.count)[:top]:
        frame = next((f for f in reversed(stat.traceback) if "site-packages" not in f.filename), stat.traceback[-1])
        lines.append(f"  {stat.count:6d} blocks {stat.size / 1024:8.1f} KB  {stat.traceback[-1]}  (via {frame})")
    return "\n".join(lines)


def fresh_session(url: str, ep: Endpoints, model: str, i: int) -> bool:
    """One /inspect, /tokenize or /generate (as the soak's burst mixes them) in a new session."""
    kind = random.Random(i).choices(["inspect", "tokenize", "generate"], [5, 3, 2])[0]
    data = {"inspect": [model, LONG_TEXT], "tokenize": [model, LONG_TEXT],
            "generate": [model, "Once upon a time", 24, 0.8, 0, 1.0, False, i]}[kind]
    return call(url, ep[kind], ep.data(kind, data))[0]


def attack(url: str, ep: Endpoints, model: str, zip_path: Path) -> None:
    """The soak's other attacks, one round: 6 oversized uploads at once, then 2 long prompts at once."""
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(upload_once, [url] * 6, [zip_path] * 6))
    data = ep.data("generate", [model, "The dog ran. " * (10_000_000 // 13), 4, 0.8, 0, 1.0, False, 0])
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(call, [url] * 2, [ep["generate"]] * 2, [data] * 2))


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    folder = Path(args.out or tempfile.mkdtemp(prefix="memory-probe-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.update({"MEMORY_PROBE_DIR": str(folder), "PLAYGROUND_MAX_TRAIN_SECONDS": "60",
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")]))})
    sweep = max(1.0, min(5.0, args.ttl / 4))
    server = Server(ttl=args.ttl, sweep=sweep)
    try:
        server.wait_ready(600)
        url, model = server.url, "stories"
        ep = Endpoints(url)
        zip_path = folder / "zeros.zip"
        zero_weights_zip(zip_path)
        # the soak's warm-up: each attacked path once, then that session expires
        for name, data in (("inspect", [model, LONG_TEXT]), ("generate", [model, "Once", 8, 0.8, 0, 1.0, False, 0]),
                           ("tokenize", [model, LONG_TEXT]), ("train", train_args("copy", None, "char", 32, 5)),
                           ("train", train_args("my text", cjk_text(2000, 1), "bpe", 1024, 5)),
                           ("generate", [model, "x" * 1_000_000, 4, 0.8, 0, 1.0, False, 0])):
            call(url, ep[name], ep.data(name, data))
        upload_once(url, zip_path)
        time.sleep(args.ttl + 3 * sweep + 5)
        warm = ask(server, folder, "warm", "trace" if args.tracemalloc else "report")
        print(line(warm, None), flush=True)
        for round_ in range(args.rounds):
            attackers = [threading.Thread(target=attack, args=(url, ep, model, zip_path))] if args.attacks else []
            for t in attackers:
                t.start()
            started = time.time()
            with ThreadPoolExecutor(8) as pool:
                ok = sum(pool.map(fresh_session, [url] * args.sessions, [ep] * args.sessions,
                                  [model] * args.sessions, range(args.sessions)))
            for t in attackers:
                t.join()
            print(f"round {round_}: {ok}/{args.sessions} sessions served in {time.time() - started:.0f} s", flush=True)
            print(line(ask(server, folder, f"load{round_}"), warm), flush=True)
            time.sleep(args.ttl + 3 * sweep + 5)
            print(line(ask(server, folder, f"settled{round_}"), warm), flush=True)
        print(line(ask(server, folder, "trimmed", "trim"), warm), flush=True)
        if args.tracemalloc:
            print(survivors(folder, "warm", "trimmed"))
        print(f"reports: {folder}")
    finally:
        server.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=300, help="fresh sessions per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ttl", type=float, default=20.0, help="the server's session TTL (s)")
    parser.add_argument("--attacks", action="store_true", help="oversized uploads and long prompts in each round")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations from warm on (slow)")
    parser.add_argument("--out", default="", help="folder for the JSON reports (default: a new temp folder)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run()
