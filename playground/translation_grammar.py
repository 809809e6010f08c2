"""The translator's broader sentence grammar: (English, Chinese) pairs built from noun phrases.

`story_grammar.make_pair` has eleven fixed frames, so a model trained on it only translates
those frames ("Lily likes the red ball." came out as 小白喜欢鸭子。). This grammar composes a
sentence from parts, the way ordinary sentences are made: noun phrases with a size and a colour
("a small red fox" → 一只红色的小狐狸), counts with their measure word ("two ducks" → 两只鸭子),
coordinated subjects and objects ("Lily and Ben like ..."), pronouns, "can" + verb, "is" +
adjective / colour / place, negation, two adjectives (又饿又累) and two clauses joined by "and"
(熊很大，兔子很小). A quarter of the pairs still come from `make_pair`, so the old frames stay
covered. `story_pairs` (the Model tab's EN/中文 pairs) is left unchanged.

The 22 hand-written sentences of `HAND_WRITTEN` are the translator's held-out test: the
generator never emits one of them (it draws again), so they never reach the training data.
"""

from __future__ import annotations

import random
from typing import NamedTuple

from .story_grammar import (
    ABILITIES,
    ADJECTIVES,
    COLOURS,
    FURS,
    LOCATIONS,
    NAMES,
    NEGATED,
    NUMBERS,
    PAIR_SPECIES,
    TOYS,
    VERBS,
    Place,
    Word,
    make_pair,
)

# Written by hand in the grammar's style (its names: Lily = 小白, Ben = 小刚, ...); held out.
HAND_WRITTEN = (
    ("Lily likes the red ball.", "小白喜欢红色的球。"),
    ("The frog is green.", "青蛙是绿色的。"),
    ("The small bird can sing.", "小鸟会唱歌。"),
    ("A small red fox chases two ducks.", "一只红色的小狐狸追两只鸭子。"),
    ("Lily and Ben like the big green kite.", "小白和小刚喜欢绿色的大风筝。"),
    ("The big dog sees the small cat.", "大狗看见小猫。"),
    ("Mia and Tom are happy.", "小花和明明很开心。"),
    ("Three ducks can swim.", "三只鸭子会游泳。"),
    ("Lucy gives the dog a book.", "兰兰给狗一本书。"),
    ("The fish is in the river.", "鱼在河里。"),
    ("Emma is a big white cat.", "小雪是一只白色的大猫。"),
    ("The pig is hungry and tired.", "猪又饿又累。"),
    ("Jack helps Anna and Rose.", "小军帮助丽丽和美美。"),
    ("Two cats are happy.", "两只猫很开心。"),
    ("She sees the rabbit.", "她看见兔子。"),
    ("He has a blue hat.", "他有一顶蓝色的帽子。"),
    ("The owl is not happy.", "猫头鹰不开心。"),
    ("Sam finds a yellow kite.", "小虎找到一只黄色的风筝。"),
    ("Leo and the horse are on the farm.", "小龙和马在农场里。"),
    ("The dog and the cat are tired.", "狗和猫很累。"),
    ("Rose can fly a kite.", "美美会放风筝。"),
    ("The bear is big and the rabbit is small.", "熊很大，兔子很小。"),
)
HELD_OUT = frozenset(en.lower() for en, _ in HAND_WRITTEN)
MAX_ZH_CHARS = 28  # with <s> and </s> a pair fits the translator's 32 target positions

SIZES = (Word("big", "大"), Word("small", "小"), Word("little", "小"))
ANIMAL_COLOURS = FURS + COLOURS
FEELINGS = ADJECTIVES[:4]  # happy, sad, hungry, tired: the ones that pair as 又A又B
MORE_ABILITIES = ABILITIES + (
    Word("dance", "跳舞"), Word("read books", "看书"), Word("climb trees", "爬树"),
    Word("eat fish", "吃鱼"), Word("fly a kite", "放风筝"),
)  # fmt: skip
WHERE = LOCATIONS + (Place("the river", "in the river", "河", "河里"),)
TOY_VERBS = VERBS[1:2] + VERBS[0:1] + VERBS[5:6]  # likes, sees, finds: verbs a toy can follow


