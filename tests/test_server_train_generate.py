"""/train and /generate over HTTP with gradio_client: streaming, cancel, per-session models."""

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.server

TINY = dict(corpus="copy", tokenizer="char", vocab=32, layers=1, heads=2, d_model=32, n_ctx=32, steps=30,
            batch=8, lr=3e-3, seed=0, probe="12345=12345")


@pytest.fixture
def client(app_url):
    c = Client(app_url, verbose=False)
    yield c
    c.close()


def _wait(job, condition, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out; status {job.status()}")


def _exported_config(client) -> dict:
    path = client.predict(api_name="/export_model")
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith("config.json"))
        return json.loads(zf.read(name))


def test_train_streams_updates_and_can_be_cancelled(client):
    job = client.submit(**{**TINY, "steps": 3000}, api_name="/train")
    _wait(job, lambda: any("Step" in str(out[0]) for out in job.outputs()))
    assert not job.done()
    job.cancel()
    _wait(job, job.done, timeout=60)
    # the server survives and the training queue is free again for the next run
    out = client.predict(**{**TINY, "steps": 5}, api_name="/train")
    assert "Finished 5 steps" in out[0]


def test_two_clients_train_at_once_and_each_sees_only_its_own_model(app_url):
    a, b, c = (Client(app_url, verbose=False) for _ in range(3))
    try:
        job_a = a.submit(**{**TINY, "d_model": 32, "layers": 1}, api_name="/train")
        job_b = b.submit(**{**TINY, "d_model": 48, "layers": 2}, api_name="/train")
        with ThreadPoolExecutor(2) as pool:
            final_a, final_b = pool.map(lambda j: j.result(timeout=180), (job_a, job_b))
        assert "Finished" in final_a[0] and "Finished" in final_b[0]
        for final in (final_a, final_b):  # the picker (a gr.update over the API) now offers and selects it
            assert final[-1]["value"] == "My model" and ["My model", "My model"] in final[-1]["choices"]

        cfg_a, cfg_b = _exported_config(a), _exported_config(b)
        assert (cfg_a["n_embd"], cfg_a["n_layer"]) == (32, 1)
        assert (cfg_b["n_embd"], cfg_b["n_layer"]) == (48, 2)

        for client in (a, b):
            out = client.predict("My model", "123", 5, 1.0, 0, 1.0, False, 3, api_name="/generate")
            assert out[1].startswith("123") and "My model" in out[2]
        with pytest.raises(AppError):  # a third user has no "My model"
            c.predict("My model", "123", 5, 1.0, 0, 1.0, False, 3, api_name="/generate")
        with pytest.raises(AppError, match="My model"):
            c.predict(api_name="/export_model")
    finally:
        for client in (a, b, c):
            client.close()


def test_limits_arrive_as_clear_errors(client):
    with pytest.raises(AppError, match="at most 3,000 per run"):
        client.predict(**{**TINY, "steps": 10_000}, api_name="/train")
    with pytest.raises(AppError, match="3,000,000"):
        client.predict(**{**TINY, "corpus": "stories-en", "vocab": 512, "layers": 8, "heads": 8, "d_model": 384,
                          "n_ctx": 256}, api_name="/train")


def test_generate_is_deterministic_with_a_seed(client):
    model = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/generate"][
        "parameters"][0]["parameter_default"]
    args = (model, "The dog", 16, 0.9, 0, 1.0, False, 42)
    first = client.predict(*args, api_name="/generate")
    second = client.predict(*args, api_name="/generate")
    assert first[1] == second[1] and len(first[1]) > len("The dog")
    assert "seed 42" in first[2]
