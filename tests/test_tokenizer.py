"""Tokenizers: exact round trips, honest token views, lossy word decoding, files, errors."""

import json
import random
import re

import pytest
import tokenizers
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import AddedToken, decoders, models, pre_tokenizers, processors, trainers

from playground import tokenizer as tokenizer_module
from playground.tokenizer import KINDS, Encoding, Tokenizer, TokenizerError, TokenView, readable

TRAIN_TEXT = (
    "Once upon a time a little dog lived under a big tree. The dog liked the tree, "
    "and the tree liked the dog.\n"
    "从前有一只小狗，它住在一棵大树下。小狗喜欢大树，大树也喜欢小狗。\n"
    "Every day the dog ran to the river and back again.\t It was happy.\n"
) * 20

LONG_PIECES = ["the dog ", "ran ", "狗", "树下。", "café ", "🐟", "\n", "\t", "  ", "x"]
LONG_TEXT = "".join(random.Random(0).choices(LONG_PIECES, k=7500))

SAMPLES = {
    "empty": "",
    "question_mark": "?",
    "chinese": "从前有一只狗，它住在树下。",
    "emoji": "🐶🐱 👍🏽 🇨🇳",
    "mixed_scripts": "The dog 狗 ran — café naïve 🐟!",
    "control_chars": "a\x00b\x07c\r\n\n\td\x1b[0m\x7f\u200b\u2028 end \t\n",
    "long": LONG_TEXT,
}

MOJIBAKE = set("ĠĊĉÃâçð") | {chr(c) for c in range(0x100, 0x144)}
BYTE_GROUP = re.compile(r"<[0-9a-f]{2}( [0-9a-f]{2})*>")


@pytest.fixture(scope="module")
def toks() -> dict[str, Tokenizer]:
    return {
        "char": Tokenizer.train("char", TRAIN_TEXT),
        "word": Tokenizer.train("word", TRAIN_TEXT, vocab_size=200),
        "bpe": Tokenizer.train("bpe", TRAIN_TEXT, vocab_size=320),
    }


def check_views(tok: Tokenizer, text: str, enc: Encoding) -> None:
    """The invariants every lossless encoding keeps."""
    assert len(enc) == len(enc.ids) == len(enc.tokens)
    assert [tv.id for tv in enc.tokens] == enc.ids
    assert b"".join(tv.bytes for tv in enc.tokens) == text.encode("utf-8")
    position = 0
    for tv in enc.tokens:
        assert tv.start == position <= tv.end
        assert tv.text == text[tv.start : tv.end]
        assert tv.bytes == tok.token_bytes(tv.id)
        assert tv.display == tok.token_display(tv.id)
        position = tv.end
    assert position == len(text)


# ----- round trips -----


def test_samples_contain_characters_unseen_in_training():
    unseen = set("".join(SAMPLES.values())) - set(TRAIN_TEXT)
    assert {"🐶", "—", "é", "\x07"} <= unseen


@pytest.mark.parametrize("kind", ["char", "bpe"])
@pytest.mark.parametrize("name", SAMPLES)
def test_char_and_bpe_round_trip_any_text_exactly(toks, kind, name):
    tok, text = toks[kind], SAMPLES[name]
    enc = tok.encode(text)
    assert tok.decode(enc.ids) == text
    check_views(tok, text, enc)
    assert tok.encode_ids(text) == enc.ids


@settings(max_examples=200, derandomize=True, deadline=None)
@given(text=st.text())
def test_char_and_bpe_round_trip_arbitrary_unicode(toks, text):
    for kind in ("char", "bpe"):
        enc = toks[kind].encode(text)
        assert toks[kind].decode(enc.ids) == text
        check_views(toks[kind], text, enc)


def test_decode_accepts_numpy_arrays_and_torch_tensors(toks):
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    tok = toks["bpe"]
    ids = tok.encode("The dog 狗").ids
    assert tok.decode(np.array(ids)) == "The dog 狗"
    assert tok.decode(torch.tensor(ids)) == "The dog 狗"
    assert tok.decode([np.int64(i) for i in ids]) == "The dog 狗"


def test_char_tokens_are_single_characters_and_unseen_ones_are_bytes(toks):
    tok = toks["char"]
    enc = tok.encode("狗🐶")
    assert [tv.display for tv in enc.tokens] == ["狗", "<f0>", "<9f>", "<90>", "<b6>"]
    # A character belongs to the token holding its first byte; continuation tokens cover "".
    assert [tv.text for tv in enc.tokens] == ["狗", "🐶", "", "", ""]
    assert [(tv.start, tv.end) for tv in enc.tokens] == [(0, 1), (1, 2), (2, 2), (2, 2), (2, 2)]
    assert tok.vocab_size == 256 + len(set(TRAIN_TEXT))


