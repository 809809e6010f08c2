"""A seeded grammar of short animal stories, rendered in English or Chinese.

A story is built first as data (characters, and lines that know their grammatical subject)
and only then rendered. Both languages therefore tell the same kind of story, and tests can
check what a small model has to learn by looking back in the text: which gender a pronoun
must have, which colour a lost toy had, how many apples are left, who "they" are.

The same vocabulary also makes aligned sentence pairs for a translation model (`make_pair`):
every English sentence has exactly one Chinese rendering.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple


def _with_article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


class Word(NamedTuple):
    en: str
    zh: str
    cl: str = ""  # Chinese measure word that goes with this noun (只, 条, 个, ...)
    en_pl: str = ""  # English plural

    @property
    def a_en(self) -> str:
        return _with_article(self.en)


class Species(NamedTuple):
    en: str
    zh: str
    cl: str
    en_pl: str
    sound_en: str = ""
    sound_zh: str = ""

    @property
    def a_en(self) -> str:
        return _with_article(self.en)


class Place(NamedTuple):
    en: str  # destination: "went to the park"
    en_in: str  # location: "played in the park"
    zh: str  # 去了公园
    zh_in: str  # 在公园里玩


@dataclass(frozen=True)
class Character:
    name_en: str
    name_zh: str
    gender: str  # "m" or "f": decides he/she, his/her, 他/她
    species: Species

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


# --- vocabulary ---------------------------------------------------------------------------
# Names map one-to-one between languages, so translation of a name is a fixed lookup.
NAMES = (
    ("Max", "小黑", "m"), ("Tom", "明明", "m"), ("Sam", "小虎", "m"),
    ("Ben", "小刚", "m"), ("Leo", "小龙", "m"), ("Jack", "小军", "m"),
    ("Lily", "小白", "f"), ("Mia", "小花", "f"), ("Anna", "丽丽", "f"),
    ("Lucy", "兰兰", "f"), ("Emma", "小雪", "f"), ("Rose", "美美", "f"),
)  # fmt: skip
DOG = Species("dog", "狗", "只", "dogs", "Woof", "汪汪")
CAT = Species("cat", "猫", "只", "cats", "Meow", "喵喵")
BIRD = Species("bird", "鸟", "只", "birds", "Tweet", "叽叽喳喳")
OWL = Species("owl", "猫头鹰", "只", "owls", "Hoot", "咕咕")
FISH = Species("fish", "鱼", "条", "fish")
SQUIRREL = Species("squirrel", "松鼠", "只", "squirrels")
CHARACTER_SPECIES = (
    DOG, CAT, BIRD, OWL,
    Species("rabbit", "兔子", "只", "rabbits"),
    Species("fox", "狐狸", "只", "foxes"),
    Species("duck", "鸭子", "只", "ducks", "Quack", "嘎嘎"),
    Species("horse", "马", "匹", "horses", "Neigh", "咴咴"),
    Species("pig", "猪", "头", "pigs", "Oink", "哼哼"),
    Species("frog", "青蛙", "只", "frogs", "Ribbit", "呱呱"),
    Species("bear", "熊", "只", "bears"),
)  # fmt: skip
TREE_ANIMALS = (BIRD, OWL, SQUIRREL)  # the one in the tree is never a main character
SIZES = (Word("little", "小"), Word("big", "大"))
FURS = (Word("brown", "棕色"), Word("black", "黑色"), Word("white", "白色"), Word("grey", "灰色"))
COLOURS = (
    Word("red", "红色"), Word("blue", "蓝色"), Word("yellow", "黄色"), Word("green", "绿色"),
    Word("pink", "粉色"), Word("purple", "紫色"), Word("orange", "橙色"),
)  # fmt: skip
TOYS = (
    Word("ball", "球", "个"), Word("kite", "风筝", "只"), Word("hat", "帽子", "顶"),
    Word("book", "书", "本"), Word("balloon", "气球", "个"), Word("scarf", "围巾", "条"),
)  # fmt: skip
FOODS = (
    Word("apple", "苹果", "个", "apples"), Word("carrot", "胡萝卜", "根", "carrots"),
    Word("cake", "蛋糕", "块", "cakes"), Word("cookie", "饼干", "块", "cookies"),
    Word("banana", "香蕉", "根", "bananas"),
)  # fmt: skip
NUMBERS = {1: ("one", "一"), 2: ("two", "两"), 3: ("three", "三"), 4: ("four", "四"), 5: ("five", "五")}
PLACES = (
    Place("the park", "in the park", "公园", "公园里"),
    Place("the garden", "in the garden", "花园", "花园里"),
    Place("the forest", "in the forest", "森林", "森林里"),
    Place("the farm", "on the farm", "农场", "农场里"),
    Place("the beach", "on the beach", "海边", "海边"),
    Place("the river", "by the river", "河边", "河边"),
    Place("the hill", "on the hill", "山上", "山上"),
)
SPOTS = (
    Word("under the big tree", "大树下"), Word("in the grass", "草地里"),
    Word("behind a rock", "石头后面"), Word("under the bench", "长椅下面"),
    Word("next to the flowers", "花旁边"),
)  # fmt: skip
HOMES = (
    Word("on a farm", "农场里"), Word("in a small house", "一座小房子里"),
    Word("near the forest", "森林旁边"), Word("by the river", "河边"),
    Word("under a big tree", "一棵大树下"),
)  # fmt: skip
HOBBIES = (
    Word("run", "跑步"), Word("sing", "唱歌"), Word("swim", "游泳"), Word("read books", "看书"),
    Word("dance", "跳舞"), Word("eat fish", "吃鱼"), Word("climb trees", "爬树"),
    Word("look at the birds", "看小鸟"),
)  # fmt: skip
GAMES = (
    Word("played hide and seek", "玩捉迷藏"), Word("played with a ball", "玩球"),
    Word("ran and jumped", "又跑又跳"), Word("sang songs", "唱歌"),
    Word("looked at the clouds", "看云"),
)  # fmt: skip
# Sentence openers, so a parser can find the subject that follows them.
OPENERS = {
    "en": ("One day, ", "Then, ", "At last, ", "At night, ", "Now, ", "Soon, "),
    "zh": ("有一天，", "然后，", "最后，", "晚上，", "现在，", "很快，"),
}

# --- sentence templates -------------------------------------------------------------------
# {S} is the line's subject (names, "the dog", or a pronoun) and {P} its possessive;
# {A}, {B} are other characters, always by name (in dialogue: A speaks, B is spoken to).
TEMPLATES = {
    "intro_is": ("{S} was a {size.en} {fur.en} {sp.en}.", "{S}是一{sp.cl}{fur.zh}的{size.zh}{sp.zh}。"),
    "intro_named": ("There was a {size.en} {sp.en} named {A}.", "从前有一{sp.cl}{size.zh}{sp.zh}，名叫{A}。"),
    "intro_also": ("There was also {sp.a_en} named {A}.", "还有一{sp.cl}{sp.zh}，名叫{A}。"),
    "lives": ("{S} lived {home.en}.", "{S}住在{home.zh}。"),
    "likes": ("{S} liked to {hobby.en}.", "{S}喜欢{hobby.zh}。"),
    "has_toy": ("{S} had {colour.a_en} {toy.en}.", "{S}有一{toy.cl}{colour.zh}的{toy.zh}。"),
    "loves_toy": ("{S} loved {P} {colour.en} {toy.en}.", "{S}很喜欢{P}{colour.zh}的{toy.zh}。"),
    "friends": ("{S} were good friends.", "{S}是好朋友。"),
    "play_together": ("{S} liked to play {place.en_in}.", "{S}喜欢在{place.zh_in}玩。"),
    "go_with": ("One day, {S} went to {place.en}.", "有一天，{S}去了{place.zh}。"),
    "play_toy": ("{S} played with {P} {colour.en} {toy.en}.", "{S}玩{P}{colour.zh}的{toy.zh}。"),
    "lost": ("Then, {S} could not find {P} {toy.en}.", "然后，{S}找不到{P}{toy.zh}了。"),
    "sad": ("{S} was very sad.", "{S}非常难过。"),
    "ask_where": (
        '"Where is my {colour.en} {toy.en}?" asked {A}.',
        "{A}问：“我的{colour.zh}的{toy.zh}在哪里？”",
    ),
    "offer_help": ('"Do not worry, {B}. I will help you!" said {A}.', "{A}说：“{B}，别担心，我来帮你！”"),
    "look": ("{S} looked {spot.en} and {spot2.en}.", "{S}在{spot.zh}和{spot2.zh}找了找。"),
    "found": (
        "At last, {S} found the {colour.en} {toy.en} {spot.en}.",
        "最后，{S}在{spot.zh}找到了{colour.zh}的{toy.zh}。",
    ),
    "thank": ('"Thank you, {B}!" said {A}.', "{A}说：“谢谢你，{B}！”"),
    "happy_again": ("{S} was happy again.", "{S}又开心了。"),
    "hug": ("{S} gave {B} a big hug.", "{S}给了{B}一个大大的拥抱。"),
    "has_food": ("{S} had {items.en}.", "{S}有{items.zh}。"),
    "hungry": ('"I am hungry," said {A}.', "{A}说：“我饿了。”"),
    "give_one": ("{S} gave {items.en} to {B}.", "{S}给了{B}{items.zh}。"),
    "now_has": ("Now, {S} had {items.en}.", "现在，{S}有{items.zh}。"),
    "eat_together": ("{S} ate the {food.en_pl} together.", "{S}一起吃了{food.zh}。"),
    "walk": ("One day, {S} went for a walk {place.en_in}.", "有一天，{S}在{place.zh_in}散步。"),
    "see_animal": ("{S} saw {sp.a_en} {spot.en}.", "{S}看见{spot.zh}有一{sp.cl}{sp.zh}。"),
    "ask_name": ('"Hello! What is your name?" asked {A}.', "{A}问：“你好！你叫什么名字？”"),
    "tell_name": ('"My name is {A}," said the {sp.en}.', "{sp.zh}说：“我叫{A}。”"),
    "greet": ('"Nice to meet you, {B}!" said {A}.', "{A}说：“很高兴认识你，{B}！”"),
    "sound": ('"{sp.sound_en}!" said {A}.', "{A}说：“{sp.sound_zh}！”"),
    "play_game": ("{S} {game.en} {place.en_in}.", "{S}在{place.zh_in}{game.zh}。"),
    "new_friends": ("{S} became good friends.", "{S}成了好朋友。"),
    "rain": ("Then, it started to rain.", "然后，天下雨了。"),
    "run_tree": ("{S} ran to the big tree.", "{S}跑到了大树下。"),
    "animal_in_tree": ("A little {sp.en} was in the tree.", "树上有一{sp.cl}小{sp.zh}。"),
    "hello_little": ('"Hello, little {sp.en}!" said {A}.', "{A}说：“你好，小{sp.zh}！”"),
    "animal_sings": ("The {sp.en} sang a song for {them.en}.", "小{sp.zh}给{them.zh}唱了一首歌。"),
    "rain_stops": ("Soon, the rain stopped.", "很快，雨停了。"),
    "go_home": ("{S} went home.", "{S}回家了。"),
    "go_river": ("One day, {S} went to the river.", "有一天，{S}去了河边。"),
    "see_fish": ("{S} saw a little {colour.en} fish in the water.", "{S}看见水里有一条{colour.zh}的小鱼。"),
    "hello_fish": ('"Hello, little fish!" said {A}.', "{A}说：“你好，小鱼！”"),
    "fish_answers": ('"Hello, {B}!" said the fish.', "小鱼说：“你好，{B}！”"),
    "fish_swims": ("The fish swam away.", "小鱼游走了。"),
    "watch": ("{S} looked at the water for a long time.", "{S}看着河水看了很久。"),
    "sleep": ("At night, {S} went to sleep.", "晚上，{S}睡觉了。"),
    "dream": ("{S} dreamed about {P} {colour.en} {toy.en}.", "{S}梦见了{P}{colour.zh}的{toy.zh}。"),
    "good_day": ("It was a good day.", "这真是美好的一天。"),
}  # fmt: skip
PRONOUN_RATE = 0.6  # how often a repeated subject becomes he/she/they


def pronoun(chars: tuple[Character, ...], lang: str, possessive: bool = False) -> str:
    """he/she/they (他/她/他们/她们); a Chinese group is 她们 only if everyone is female."""
    if len(chars) > 1:
        if lang == "en":
            return "their" if possessive else "they"
        base = "她们" if all(c.gender == "f" for c in chars) else "他们"
    elif lang == "en":
        return {"m": ("he", "his"), "f": ("she", "her")}[chars[0].gender][possessive]
    else:
        base = "他" if chars[0].gender == "m" else "她"
    return base + "的" if possessive else base


@dataclass(frozen=True)
class Line:
    key: str  # template name
    subject: tuple[Character, ...] = ()  # who {S} is; () for lines without a subject
    form: str = "name"  # how {S} is written: "name", "species" or "pronoun"
    slots: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        template = TEMPLATES[self.key][0 if lang == "en" else 1]
        values = {k: v.name(lang) if isinstance(v, Character) else v for k, v in self.slots.items()}
        if self.subject:
            values["S"] = self._subject(lang)
            values["P"] = pronoun(self.subject, lang, possessive=True)
        text = template.format(**values)
        return text[0].upper() + text[1:]

    def _subject(self, lang: str) -> str:
        if self.form == "pronoun":
            return pronoun(self.subject, lang)
        if self.form == "species":
            words = [("the " + c.species.en) if lang == "en" else c.species.zh for c in self.subject]
        else:
            words = [c.name(lang) for c in self.subject]
        return (" and " if lang == "en" else "和").join(words)


@dataclass(frozen=True)
class Story:
    characters: tuple[Character, ...]
    lines: tuple[Line, ...]

    def sentences(self, lang: str) -> list[str]:
        return [line.render(lang) for line in self.lines]

    def render(self, lang: str) -> str:
        return (" " if lang == "en" else "").join(self.sentences(lang))


class _Builder:
    """Collects lines; a subject becomes a pronoun only right after a line with that subject."""

    def __init__(self, rng: random.Random, cast: list[Character]):
        self.rng, self.cast, self.lines = rng, cast, []

    def add(self, key: str, *subject: Character, species: bool = False, **slots: Any) -> None:
        prev = self.lines[-1].subject if self.lines else ()
        form = "species" if species else "name"
        if subject and prev == subject and self.rng.random() < PRONOUN_RATE:
            form = "pronoun"
        self.lines.append(Line(key, subject, form, slots))


def _cast(rng: random.Random, n: int) -> list[Character]:
    """n characters with distinct names and distinct species, so "the dog" is unambiguous."""
    names = rng.sample(NAMES, n)
    kinds = rng.sample(CHARACTER_SPECIES, n)
    return [Character(en, zh, g, sp) for (en, zh, g), sp in zip(names, kinds, strict=True)]


def _count(n: int, food: Word) -> Word:
    en, zh = NUMBERS[n]
    return Word(f"{en} {food.en if n == 1 else food.en_pl}", f"{zh}{food.cl}{food.zh}")


def _introduce(s: _Builder, x: Character, first: bool) -> None:
    r = s.rng
    if r.random() < 0.5:
        s.add("intro_is", x, size=r.choice(SIZES), fur=r.choice(FURS), sp=x.species)
    elif first:
        s.add("intro_named", A=x, size=r.choice(SIZES), sp=x.species)
    else:
        s.add("intro_also", A=x, sp=x.species)
    if r.random() < 0.5:
        s.add("lives", x, home=r.choice(HOMES))
    if r.random() < 0.5:
        s.add("likes", x, hobby=r.choice(HOBBIES))


def _lost(s: _Builder, a: Character, b: Character, toy: Word, colour: Word) -> None:
    r = s.rng
    spot, spot2 = r.sample(SPOTS, 2)
    s.add("go_with", a, b, place=r.choice(PLACES))
    s.add("play_toy", a, toy=toy, colour=colour)
    s.add("lost", a, toy=toy)
    s.add("sad", a)
    s.add("ask_where", A=a, toy=toy, colour=colour)
    s.add("offer_help", A=b, B=a)
    s.add("look", a, b, spot=spot, spot2=spot2)
    s.add("found", b, toy=toy, colour=colour, spot=r.choice((spot, spot2)))
    s.add("thank", A=a, B=b)
    s.add("happy_again", a)
    if r.random() < 0.5:
        s.add("hug", a, B=b)


def _share(s: _Builder, a: Character, b: Character, toy: Word, colour: Word) -> None:
    r = s.rng
    giver, taker = r.sample((a, b), 2)
    food, n = r.choice(FOODS), r.randint(2, 5)
    s.add("has_food", giver, items=_count(n, food))
    s.add("hungry", A=taker)
    s.add("give_one", giver, B=taker, items=_count(1, food))
    s.add("now_has", giver, items=_count(n - 1, food))
    s.add("thank", A=taker, B=giver)
    s.add("eat_together", giver, taker, food=food)


def _meet(s: _Builder, a: Character, b: Character, toy: Word, colour: Word) -> None:
    r = s.rng
    x = r.choice((a, b))
    en, zh, gender = r.choice([n for n in NAMES if n[0] not in (a.name_en, b.name_en)])
    kind = r.choice([k for k in CHARACTER_SPECIES if k not in (a.species, b.species)])
    new = Character(en, zh, gender, kind)
    s.cast.append(new)
    place = r.choice(PLACES)
    s.add("walk", x, place=place)
    s.add("see_animal", x, sp=new.species, spot=r.choice(SPOTS))
    s.add("ask_name", A=x)
    s.add("tell_name", A=new, sp=new.species)
    s.add("greet", A=x, B=new)
    if x.species.sound_en:
        s.add("sound", A=x, sp=x.species)
    s.add("play_game", x, new, game=r.choice(GAMES), place=place)
    s.add("new_friends", x, new)


def _rain(s: _Builder, a: Character, b: Character, toy: Word, colour: Word) -> None:
    r = s.rng
    animal = r.choice([t for t in TREE_ANIMALS if t not in (a.species, b.species)])
    s.add("rain")
    s.add("run_tree", a, b)
    s.add("animal_in_tree", sp=animal)
    s.add("hello_little", A=r.choice((a, b)), sp=animal)
    s.add("animal_sings", sp=animal, them=Word("them", pronoun((a, b), "zh")))
    s.add("rain_stops")
    s.add("go_home", a, b)


def _fish(s: _Builder, a: Character, b: Character, toy: Word, colour: Word) -> None:
    r = s.rng
    x = r.choice((a, b))
    s.add("go_river", x)
    s.add("see_fish", x, colour=r.choice(COLOURS))
    s.add("hello_fish", A=x)
    s.add("fish_answers", B=x)
    s.add("fish_swims")
    s.add("watch", x)


EPISODES = (_lost, _share, _meet, _rain, _fish)


def make_story(rng: random.Random) -> Story:
    """Two friends are introduced, a toy is named, 1-2 episodes happen, the day ends."""
    a, b = _cast(rng, 2)
    toy, colour = rng.choice(TOYS), rng.choice(COLOURS)
    s = _Builder(rng, [a, b])
    _introduce(s, a, first=True)
    s.add("has_toy", a, toy=toy, colour=colour)
    if rng.random() < 0.5:
        s.add("loves_toy", a, toy=toy, colour=colour)
    _introduce(s, b, first=False)
    s.add("friends", a, b, species=rng.random() < 0.4)
    if rng.random() < 0.6:
        s.add("play_together", a, b, place=rng.choice(PLACES))
    for episode in rng.sample(EPISODES, rng.randint(1, 2)):
        episode(s, a, b, toy, colour)
    s.add("sleep", *rng.choice(((a,), (b,), (a, b))))
    if rng.random() < 0.5:
        s.add("dream", a, toy=toy, colour=colour)
    if rng.random() < 0.5:
        s.add("good_day")
    return Story(tuple(s.cast), tuple(s.lines))


# --- parallel sentences (present tense, short, one translation each) ----------------------
VERBS = (
    Word("sees", "看见"), Word("likes", "喜欢"), Word("helps", "帮助"),
    Word("follows", "跟着"), Word("chases", "追"), Word("finds", "找到"),
)  # fmt: skip
NEGATED = (Word("does not like", "不喜欢"), Word("cannot see", "看不见"))
ADJECTIVES = (
    Word("happy", "开心"), Word("sad", "难过"), Word("hungry", "饿"),
    Word("tired", "累"), Word("big", "大"), Word("small", "小"),
)  # fmt: skip
ABILITIES = (
    Word("swim", "游泳"), Word("fly", "飞"), Word("run", "跑"), Word("sing", "唱歌"), Word("jump", "跳"),
)  # fmt: skip
LOCATIONS = PLACES + (Place("the tree", "in the tree", "树", "树上"),)
PAIR_SPECIES = CHARACTER_SPECIES + (FISH,)


def _noun(rng: random.Random) -> Word:
    """A name or a definite animal: "Max"/"小黑", "the dog"/"狗"."""
    if rng.random() < 0.5:
        en, zh, _ = rng.choice(NAMES)
        return Word(en, zh)
    sp = rng.choice(PAIR_SPECIES)
    return Word("the " + sp.en, sp.zh)


def _pair_frame(rng: random.Random) -> tuple[str, str]:
    x, y = _noun(rng), _noun(rng)
    colour, toy, place = rng.choice(COLOURS), rng.choice(TOYS), rng.choice(PLACES)
    sp = rng.choice(PAIR_SPECIES)
    kind = rng.randrange(11)
    if kind == 0:
        v = rng.choice(VERBS)
        return f"{x.en} {v.en} {y.en}.", f"{x.zh}{v.zh}{y.zh}。"
    if kind == 1:
        v = rng.choice(NEGATED)
        return f"{x.en} {v.en} {y.en}.", f"{x.zh}{v.zh}{y.zh}。"
    if kind == 2:
        en, zh, _ = rng.choice(NAMES)
        fur = rng.choice(FURS)
        return f"{en} is a {fur.en} {sp.en}.", f"{zh}是一{sp.cl}{fur.zh}的{sp.zh}。"
    if kind == 3:
        return f"{x.en} has {colour.a_en} {toy.en}.", f"{x.zh}有一{toy.cl}{colour.zh}的{toy.zh}。"
    if kind == 4:
        loc = rng.choice(LOCATIONS)
        return f"{x.en} is {loc.en_in}.", f"{x.zh}在{loc.zh_in}。"
    if kind == 5:
        return f"{x.en} and {y.en} go to {place.en}.", f"{x.zh}和{y.zh}去{place.zh}。"
    if kind == 6:
        en, zh = NUMBERS[rng.randint(2, 5)]
        loc = rng.choice(LOCATIONS)
        return f"{en} {sp.en_pl} are {loc.en_in}.", f"{loc.zh_in}有{zh}{sp.cl}{sp.zh}。"
    if kind == 7:
        return (f"{x.en} gives {y.en} {colour.a_en} {toy.en}.",
                f"{x.zh}给{y.zh}一{toy.cl}{colour.zh}的{toy.zh}。")  # fmt: skip
    if kind == 8:
        adj = rng.choice(ADJECTIVES)
        return f"{x.en} is {adj.en}.", f"{x.zh}很{adj.zh}。"
    if kind == 9:
        can = rng.choice(ABILITIES)
        return f"{x.en} can {can.en}.", f"{x.zh}会{can.zh}。"
    he = rng.choice((("He", "他"), ("She", "她")))
    return f"{he[0]} likes {y.en}.", f"{he[1]}喜欢{y.zh}。"


def make_pair(rng: random.Random) -> tuple[str, str]:
    """One (English, Chinese) sentence pair; the English decides the Chinese exactly."""
    en, zh = _pair_frame(rng)
    return en[0].upper() + en[1:], zh
