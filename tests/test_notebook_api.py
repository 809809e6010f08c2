"""Every name `playground` exports resolves, and the notebook `train` returns a usable model."""

import pytest
import torch

import playground
from playground import ModelConfig, TrainConfig, generate, inspect, prepare_data, train


def test_every_exported_name_resolves():
    for name in playground.__all__:
        assert getattr(playground, name) is not None, name


def test_train_returns_a_bundle_that_learned_and_works_with_inspect_and_generate():
    torch.set_num_threads(1)
    data = prepare_data("copy", "char", size=20_000, seed=0)
    seen = []
    bundle = train(
        data,
        ModelConfig(n_layers=1, n_heads=2, d_model=32, n_ctx=32),
        TrainConfig(steps=30, batch_size=8, eval_interval=30, seed=0),
        on_step=seen.append,
    )
    assert [s.step for s in seen] == list(range(1, 31))
    assert bundle.config.d_vocab == data.tokenizer.vocab_size  # taken from the data, not the default 512
    assert bundle.card["steps_done"] == 30
    assert bundle.card["val_loss"] < seen[0].loss  # it learned something
    assert inspect(bundle, "123=123").tokens
    assert generate(bundle, "12", max_new_tokens=4, seed=0).text.startswith("12")


def test_train_refuses_something_that_is_not_prepared_data():
    with pytest.raises(ValueError, match="prepare_data"):  # a keyed errors.PlaygroundError
        train("stories")


def test_inspect_cuts_text_to_max_tokens_and_the_page_notices_name_the_same_cap():
    from playground import api, load_model
    from playground.ui import i18n

    bundle = load_model("stories-char")
    result = api.inspect(bundle, "dog " * 100, max_tokens=30)
    assert len(result.tokens) == len(result.ids) == 30 and result.truncated_from == 400
    assert result.cache.pattern(0).shape[-1] == 30
    assert api.inspect(bundle, "dog " * 100).truncated_from == 400  # the model's context (128) still cuts
    for key in ("att_truncated", "emb_truncated"):
        for lang in ("en", "zh"):
            assert str(api.MAX_VIEW_TOKENS) in i18n.STRINGS[lang][key]