def test_char_vocab_is_alphabet_plus_byte_tokens_whenever_they_fit():
    for vocab_size in (259, 512, 4096):
        assert Tokenizer.train("char", "abcab", vocab_size=vocab_size).vocab_size == 256 + 3


def test_encode_ids_in_pieces_matches_one_encode(toks, monkeypatch):
    text = "The dog.\n\nA tree\n  indented\n \nx\r\ny\t\n狗\n\n\n🐶 end" * 40
    monkeypatch.setattr(tokenizer_module, "CHUNK_CHARS", 50)
    for tok in toks.values():
        assert tok.encode_ids(text) == tok.hf.encode(text, add_special_tokens=False).ids


def test_chunks_cover_the_text_and_cut_before_a_newline_followed_by_a_visible_char():
    text = "ab\n\ncd\n ef\ngh " * 30
    pieces = tokenizer_module._chunks(text, 10)
    assert "".join(pieces) == text and len(pieces) > 1
    for piece in pieces[1:]:
        assert piece[0] == "\n" and not piece[1].isspace()


def test_training_is_deterministic():
    for kind in KINDS:
        first, second = (Tokenizer.train(kind, TRAIN_TEXT, 300) for _ in range(2))
        assert first.to_str() == second.to_str()


# ----- display -----


def test_readable_makes_whitespace_and_control_chars_visible():
    assert readable(b" \n\t") == "·↵→"
    assert readable(b"\x07\x00\r\x7f") == "\\x07\\x00\\r\\x7f"
    assert readable("\u200d\u00a0".encode()) == "\\u200d\\xa0"
    assert readable("狗 café".encode()) == "狗·café"


def test_readable_shows_partial_characters_as_bytes():
    assert readable("狗".encode()[:2]) == "<e7 8b>"
    assert readable(b"\x97 the") == "<97>·the"
    assert readable(b"a\xe7") == "a<e7>"


def test_token_displays_never_show_byte_level_mojibake(toks):
    for kind, tok in toks.items():
        for token_id in range(tok.vocab_size):
            display = tok.token_display(token_id)
            assert not MOJIBAKE & set(display), (kind, token_id, display)
            try:
                tok.token_bytes(token_id).decode("utf-8")
            except UnicodeDecodeError:
                assert BYTE_GROUP.search(display), display  # a partial character shown as bytes
            else:
                assert not BYTE_GROUP.search(display), display


def test_encode_displays_visible_whitespace(toks):
    displays = [tv.display for tv in toks["char"].encode("a b\n\tc").tokens]
    assert displays == ["a", "·", "b", "↵", "→", "c"]
    assert "·dog" in [tv.display for tv in toks["bpe"].encode("the dog").tokens]


def test_bpe_shows_a_split_chinese_character_as_its_bytes(toks):
    tok = toks["bpe"]
    # "🐶" never occurs in training, so byte-level BPE spells it with single bytes.
    assert [tv.display for tv in tok.encode("🐶").tokens] == ["<f0>", "<9f>", "<90>", "<b6>"]
    partial = [i for i in range(tok.vocab_size) if tok.token_display(i).startswith("<e")]
    assert partial, "training on Chinese should learn tokens that hold part of a character"


# ----- word tokenizer -----


def test_word_tokenizer_maps_unknown_words_to_unk_but_keeps_their_input_span(toks):
    tok = toks["word"]
    text = "The dog ate a zebra!"
    enc = tok.encode(text)
    unk = tok.hf.token_to_id("[UNK]")
    assert [tv.display for tv in enc.tokens] == ["The", "dog", "[UNK]", "a", "[UNK]", "[UNK]"]
    zebra = enc.tokens[4]
    assert (zebra.id, zebra.text, zebra.bytes, zebra.start, zebra.end) == (unk, "zebra", b"zebra", 14, 19)
    for tv in enc.tokens:
        assert tv.display == tok.token_display(tv.id) and tv.text == text[tv.start : tv.end]


