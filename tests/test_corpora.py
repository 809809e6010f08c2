"""Built-in corpora, parallel pairs, algorithmic tasks, user text and the train/val split."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from playground import story_grammar
from playground.corpora import (
    CORPUS_NAMES,
    MAX_USER_TEXT_BYTES,
    Corpus,
    CorpusError,
    load_corpus,
    read_text_file,
    split_train_val,
    stories,
    story_pairs,
    task_lines,
    user_corpus,
)

SMALL = 20_000
ARTICLE_WORDS_EN = ("dog", "cat", "fish", "bird", "tree")
ARTICLE_WORDS_ZH = ("狗", "猫", "鱼", "鸟", "树")
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- determinism and sizes ----------------------------------------------------------------
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_same_seed_gives_identical_corpus_and_another_seed_a_different_one(name):
    a, b = load_corpus(name, seed=3, size=SMALL), load_corpus(name, seed=3, size=SMALL)
    other = load_corpus(name, seed=4, size=SMALL)
    assert isinstance(a, Corpus) and a == b
    assert a.name == name and a.description and "\n" not in a.description
    assert other.train != a.train and other.val != a.val


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_train_has_about_the_requested_size_and_val_about_a_tenth(name):
    c = load_corpus(name, seed=0, size=SMALL)
    train_bytes, val_bytes = len(c.train.encode()), len(c.val.encode())
    assert SMALL <= train_bytes < SMALL + 2_000
    assert 0.05 * SMALL <= val_bytes <= 0.15 * SMALL


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_val_is_fresh_text_from_its_own_stream(name):
    c = load_corpus(name, seed=0, size=SMALL)
    sep = "\n\n" if name.startswith("stories") else "\n"
    train_units = set(c.train.split(sep))
    val_units = [u for u in c.val.split(sep) if u]
    assert c.val not in c.train
    assert val_units[:3] != c.train.split(sep)[:3]
    # Short digit strings recur by chance; stories and letter strings essentially never do.
    allowed = 0.3 if name in ("copy", "reverse", "sort") else 0.0
    assert sum(u in train_units for u in val_units) <= allowed * len(val_units)


def test_a_smaller_size_gives_a_prefix_of_a_larger_one():
    small, large = load_corpus("stories-en", 1, 5_000), load_corpus("stories-en", 1, 10_000)
    assert large.train.startswith(small.train.rstrip("\n"))


def test_unknown_corpus_name_lists_the_valid_names():
    with pytest.raises(CorpusError) as err:
        load_corpus("shakespeare")
    for name in CORPUS_NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize("bad", [{"size": 0}, {"size": -5}, {"size": 1.5}, {"seed": "x"}])
def test_bad_seed_or_size_is_refused(bad):
    with pytest.raises(CorpusError, match="must be a whole number"):
        load_corpus("copy", **bad)


# --- stories ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def english():
    return stories("en", 1_000_000, seed=0)


@pytest.fixture(scope="module")
def chinese():
    return stories("zh", 1_000_000, seed=0)


def test_english_stories_reach_one_megabyte_and_use_the_article_words(english):
    assert len(english.encode()) >= 1_000_000
    assert english.isascii() and not CJK.search(english)
    for word in ARTICLE_WORDS_EN:
        assert re.search(rf"\b{word}\b", english), word


def test_chinese_stories_reach_one_megabyte_and_contain_no_english(chinese):
    assert len(chinese.encode()) >= 1_000_000
    assert not re.search(r"[A-Za-z]", chinese)
    assert len(CJK.findall(chinese)) > 0.8 * len(chinese.replace("\n", ""))
    for word in ARTICLE_WORDS_ZH:
        assert word in chinese, word


def test_stories_are_separated_by_blank_lines_and_vary(english):
    parts = english.strip("\n").split("\n\n")
    assert len(parts) > 1000 and all(p and "\n" not in p for p in parts)
    assert len(set(parts)) > 0.99 * len(parts)


def test_both_languages_alternate_story_by_story_with_even_sizes():
    parts = stories("both", 60_000, seed=2).strip("\n").split("\n\n")
    zh = [p for p in parts if CJK.search(p)]
    en = [p for p in parts if not CJK.search(p)]
    assert all(p.isascii() for p in en) and not any(re.search(r"[A-Za-z]", p) for p in zh)
    zh_bytes, en_bytes = sum(len(p.encode()) for p in zh), sum(len(p.encode()) for p in en)
    assert abs(zh_bytes - en_bytes) < 2_000
    assert CJK.search(parts[1]) and not CJK.search(parts[0])  # English first, then alternating


def test_unknown_story_language_is_refused():
    with pytest.raises(CorpusError, match="choose one of: en, zh, both"):
        stories("fr", 1000, 0)


# A small parser that reads the rendered text only: it finds each sentence's subject (names,
# "the dog", or a pronoun) and checks every pronoun against the character it must refer to.
PRONOUNS = {"en": {"he", "she", "they"}, "zh": {"他", "她", "他们", "她们"}}
POSSESSIVES = {"en": r"\b(his|her|their)\b", "zh": r"(他们的|她们的|他的|她的)"}


def _expected_pronoun(chars, lang, possessive=False):
    if len(chars) > 1:
        if lang == "en":
            return "their" if possessive else "they"
        word = "她们" if all(c.gender == "f" for c in chars) else "他们"
    elif lang == "en":
        word = {"m": "he", "f": "she"}[chars[0].gender]
        return {"he": "his", "she": "her"}[word] if possessive else word
    else:
        word = "他" if chars[0].gender == "m" else "她"
    return word + "的" if possessive else word


def _subject(sentence, story, lang):
    """The list of characters / pronouns the sentence opens with (after an opener)."""
    for opener in story_grammar.OPENERS[lang]:
        if sentence.startswith(opener):
            sentence = sentence[len(opener) :]
    refs = {c.name(lang): c for c in story.characters}
    refs |= {("the " + c.species.en if lang == "en" else c.species.zh): c for c in story.characters}
    refs |= {p: p for p in PRONOUNS[lang]}
    refs = {key.lower(): ref for key, ref in refs.items()}  # "He" / "he", "The dog" / "the dog"
    keys = sorted(refs, key=len, reverse=True)
    end = r")\b" if lang == "en" else ")"  # Chinese has no spaces, so no word boundaries
    pattern = re.compile("(" + "|".join(map(re.escape, keys)) + end, re.IGNORECASE)
    rest, found = sentence, []
    while m := pattern.match(rest):
        found.append(refs[m.group(1).lower()])
        rest = rest[m.end() :]
        conj = " and " if lang == "en" else "和"
        if not rest.startswith(conj):
            break
        rest = rest[len(conj) :]
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pronouns_agree_with_the_gender_of_the_character_they_refer_to(lang):
    rng = random.Random(7)
    counts = dict.fromkeys(PRONOUNS[lang], 0)
    for _ in range(300):
        story = story_grammar.make_story(rng)
        current = None  # the characters the previous sentence was about
        for sentence in story.sentences(lang):
            found = _subject(sentence, story, lang)
            if any(isinstance(f, str) for f in found):
                assert len(found) == 1 and current, f"unresolvable pronoun: {sentence}"
                assert found[0] == _expected_pronoun(current, lang), sentence
                counts[found[0]] += 1
            else:
                current = tuple(found) or None
            for word in re.findall(POSSESSIVES[lang], sentence):
                assert current and word == _expected_pronoun(current, lang, True), sentence
    assert all(n > 20 for n in counts.values()), counts


def test_a_lost_toy_is_asked_for_and_found_with_the_colour_it_was_given():
    rng, checked = random.Random(11), 0
    for _ in range(300):
        story = story_grammar.make_story(rng)
        en, zh = story.render("en"), story.render("zh")
        owner, colour, toy = re.search(r"(\w+) had an? (\w+) (\w+)\.", en).groups()
        zh_colour = re.search(r"有一.(..)的", zh).group(1)
        if "found the" in en:
            assert f"Where is my {colour} {toy}?" in en
            assert re.search(rf"found the {colour} {toy}\b", en)
            assert re.search(f"找到了{zh_colour}的", zh)
            checked += 1
    assert checked > 30


def test_after_giving_one_away_the_count_goes_down_by_one():
    numbers = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    rng, checked = random.Random(12), 0
    for _ in range(300):
        en = story_grammar.make_story(rng).render("en")
        had = re.search(r"(\w+) had (one|two|three|four|five) (\w+)\.", en)
        if had:
            left = re.search(rf"Now, (\w+) had (\w+) {had.group(3)[:-1]}s?\.", en)
            assert numbers[left.group(2)] == numbers[had.group(2)] - 1, en
            checked += 1
    assert checked > 30


# --- parallel pairs -----------------------------------------------------------------------
def test_parallel_pairs_are_deterministic_and_each_english_sentence_has_one_translation():
    pairs = story_pairs(20_000, seed=5)
    assert pairs == story_pairs(20_000, seed=5) and pairs != story_pairs(20_000, seed=6)
    translation = {}
    for en, zh in pairs:
        assert translation.setdefault(en, zh) == zh, en
        assert en.isascii() and en[0].isupper() and en.endswith(".")
        assert len(en.split()) <= 12
        assert zh.endswith("。") and not re.search(r"[A-Za-z]", zh)
    assert len(translation) > 5_000  # varied, not a handful of sentences


def test_parallel_pairs_translate_names_and_animals_by_a_fixed_mapping():
    pairs = story_pairs(20_000, seed=1)
    animals = {sp.en: sp.zh for sp in story_grammar.PAIR_SPECIES}
    sees = [(en, zh) for en, zh in pairs if re.fullmatch(r"The (\w+) sees the (\w+)\.", en)]
    assert len(sees) > 20
    for en, zh in sees:  # the article's kind of sentence: "The dog sees the cat." -> 狗看见猫。
        x, y = re.fullmatch(r"The (\w+) sees the (\w+)\.", en).groups()
        assert zh == f"{animals[x]}看见{animals[y]}。"
    for en_name, zh_name, _ in story_grammar.NAMES:
        for en, zh in pairs:
            if en.startswith(en_name + " "):
                assert zh.startswith(zh_name), (en, zh)


# --- algorithmic tasks --------------------------------------------------------------------
ANSWERS = {
    "copy": ("=", lambda s: s),
    "reverse": ("=", lambda s: s[::-1]),
    "sort": ("=", lambda s: "".join(sorted(s))),
}


def test_induction_corpus_is_the_task_blocks_with_no_line_breaks():
    corpus = load_corpus("induction", seed=0, size=5_000)
    assert "\n" not in corpus.train and corpus.train.isalpha()


def test_induction_blocks_hold_one_random_string_twice_amid_rule_letters():
    import random

    from playground.corpora import INDUCTION_RULE, induction_block

    rng = random.Random(0)
    follows = total = 0
    for _ in range(500):
        block, s = induction_block(rng, 4, 16)
        assert block.isalpha() and block.islower() and 4 <= len(s) <= 16
        first = block.index(s)
        assert block.find(s, first + len(s)) > first  # the second copy comes later
        rule_part = block[:first]  # the letters before the first copy follow the rule
        follows += sum(
            INDUCTION_RULE[rule_part[i - 2], rule_part[i - 1]] == rule_part[i] for i in range(2, len(rule_part))
        )
        total += max(0, len(rule_part) - 2)
    assert 0.75 < follows / total < 0.9  # 80% rule + 1/26 of the random ones


@pytest.mark.parametrize("task", ANSWERS)
def test_every_task_line_is_correct(task):
    sep, answer = ANSWERS[task]
    text = task_lines(task, 2_000, seed=0)
    lines = text.split("\n")
    assert text.endswith("\n") and lines[-1] == "" and len(lines) == 2_001
    for line in lines[:-1]:
        question, result = line.split(sep, 1)
        assert result == answer(question)
        assert question.isdigit() if sep == "=" else question.isalpha() and question.islower()


@pytest.mark.parametrize("task", ANSWERS)
def test_task_lengths_are_configurable(task):
    sep = ANSWERS[task][0]
    lines = task_lines(task, 500, seed=1, min_len=4, max_len=6).splitlines()
    assert {len(line.split(sep)[0]) for line in lines} == {4, 5, 6}
    assert task_lines(task, 50, seed=1) == task_lines(task, 50, seed=1)


def test_default_lengths_suit_each_task():
    import random

    from playground.corpora import induction_block

    rng = random.Random(0)
    induction = {len(induction_block(rng, 4, 16)[1]) for _ in range(2_000)}
    digits = {len(x.split("=")[0]) for x in task_lines("reverse", 2_000, 0).splitlines()}
    assert min(induction) == 4 and max(induction) == 16
    assert min(digits) == 3 and max(digits) == 8


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_len": 0}, "min_len"),
        ({"min_len": 5, "max_len": 3}, "max_len"),
        ({"max_len": 10_000}, "max_len"),
        ({"length": 5}, "min_len and max_len"),
    ],
)
def test_bad_task_lengths_are_refused(kwargs, message):
    with pytest.raises(CorpusError, match=message):
        task_lines("copy", 10, 0, **kwargs)


def test_unknown_task_is_refused():
    with pytest.raises(CorpusError, match="copy, reverse, sort, induction"):
        task_lines("add", 10, 0)


# --- user text ----------------------------------------------------------------------------
TEXT = "The quick brown fox jumps over the lazy dog.\n" * 10


def test_user_text_becomes_a_corpus_split_on_a_line_boundary():
    c = user_corpus(TEXT, name="fox")
    assert c.name == "fox" and c.train + c.val == TEXT
    assert c.train.endswith("\n") and c.val and "fox" in c.description


def test_user_bytes_are_decoded_and_a_bom_is_dropped():
    c = user_corpus(("\ufeff" + TEXT).encode())
    assert c.train + c.val == TEXT


@pytest.mark.parametrize(
    "data, message",
    [
        ("", "empty"),
        (b"", "empty"),
        ("   \n\t \n", "empty"),
        ("too short", "at least 200 characters"),
        (TEXT + "\x00", "NUL"),
        (b"\x00\x01\x02" * 100, "binary"),
        (b"caf\xe9 " * 100, "not valid UTF-8"),
        ("\ud800" + TEXT, "not valid UTF-8"),
        (b"a" * (MAX_USER_TEXT_BYTES + 1), "5,000,000 bytes"),
        ("a" * (MAX_USER_TEXT_BYTES + 1), "too large"),
        (12345, r"str\) or bytes"),
    ],
)
def test_unusable_user_text_is_refused_with_a_clear_message(data, message):
    with pytest.raises(CorpusError, match=message):
        user_corpus(data)


def test_read_text_file_reads_utf8_with_a_bom(tmp_path: Path):
    path = tmp_path / "notes.TXT"
    path.write_bytes(b"\xef\xbb\xbf" + "你好, world\n".encode())
    assert read_text_file(path) == "你好, world\n"


def test_read_text_file_refuses_other_extensions(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_text(TEXT)
    with pytest.raises(CorpusError, match=r"\.txt"):
        read_text_file(path)


def test_read_text_file_checks_the_size_before_reading(tmp_path: Path, monkeypatch):
    path = tmp_path / "big.txt"
    with path.open("wb") as f:
        f.truncate(MAX_USER_TEXT_BYTES + 1)
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("read a too-large file"))
    with pytest.raises(CorpusError, match="too large"):
        read_text_file(path)


@pytest.mark.parametrize("content, message", [(b"\xff\xfeh\x00i\x00", "binary"), (b"ok \xc3\x28", "not valid UTF-8")])
def test_read_text_file_refuses_binary_and_invalid_utf8(tmp_path: Path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_text_file(path)


def test_read_text_file_reports_a_missing_file(tmp_path: Path):
    with pytest.raises(CorpusError, match="No such file"):
        read_text_file(tmp_path / "missing.txt")


# --- split --------------------------------------------------------------------------------
def test_split_prefers_a_story_boundary_near_the_cut():
    text = stories("en", 20_000, seed=0)
    train, val = split_train_val(text, 0.1)
    assert train + val == text and train.endswith("\n\n")
    assert 0.05 < len(val) / len(text) < 0.15


def test_split_falls_back_to_words_then_characters_and_never_cuts_a_character():
    words = "字" * 50 + " " + "字" * 50
    assert split_train_val(words, 0.5) == ("字" * 50 + " ", "字" * 50)
    train, val = split_train_val("字" * 100, 0.1)
    assert (train, val) == ("字" * 90, "字" * 10)


@pytest.mark.parametrize("fraction", [0, 0.9, -0.1, True])
def test_split_refuses_a_bad_fraction(fraction):
    with pytest.raises(CorpusError, match="val_fraction"):
        split_train_val(TEXT, fraction)
