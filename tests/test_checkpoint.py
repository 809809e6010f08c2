"""Checkpoint folders and zips: round trips, and every kind of bad file refused with a clear message."""

from __future__ import annotations

import json
import pickle
import stat
import struct
import warnings
import zipfile

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import playground.checkpoint as ck
from playground.checkpoint import (
    CheckpointError,
    export_zip,
    import_zip,
    load_checkpoint,
    load_state_dict_checked,
    save_checkpoint,
)
from playground.config import ModelConfig
from playground.model import TinyGPT
from playground.tokenizer import Tokenizer

CFG = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=16, d_vocab=320)
TEXT = "The cat sat on the mat. The dog ran to the cat, and the cat ran away! 猫と犬。\n" * 8
META = {"corpus": "cats", "training": {"steps": 5, "val_loss": 3.25}, "note": "ünïcode ✓"}
CARD = {"name": "tiny", "sample": "the cat — 猫"}


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer.train("char", TEXT)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = TinyGPT(CFG).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases, so every tensor matters
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


@pytest.fixture
def folder(tmp_path, model, tokenizer):
    return save_checkpoint(tmp_path / "ckpt", model, tokenizer, meta=META, card=CARD)


def ids():
    return torch.randint(0, CFG.d_vocab, (2, 12), generator=torch.Generator().manual_seed(1))


def weights(model) -> dict[str, torch.Tensor]:
    """The model's tensors as a GPT-2 file stores them (tied lm_head once, as wte)."""
    return {k: v.clone() for k, v in model.state_dict().items() if k != "lm_head.weight"}


def write_weights(folder, state) -> None:
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})


def edit_config(folder, **changes) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**config, **changes}), encoding="utf-8")