class Phrase(NamedTuple):
    en: str
    zh: str
    plural: bool = False
    animal: bool = False  # an animal can be "green"; a name or a pronoun is not given a colour
    count: bool = False  # "three bears": in a place it is said 花园里有三只熊, as make_pair says it


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _modifiers(rng: random.Random, colours: tuple[Word, ...]) -> tuple[str, str, str]:
    """Optional size and colour: English "big red", Chinese prefix "红色的" and "大" before the noun."""
    size = rng.choice(SIZES) if rng.random() < 0.4 else None
    colour = rng.choice(colours) if rng.random() < 0.4 else None
    en = " ".join(w.en for w in (size, colour) if w)
    return en, (colour.zh + "的" if colour else ""), (size.zh if size else "")


def _animal(rng: random.Random, kind: str) -> Phrase:
    """The fox: "the small red fox" → 红色的小狐狸; "a ..." → 一只...; "two ..." → 两只..."""
    sp = rng.choice(PAIR_SPECIES)
    mods, colour_zh, size_zh = _modifiers(rng, ANIMAL_COLOURS)
    core_zh = colour_zh + size_zh + sp.zh
    if kind == "count":
        en_n, zh_n = NUMBERS[rng.randint(2, 5)]
        return Phrase(" ".join(filter(None, (en_n, mods, sp.en_pl))), zh_n + sp.cl + core_zh, True, True, True)
    head = " ".join(filter(None, (mods, sp.en)))
    if kind == "a":
        return Phrase(f"{_article(head)} {head}", "一" + sp.cl + core_zh, False, True)
    return Phrase(f"the {head}", core_zh, False, True)


def _toy(rng: random.Random, definite: bool) -> Phrase:
    toy = rng.choice(TOYS)
    mods, colour_zh, size_zh = _modifiers(rng, COLOURS)
    head = " ".join(filter(None, (mods, toy.en)))
    zh = colour_zh + size_zh + toy.zh
    return Phrase(f"the {head}", zh) if definite else Phrase(f"{_article(head)} {head}", "一" + toy.cl + zh)


def _name(rng: random.Random) -> Phrase:
    en, zh, _ = rng.choice(NAMES)
    return Phrase(en, zh)


def _single(rng: random.Random) -> Phrase:
    """One name or one definite animal: the parts a coordination is made of."""
    return _name(rng) if rng.random() < 0.5 else _animal(rng, "the")


def _both(rng: random.Random) -> Phrase:
    x, y = _single(rng), _single(rng)
    while y.en == x.en:
        y = _single(rng)
    return Phrase(f"{x.en} and {y.en}", f"{x.zh}和{y.zh}", True, x.animal and y.animal)


def _subject(rng: random.Random) -> Phrase:
    r = rng.random()
    if r < 0.3:
        return _name(rng)
    if r < 0.55:
        return _animal(rng, "the")
    if r < 0.63:
        return _animal(rng, "a")
    if r < 0.73:
        return _animal(rng, "count")
    if r < 0.88:
        return _both(rng)
    en, zh, plural = rng.choice((("he", "他", False), ("she", "她", False), ("they", "他们", True)))
    return Phrase(en, zh, plural)


def _object(rng: random.Random) -> Phrase:
    r = rng.random()
    if r < 0.3:
        return _name(rng)
    if r < 0.6:
        return _animal(rng, "the")
    if r < 0.7:
        return _animal(rng, "a")
    if r < 0.82:
        return _animal(rng, "count")
    return _both(rng)


def _verb(word: Word, plural: bool) -> str:
    """The verb for a plural subject: "sees" → "see", "does not like" → "do not like"."""
    if not plural:
        return word.en
    first, _, rest = word.en.partition(" ")
    plain = first[:-1] if first.endswith("s") else first
    first = {"does": "do", "has": "have", "is": "are", "goes": "go"}.get(first, plain)
    return " ".join(filter(None, (first, rest)))


