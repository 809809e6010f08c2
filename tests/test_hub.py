"""GPT-2-family models from the Hugging Face Hub, tested offline.

A tiny GPT-2 is written by 🤗 transformers (`save_pretrained(..., safe_serialization=True)` and a
`GPT2TokenizerFast`) into a temporary Hugging Face cache laid out as the Hub leaves it
(`models--owner--name/{refs/main, snapshots/<commit>/...}`); huggingface_hub then resolves the
repo id from that cache with HF_HUB_OFFLINE=1, through the same code path as a real download.
"Online" cases replace only the Hub's file listing (`HfApi.model_info`) with a stub and point
the endpoint at a closed port, so nothing can reach the network.
"""

from __future__ import annotations

import json
import os
import types

import httpx
import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import RepositoryNotFoundError
from safetensors.torch import load_file, save_file

from playground import api, hub
from playground.errors import PlaygroundError
from playground.tokenizer import Tokenizer

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: never touch the network
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

REPO = "test-org/tiny-gpt2"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TRAIN_TEXT = "The dog saw the cat. The cat ran up the tree, and the dog sat down! 狗看见了猫。\n" * 40
TEXT = "The cat saw the dog. 狗看见了猫。"
TINY = dict(n_layer=2, n_head=2, n_embd=32, n_positions=48, activation_function="gelu_new")


# ----------------------------------------------------------------- a Hub cache on disk