def assert_refused(path, *fragments, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return message


# ----- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "vocab"), [("char", 320), ("word", 40), ("bpe", 300)])
def test_save_then_load_gives_identical_logits_meta_card_and_tokenizer(tmp_path, model, kind, vocab):
    tok = Tokenizer.train(kind, TEXT, vocab)
    save_checkpoint(tmp_path / "m", model, tok, meta=META, card=CARD)
    loaded = load_checkpoint(tmp_path / "m")
    assert torch.equal(loaded.model(ids()), model(ids()))
    assert loaded.config == CFG
    assert loaded.meta == {**META, "tokenizer_kind": kind, "format_version": 1}
    assert loaded.card == CARD
    assert loaded.tokenizer.kind == kind
    assert loaded.tokenizer.encode(TEXT).ids == tok.encode(TEXT).ids


def test_loaded_model_is_in_eval_mode_with_tied_output_layer(folder):
    model = load_checkpoint(folder).model
    assert not model.training
    assert model.lm_head.weight is model.transformer.wte.weight


def test_saved_weights_are_float32_gpt2_names_with_tied_weight_stored_once(folder, model):
    with safe_open(folder / "model.safetensors", framework="pt") as f:
        assert f.metadata() == {"format": "pt"}
        assert set(f.keys()) == set(weights(model))
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F32"}
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "gpt2" and config["n_layer"] == 2 and config["vocab_size"] == 320
    assert "ünïcode ✓" in (folder / "config.json").read_text(encoding="utf-8")  # ensure_ascii=False


def test_resaving_without_card_removes_the_stale_card(folder, model, tokenizer):
    save_checkpoint(folder, model, tokenizer)
    assert not (folder / "card.json").exists()
    assert load_checkpoint(folder).card is None


def test_save_refuses_meta_that_is_not_json(tmp_path, model, tokenizer):
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(tmp_path / "m", model, tokenizer, meta={"bad": object()})
    assert not (tmp_path / "m").exists()


def test_save_refuses_a_tokenizer_larger_than_the_vocabulary(tmp_path, tokenizer):
    small = TinyGPT(CFG.replace(d_vocab=100))
    with pytest.raises(CheckpointError, match="embeddings"):
        save_checkpoint(tmp_path / "m", small, tokenizer)


def test_zip_export_import_load_round_trip(tmp_path, folder, model):
    zip_path = export_zip(folder)
    assert zip_path == folder.with_name("ckpt.zip")
    assert sorted(zipfile.ZipFile(zip_path).namelist()) == [
        "ckpt/card.json", "ckpt/config.json", "ckpt/model.safetensors", "ckpt/tokenizer.json",
    ]  # fmt: skip
    imported = import_zip(zip_path, tmp_path / "imported")
    for source in (imported, zip_path):  # an imported folder, and the zip loaded directly
        loaded = load_checkpoint(source)
        assert torch.equal(loaded.model(ids()), model(ids()))
        assert loaded.card == CARD and loaded.meta["corpus"] == "cats"


def test_flat_zip_without_a_top_folder_is_accepted(tmp_path, folder, model):
    zip_path = tmp_path / "flat.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            zf.write(folder / name, name)
    loaded = load_checkpoint(zip_path)
    assert torch.equal(loaded.model(ids()), model(ids()))
    assert loaded.card is None


def test_missing_tokenizer_is_refused_unless_allowed(folder, model):
    (folder / "tokenizer.json").unlink()
    assert_refused(folder, "tokenizer.json")
    loaded = load_checkpoint(folder, allow_missing_tokenizer=True)
    assert loaded.tokenizer is None
    assert torch.equal(loaded.model(ids()), model(ids()))


# ----- weights accepted from other writers ---------------------------------------------------


def test_hub_style_keys_buffers_and_explicit_lm_head_are_accepted(folder, model):
    state = {k.removeprefix("transformer."): v for k, v in weights(model).items()}
    state["lm_head.weight"] = state["wte.weight"].clone()
    for i in range(CFG.n_layers):
        state[f"h.{i}.attn.bias"] = torch.ones(1, 1, CFG.n_ctx, CFG.n_ctx, dtype=torch.bool)
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    write_weights(folder, state)
    assert torch.equal(load_checkpoint(folder).model(ids()), model(ids()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_load_as_float32(folder, model, dtype):
    write_weights(folder, {k: v.to(dtype) for k, v in weights(model).items()})
    state = load_state_dict_checked(folder / "model.safetensors", CFG)
    assert {t.dtype for t in state.values()} == {torch.float32}
    assert torch.allclose(load_checkpoint(folder).model(ids()), model(ids()), atol=0.1)


# ----- bad folders and weights ---------------------------------------------------------------


def test_missing_folder_is_refused(tmp_path):
    assert_refused(tmp_path / "nope", "does not exist", "config.json")


def test_a_plain_file_is_not_a_checkpoint(folder):
    assert_refused(folder / "config.json", "is a file, not a checkpoint folder")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_missing_required_file_is_named(folder, name):
    (folder / name).unlink()
    assert_refused(folder, f"missing {name}", "a checkpoint folder holds")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda path: torch.save({"w": torch.ones(2)}, path), id="torch.save"),
        pytest.param(lambda path: path.write_bytes(pickle.dumps({"w": [1.0, 2.0]})), id="pickle.dumps"),
    ],
)
def test_pickle_renamed_to_safetensors_is_refused_without_unpickling(folder, monkeypatch, payload):
    payload(folder / "model.safetensors")

    def never(*args, **kwargs):
        raise AssertionError("a checkpoint file was unpickled")

    for module, name in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")]:
        monkeypatch.setattr(module, name, never)
    assert_refused(folder, "not a valid safetensors file", "pickle")


def test_truncated_weights_are_refused(folder):
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    assert_refused(folder, "model.safetensors is not a valid safetensors file")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(range(256)) * 4,
        struct.pack("<Q", 20) + b"this is not json !!!",
        struct.pack("<Q", 2) + b"[]",
    ],
    ids=["empty", "random bytes", "header not json", "header not an object"],
)
def test_garbage_weights_are_refused(folder, data):
    (folder / "model.safetensors").write_bytes(data)
    assert_refused(folder, "not a valid safetensors file")


