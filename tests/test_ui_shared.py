"""The shared bar's routing (ui/shared.py): a successful check asks only the tab on screen to
recompute; a hidden tab is asked when it is selected, once per action."""

import pytest

from playground.errors import PlaygroundError
from playground.ui import shared, state

LISTENING = ("tokens", "embeddings", "attention", "model")


class Request:
    """Stands in for gr.Request: a session id and the language header."""

    def __init__(self, session, lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


def _due(updates) -> dict:
    """route_check's outputs after the action: {tab: action} for the tabs asked to recompute."""
    return {tab: value for tab, value in zip(LISTENING, updates, strict=True) if isinstance(value, int)}


def check(session, tab_on_screen="attention", text="The dog saw the cat."):
    model = state.model_choices()[0]
    action, *updates = shared.route_check(LISTENING, "attention", model, text, tab_on_screen, Request(session))
    return action, _due(updates)


def test_only_the_tab_on_screen_is_asked_and_a_hidden_one_catches_up_once_when_selected():
    action, due = check("s1")
    assert due == {"attention": action}
    action, due = check("s1")  # a second click: still only Attention
    assert due == {"attention": action}
    assert shared.on_tab_selected("tokens", Request("s1")) == action  # behind: recompute now
    assert shared.on_tab_selected("attention", Request("s1")) == {"__type__": "update"}  # up to date
    assert shared.on_tab_selected("tokens", Request("s1")) == {"__type__": "update"}  # done already
    action, due = check("s1", tab_on_screen="tokens")
    assert due == {"tokens": action}
    assert shared.on_tab_selected("model", Request("s1")) == action


def test_the_tab_the_server_heard_of_and_the_tab_the_page_shows_are_both_served():
    """A tab switch racing a click: the page's js read one tab, the server already heard of another."""
    shared.note_tab(Request("s2"), "model")
    action, due = check("s2", tab_on_screen="attention")
    assert due == {"attention": action, "model": action}


def test_a_non_inspecting_tab_on_screen_asks_nothing_and_a_failed_check_changes_nothing():
    shared.note_tab(Request("s3"), "generate")
    action, due = check("s3", tab_on_screen="generate")
    assert due == {}
    with pytest.raises(PlaygroundError):
        check("s3", tab_on_screen="generate", text="")
    assert shared.on_tab_selected("embeddings", Request("s3")) == action  # the last good action
    assert shared.on_tab_selected("embeddings", Request("s3")) == {"__type__": "update"}


def test_selecting_a_tab_before_any_check_asks_nothing():
    assert shared.on_tab_selected("tokens", Request("s4")) == {"__type__": "update"}
