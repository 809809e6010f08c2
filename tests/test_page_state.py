"""Links that restore the page (playground.page_state): round trip, refusals, and agreement
with the app's tabs and the Generate tab's controls."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from playground.errors import PlaygroundError
from playground.page_state import GENERATE_LIMITS, TAB_IDS, PageState, check_model, from_query, to_query


def _params(query: str) -> dict:
    return dict(parse_qsl(urlsplit(query).query, keep_blank_values=True))


def test_a_link_round_trips_every_field():
    state = PageState(model="induction", text="xkcd & qwerty? 狗看见了猫。\nline two", tab="attention", layer=1,
                      head=0, query=19, prompt="Once upon a time", max_new=32, temperature=0.8, top_k=5,
                      top_p=0.9, seed=7, greedy=True, projector=True, lesson="tokens-to-induction", step=3)
    query = to_query(state)
    assert query.startswith("?model=induction&")
    back, problems = from_query(_params(query))
    assert problems == []
    assert back == state


def test_only_set_fields_travel():
    assert to_query(PageState()) == ""
    assert _params(to_query(PageState(tab="tokens"))) == {"tab": "tokens"}


def test_hub_ids_travel_but_the_private_model_does_not():
    assert check_model("gpt2") == "gpt2"
    assert check_model("hf:owner/name") == "hf:owner/name"
    with pytest.raises(PlaygroundError) as err:
        check_model("My model")
    assert "browser session" in str(err.value)
    assert "浏览器会话" in err.value.message("zh")


@pytest.mark.parametrize(
    ("name", "raw", "english"),
    [
        ("tab", "nowhere", "is not one of"),
        ("layer", "-1", "whole number from 0 to 1,023"),
        ("head", "1.5", "whole number"),
        ("temperature", "3", "number from 0.05 to 2"),
        ("top_p", "nan", "number from 0.05 to 1"),
        ("seed", "2147483648", "whole number from 0 to 2,147,483,647"),
        ("model", "../../etc/passwd", "neither a built-in model nor"),
        ("text", "x" * 2001, "at most 2,000"),
    ],
)
def test_a_bad_parameter_is_refused_with_a_message_and_the_rest_is_kept(name, raw, english):
    state, problems = from_query({name: raw, "model": "stories", "view": "api"} if name != "model" else {name: raw})
    assert len(problems) == 1
    assert english in str(problems[0])
    assert problems[0].message("zh") != str(problems[0])  # worded in 中文 too
    if name != "model":
        assert state.model == "stories"


def test_tab_ids_are_the_apps_tabs_in_order():
    from playground.ui.app import TABS

    assert tuple(tab_id for _, tab_id, _ in TABS) == TAB_IDS


def test_generate_limits_match_the_generate_tabs_controls():
    import gradio as gr

    from playground.ui import generate_tab
    from playground.ui.shared import Shared

    with gr.Blocks():
        shared = Shared(gr.Dropdown(["stories"]), gr.Textbox(), gr.Button(), gr.State(0))
        shared.wire()
        generate_tab.build(shared, None)
    c = shared.controls
    for name in ("max_new", "temperature", "top_k", "top_p"):
        low, high, _ = GENERATE_LIMITS[name]
        assert (c[name].minimum, c[name].maximum) == (low, high), name