def test_wrong_shape_names_tensor_its_shape_and_the_expected_shape(folder, model):
    state = weights(model)
    state["transformer.h.1.mlp.c_fc.weight"] = torch.zeros(128, 32)  # transposed, as nn.Linear stores it
    write_weights(folder, state)
    assert_refused(folder, "transformer.h.1.mlp.c_fc.weight", "[128, 32]", "expected [32, 128]")


def test_integer_weights_are_refused(folder, model):
    state = weights(model)
    state["transformer.wpe.weight"] = torch.zeros(CFG.n_ctx, CFG.d_model, dtype=torch.int64)
    write_weights(folder, state)
    assert_refused(folder, "transformer.wpe.weight", "I64", "floating point")


def test_missing_tensor_is_named(folder, model):
    state = weights(model)
    del state["transformer.h.0.attn.c_proj.bias"]
    write_weights(folder, state)
    assert_refused(folder, "missing 1 tensor", "transformer.h.0.attn.c_proj.bias")


def test_extra_tensors_are_named(folder, model):
    state = weights(model)
    state["transformer.h.2.ln_1.weight"] = torch.ones(CFG.d_model)  # a third layer the config lacks
    state["classifier.weight"] = torch.ones(3)
    write_weights(folder, state)
    assert_refused(folder, "classifier.weight", "transformer.h.2.ln_1.weight", "2 layers")


def test_non_finite_weights_are_refused(folder, model):
    state = weights(model)
    state["transformer.ln_f.bias"][3] = float("nan")
    write_weights(folder, state)
    assert_refused(folder, "transformer.ln_f.bias", "NaN")


def test_oversized_weights_are_refused_before_reading(folder, monkeypatch):
    monkeypatch.setattr(ck, "MAX_CHECKPOINT_BYTES", 1000)
    monkeypatch.setattr(ck, "safe_open", lambda *a, **k: pytest.fail("an oversized file was opened"))
    assert_refused(folder, "model.safetensors is", "the limit is")


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"n_layer": 99}, ["n_layers", "from 1 to 12", "99"]),
        ({"n_embd": 30, "n_head": 4}, ["divisible"]),
        ({"n_embd": None}, ["config.json is not a usable GPT-2 config"]),
        ({"model_type": "llama"}, ["llama", "gpt2"]),
        ({"activation_function": "relu"}, ["relu"]),
        ({"playground": {"format_version": 2}}, ["format_version 2"]),
        ({"playground": ["not", "a", "dict"]}, ["playground"]),
    ],
)
def test_bad_config_values_are_refused_with_the_reason(folder, changes, fragments):
    edit_config(folder, **changes)
    assert_refused(folder, "config.json", *fragments)