def _be(s: Phrase) -> str:
    return "are" if s.plural else "is"


def _located(s: Phrase, loc: Place) -> tuple[str, str]:
    if s.count:
        return f"{_be(s)} {loc.en_in}", f"{loc.zh_in}有{s.zh}"  # the place comes first
    return f"{_be(s)} {loc.en_in}", s.zh + f"在{loc.zh_in}"


def _predicate(rng: random.Random, s: Phrase, short: bool = False) -> tuple[str, str]:
    """The English predicate of `s` and the whole Chinese clause; `short` keeps to the short
    predicates (adjective, can, not, colour or place) that two clauses are made of."""
    kind = rng.randrange(4) if short else rng.randrange(12)
    if kind == 0:
        adj = rng.choice(ADJECTIVES)
        return f"{_be(s)} {adj.en}", s.zh + f"很{adj.zh}"
    if kind == 1:
        can = rng.choice(MORE_ABILITIES)
        return f"can {can.en}", s.zh + f"会{can.zh}"
    if kind == 2:
        adj = rng.choice(ADJECTIVES)
        return f"{_be(s)} not {adj.en}", s.zh + f"不{adj.zh}"
    if kind == 3:
        if s.animal:
            colour = rng.choice(ANIMAL_COLOURS)
            return f"{_be(s)} {colour.en}", s.zh + f"是{colour.zh}的"
        return _located(s, rng.choice(WHERE))
    if kind == 4:
        a, b = rng.sample(FEELINGS, 2)
        return f"{_be(s)} {a.en} and {b.en}", s.zh + f"又{a.zh}又{b.zh}"
    if kind == 5:
        v = rng.choice(VERBS)
        o = _object(rng)
        return f"{_verb(v, s.plural)} {o.en}", s.zh + f"{v.zh}{o.zh}"
    if kind == 6:
        v = rng.choice(TOY_VERBS)
        o = _toy(rng, definite=rng.random() < 0.5)
        return f"{_verb(v, s.plural)} {o.en}", s.zh + f"{v.zh}{o.zh}"
    if kind == 7:
        v = rng.choice(NEGATED)
        o = _object(rng)
        return f"{_verb(v, s.plural)} {o.en}", s.zh + f"{v.zh}{o.zh}"
    if kind == 8:
        o = _toy(rng, definite=False)
        return f"{_verb(Word('has', ''), s.plural)} {o.en}", s.zh + f"有{o.zh}"
    if kind == 9:
        y, o = _single(rng), _toy(rng, definite=False)
        return f"{_verb(Word('gives', ''), s.plural)} {y.en} {o.en}", s.zh + f"给{y.zh}{o.zh}"
    if kind == 10 and not s.plural:
        a = _animal(rng, "a")
        return f"is {a.en}", s.zh + f"是{a.zh}"
    return _located(s, rng.choice(WHERE))


def _clause(rng: random.Random, short: bool = False) -> tuple[str, str]:
    s = _subject(rng)
    en, zh = _predicate(rng, s, short)
    return f"{s.en} {en}", zh


def _frame(rng: random.Random) -> tuple[str, str]:
    r = rng.random()
    if r < 0.25:
        en, zh = make_pair(rng)
        return en[:-1], zh[:-1]
    if r < 0.35:
        (en1, zh1), (en2, zh2) = _clause(rng, short=True), _clause(rng, short=True)
        return f"{en1} and {en2}", f"{zh1}，{zh2}"
    return _clause(rng)


def make_translation_pair(rng: random.Random) -> tuple[str, str]:
    """One (English, Chinese) pair; the English decides the Chinese exactly; never a held-out sentence."""
    while True:
        en, zh = _frame(rng)
        en = en[0].upper() + en[1:] + "."
        if en.lower() not in HELD_OUT and len(zh) < MAX_ZH_CHARS:
            return en, zh + "。"
