"""Load test: many users on one server while a training run streams.

    python -m bench.load_test [--users 16] [--seconds 60] [--ttl 20] [--think 0.5 1.5]

Starts the app (`python app.py`) in a subprocess on a free loopback port, with a short session
TTL (env PLAYGROUND_SESSION_TTL) so that memory can be watched coming back. Then, for a
bounded time, `--users` threads each drive their own gradio_client session in a loop —
/inspect (the Attention tab) or /generate (24 new tokens), with a random think time between
requests — while one more session runs ONE /train (stopped with /stop_training when the time
is up). Every response is checked (tokens and summary present, the generation continues its
prompt; the trainer's "My model" is visible to the trainer only). Afterwards the clients
disconnect, and the server's RSS is sampled until the sessions have expired.

Prints JSON: per-endpoint count, p50 / p95 / max latency in seconds (inspect also split into
"while training" and not), errors with their first messages, the training run's summary, the
server's RSS (at launch, warm, peak, end of load, after the sessions expired; psutil if
installed, else /proc), load average, and whether the targets were met:
0 errors, p95 /inspect < 2 s while training, RSS after expiry within 100 MB of the warm RSS.
The machine's other work slows every number: compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "The dog saw the cat. She ran to the tree.",
    "Once upon a time a little dog found a red ball in the garden.",
    "狗看见了猫。它们一起玩。",
    "The cat sat on the mat and looked at the bird outside the window.",
    "A girl and her brother went to the park. They played until the sun went down.",
]
PROMPTS = ["Once upon a time", "The dog", "She ran to", "从前"]
TRAIN = dict(
    corpus="stories-en",
    tokenizer="char",
    vocab=512,
    layers=2,
    heads=2,
    d_model=64,
    n_ctx=64,
    steps=3000,
    batch=16,
    lr=3e-3,
    seed=0,
    probe="The dog saw the cat.",
)
TARGET_INSPECT_P95_S = 2.0
TARGET_RSS_DELTA_MB = 100.0


# ---------------------------------------------------------------- server process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process in MB (psutil if available, else /proc)."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Server:
    """`python app.py` on a free loopback port; stopped by its own pid."""

    def __init__(self, ttl: float, sweep: float, queue_max: int | None = None, threads: str = "1") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {
            **os.environ,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PLAYGROUND_SESSION_TTL": str(ttl),
            "PLAYGROUND_SWEEP_SECONDS": str(sweep),
            "PLAYGROUND_TORCH_THREADS": os.environ.get("PLAYGROUND_TORCH_THREADS", threads),
            "PYTHONUNBUFFERED": "1",
        }
        if queue_max is not None:
            env["PLAYGROUND_QUEUE_MAX_SIZE"] = str(queue_max)
        self.log = open(os.devnull, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.proc.returncode}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s")

    def rss(self) -> float | None:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.log.close()


class RssSampler(threading.Thread):
    def __init__(self, server: Server, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.server, self.interval, self.peak = server, interval, 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            value = self.server.rss()
            if value is not None:
                self.peak = max(self.peak, value)
            self.stop_event.wait(self.interval)


# ---------------------------------------------------------------- users


@dataclass
class Record:
    endpoint: str
    seconds: float
    ok: bool
    while_training: bool
    error: str = ""


@dataclass
class Results:
    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    training: threading.Event = field(default_factory=threading.Event)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


def check_inspect(out) -> str:
    tokens_html, summary = out[0], out[1]
    if "tok" not in str(tokens_html) or "tokens" not in str(summary):
        return f"unexpected /inspect output: {str(summary)[:120]!r}"
    return ""


def check_generate(prompt: str, out) -> str:
    plain, summary = out[1], out[2]
    if not isinstance(plain, str) or not plain.startswith(prompt) or len(plain) <= len(prompt):
        return f"/generate did not continue the prompt: {str(plain)[:80]!r}"
    if "new tokens" not in str(summary):
        return f"unexpected /generate summary: {str(summary)[:80]!r}"
    return ""


def user_loop(
    url: str,
    model: str,
    deadline: float,
    think: tuple[float, float],
    seed: int,
    results: Results,
    generate_share: float,
) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False)
    except Exception as err:  # a failed connect is an error of the run
        results.add(Record("connect", 0.0, False, results.training.is_set(), repr(err)[:200]))
        return
    try:
        while time.time() < deadline:
            training = results.training.is_set()
            if rng.random() < generate_share:
                prompt = rng.choice(PROMPTS)
                endpoint, args = "/generate", (model, prompt, 24, 0.8, 0, 1.0, False, rng.randrange(1000))
            else:
                prompt = None
                endpoint, args = "/inspect", (model, rng.choice(TEXTS) + f" {rng.randrange(100)}")
            start = time.perf_counter()
            try:
                out = client.predict(*args, api_name=endpoint)
                problem = check_generate(prompt, out) if prompt is not None else check_inspect(out)
            except Exception as err:  # every failure is counted and reported
                problem = f"{type(err).__name__}: {err}"[:300]
            results.add(Record(endpoint, time.perf_counter() - start, not problem, training, problem))
            time.sleep(rng.uniform(*think))
    finally:
        client.close()


def trainer(url: str, deadline: float, results: Results, report: dict) -> None:
    """One /train run from its own session, stopped at the deadline; then checks My model."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        start = time.perf_counter()
        job = client.submit(**TRAIN, api_name="/train")
        first_update = None
        while not job.done() and time.time() < deadline:
            if first_update is None and any("Step" in str(o[0]) for o in job.outputs()):
                first_update = time.perf_counter() - start
                results.training.set()
            time.sleep(0.2)
        if not job.done():
            client.predict(api_name="/stop_training")
        try:
            final = job.result(timeout=120)
            ok = "My model" in str(final[0])
            error = "" if ok else f"unexpected final /train status: {str(final[0])[:200]!r}"
        except Exception as err:
            ok, error, final = False, f"{type(err).__name__}: {err}"[:300], None
        results.training.clear()
        total = time.perf_counter() - start
        results.add(Record("/train", total, ok, True, error))
        report["train"] = {
            "seconds_to_first_update": None if first_update is None else round(first_update, 2),
            "seconds_total": round(total, 2),
            "ok": ok,
            "final_status": _plain(final[0]) if final else None,
        }
        if ok:  # the trainer's model is its own
            gen = client.predict("My model", "The dog", 8, 0.8, 0, 1.0, False, 1, api_name="/generate")
            report["train"]["my_model_generates"] = gen[1].startswith("The dog")
            if not report["train"]["my_model_generates"]:
                results.add(Record("/generate", 0.0, False, False, "My model did not generate for its owner"))
    finally:
        client.close()