def test_config_missing_a_gpt2_key_is_named(folder):
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    del config["n_head"]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert_refused(folder, "n_head")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\udcff"], ids=["syntax", "a list", "not utf-8"])
def test_config_that_is_not_a_json_object_is_refused(folder, text):
    (folder / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    assert_refused(folder, "config.json")


def test_oversized_json_is_refused(folder, monkeypatch):
    monkeypatch.setattr(ck, "MAX_JSON_BYTES", 100)
    assert_refused(folder, "config.json is", "the limit is")


def test_invalid_tokenizer_json_is_refused(folder):
    (folder / "tokenizer.json").write_text('{"model": {"type": "Unigram"}}', encoding="utf-8")
    assert_refused(folder, "tokenizer.json")


def test_tokenizer_larger_than_model_vocabulary_is_refused(folder):
    many_chars = "".join(chr(0x4E00 + i) for i in range(100))  # 100 + 256 byte tokens
    Tokenizer.train("char", many_chars).save(folder / "tokenizer.json")
    big = Tokenizer.from_file(folder / "tokenizer.json").vocab_size
    assert big > CFG.d_vocab
    assert_refused(folder, f"{big} tokens", f"only {CFG.d_vocab} embeddings")


def test_invalid_card_is_refused(folder):
    (folder / "card.json").write_text("{oops", encoding="utf-8")
    assert_refused(folder, "card.json")


# ----- bad zips -------------------------------------------------------------------------------


def make_zip(path, members, *, infos: dict[str, dict] | None = None):
    """Write a zip by hand. `members`: name -> data (or a list of pairs, to repeat a name);
    `infos`: name -> ZipInfo attributes to set."""
    pairs = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names, which one test wants
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in pairs:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                for attr, value in (infos or {}).get(name, {}).items():
                    setattr(info, attr, value)
                zf.writestr(info, data)
    return path


@pytest.fixture
def files(folder) -> dict[str, bytes]:
    return {
        name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors", "tokenizer.json")
    }


def assert_import_refused(zip_path, dest, *fragments) -> None:
    with pytest.raises(CheckpointError) as info:
        import_zip(zip_path, dest)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert not dest.exists() or not any(dest.iterdir()), "a refused zip left files behind"


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "model.zip"
    path.write_text("hello")
    assert_import_refused(path, tmp_path / "out", "not a zip")
    assert_refused(path, "not a zip")


def test_oversized_zip_is_refused(tmp_path, files, monkeypatch):
    path = make_zip(tmp_path / "m.zip", files)
    monkeypatch.setattr(ck, "MAX_UPLOAD_ZIP_BYTES", 1000)
    assert_import_refused(path, tmp_path / "out", "m.zip is", "the limit is")


def test_too_many_members_are_refused(tmp_path, files):
    extra = {f"ckpt/{i}/": b"" for i in range(ck.MAX_ZIP_MEMBERS)}
    path = make_zip(tmp_path / "m.zip", {**files, **extra})
    assert_import_refused(path, tmp_path / "out", f"at most {ck.MAX_ZIP_MEMBERS}")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../config.json", "'..'"),
        ("ckpt/../../config.json", "'..'"),
        ("/etc/config.json", "absolute"),
        ("C:/config.json", "absolute"),
        ("ckpt\\config.json", "Windows"),
        ("a/b/config.json", "nested"),
        ("evil.py", "config.json, model.safetensors, tokenizer.json, card.json"),
        ("__MACOSX/._config.json", "not allowed"),
        (".DS_Store", "not allowed"),
    ],
)
def test_unsafe_or_unexpected_member_names_are_refused(tmp_path, files, name, fragment):
    path = make_zip(tmp_path / "m.zip", {**files, name: b"{}"})
    assert_import_refused(path, tmp_path / "out", repr(name), fragment)
    assert not (tmp_path / "config.json").exists() and not (tmp_path / "evil.py").exists()


def test_symlink_member_is_refused(tmp_path, files):
    link = {"external_attr": (stat.S_IFLNK | 0o777) << 16}
    path = make_zip(tmp_path / "m.zip", {**files, "card.json": b"/etc/passwd"}, infos={"card.json": link})
    assert_import_refused(path, tmp_path / "out", "symbolic link")