def gpt2_tokenizer(tmp_path) -> transformers.GPT2TokenizerFast:
    """A real transformers GPT2TokenizerFast (byte-level BPE, <|endoftext|>) trained on TRAIN_TEXT."""
    spec = json.loads(Tokenizer.train("bpe", TRAIN_TEXT, 300).to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    vocab = {**spec["vocab"], "<|endoftext|>": len(spec["vocab"])}
    return transformers.GPT2TokenizerFast(vocab=vocab, merges=merges)


def gpt2_model(vocab_size: int, seed: int = 0, **changes) -> transformers.GPT2LMHeadModel:
    """A random tiny GPT-2 with jittered LayerNorms, so every tensor must land in its place."""
    config = transformers.GPT2Config(**{**TINY, **changes}, vocab_size=vocab_size)
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(config)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return model.eval()


def snapshot(cache, repo: str = REPO, commit: str = COMMIT):
    """The snapshot folder of `repo` at `commit` in a Hub cache, with refs/main pointing at it."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    path = folder / "snapshots" / commit
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty Hub cache, offline, an empty in-memory LRU; no Hub access allowed."""
    root = tmp_path / "hub-cache"
    root.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # a closed port, if anything slipped
    monkeypatch.delenv("PLAYGROUND_HUB_ALLOW", raising=False)
    monkeypatch.delenv("PLAYGROUND_HUB_CACHE_SIZE", raising=False)
    hub.clear_cache()
    yield root
    hub.clear_cache()


@pytest.fixture
def published(cache, tmp_path):
    """REPO in the cache as transformers writes it: config.json, model.safetensors, tokenizer files."""
    tok = gpt2_tokenizer(tmp_path)
    model = gpt2_model(len(tok))
    folder = snapshot(cache)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return types.SimpleNamespace(model=model, tokenizer=tok, folder=folder)


def online(monkeypatch, files: dict[str, int] | None = None, error: Exception | None = None):
    """Pretend to be online with a stubbed Hub listing of `files` ({name: size}) at COMMIT."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    calls = []

    def model_info(self, repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        if error is not None:
            raise error
        siblings = [types.SimpleNamespace(rfilename=n, size=s) for n, s in (files or {}).items()]
        return types.SimpleNamespace(sha=COMMIT, siblings=siblings, gated=False, private=False)

    monkeypatch.setattr(HfApi, "model_info", model_info)
    return calls


def listing_of(folder) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


def assert_same_logits(bundle, hf_model, n: int | None = None):
    n = n or hf_model.config.n_positions
    ids = torch.randint(0, hf_model.config.vocab_size, (2, n), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, actual = hf_model(ids).logits, bundle.model(ids)
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, atol=1e-4), (actual - expected).abs().max()


# ----------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name,repo",
    [("gpt2", "gpt2"), ("distilgpt2", "distilgpt2"), ("sshleifer/tiny-gpt2", "sshleifer/tiny-gpt2"),
     ("hf:gpt2", "gpt2"), ("HF:openai-community/gpt2", "openai-community/gpt2"), (" hf:a.b_c-1/x ", "a.b_c-1/x")],
)  # fmt: skip
def test_hub_ids_are_parsed_with_or_without_the_hf_prefix(name, repo):
    assert hub.parse_repo_id(name) == repo and hub.is_hub_name(name)


BAD_IDS = ["", "hf:", " ", "../../etc/passwd", "/etc/passwd", "a/b/c", "./gpt2", "~/.cache", "C:\\x", "a--b",
           "a..b", "-gpt2", "gpt2-", "gpt2.", "owner/.hidden", "file:///etc/passwd", "https://huggingface.co/gpt2",
           "gpt2\x00", "gpt 2", "gpt2.git", "模型", "x" * 97, "hf:hf:gpt2", None, 12]  # fmt: skip


@pytest.mark.parametrize("name", BAD_IDS)
def test_invalid_ids_are_refused_by_syntax_before_any_network_or_disk(name, cache, monkeypatch):
    online(monkeypatch, error=AssertionError("the Hub was asked"))
    monkeypatch.setattr(hub, "_download", lambda *a, **k: pytest.fail("a download was attempted"))
    assert not hub.is_hub_name(name)
    with pytest.raises(hub.HubError, match="not a Hugging Face Hub model id|must be text"):
        hub.load_hub_model(name)


# ----------------------------------------------------------------- loading


def test_a_transformers_gpt2_loads_from_the_cache_with_identical_logits(published):
    bundle = hub.load_hub_model("hf:" + REPO)
    assert bundle.name == REPO
    assert bundle.meta["source"] == "hub" and bundle.meta["repo_id"] == REPO and bundle.meta["revision"] == COMMIT
    assert bundle.config.n_layers == 2 and bundle.config.d_vocab == len(published.tokenizer)
    assert_same_logits(bundle, published.model)
    assert bundle.model.lm_head.weight is bundle.model.transformer.wte.weight  # tied, as GPT-2


def test_the_tokenizer_matches_transformers_and_shows_readable_tokens(published):
    tok = hub.load_hub_model(REPO).tokenizer
    assert tok.kind == "bpe"
    text = TEXT + "<|endoftext|> new line\n"
    assert tok.encode(text).ids == published.tokenizer(text)["input_ids"]
    labels = [t.display for t in tok.encode(text).tokens]
    assert "·cat" in labels and "<|endoftext|>" in labels
    assert not {"Ġ", "Ċ"} & set("".join(labels))  # byte-level internals never reach the screen
    assert tok.decode(tok.encode(text).ids) == text


def test_load_model_rule_hf_prefix_then_builtin_then_path_then_bare_hub_id(published, tmp_path, monkeypatch):
    by_prefix = api.load_model("hf:" + REPO)
    assert api.load_model(REPO) is by_prefix  # a bare id that is no built-in and no path: the Hub, cached
    builtin = api.builtin_names()[0] if api.builtin_names() else None
    if builtin:
        assert api.load_model(builtin).meta.get("source") != "hub"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test-org").mkdir()
    published.model.save_pretrained(tmp_path / "test-org" / "tiny-gpt2", safe_serialization=True)
    published.tokenizer.save_pretrained(tmp_path / "test-org" / "tiny-gpt2")
    assert api.load_model(REPO) is not by_prefix  # an existing folder wins over a bare id...
    assert api.load_model("hf:" + REPO) is by_prefix  # ...and "hf:" always means the Hub


def test_hub_style_files_without_prefix_with_mask_buffers_in_float16_load(cache, tmp_path):
    """As gpt2 on the Hub: names without `transformer.`, attn.bias / masked_bias buffers, fp16."""
    tok = gpt2_tokenizer(tmp_path)
    model = gpt2_model(len(tok), seed=5)
    folder = snapshot(cache, "old/gpt2-style")
    model.half().save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    state = {k.removeprefix("transformer."): v for k, v in load_file(folder / "model.safetensors").items()}
    n = model.config.n_positions
    for i in range(model.config.n_layer):
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n, dtype=torch.uint8)).view(1, 1, n, n)
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    bundle = hub.load_hub_model("old/gpt2-style")
    assert bundle.model.transformer.wte.weight.dtype == torch.float32
    assert_same_logits(bundle, model.float())


def test_a_repo_with_only_vocab_json_and_merges_txt_gets_gpt2s_tokenizer(cache, tmp_path):
    tok = gpt2_tokenizer(tmp_path)
    spec = json.loads(tok.backend_tokenizer.to_str())["model"]
    folder = snapshot(cache, "old/vocab-merges")
    gpt2_model(len(tok)).save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.json").write_text(json.dumps(spec["vocab"]), encoding="utf-8")
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    loaded = hub.load_hub_model("old/vocab-merges").tokenizer
    text = TEXT + "<|endoftext|>"
    assert loaded.kind == "bpe" and loaded.encode(text).ids == tok(text)["input_ids"]


def test_loaded_models_are_kept_in_a_small_lru(published, cache, monkeypatch):
    other = snapshot(cache, "test-org/other")
    for name in os.listdir(published.folder):
        (other / name).write_bytes((published.folder / name).read_bytes())
    monkeypatch.setenv("PLAYGROUND_HUB_CACHE_SIZE", "1")
    first = hub.load_hub_model(REPO)
    assert hub.load_hub_model(REPO) is first and hub.cached_models() == [REPO]
    hub.load_hub_model("test-org/other")
    assert hub.cached_models() == ["test-org/other"]
    assert hub.load_hub_model(REPO) is not first  # evicted, loaded again


# ----------------------------------------------------------------- refusals, each with a clear message


def test_offline_and_not_cached_says_so(cache):
    with pytest.raises(api.PlaygroundError, match=r"not in this server's Hub cache and the Hub is offline"):
        hub.load_hub_model("gpt2")
    with pytest.raises(api.PlaygroundError, match=r"tried as a Hugging Face Hub id.*offline"):
        api.load_model("distilgpt2")


def test_a_missing_weights_file_offline_is_named(published):
    (published.folder / "model.safetensors").unlink()
    with pytest.raises(hub.HubError, match=r"model.safetensors is not in this server's Hub cache"):
        hub.load_hub_model(REPO)


def test_a_non_gpt2_config_is_refused_before_the_weights(cache):
    folder = snapshot(cache, "google/bert-tiny")
    transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2).save_pretrained(folder)
    with pytest.raises(hub.HubError, match=r"is a 'bert' model.*only GPT-2-architecture models.*gpt2, distilgpt2"):
        hub.load_hub_model("google/bert-tiny")


def test_a_config_without_model_type_is_refused(cache):
    folder = snapshot(cache, "x/untyped")
    (folder / "config.json").write_text(json.dumps({"n_layer": 2, "n_head": 2, "n_embd": 8}))
    with pytest.raises(hub.HubError, match="not a GPT-2 model .config.json has no model_type"):
        hub.load_hub_model("x/untyped")


def test_gpt2_medium_is_refused_as_too_big_saying_what_is_allowed(cache):
    """Only config.json is in the cache: the refusal comes from it, before any weights."""
    folder = snapshot(cache, "openai-community/gpt2-medium")
    transformers.GPT2Config(n_layer=24, n_head=16, n_embd=1024, n_positions=1024, vocab_size=50257).save_pretrained(
        folder
    )
    with pytest.raises(hub.HubError) as err:
        hub.load_hub_model("openai-community/gpt2-medium")
    message = str(err.value)
    assert "outside the playground's size limits" in message
    assert "n_layer = 24 (allowed 1–12)" in message and "n_embd = 1,024 (allowed 4–768)" in message
    assert "n_inner = 4,096 (allowed 4–3,072)" in message
    assert "GPT-2 small" in message and "gpt2-medium and larger are too big" in message


def test_a_long_context_is_refused(cache):
    folder = snapshot(cache, "x/long")
    transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=2048, vocab_size=300).save_pretrained(folder)
    with pytest.raises(hub.HubError, match=r"n_positions = 2,048 \(allowed 2–1,024\)"):
        hub.load_hub_model("x/long")


def test_a_tokenizer_larger_than_the_model_is_refused(published):
    config = json.loads((published.folder / "config.json").read_text())
    (published.folder / "config.json").write_text(json.dumps({**config, "vocab_size": 100}))
    with pytest.raises(hub.HubError, match=f"{REPO}: .*(shape|tokens but the model has only 100)"):
        hub.load_hub_model(REPO)


def test_online_a_repo_with_only_pickle_weights_is_refused_without_downloading_them(published, monkeypatch):
    files = {n: s for n, s in listing_of(published.folder).items() if n != "model.safetensors"}
    online(monkeypatch, {**files, "pytorch_model.bin": 10_000})
    fetched = []
    real = hub._download
    monkeypatch.setattr(hub, "_download", lambda repo, name, *a: fetched.append(name) or real(repo, name, *a))
    with pytest.raises(hub.HubError, match=r"no model.safetensors, only PyTorch pickle weights.*never loads them"):
        hub.load_hub_model(REPO)
    assert fetched == ["config.json"]


def test_online_sharded_weights_and_missing_tokenizer_are_named(published, monkeypatch):
    files = listing_of(published.folder)
    online(monkeypatch, {"config.json": files["config.json"], "model.safetensors.index.json": 100})
    with pytest.raises(hub.HubError, match="several safetensors shards"):
        hub.load_hub_model(REPO)
    online(monkeypatch, {"config.json": files["config.json"], "model.safetensors": files["model.safetensors"]})
    with pytest.raises(hub.HubError, match=r"has no tokenizer.json \(nor GPT-2's vocab.json \+ merges.txt\)"):
        hub.load_hub_model(REPO)


def test_online_oversized_weights_are_refused_from_the_listing(published, monkeypatch):
    online(monkeypatch, {**listing_of(published.folder), "model.safetensors": 700 * 2**20})
    with pytest.raises(hub.HubError, match=r"model.safetensors is 700.0 MiB; the limit is 600.0 MiB"):
        hub.load_hub_model(REPO)


def test_online_a_repo_without_config_is_not_a_transformers_repo(cache, monkeypatch):
    online(monkeypatch, {"README.md": 10, "model.safetensors": 10})
    with pytest.raises(hub.HubError, match="has no config.json"):
        hub.load_hub_model("someone/dataset-like")


def test_online_an_unknown_repo_is_refused(cache, monkeypatch):
    response = httpx.Response(404, request=httpx.Request("GET", "http://127.0.0.1:9/api/models/x/y"))
    online(monkeypatch, error=RepositoryNotFoundError("404", response=response))
    with pytest.raises(hub.HubError, match=r"no public model repository 'x/y' on the Hugging Face Hub"):
        hub.load_hub_model("x/y")


def test_online_the_listing_never_sends_a_token_and_loads_the_listed_commit(published, monkeypatch):
    calls = online(monkeypatch, listing_of(published.folder))
    bundle = hub.load_hub_model(REPO)
    assert calls == [(REPO, {"files_metadata": True, "token": False, "timeout": hub.LIST_TIMEOUT_S})]
    assert bundle.meta["revision"] == COMMIT
    assert_same_logits(bundle, published.model, n=8)


def test_when_the_hub_cannot_be_reached_the_cache_is_used(published, monkeypatch):
    online(monkeypatch, error=httpx.ConnectError("no route to host"))
    assert_same_logits(hub.load_hub_model(REPO), published.model, n=8)
    with pytest.raises(hub.HubError, match="not in this server's Hub cache and the Hugging Face Hub cannot be reached"):
        hub.load_hub_model("elsewhere/gpt2")


def test_the_allow_list_restricts_or_switches_off_hub_loading(published, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HUB_ALLOW", "none")
    with pytest.raises(hub.HubError, match="switched off on this server"):
        hub.load_hub_model(REPO)
    monkeypatch.setenv("PLAYGROUND_HUB_ALLOW", "gpt2, distilgpt2")
    with pytest.raises(hub.HubError, match="only these Hub models: gpt2, distilgpt2"):
        hub.load_hub_model(REPO)
    monkeypatch.setenv("PLAYGROUND_HUB_ALLOW", f"gpt2,{REPO}")
    assert hub.load_hub_model(REPO).name == REPO


# ----------------------------------------------------------------- the web UI


@pytest.fixture
def request_en():
    return types.SimpleNamespace(session_hash="hub-test", headers={"accept-language": "en-US"})


def test_the_picker_accepts_a_typed_hub_id():
    from playground.ui import build_app

    demo = build_app()
    [picker] = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model-picker"]
    assert picker.allow_custom_value is True


def test_every_tab_works_on_a_hub_model_chosen_in_the_picker(published, request_en):
    from playground.ui import attention_tab, embeddings_tab, generate_tab, state, tokens_tab

    bundle = state.get_bundle(REPO, request_en)
    assert bundle is hub.load_hub_model("hf:" + REPO)
    outputs = attention_tab.on_inspect("hf:" + REPO, TEXT, None, request_en)
    view = attention_tab._check_view(outputs[-1], request_en)  # the page's light view + the session's arrays
    n = len(bundle.tokenizer.encode(TEXT).ids)
    assert view["patterns"].shape == (2, 2, n, n) and view["model"] == REPO
    assert view["labels"] == [t.display for t in bundle.tokenizer.encode(TEXT).tokens]
    emb = embeddings_tab.on_embeddings(REPO, TEXT, None, request_en)
    assert f"Model **{REPO}**" in emb[0]
    tokens_tab.on_tokenize(REPO, TEXT, request_en)
    steps = list(generate_tab.on_generate(REPO, "The dog", 4, 1.0, 0, 1.0, False, 0, request_en))
    assert steps


def test_the_ui_never_reads_a_typed_name_as_a_local_folder(published, request_en, tmp_path, monkeypatch):
    """A folder "gpt2" in the working directory is also a valid repo id: the UI asks the Hub cache only."""
    from playground.ui import state

    monkeypatch.chdir(tmp_path)
    published.model.save_pretrained(tmp_path / "gpt2", safe_serialization=True)
    published.tokenizer.save_pretrained(tmp_path / "gpt2")
    with pytest.raises(api.PlaygroundError, match="unknown model 'gpt2'.*not in this server's Hub cache"):
        state.get_bundle("gpt2", request_en)
    for name in ["./gpt2", str(tmp_path / "gpt2"), "../gpt2", "hf:../gpt2"]:
        with pytest.raises(api.PlaygroundError, match="unknown model.*Hugging Face Hub, e.g. gpt2, distilgpt2"):
            state.get_bundle(name, request_en)


def test_hub_errors_reach_the_user_as_a_gradio_error(cache, request_en):

    from playground.ui import attention_tab

    with pytest.raises(PlaygroundError, match="not in this server's Hub cache"):
        attention_tab.on_inspect("hf:nobody/nothing", TEXT, None, request_en)


def test_the_export_works_on_a_hub_model(published, request_en):
    from playground.ui import attention_tab

    view = attention_tab._check_view(attention_tab.on_inspect(REPO, TEXT, None, request_en)[-1], request_en)
    files = attention_tab.on_export(view, request_en)["value"]
    data = json.loads(open(files[1], encoding="utf-8").read())
    assert data["model"] == REPO and np.allclose(np.array(data["patterns"]), view["patterns"], atol=1e-7)


# ----------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_typing_a_hub_id_in_the_picker_inspects_it_and_the_export_and_png_buttons_work(published, page, app_url):
    """The in-process server reads the monkeypatched offline Hub cache of `published`."""
    from playwright.sync_api import expect

    wait = {"timeout": 30_000}
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    expect(page.locator("#att-grid .js-plotly-plot")).to_be_visible(**wait)
    picker = page.locator("#model-picker input")
    picker.fill(REPO)
    picker.press("Enter")
    n = len(hub.load_hub_model(REPO).tokenizer.encode(page.locator("#text-input textarea").input_value()).ids)
    expect(page.locator("#att-summary")).to_contain_text(f"{n} tokens", **wait)
    expect(page.locator("#att-layer input[type=radio]")).to_have_count(2, **wait)
    expect(page.locator("#att-grid .modebar-btn[data-title='Download plot as a PNG']")).to_be_attached(**wait)
    page.locator("#att-export").click()
    for name in ("attention.csv", "attention.json"):  # download links served by Gradio
        expect(page.locator(f"#att-export-files a[href$='/{name}']")).to_have_count(1, **wait)


# ---------------------------------------------------------------- public-deployment defaults (issue 14)


def test_on_a_space_only_gpt2_and_distilgpt2_are_allowed_unless_the_operator_says_otherwise(cache, monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/transformer-playground")
    assert hub.allow_setting() == "gpt2,distilgpt2"
    with pytest.raises(hub.HubError, match="only these Hub models: gpt2, distilgpt2"):
        hub.load_hub_model("someone/huge-gpt2")
    monkeypatch.setenv("PLAYGROUND_HUB_ALLOW", "*")
    assert hub.allow_setting() == "*"
    monkeypatch.delenv("SPACE_ID")
    monkeypatch.delenv("PLAYGROUND_HUB_ALLOW")
    assert hub.allow_setting() == "*"  # a laptop or classroom server: any public GPT-2 repo


def _fill(cache, repo: str, commit: str, n_bytes: int, when: float) -> None:
    folder = snapshot(cache, repo, commit)
    path = folder / "model.safetensors"
    path.write_bytes(bytes(n_bytes))
    os.utime(path, (when, when))


def test_the_disk_cache_is_trimmed_least_recently_used_first(cache, monkeypatch):
    _fill(cache, "old/one", "a" * 40, 600_000, 1_000_000)
    _fill(cache, "mid/two", "b" * 40, 600_000, 2_000_000)
    _fill(cache, "new/three", "c" * 40, 600_000, 3_000_000)
    monkeypatch.setenv("PLAYGROUND_HUB_DISK_MB", "1.2")  # room for two of the three
    deleted = hub.trim_disk_cache(keep="old/one", cache_dir=cache)
    assert deleted == ["mid/two"]  # the oldest other than the one just loaded
    assert (cache / "models--old--one").exists() and (cache / "models--new--three").exists()
    monkeypatch.setenv("PLAYGROUND_HUB_DISK_MB", "0")  # 0: no limit
    assert hub.trim_disk_cache(keep="x", cache_dir=cache) == []


def test_a_download_larger_than_the_disk_limit_is_refused_before_it_starts(cache, monkeypatch):
    from playground.errors import PlaygroundError

    monkeypatch.setenv("PLAYGROUND_HUB_DISK_MB", "100")
    with pytest.raises(PlaygroundError) as caught:
        hub.check_disk_room("gpt2", 548 * 2**20)
    assert caught.value.message("en") == (
        "gpt2 needs 548 MB of disk; this server's Hub cache is limited to 100 MB (PLAYGROUND_HUB_DISK_MB)")
    assert "磁盘" in caught.value.message("zh")
    hub.check_disk_room("gpt2", 50 * 2**20)  # fits: no error


def test_the_model_tab_and_the_reading_tools_work_on_a_hub_model(published):
    """The Model tab, logit lens, attribution and ablation on a GPT-2 from the (local) Hub cache:
    the lens' last row and the attributed logit are transformers' own numbers."""
    from playground.ablation import ablate
    from playground.lens import decompose, logit_lens
    from playground.ui import model_tab

    name = "hf:" + REPO
    out = model_tab.on_text(name, TEXT, 1.0, 1, 1)
    assert "2 layers × 2 heads" in out[0] and out[2].data and out[5].data
    bundle = hub.load_hub_model(name)
    ids = bundle.tokenizer.encode(TEXT).ids
    with torch.no_grad():
        theirs = published.model(torch.tensor([ids])).logits[0]  # (T, V)
    lens = logit_lens(bundle, TEXT)
    assert torch.allclose(lens.last_probs, theirs.softmax(-1), atol=1e-5)
    parts = decompose(bundle, TEXT, 4)
    assert float(parts.contributions.sum()) == pytest.approx(float(theirs[4, parts.token_id]), abs=1e-4)
    assert (ablate(bundle, TEXT).losses_after == ablate(bundle, TEXT).losses_before).all()
