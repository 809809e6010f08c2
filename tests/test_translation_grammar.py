"""The translator's broader grammar: one translation per sentence, the new patterns present, and
the hand-written test sentences never among its pairs."""

import random
import re

from playground import corpora, story_grammar, translation_grammar
from playground.translation_grammar import HAND_WRITTEN, make_translation_pair


def _pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [make_translation_pair(rng) for _ in range(n)]


def test_pairs_are_deterministic_and_each_english_sentence_has_one_translation():
    pairs = corpora.translation_pairs(30_000, seed=3)
    assert pairs == corpora.translation_pairs(30_000, seed=3) != corpora.translation_pairs(30_000, seed=4)
    translation = {}
    for en, zh in pairs:
        assert translation.setdefault(en, zh) == zh, (en, zh, translation[en])
        assert en.isascii() and en[0].isupper() and en.endswith(".")
        assert zh.endswith("。") and not re.search(r"[A-Za-z]", zh)
        assert len(zh) + 2 <= 32  # <s> + characters + </s> fit the translator's target positions
    assert len(translation) > 15_000


def test_the_hand_written_sentences_are_never_generated():
    held_out = {en for en, _ in HAND_WRITTEN}
    for seed in (0, 1, 2):  # the training seed (0), the card's held-out seed (1), one more
        assert not held_out & {en for en, _ in corpora.translation_pairs(100_000, seed)}


def test_without_the_exclusion_the_grammar_would_make_them_and_agrees_with_their_references(monkeypatch):
    """The exclusion is what keeps them out (the grammar covers their patterns), and wherever the
    grammar makes one, its Chinese is the hand-written reference: the references follow its rules."""
    monkeypatch.setattr(translation_grammar, "HELD_OUT", frozenset())
    made = dict(_pairs(200_000, seed=0))
    reference = dict(HAND_WRITTEN)
    hits = {en: made[en] for en in reference if en in made}
    assert len(hits) >= 8, sorted(hits)
    assert all(zh == reference[en] for en, zh in hits.items()), hits


def test_the_grammar_composes_the_patterns_of_ordinary_sentences():
    pairs = dict(_pairs(50_000, seed=7))
    colours = "|".join(w.en for w in translation_grammar.ANIMAL_COLOURS)
    patterns = {
        "size + colour": rf"\b(big|small|little) ({colours}) \w+",
        "a count": r"^(Two|Three|Four|Five) ",
        "two subjects": r"^\w+( \w+)? and (the )?\w+ (like|are|can|see|have|chase)\b",
        "can + verb": r" can (fly a kite|sing|swim|read books)\.$",
        "colour predicate": rf" is ({colours})\.$",
        "two adjectives": r" is (happy|sad|hungry|tired) and (happy|sad|hungry|tired)\.$",
        "not + adjective": r" is not \w+\.$",
        "two clauses": r" is \w+ and (the )?\w+ is \w+\.$",
    }
    for name, pattern in patterns.items():
        assert sum(bool(re.search(pattern, en)) for en in pairs) > 20, name
    assert pairs.get("Lily likes the red kite.", "小白喜欢红色的风筝。") == "小白喜欢红色的风筝。"
    assert any(zh.startswith("一只红色的小") for zh in pairs.values())  # a small red X -> 一只红色的小X


def test_the_model_tabs_story_pairs_are_unchanged():
    """`story_pairs` (the Model tab's EN/中文 pairs) still comes from `story_grammar.make_pair` alone."""
    rng = random.Random(11)
    assert corpora.story_pairs(50, seed=11) == [story_grammar.make_pair(rng) for _ in range(50)]