def test_encrypted_member_is_refused(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", files)
    patch_header(path, "config.json", "flag_bits", 0x1)
    assert_import_refused(path, tmp_path / "out", "encrypted")


def test_duplicate_members_are_refused(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", [*files.items(), ("tokenizer.json", b"{}")])
    assert_import_refused(path, tmp_path / "out", "tokenizer.json twice")


def test_files_spread_over_folders_are_refused(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", {**files, "other/card.json": b"{}"})
    assert_import_refused(path, tmp_path / "out", "several folders")


def test_zip_without_weights_is_refused(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", {"config.json": files["config.json"]})
    assert_import_refused(path, tmp_path / "out", "no model.safetensors")


def test_zip_bomb_is_refused_from_declared_sizes_before_extracting(tmp_path, files, monkeypatch):
    bomb = {**files, "card.json": b"{}" + b" " * 3_000_000}  # 3 MB of spaces deflate to ~3 kB
    path = make_zip(tmp_path / "m.zip", bomb)
    assert path.stat().st_size < 200_000
    monkeypatch.setattr(ck, "MAX_UNZIPPED_BYTES", 1_000_000)
    monkeypatch.setattr(ck, "_copy_member", lambda *a: pytest.fail("extraction started"))
    assert_import_refused(path, tmp_path / "out", "unpacks to", "the limit is")


def test_member_larger_than_its_file_limit_is_refused(tmp_path, files, monkeypatch):
    path = make_zip(tmp_path / "m.zip", files)
    monkeypatch.setattr(ck, "MAX_CHECKPOINT_BYTES", 1000)
    assert_import_refused(path, tmp_path / "out", "model.safetensors in the zip is")


# Offsets of a field in a zip's local file header and central directory entry, and its format.
HEADER_FIELDS = {"flag_bits": (6, 8, "<H"), "file_size": (22, 24, "<I")}


def patch_header(path, member: str, field: str, value: int) -> None:
    """Make a zip lie: rewrite a header field of `member` in both places zip stores it
    (zipfile itself refuses to write such zips)."""
    local_offset, central_offset, fmt = HEADER_FIELDS[field]
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        struct.pack_into(fmt, data, zf.getinfo(member).header_offset + local_offset, value)
        pos = zf.start_dir
    while data[pos : pos + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46 : pos + 46 + name_len] == member.encode():
            struct.pack_into(fmt, data, pos + central_offset, value)
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    assert getattr(zipfile.ZipFile(path).getinfo(member), field) == value


def test_member_lying_about_its_size_is_stopped_while_extracting(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", {**files, "card.json": b"{}" + b" " * 500_000})
    patch_header(path, "card.json", "file_size", 10)
    assert_import_refused(path, tmp_path / "out")


def test_import_validates_the_weights_and_cleans_up(tmp_path, files, model):
    state = weights(model)
    state["transformer.wte.weight"] = torch.zeros(5, 5)
    bad = tmp_path / "bad.safetensors"
    save_file(state, bad)
    path = make_zip(tmp_path / "m.zip", {**files, "model.safetensors": bad.read_bytes()})
    assert_import_refused(path, tmp_path / "out", "transformer.wte.weight", "[5, 5]")


def test_import_refuses_a_non_empty_destination(tmp_path, folder):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="new or empty"):
        import_zip(export_zip(folder), dest)
    assert (dest / "keep.txt").read_text() == "mine"


def test_export_refuses_a_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        export_zip(tmp_path)


def test_export_refuses_a_zip_too_large_to_import(folder, monkeypatch):
    monkeypatch.setattr(ck, "MAX_UPLOAD_ZIP_BYTES", 1000)
    with pytest.raises(CheckpointError, match="too large"):
        export_zip(folder)
    assert not folder.with_name("ckpt.zip").exists()


def test_member_count_is_read_from_the_end_record_before_the_directory_is_parsed(tmp_path, files, monkeypatch):
    """A small zip listing a huge number of members is refused without building one ZipInfo each."""
    path = make_zip(tmp_path / "m.zip", {**files, **{f"ckpt/{i}/": b"" for i in range(40)}})
    opened = []
    monkeypatch.setattr(ck.zipfile, "ZipFile", lambda *a, **k: opened.append(a) or pytest.fail("parsed"))
    assert_import_refused(path, tmp_path / "out", "the zip has 43 members", f"at most {ck.MAX_ZIP_MEMBERS}")
    assert not opened


def test_a_directory_larger_than_its_member_count_needs_is_refused(tmp_path, files):
    # A few members with very long names: the count is fine, the directory is not.
    path = make_zip(tmp_path / "m.zip", {**files, **{"x" * 30_000 + f"{i}/": b"" for i in range(3)}})
    assert_import_refused(path, tmp_path / "out", "directory is", "at most 65,536 bytes")


def test_a_zip_whose_end_record_lies_about_its_count_is_still_bounded(tmp_path, files):
    path = make_zip(tmp_path / "m.zip", {**files, **{f"ckpt/{i}/": b"" for i in range(30)}})
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (3).to_bytes(2, "little") * 2  # claim 3 members; the directory holds 33
    path.write_bytes(bytes(data))
    assert_import_refused(path, tmp_path / "out")  # refused (count checked again on the parsed directory)