def test_word_decoding_writes_unk_and_joins_tokens_with_single_spaces(toks):
    tok = toks["word"]
    assert tok.decode(tok.encode("The dog ate a zebra!").ids) == "The dog [UNK] a [UNK] [UNK]"
    assert tok.decode(tok.encode("the  dog\n\tran.").ids) == "the dog ran ."
    assert tok.decode(tok.encode("小狗喜欢大树。").ids) == "小 狗 喜 欢 大 树 。"


def test_word_splits_han_characters_and_each_punctuation_mark(toks):
    enc = toks["word"].encode("小狗...dog狗")
    assert [tv.text for tv in enc.tokens] == ["小", "狗", ".", ".", ".", "dog", "狗"]


def test_word_vocab_size_keeps_the_most_frequent_words():
    tok = Tokenizer.train("word", TRAIN_TEXT, vocab_size=10)
    assert tok.vocab_size == 10
    assert tok.encode("the dog").tokens[0].display == "the"


# ----- files -----


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_preserve_kind_and_encodings(toks, kind, tmp_path):
    tok = toks[kind]
    text = SAMPLES["mixed_scripts"]
    again = Tokenizer.from_str(tok.to_str())
    tok.save(tmp_path / "tokenizer.json")
    for loaded in (again, Tokenizer.from_file(tmp_path / "tokenizer.json"), Tokenizer.from_file(tmp_path)):
        assert loaded.kind == kind
        assert loaded.vocab_size == tok.vocab_size
        assert loaded.encode(text) == tok.encode(text)


def write_gpt2_style_tokenizer(path) -> None:
    """A tokenizer.json shaped like GPT-2's on the Hub: byte-level BPE, <|endoftext|>,
    legacy "a b" merge strings and a truncation setting."""
    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[AddedToken("<|endoftext|>", special=True)],
        show_progress=False,
    )
    hf.train_from_iterator([TRAIN_TEXT], trainer)
    spec = json.loads(hf.to_str())
    spec["model"]["merges"] = [" ".join(pair) for pair in spec["model"]["merges"]]
    spec["truncation"] = {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0}
    path.write_text(json.dumps(spec), encoding="utf-8")


def test_gpt2_style_hub_tokenizer_loads_as_bpe(tmp_path):
    write_gpt2_style_tokenizer(tmp_path / "tokenizer.json")
    tok = Tokenizer.from_file(tmp_path / "tokenizer.json")
    assert tok.kind == "bpe"
    text = "The dog<|endoftext|>从前 🐶"
    enc = tok.encode(text)
    assert len(enc) > 4  # the file's truncation is switched off
    assert tok.decode(enc.ids) == text
    check_views(tok, text, enc)
    [eot] = [tv for tv in enc.tokens if tv.id == tok.hf.token_to_id("<|endoftext|>")]
    assert (eot.text, eot.display, eot.start) == ("<|endoftext|>", "<|endoftext|>", 7)
    assert tok.merges(1) == [tok.merges()[0]] and not MOJIBAKE & set("".join(tok.merges(5)[0]))


# ----- merges -----


def test_bpe_merges_come_in_learning_order():
    tok = Tokenizer.train("bpe", "ab " * 100 + "cd " * 10, vocab_size=300)
    assert tok.merges(2) == [("a", "b"), ("·", "ab")]
    assert tok.merges()[:2] == tok.merges(2) and tok.merges(0) == []
    for i, (left, right) in enumerate(tok.merges()):
        assert tok.token_display(256 + i) == left + right  # merge i made token 256 + i


def test_char_and_word_have_no_merges(toks):
    assert toks["char"].merges() == [] and toks["word"].merges(3) == []


# ----- errors -----


@pytest.mark.parametrize(
    ("kind", "text", "vocab_size", "message"),
    [
        ("chars", TRAIN_TEXT, 300, r"unknown tokenizer kind 'chars'; choose one of: char, word, bpe"),
        (None, TRAIN_TEXT, 300, r"unknown tokenizer kind ∅; choose one of: char, word, bpe"),
        ("word", TRAIN_TEXT, 1, r"from 2 to 50,304 \(got 1\)"),
        ("bpe", TRAIN_TEXT, 256, r"\(256 byte tokens \+ at least one merge\) must be .* 257 to 50,304 \(got 256\)"),
        ("char", TRAIN_TEXT, 50305, r"from 2 to 50,304 \(got 50,305\)"),
        ("word", TRAIN_TEXT, 3.5, r"whole number from 2 to 50,304 \(got 3.5\)"),
        ("word", TRAIN_TEXT, True, r"whole number .* \(got True\)"),
        ("char", "", 300, r"training text is empty"),
        ("bpe", " \n\t", 300, r"training text is empty"),
    ],
)
def test_train_rejects_bad_arguments_clearly(kind, text, vocab_size, message):
    with pytest.raises(TokenizerError, match=message):
        Tokenizer.train(kind, text, vocab_size)


