"""Soak test: the exhaustion attacks of issue 14, all at once, against a local server.

    python -m bench.soak [--sessions 1000] [--seconds 120] [--ttl 30] [--train-limit 60]

Starts the app (bench.load_test.Server: loopback only, offline) with a short session TTL and a
short training time limit, warms it, then for a bounded time runs together:

- a burst of `--sessions` distinct sessions (a fresh session id per request, raw Gradio queue
  protocol, 8 at a time): each one /inspect of 20,000 characters, /tokenize, or /generate;
- parallel uploads: rounds of 6 zips at once, each declaring a ~96M-parameter float16 model in
  193 KB (refused from config.json);
- long prompts: /generate with 10,000,000 characters, two at a time;
- a spaceless BPE corpus: /train on 100,000 random CJK characters, BPE 8,192, as many steps as
  allowed, then a normal 20-step run from another session queued behind it;
- one normal user doing /inspect every ~0.5 s, whose latencies are the reported p95.

Then it waits for the sessions to expire and prints JSON: server RSS (warm, peak, settled),
the normal user's /inspect p50/p95/max, what each attack got back (refusal messages, times),
how long the training slot was held by each run against the limit, and whether the targets
hold: p95 < 2 s, peak < 3 GB, settled within 100 MB of warm, no run held the slot past its
limit. The machine's other work inflates latencies: the load average is reported.

The server runs as deployed: app.py re-executes itself with PYTHONMALLOC=malloc and sets
MKL_DISABLE_FAST_MM=1 (playground/memory.py says why); the report gives the settings it ran
with and its thread count at warm and settled. To measure CPython's and MKL's own allocators
instead: `PLAYGROUND_PYTHONMALLOC=default MKL_DISABLE_FAST_MM= python -m bench.soak`. The
warm-up calls each attacked endpoint once; the burst adds no lasting caches or models (measured:
every lru_cache the same size at warm and settled), only idle worker threads in Gradio's pool.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.load_test import TEXTS, RssSampler, Server, check_inspect, summary

TARGET_P95_S = 2.0
TARGET_PEAK_MB = 3 * 1024
TARGET_SETTLED_MB = 100.0
LONG_TEXT = ("The dog saw the cat. She ran to the tree. " * 500)[:20_000]
LONG_PROMPT_CHARS = 10_000_000
SLOT_SLACK_S = 15.0  # final evaluation, sample and registration after the limit is noticed


# ---------------------------------------------------------------- one request, one new session


class Endpoints:
    """fn_index of each named endpoint and which of its inputs are gr.State (the raw protocol
    sends those as null, as gradio_client does), read once from the app's /config."""

    def __init__(self, url: str) -> None:
        config = httpx.get(url + "config", timeout=30).json()
        kinds = {c["id"]: c.get("type") for c in config["components"]}
        self.index, self.states = {}, {}
        for i, dep in enumerate(config["dependencies"]):
            if dep.get("api_name"):
                self.index[dep["api_name"]] = dep.get("id", i)
                self.states[dep["api_name"]] = [kinds.get(c) == "state" for c in dep["inputs"]]

    def __getitem__(self, name: str) -> int:
        return self.index[name]

    def data(self, name: str, values: list) -> list:
        """`values` for the visible inputs, with null where an input is a gr.State."""
        values, out = list(values), []
        for is_state in self.states[name]:
            out.append(None if is_state else values.pop(0))
        return out


