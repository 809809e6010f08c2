"""Device-agnostic code, proved on a CPU-only machine.

The trap: the model lives on the CPU while torch's *default* device is `meta`. Any tensor the
code creates without following the model (a bare `torch.zeros`, `torch.arange`, `torch.tensor`)
lands on `meta` and either fails when mixed with the model's CPU tensors or is recorded by a
dispatch mode that sees every tensor produced. On a GPU the same omission would put that tensor
on the CPU next to a CUDA model — the bug these tests stand in for.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from playground import api, device
from playground.cli import main as cli_main
from playground.config import ModelConfig, SampleConfig, TrainConfig
from playground.hooks import run_with_cache
from playground.model import KVCache, TinyGPT
from playground.sampling import generate_steps, generate_without_cache
from playground.tokenizer import Tokenizer
from playground.training import evaluate, init_model, train_steps

TEXT = "the cat sat on the mat. the dog saw the cat. " * 40


class DeviceRecorder(TorchDispatchMode):
    """Records the device of every tensor any torch operation produces."""

    def __init__(self) -> None:
        super().__init__()
        self.devices: dict[str, str] = {}  # device type -> first op that produced one there

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.devices.setdefault(t.device.type, str(func))
        return out


@pytest.fixture(scope="module")
def setup():
    tok = Tokenizer.train("char", TEXT)
    ids = torch.tensor(tok.encode_ids(TEXT))
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=16, n_ctx=16, d_vocab=tok.vocab_size)
    return tok, ids, cfg


def _workload(tok, ids, cfg):
    """Training (batches, eval, probe snapshots, samples), generation with and without the KV
    cache and attention capture, and a hooked forward pass — everything a model is asked to do."""
    train_cfg = TrainConfig(steps=4, batch_size=2, warmup_steps=1, eval_interval=2, sample_interval=2)
    model = init_model(cfg, 0, "cpu")
    stats = list(train_steps(cfg, train_cfg, ids, ids, "the cat sat", tokenizer=tok, model=model,
                             snapshot_steps=(0, 2)))
    sample_cfg = SampleConfig(max_new_tokens=cfg.n_ctx + 4, seed=3, top_k=5, top_p=0.9)  # slides the cache
    steps = list(generate_steps(model, [1, 2, 3], sample_cfg, with_attention=True))
    plain = [s.token_id for s in generate_steps(model, [1, 2, 3], sample_cfg)]
    reference = generate_without_cache(model, [1, 2, 3], SampleConfig(max_new_tokens=5, greedy=True))
    logits, cache = run_with_cache(model, [4, 5, 6, 7])
    return {
        "losses": [s.loss for s in stats],
        "val": [s.val_loss for s in stats],
        "samples": [s.sample for s in stats],
        "snapshots": {k: v.tolist() for s in stats for k, v in s.snapshots.items()},
        "tokens": [s.token_id for s in steps],
        "plain": plain,
        "attention": steps[-1].attention.tolist(),
        "reference": reference,
        "logits": logits.tolist(),
        "pattern": cache.pattern(1).tolist(),
        "eval": evaluate(model, ids, 2, 2),
    }


def test_nothing_is_created_off_the_models_device(setup):
    tok, ids, cfg = setup
    expected = _workload(tok, ids, cfg)
    recorder = DeviceRecorder()
    with torch.device("meta"), recorder:  # a tensor made without a device would land on meta
        trapped = _workload(tok, ids, cfg)
    assert set(recorder.devices) == {"cpu"}, recorder.devices
    assert trapped == expected  # and the work was the same work


def test_inspect_results_come_back_on_the_cpu(setup):
    tok, ids, cfg = setup
    bundle = api.ModelBundle("m", init_model(cfg, 0, "cpu").eval(), tok)
    recorder = DeviceRecorder()
    with torch.device("meta"), recorder:
        result = api.inspect(bundle, "the cat sat")
    assert set(recorder.devices) == {"cpu"}, recorder.devices
    assert result.cache.pattern(0).device.type == "cpu" and result.logits.device.type == "cpu"


def test_forward_and_kv_cache_run_on_the_meta_device(setup):
    """A model on `meta` (shapes only, no data): every intermediate follows it there."""
    _, _, cfg = setup
    model = init_model(cfg, 0, "meta")
    assert model.device.type == "meta"
    ids = torch.zeros(2, 5, dtype=torch.long, device="meta")
    assert model(ids).shape == (2, 5, cfg.d_vocab) and model(ids).device.type == "meta"
    cache = KVCache(cfg, batch=2)
    model(ids, kv_cache=cache)
    out = model(ids[:, :2], kv_cache=cache)  # several new tokens after a filled cache: masked path
    assert out.device.type == "meta" and cache.k[0].device.type == "meta" and cache.length == 7
    logits, act = run_with_cache(model, ids)
    assert act.pattern(0).device.type == "meta"
    loss = model.loss(ids, ids)
    loss.backward()
    assert model.transformer.wte.weight.grad.device.type == "meta"


def test_a_moved_model_keeps_its_output_layer_tied(setup):
    _, _, cfg = setup
    on_cpu = init_model(cfg, 7, "cpu")
    assert isinstance(on_cpu, TinyGPT) and on_cpu.device.type == "cpu"
    meta = init_model(cfg, 7, "meta")  # a move that makes new Parameters
    assert meta.lm_head.weight is meta.transformer.wte.weight
    assert [p.shape for p in meta.parameters()] == [p.shape for p in on_cpu.parameters()]
    back = meta.to_empty(device="cpu")
    assert back.lm_head.weight is back.transformer.wte.weight


def test_auto_falls_back_to_the_cpu_here(monkeypatch):
    monkeypatch.delenv(device.ENV, raising=False)
    device.use(None)
    if torch.cuda.is_available() or device._mps_available():
        pytest.skip("this machine has an accelerator")
    assert device.setting() == "auto"
    assert device.resolve() == torch.device("cpu")
    assert device.resolve("cpu") == torch.device("cpu")
    assert init_model(ModelConfig(n_layers=1, n_heads=1, d_model=4, n_ctx=4, d_vocab=8), 0).device.type == "cpu"


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.resolve("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve("auto") == torch.device("mps")
    assert device.resolve("CPU") == torch.device("cpu")


def test_setting_comes_from_use_then_the_environment(monkeypatch):
    monkeypatch.setenv(device.ENV, "cpu")
    assert device.setting() == "cpu"
    try:
        device.use("auto")
        assert device.setting() == "auto"
    finally:
        device.use(None)
    monkeypatch.setenv(device.ENV, "gpu")
    with pytest.raises(device.DeviceError, match="auto, cpu, cuda, mps"):
        device.setting()


@pytest.mark.parametrize("bad", ["gpu", "cuda:9x", "", "tpu"])
def test_an_invalid_device_names_the_allowed_ones(bad):
    with pytest.raises(device.DeviceError) as err:
        device.check(bad)
    assert "auto, cpu, cuda, mps" in str(err.value) and "auto, cpu, cuda, mps" in err.value.message("zh")
    assert "PLAYGROUND_DEVICE" in str(err.value)


def test_an_absent_accelerator_is_an_error_not_a_silent_cpu_run(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    for name in ("cuda", "mps"):
        with pytest.raises(device.DeviceError, match=f"'{name}' was asked for") as err:
            device.resolve(name)
        assert "auto" in err.value.message("zh") and "cpu" in err.value.message("zh")


def test_cli_refuses_a_bad_device_before_any_work(capsys):
    assert cli_main(["generate", "--device", "tpu", "--prompt", "hi"]) == 2
    assert "auto, cpu, cuda, mps" in capsys.readouterr().err
    device.use(None)


def test_autocast_is_bf16_on_cuda_with_native_bf16_only(monkeypatch):
    import contextlib

    assert isinstance(device.autocast("cpu"), contextlib.nullcontext)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    with pytest.warns(UserWarning, match="CUDA is not available"):  # this machine has none
        ctx = device.autocast("cuda")
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert isinstance(device.autocast("cuda"), contextlib.nullcontext)  # a T4: bf16 only emulated


def _translation_workload(pairs):
    from playground import seq2seq

    src_tok, tgt_tok = seq2seq.build_tokenizers(pairs)
    data = seq2seq.encode_pairs(pairs, src_tok, tgt_tok)
    cfg = seq2seq.Seq2SeqConfig(d_vocab_src=src_tok.vocab_size, d_vocab_tgt=tgt_tok.vocab_size, n_layers=1,
                                n_heads=2, d_model=16, d_mlp=32, n_ctx_src=16, n_ctx_tgt=24)  # fmt: skip
    steps = list(seq2seq.train_translation(cfg, TrainConfig(steps=3, batch_size=8, warmup_steps=1), data, "cpu"))
    translator = seq2seq.Translator(steps[-1].model.eval(), src_tok, tgt_tok)
    english = pairs[0][0]
    shown = translator.translate_with_attention(english)
    return {
        "losses": [s.loss for s in steps],
        "batch": translator.translate_batch([en for en, _ in pairs[:3]]),
        "text": shown.text,
        "cross": shown.cross_attention.tolist(),
        "encoder": shown.encoder_attention.tolist(),
    }


def test_the_translator_creates_nothing_off_its_device():
    from playground.corpora import story_pairs

    pairs = story_pairs(60, seed=3)
    expected = _translation_workload(pairs)
    recorder = DeviceRecorder()
    with torch.device("meta"), recorder:
        trapped = _translation_workload(pairs)
    assert set(recorder.devices) == {"cpu"}, recorder.devices
    assert trapped == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/gpu_check.sh runs this there)")
def test_on_cuda_everything_runs_there_and_agrees_with_the_cpu(setup):
    tok, ids, cfg = setup
    on_cpu = _workload(tok, ids, cfg)
    model = init_model(cfg, 0, "cuda")
    assert model.device.type == "cuda"
    train_cfg = TrainConfig(steps=4, batch_size=2, warmup_steps=1, eval_interval=2)
    stats = list(train_steps(cfg, train_cfg, ids, ids, "the cat sat", tokenizer=tok, model=model, snapshot_steps=(2,)))
    assert stats[-1].model.device.type == "cuda" and stats[1].snapshots[2].dtype == "float32"
    tolerance = 5e-2 if torch.cuda.is_bf16_supported(including_emulation=False) else 1e-4  # bf16 autocast or not
    assert [s.loss for s in stats] == pytest.approx(on_cpu["losses"], abs=tolerance)
    steps = list(generate_steps(model.eval(), [1, 2, 3], SampleConfig(max_new_tokens=20, seed=3), with_attention=True))
    assert all(s.attention is not None for s in steps)
    logits, cache = run_with_cache(model, [4, 5, 6, 7])
    assert logits.device.type == "cuda" and cache.to("cpu").pattern(0).device.type == "cpu"