def test_from_file_rejects_unreadable_and_corrupt_files(tmp_path):
    with pytest.raises(TokenizerError, match=r"cannot read tokenizer file .*missing\.json"):
        Tokenizer.from_file(tmp_path / "missing.json")
    (tmp_path / "corrupt.json").write_text('{"model": {"type": "BPE"', encoding="utf-8")
    with pytest.raises(TokenizerError, match=r"not valid JSON: .*line 1"):
        Tokenizer.from_file(tmp_path / "corrupt.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TokenizerError, match="cannot read tokenizer file"):
        Tokenizer.from_file(tmp_path / "binary.json")


@pytest.mark.parametrize("json_str", ["[1, 2]", '{"vocab": {"a": 0}}', '"model"', '{"model": 3}'])
def test_from_str_rejects_json_that_is_not_a_tokenizer(json_str):
    with pytest.raises(TokenizerError, match="not a tokenizer.json: expected a JSON object with a 'model'"):
        Tokenizer.from_str(json_str)


def test_from_str_rejects_a_malformed_model():
    with pytest.raises(TokenizerError, match="invalid tokenizer.json"):
        Tokenizer.from_str(json.dumps({"model": {"type": "NoSuchModel"}}))


def test_from_str_rejects_unsupported_tokenizer_kinds(toks):
    wordpiece = tokenizers.Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    with pytest.raises(TokenizerError, match=r"unsupported .*\(model WordPiece.*supported are char"):
        Tokenizer.from_str(wordpiece.to_str())
    spec = json.loads(toks["char"].to_str())
    spec["model"]["merges"] = [["a", "b"]]
    spec["model"]["vocab"]["ab"] = len(spec["model"]["vocab"])
    with pytest.raises(TokenizerError, match="SentencePiece style"):
        Tokenizer.from_str(json.dumps(spec))
    spec = json.loads(toks["char"].to_str())
    del spec["model"]["vocab"]["<0x41>"]
    with pytest.raises(TokenizerError, match="lacks 1 of the 256 byte tokens"):
        Tokenizer.from_str(json.dumps(spec))


def test_bad_token_ids_are_rejected_with_the_valid_range(toks):
    tok = toks["bpe"]
    last = tok.vocab_size - 1
    for bad in ([0, tok.vocab_size], [-1]):
        with pytest.raises(TokenizerError, match=f"token id must be a whole number from 0 to {last:,}"):
            tok.decode(bad)
    for bad in ([[1, 2]], [1.5]):
        with pytest.raises(TokenizerError, match="flat sequence of integer token ids"):
            tok.decode(bad)
    with pytest.raises(TokenizerError, match=rf"from 0 to {last:,} \(got {last + 1:,}\)"):
        tok.token_display(tok.vocab_size)
    with pytest.raises(TokenizerError, match=r"n must be a whole number of at least 0 \(got -1\)"):
        tok.merges(-1)


def test_views_and_encodings_are_immutable_values(toks):
    enc = toks["char"].encode("ab")
    assert isinstance(enc.tokens[0], TokenView) and enc == toks["char"].encode("ab")
    with pytest.raises(AttributeError):
        enc.tokens[0].id = 5


def test_compact_char_tokenizer_has_no_byte_tokens_and_marks_unseen_characters_unknown(tmp_path):
    """vocab_size below alphabet + 256 drops the byte tokens (for algorithmic tasks)."""
    tok = Tokenizer.train("char", "abcabc=\n", vocab_size=16)
    assert tok.vocab_size == 6  # a b c = \n [UNK]
    enc = tok.encode("ab狗c")
    assert [t.display for t in enc.tokens] == ["a", "b", "[UNK]", "c"]
    assert enc.tokens[2].text == "狗" and tok.decode(enc.ids) == "ab[UNK]c"
    path = tmp_path / "tokenizer.json"
    tok.save(path)
    assert Tokenizer.from_file(path).kind == "char"


def test_compact_char_tokenizer_needs_room_for_the_alphabet():
    with pytest.raises(TokenizerError, match="vocab_size >= 4"):
        Tokenizer.train("char", "abc", vocab_size=3)
