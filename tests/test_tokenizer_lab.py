"""Tokenizer lab: reference tokenizers, counts, the learner's BPE and its merge table."""

import pytest

from playground import tokenizer_lab as lab
from playground.tokenizer import BPE_MIN_VOCAB, KINDS, TokenizerError

TEXT = "The dog saw the cat. 狗看见了猫。"


def test_reference_tokenizers_are_one_of_each_kind_and_cached():
    refs = lab.reference_tokenizers()
    assert list(refs) == list(KINDS)
    assert [tok.kind for tok in refs.values()] == list(KINDS)
    assert refs["bpe"].vocab_size == lab.REFERENCE_VOCAB["bpe"]
    assert refs["word"].vocab_size <= lab.REFERENCE_VOCAB["word"]
    assert lab.reference_tokenizers() is refs


def test_stats_count_characters_bytes_and_tokens():
    enc = lab.reference_tokenizers()["char"].encode(TEXT)
    s = lab.stats(TEXT, enc)
    assert (s.n_chars, s.n_bytes, s.n_tokens) == (len(TEXT), len(TEXT.encode()), len(enc.ids))
    assert s.chars_per_token == pytest.approx(len(TEXT) / len(enc.ids))
    assert lab.TextStats(0, 0, 0).chars_per_token == 0.0


def test_bpe_needs_fewer_tokens_than_characters_on_story_text():
    refs = lab.reference_tokenizers()
    text = "There was a big bird named Anna. Anna liked to run."
    assert len(refs["bpe"].encode(text).ids) < len(refs["char"].encode(text).ids)


def test_train_bpe_respects_the_vocab_size_and_is_cached():
    tok = lab.train_bpe("stories", 300)
    assert tok.kind == "bpe" and tok.vocab_size == 300
    assert lab.n_merges(tok) == 300 - 256
    assert lab.train_bpe("stories", 300.0) is tok  # a slider's float is the same request


def test_merge_table_follows_tokenizer_merges_in_order():
    tok = lab.train_bpe("stories", 400)
    table = lab.merge_table(tok, 25)
    assert [(m.left, m.right) for m in table] == tok.merges(25)
    assert [m.rank for m in table] == list(range(1, 26))
    whole = [m for m in table if "<" not in m.left + m.right]  # no byte pieces: plain concatenation
    assert whole and all(m.merged == m.left + m.right for m in whole)


def test_merged_column_is_the_vocabulary_token_made_by_the_merge():
    tok = lab.train_bpe("stories-zh", 400)
    table = lab.merge_table(tok)
    assert len(table) == lab.n_merges(tok)
    displays = {tok.token_display(i) for i in range(tok.vocab_size)}
    assert all(m.merged in displays for m in table)
    # Chinese text: byte pieces get merged back into whole characters early on.
    assert any(m.left.startswith("<") and len(m.merged) == 1 for m in table[:50])


def test_merge_table_of_a_char_tokenizer_is_empty():
    assert lab.merge_table(lab.reference_tokenizers()["char"]) == []


@pytest.mark.parametrize("size", [BPE_MIN_VOCAB - 1, lab.BPE_MAX_VOCAB + 1, 300.5, "512", True])
def test_bad_vocab_size_says_what_is_allowed(size):
    with pytest.raises(TokenizerError, match=f"from {BPE_MIN_VOCAB} to {lab.BPE_MAX_VOCAB:,}"):
        lab.train_bpe("stories", size)


def test_unknown_corpus_lists_the_choices():
    with pytest.raises(TokenizerError, match="choose one of: stories"):
        lab.train_bpe("wikipedia", 512)
