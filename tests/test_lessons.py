"""Lesson files (playground.lessons): the built-in lesson is complete and bilingual; a bad file
gets a message that says where and what, in English and 中文; links carry lessons safely."""

import base64
import zlib

import pytest

from playground import lessons
from playground.errors import PlaygroundError
from playground.page_state import TAB_IDS


def _good() -> dict:
    return {
        "format": lessons.FORMAT,
        "title": {"en": "Mini", "zh": "小课"},
        "steps": [
            {"title": {"en": "One", "zh": "一"}, "text": {"en": "Look.", "zh": "看。"}, "tab": "tokens",
             "model": "stories", "input": "The cat."},
            {"title": {"en": "Two", "zh": "二"}, "text": {"en": "Heads.", "zh": "头。"}, "tab": "attention",
             "layer": 1, "head": 2, "query": 3},
        ],
    }


def test_the_built_in_lesson_goes_from_tokens_to_induction_heads_in_both_languages():
    assert "tokens-to-induction" in lessons.builtin_lessons()
    lesson = lessons.builtin_lesson("tokens-to-induction")
    assert len(lesson.steps) >= 8
    tabs = [s.tab for s in lesson.steps]
    assert tabs[0] == "tokens" and "embeddings" in tabs and "attention" in tabs
    assert all(t in TAB_IDS for t in tabs)
    # it ends on the induction model: layer 0's previous-token head, then layer 1's induction head
    induction = [s for s in lesson.steps if s.state.model == "induction"]
    assert induction and any(s.state.layer == 1 for s in induction)
    for step in lesson.steps:
        assert step.text_in("en") != step.text_in("zh")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in step.text_in("zh"))
        assert len(step.text_in("en").split()) <= 120  # one paragraph


def test_every_shipped_lesson_is_valid():
    for name in lessons.builtin_lessons():
        assert lessons.builtin_lesson(name).steps


def test_a_step_sets_the_page():
    lesson = lessons.parse_lesson(_good())
    assert lesson.steps[0].state.model == "stories"
    assert lesson.steps[0].state.text == "The cat."
    assert (lesson.steps[1].state.layer, lesson.steps[1].state.head, lesson.steps[1].state.query) == (1, 2, 3)


def _broken(change) -> dict:
    data = _good()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "english", "chinese"),
    [
        (lambda d: d.update(format="v0"), "\"format\" must be", "必须是"),
        (lambda d: d.pop("title"), "the top level: title is missing", "顶层：缺少 title"),
        (lambda d: d["steps"][1].pop("tab"), "step 2: tab is missing", "第 2 步：缺少 tab"),
        (lambda d: d["steps"][0]["text"].pop("zh"), "step 1: text.zh is missing", "缺少 text.zh"),
        (lambda d: d["steps"][0].update(taab="tokens"), "unknown key 'taab'", "未知的键"),
        (lambda d: d["steps"][1].update(tab="attn"), "step 2 · tab: the link's tab 'attn' is not one of",
         "第 2 步 · tab"),
        (lambda d: d["steps"][1].update(layer=-1), "step 2 · layer:", "第 2 步 · layer"),
        (lambda d: d["steps"][1].update(layer=[1]), "step 2 · layer: layer must be text or number", "第 2 步"),
        (lambda d: d["steps"][0].update(model="My model"), "cannot carry it", "链接无法带上它"),
        (lambda d: d.update(steps=[]), "1 to 50 steps (got 0)", "1 到 50 个步骤"),
    ],
)
def test_a_bad_lesson_file_says_where_and_what_in_both_languages(change, english, chinese):
    with pytest.raises(PlaygroundError) as err:
        lessons.parse_lesson(_broken(change))
    assert english in str(err.value)
    assert chinese in err.value.message("zh")


def test_a_file_that_is_not_json_or_too_big_is_refused_before_parsing(tmp_path):
    with pytest.raises(PlaygroundError, match="not valid UTF-8 JSON"):
        lessons.read_lesson(b"\x80\x81 not json")
    with pytest.raises(PlaygroundError, match="not valid UTF-8 JSON"):
        lessons.read_lesson(b"title: yaml is not accepted")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (lessons.MAX_LESSON_BYTES + 1))
    with pytest.raises(PlaygroundError, match="at most 65,536"):
        lessons.load_lesson_file(big)


def test_a_lesson_travels_inside_a_link():
    link = lessons.lesson_to_link(_good())
    assert link.startswith("data:") and len(link) < 1000
    lesson = lessons.lesson_from_link(link)
    assert [s.tab for s in lesson.steps] == ["tokens", "attention"]
    assert lessons.lesson_from_link("tokens-to-induction").steps


def test_a_bad_or_oversized_link_lesson_is_refused():
    with pytest.raises(PlaygroundError, match="no built-in lesson"):
        lessons.lesson_from_link("../../etc/passwd")
    with pytest.raises(PlaygroundError, match="cannot be read"):
        lessons.lesson_from_link("data:not-zlib")
    bomb = zlib.compress(b"[" + b" " * (10 * lessons.MAX_LESSON_BYTES) + b"]", 9)
    encoded = "data:" + base64.urlsafe_b64encode(bomb).decode()
    assert len(encoded) < lessons.MAX_LINK_LESSON_CHARS  # small in the link, huge unpacked
    with pytest.raises(PlaygroundError, match="at most 65,536"):
        lessons.lesson_from_link(encoded)