def isolation_check(url: str) -> bool:
    """A session that never trained must not see anyone's "My model"."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        client.predict("My model", "The dog", 4, 0.8, 0, 1.0, False, 1, api_name="/generate")
        return False
    except Exception as err:
        return "My model" in str(err) or "choices" in str(err)
    finally:
        client.close()


def _plain(html: str) -> str:
    """The last sentence of a status HTML, without tags."""
    import re

    words = " ".join(re.sub(r"<[^>]+>", " ", str(html)).split())
    return words[-200:]


# ---------------------------------------------------------------- report


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(values),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(p95, 3),
        "max_s": round(ordered[-1], 3),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ttl", type=float, default=20.0, help="session TTL of the server (seconds)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(0.5, 1.5),
        metavar=("MIN", "MAX"),
        help="seconds each user waits between requests (uniform)",
    )
    parser.add_argument("--generate-share", type=float, default=0.4, help="fraction of requests that generate")
    parser.add_argument("--no-train", action="store_true", help="skip the training run")
    parser.add_argument(
        "--expiry-wait",
        type=float,
        default=None,
        help="seconds to watch RSS after the load (default: ttl + 3 sweeps + 5)",
    )
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> dict:
    """Run the load test with these command-line arguments; returns the report."""
    args = parse_args(argv)
    sweep = max(1.0, min(5.0, args.ttl / 4))
    server = Server(ttl=args.ttl, sweep=sweep)
    report: dict = {
        "benchmark": "load_test",
        "users": args.users,
        "seconds": args.seconds,
        "think_s": list(args.think),
        "generate_share": args.generate_share,
        "session_ttl_s": args.ttl,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": round(os.getloadavg()[0], 2),
    }
    sampler = RssSampler(server)
    results = Results()
    try:
        server.wait_ready()
        report["rss_mb"] = {"launch": round(server.rss() or 0, 1)}
        sampler.start()
        from gradio_client import Client

        warm = Client(server.url, verbose=False)  # load the model and warm every code path once
        model = warm.view_api(return_format="dict", print_info=False)["named_endpoints"]["/inspect"]["parameters"][0][
            "parameter_default"
        ]
        warm.predict(model, TEXTS[0], api_name="/inspect")
        warm.predict(model, PROMPTS[0], 8, 0.8, 0, 1.0, False, 0, api_name="/generate")
        if not args.no_train:  # one-time costs of training (corpus, tokenizer, autograd) are not a leak
            warm.predict(**{**TRAIN, "steps": 5}, api_name="/train")
        warm.close()
        time.sleep(1.0)
        report["model"] = model
        report["rss_mb"]["warm"] = round(server.rss() or 0, 1)

        deadline = time.time() + args.seconds
        threads = [
            threading.Thread(
                target=user_loop,
                name=f"user-{i}",
                daemon=True,
                args=(server.url, model, deadline, tuple(args.think), i, results, args.generate_share),
            )
            for i in range(args.users)
        ]
        if not args.no_train:
            threads.append(
                threading.Thread(
                    target=trainer, name="trainer", daemon=True, args=(server.url, deadline, results, report)
                )
            )
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 300)
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        report["rss_mb"]["end_of_load"] = round(server.rss() or 0, 1)
        report["isolation_ok"] = isolation_check(server.url)

        wait = args.expiry_wait if args.expiry_wait is not None else args.ttl + 3 * sweep + 5
        time.sleep(wait)
        report["rss_mb"]["after_expiry"] = round(server.rss() or 0, 1)
        report["rss_mb"]["expiry_wait_s"] = round(wait, 1)
        sampler.stop_event.set()
        report["rss_mb"]["peak"] = round(sampler.peak, 1)
        report["server_alive"] = server.proc.poll() is None
    finally:
        sampler.stop_event.set()
        server.stop()

    records = results.records
    by_endpoint: dict[str, dict] = {}
    for endpoint in sorted({r.endpoint for r in records}):
        rows = [r for r in records if r.endpoint == endpoint]
        by_endpoint[endpoint] = {**summary([r.seconds for r in rows if r.ok]), "errors": sum(not r.ok for r in rows)}
    inspect_training = [r.seconds for r in records if r.endpoint == "/inspect" and r.ok and r.while_training]
    inspect_idle = [r.seconds for r in records if r.endpoint == "/inspect" and r.ok and not r.while_training]
    if "/inspect" in by_endpoint:
        by_endpoint["/inspect"]["while_training"] = summary(inspect_training)
        by_endpoint["/inspect"]["not_training"] = summary(inspect_idle)
    errors = [r for r in records if not r.ok]
    report["requests"] = len(records)
    report["requests_per_s"] = round(len(records) / max(args.seconds, 1e-9), 2)
    report["latency"] = by_endpoint
    report["errors"] = len(errors) + (0 if report.get("isolation_ok", False) else 1)
    report["error_samples"] = sorted({r.error for r in errors})[:5]
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    p95_training = summary(inspect_training).get("p95_s")
    rss = report.get("rss_mb", {})
    delta = None if "after_expiry" not in rss else round(rss["after_expiry"] - rss["warm"], 1)
    report["rss_mb"]["after_expiry_minus_warm"] = delta
    report["targets"] = {
        "zero_errors": report["errors"] == 0,
        "inspect_p95_while_training_under_2s": None if p95_training is None else p95_training < TARGET_INSPECT_P95_S,
        "rss_back_within_100mb": None if delta is None else delta <= TARGET_RSS_DELTA_MB,
    }
    report["error_records"] = [
        {"endpoint": r.endpoint, "while_training": r.while_training, "error": r.error} for r in errors[:20]
    ]
    return report


def main(argv: list[str] | None = None) -> int:
    report = run(argv)
    print(json.dumps({k: v for k, v in report.items() if k != "error_records"}, indent=2, ensure_ascii=False))
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