def call(url: str, fn_index: int, data: list, session: str | None = None,
         timeout: float = 300.0) -> tuple[bool, object, float]:
    """One queued event in session `session` (new if None), over the raw Gradio queue protocol;
    (success, last output data or error message, seconds)."""
    session = session or uuid.uuid4().hex[:12]
    start = time.perf_counter()
    with httpx.Client(timeout=timeout) as http:
        joined = http.post(url + "gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None})
        if joined.status_code != 200:
            return False, f"HTTP {joined.status_code}: {joined.text[:200]}", time.perf_counter() - start
        event_id = joined.json().get("event_id")
        last = None
        with http.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (None, event_id):
                    continue
                if msg.get("msg") == "process_generating":
                    last = (msg.get("output") or {}).get("data", last)
                if msg.get("msg") == "process_completed":
                    output = msg.get("output") or {}
                    ok = bool(msg.get("success"))
                    result = output.get("data", last) if ok else output.get("error") or output
                    return ok, result, time.perf_counter() - start
    return False, "stream ended without a result", time.perf_counter() - start


# ---------------------------------------------------------------- attack inputs


def zero_weights_zip(path: Path, n_layer: int = 8) -> None:
    """The upload of issue 14: a zip of zeros declaring a big float16 GPT-2 (tests/test_attacks.py)."""
    import struct
    import zipfile

    from playground.config import ModelConfig
    from playground.model import weight_shapes

    config = {"model_type": "gpt2", "n_layer": n_layer, "n_head": 12, "n_embd": 768, "n_positions": 1024,
              "vocab_size": 50_257}
    header, offset = {}, 0
    for name, shape in weight_shapes(ModelConfig.from_gpt2_dict(config)).items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big/config.json", json.dumps(config))
        with zf.open("big/model.safetensors", "w") as out:
            out.write(struct.pack("<Q", len(head)) + head)
            zero, left = bytes(1 << 20), offset
            while left:
                out.write(zero[: min(left, len(zero))])
                left -= min(left, len(zero))
        zf.writestr("big/tokenizer.json", "{}")


def upload_once(url: str, zip_path: Path) -> tuple[bool, str, float]:
    """One /upload_model of `zip_path` from a new gradio_client session: (accepted, message, seconds)."""
    from gradio_client import Client, handle_file

    start = time.perf_counter()
    try:
        client = Client(url, verbose=False)
    except Exception as err:  # an overloaded server may time out the client's connect: not a refusal
        return False, f"client could not connect: {type(err).__name__}", time.perf_counter() - start
    try:
        client.predict(handle_file(str(zip_path)), api_name="/upload_model")
        return True, "accepted", time.perf_counter() - start
    except Exception as err:  # the expected refusal
        return False, str(err)[:200], time.perf_counter() - start
    finally:
        client.close()


def cjk_text(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(n))


def train_args(corpus: str, pasted: str | None, tokenizer: str, vocab: int, steps: int) -> list:
    # corpus, pasted, upload, tokenizer, vocab, layers, heads, d_model, n_ctx, steps, batch, lr, seed,
    # probe, continue, optimizer
    return [corpus, pasted, None, tokenizer, vocab, 2, 2, 64, 64, steps, 8, 3e-3, 0, "", False, "muon"]


# ---------------------------------------------------------------- the soak


def run(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ["PLAYGROUND_MAX_TRAIN_SECONDS"] = str(args.train_limit)
    sweep = max(1.0, min(5.0, args.ttl / 4))
    server = Server(ttl=args.ttl, sweep=sweep)
    sampler = RssSampler(server)
    report: dict = {"benchmark": "soak", "sessions_planned": args.sessions, "seconds": args.seconds,
                    "session_ttl_s": args.ttl, "train_limit_s": args.train_limit, "cpu_count": os.cpu_count(),
                    "load_average_1min_before": round(os.getloadavg()[0], 2)}
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        server.wait_ready()
        url = server.url
        ep = Endpoints(url)
        sampler.start()
        model = "stories"
        zip_path = tmp / "zeros.zip"
        zero_weights_zip(zip_path)
        report["upload_zip_bytes"] = zip_path.stat().st_size
        # Warm every code path once (one-time costs — imports, kernels, tokenizer and autograd
        # machinery, allocator arenas — are not per-session memory), then let that session expire.
        warm_calls = (("inspect", [model, LONG_TEXT]), ("generate", [model, "Once", 8, 0.8, 0, 1.0, False, 0]),
                      ("tokenize", [model, LONG_TEXT]), ("train", train_args("copy", None, "char", 32, 5)),
                      ("train", train_args("my text", cjk_text(2000, 1), "bpe", 1024, 5)),
                      ("generate", [model, "x" * 1_000_000, 4, 0.8, 0, 1.0, False, 0]))
        for name, data in warm_calls:
            call(url, ep[name], ep.data(name, data))
        upload_once(url, zip_path)
        time.sleep(args.ttl + 3 * sweep + 5)
        report["rss_mb"] = {"warm": round(server.rss() or 0, 1)}
        report["server_threads"] = {"warm": server_threads(server.proc.pid)}
        report["server_memory_env"] = server_memory_env(server.proc.pid)

        deadline = time.time() + args.seconds
        stop = threading.Event()
        normal: list[float] = []
        results: dict[str, list] = {"burst": [], "uploads": [], "long_prompts": [], "train": []}

        def normal_user() -> None:
            session = uuid.uuid4().hex[:12]
            rng = random.Random(0)
            while not stop.is_set():
                ok, out, seconds = call(url, ep["inspect"], ep.data("inspect", [model, rng.choice(TEXTS)]), session)
                if ok and not check_inspect(out):
                    normal.append(seconds)
                else:
                    results.setdefault("normal_errors", []).append(str(out)[:200])
                stop.wait(0.5)

        def burst() -> None:
            rng = random.Random(1)

            def one(i: int) -> None:
                if time.time() > deadline:
                    return
                kind = rng.choices(["inspect", "tokenize", "generate"], [5, 3, 2])[0]
                data = {"inspect": [model, LONG_TEXT], "tokenize": [model, LONG_TEXT],
                        "generate": [model, "Once upon a time", 24, 0.8, 0, 1.0, False, i]}[kind]
                ok, out, seconds = call(url, ep[kind], ep.data(kind, data))
                results["burst"].append((kind, ok, seconds))

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(one, range(args.sessions)))

        def uploads() -> None:
            def one(_: int) -> tuple[bool, str, float]:
                return upload_once(url, zip_path)

            for _ in range(args.upload_rounds):
                if time.time() > deadline:
                    break
                with ThreadPoolExecutor(6) as pool:
                    results["uploads"].extend(pool.map(one, range(6)))

        def long_prompts() -> None:
            prompt = "The dog ran. " * (LONG_PROMPT_CHARS // 13)
            for _ in range(args.long_prompt_rounds):
                if time.time() > deadline:
                    break
                with ThreadPoolExecutor(2) as pool:
                    data = ep.data("generate", [model, prompt, 4, 0.8, 0, 1.0, False, 0])
                    got = pool.map(call, [url] * 2, [ep["generate"]] * 2, [data] * 2)
                    results["long_prompts"].extend((ok, str(out)[:160], s) for ok, out, s in got)

        def trainers() -> None:
            spaceless = cjk_text(100_000)
            runs = [("spaceless_bpe", train_args("my text", spaceless, "bpe", 8192, 3000), 0.0),
                    ("normal_after", train_args("copy", None, "char", 32, 20), 5.0)]

            def one(name: str, data: list, delay: float) -> None:
                time.sleep(delay)
                ok, out, seconds = call(url, ep["train"], ep.data("train", data), timeout=args.train_limit * 4 + 120)
                status = json.dumps(out)[-240:] if ok else str(out)[:240]
                results["train"].append({"run": name, "ok": ok, "seconds": round(seconds, 1), "status": status})

            threads = [threading.Thread(target=one, args=r, daemon=True) for r in runs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        workers = [threading.Thread(target=f, daemon=True, name=f.__name__)
                   for f in (normal_user, burst, uploads, long_prompts, trainers)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers[1:]:
            w.join(args.seconds + args.train_limit * 4 + 300)
        stop.set()
        workers[0].join(30)
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        report["load_average_1min_after_load"] = round(os.getloadavg()[0], 2)
        report["rss_mb"]["end_of_load"] = round(server.rss() or 0, 1)

        # settle: the sessions expire (ttl + sweeps), then sample a few times
        time.sleep(args.ttl + 3 * sweep + 5)
        settled = [server.rss() or 0 for _ in range(5) if time.sleep(1) is None]
        report["rss_mb"]["settled"] = round(min(settled), 1)
        report["server_threads"]["settled"] = server_threads(server.proc.pid)
        sampler.stop_event.set()
        report["rss_mb"]["peak"] = round(sampler.peak, 1)
        report["server_alive"] = server.proc.poll() is None
    finally:
        sampler.stop_event.set()
        server.stop()

    burst_rows = results["burst"]
    report["burst"] = {
        "sessions_done": len(burst_rows),
        "errors": sum(not ok for _, ok, _ in burst_rows),
        **{kind: summary([s for k, ok, s in burst_rows if k == kind and ok]) for kind in ("inspect", "tokenize",
                                                                                            "generate")},
    }
    report["normal_user_inspect"] = {**summary(normal), "errors": len(results.get("normal_errors", [])),
                                     "first_errors": results.get("normal_errors", [])[:3]}
    report["uploads"] = {"n": len(results["uploads"]), "accepted": sum(ok for ok, _, _ in results["uploads"]),
                         "max_s": round(max((s for _, _, s in results["uploads"]), default=0), 2),
                         "refused_by_the_limit": sum("nothing was loaded" in m for _, m, _ in results["uploads"]),
                         "message": next((m for ok, m, _ in results["uploads"] if "nothing was loaded" in m), None)}
    report["long_prompts"] = {"n": len(results["long_prompts"]),
                              "refused": sum(not ok for ok, _, _ in results["long_prompts"]),
                              "max_s": round(max((s for _, _, s in results["long_prompts"]), default=0), 2),
                              "message": next((m for ok, m, _ in results["long_prompts"] if not ok), None)}
    report["train_runs"] = results["train"]
    spaceless = next((r for r in results["train"] if r["run"] == "spaceless_bpe"), None)
    held = spaceless["seconds"] if spaceless else None
    report["training_slot"] = {"limit_s": args.train_limit, "spaceless_run_held_s": held,
                               "held_beyond_limit": held is None or held > args.train_limit + SLOT_SLACK_S}
    rss = report["rss_mb"]
    report["targets"] = {
        "inspect_p95_under_2s": (report["normal_user_inspect"].get("p95_s") or 99) < TARGET_P95_S,
        "peak_under_3GB": rss["peak"] < TARGET_PEAK_MB,
        "settled_within_100MB_of_warm": rss["settled"] - rss["warm"] <= TARGET_SETTLED_MB,
        "no_run_held_the_slot_beyond_its_limit": not report["training_slot"]["held_beyond_limit"],
    }
    return report


def server_threads(pid: int) -> int | None:
    """The server's OS threads (Gradio's worker pool grows with the burst's concurrency and keeps
    its idle threads: part of the settled memory that is not per session)."""
    try:
        return next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("Threads:"))
    except (OSError, StopIteration):
        return None


def server_memory_env(pid: int) -> dict:
    """The allocator settings the server really ran with (app.py re-executes itself with
    PYTHONMALLOC=malloc on glibc; playground/memory.py), read from /proc (Linux only)."""
    names = ("PYTHONMALLOC", "MKL_DISABLE_FAST_MM", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_",
             "PLAYGROUND_PYTHONMALLOC")
    try:
        pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return {}
    env = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
    return {name: env.get(name) for name in names}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000, help="distinct sessions in the burst")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long attacks keep being started")
    parser.add_argument("--ttl", type=float, default=30.0, help="session TTL of the server (seconds)")
    parser.add_argument("--train-limit", type=float, default=60.0, help="the server's training time limit (s)")
    parser.add_argument("--upload-rounds", type=int, default=3)
    parser.add_argument("--long-prompt-rounds", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    report = run(argv)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
