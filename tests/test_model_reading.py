"""Reading the model: logit lens, direct logit attribution, anatomy, q/k/v provenance, head roles
and ablation (playground.lens / anatomy / head_roles / ablation)."""

import threading

import numpy as np
import pytest
import torch

import playground
from playground import api
from playground.ablation import ablate, ablation_hooks
from playground.errors import PlaygroundError
from playground.lens import decompose, logit_lens
from playground.pipeline import anatomy, qkv_provenance, temperature_probs
from playground.roles import head_roles, induction_targets

TEXT = "The dog saw the cat. She ran to the tree. 狗看见了猫。"
REPEATED = "vkbqzmxtwgjdvkbqzmxtwgjd"  # a random string said twice: the induction probe


@pytest.fixture(scope="module", params=["stories", "random"])
def bundle(request):
    torch.set_num_threads(1)
    if request.param == "random":
        return api.demo_model()
    return api.load_model(request.param)


def test_the_last_row_of_the_logit_lens_is_the_models_own_next_token_distribution(bundle):
    result = api.inspect(bundle, TEXT)
    lens = logit_lens(bundle, result)
    n_layers, T = bundle.config.n_layers, len(result.ids)
    assert lens.top_probs.shape == lens.final_probs.shape == (n_layers + 1, T)
    assert torch.allclose(lens.last_probs, result.logits.softmax(-1), atol=1e-5)
    assert (lens.final_ids == result.logits.argmax(-1).numpy()).all()
    assert np.allclose(lens.final_probs[-1], lens.top_probs[-1])
    # an earlier row is a different read-out: the embeddings alone do not predict like the model
    assert not np.allclose(lens.final_probs[0], lens.final_probs[-1])
    assert lens.rows == ["embed"] + [f"block {i}" for i in range(n_layers)]


def test_direct_logit_attribution_sums_to_the_logit(bundle):
    result = api.inspect(bundle, TEXT)
    for position in (0, 3, -1):
        parts = decompose(bundle, result, position)
        assert parts.contributions.sum() == pytest.approx(parts.logit, abs=1e-4)
        cfg = bundle.config
        assert len(parts.names) == 2 + cfg.n_layers * (cfg.n_heads + 2) + 1
        assert parts.token_id == int(result.logits[position].argmax())
    other = decompose(bundle, result, 2, token_id=1)  # any token, not only the predicted one
    assert other.contributions.sum() == pytest.approx(float(result.logits[2, 1]), abs=1e-4)


def test_the_head_parts_sum_to_the_attention_output(bundle):
    from playground.lens import residual_parts

    result = api.inspect(bundle, TEXT)
    names, parts = residual_parts(bundle.model, result.cache, 4)
    heads = [i for i, n in enumerate(names) if n.startswith("L0H") or n == "L0 attn bias"]
    assert torch.allclose(parts[heads].sum(0), result.cache["blocks.0.hook_attn_out"][0, 4], atol=1e-5)
    assert torch.allclose(parts.sum(0), result.cache.resid(bundle.config.n_layers - 1, "post")[4], atol=1e-4)


def test_anatomy_stages_add_up_as_the_flowchart_says(bundle):
    result = api.inspect(bundle, TEXT)
    a = anatomy(bundle, result, 2)
    assert np.allclose(a.stage("embed").vector + a.stage("pos_embed").vector, a.stage("x0").vector, atol=1e-6)
    last = bundle.config.n_layers - 1
    for i in range(bundle.config.n_layers):
        before = a.stage("x0" if i == 0 else f"L{i - 1}.x_post").vector
        assert np.allclose(before + a.stage(f"L{i}.attn_out").vector, a.stage(f"L{i}.x_mid").vector, atol=1e-4)
        assert np.allclose(a.stage(f"L{i}.x_mid").vector + a.stage(f"L{i}.mlp_out").vector,
                           a.stage(f"L{i}.x_post").vector, atol=1e-4)
        assert a.stage(f"L{i}.mlp_hidden").vector.shape == (bundle.config.d_mlp,)
    final = torch.from_numpy(a.stage("ln_final").vector) @ bundle.model.lm_head.weight.T
    assert torch.allclose(final, result.logits[2], atol=1e-4)
    assert a.added_norms().shape == (bundle.config.n_layers, 2)
    assert a.stream_norms()[-1][0] == f"L{last}.x_post"


def test_temperature_divides_the_logits():
    logits = torch.tensor([2.0, 1.0, 0.0])
    assert torch.allclose(temperature_probs(logits, 0.5), (logits / 0.5).softmax(-1))
    hot, cold = temperature_probs(logits, 2.0), temperature_probs(logits, 0.25)
    assert cold.max() > logits.softmax(-1).max() > hot.max()
    with pytest.raises(PlaygroundError) as err:
        temperature_probs(logits, 0.0)
    assert "温度" in err.value.message("zh")


def test_qkv_provenance_rebuilds_the_hooks_q_k_v(bundle):
    result = api.inspect(bundle, TEXT)
    cfg = bundle.config
    for layer, head, pos in [(0, 0, 0), (cfg.n_layers - 1, cfg.n_heads - 1, -1)]:
        p = qkv_provenance(bundle, result, layer, head, pos)
        assert p.weights["q"].shape == (cfg.d_model, cfg.d_head) and p.computed["v"].shape == (cfg.d_head,)
        assert p.max_difference < 1e-5
    with pytest.raises(PlaygroundError):
        qkv_provenance(bundle, result, cfg.n_layers, 0)


def test_ablating_nothing_changes_nothing(bundle):
    for mode in ("zero", "mean"):
        out = ablate(bundle, TEXT, mode=mode)
        assert np.array_equal(out.losses_before, out.losses_after)
        assert torch.equal(out.probs_before, out.probs_after)
        assert np.array_equal(out.patterns_before, out.patterns_after)


def test_ablating_a_layer_1_head_leaves_every_layer_0_pattern_unchanged(bundle):
    out = ablate(bundle, TEXT, heads=[(1, 0)], mlps=[1])
    assert np.array_equal(out.patterns_after[0], out.patterns_before[0])
    assert not np.allclose(out.losses_after, out.losses_before)
    if bundle.config.n_layers > 2:  # later layers read what it wrote
        assert not np.allclose(out.patterns_after[2], out.patterns_before[2])


def test_mean_ablation_keeps_the_average_and_differs_from_zero(bundle):
    zero = ablate(bundle, TEXT, mlps=[0], mode="zero")
    mean = ablate(bundle, TEXT, mlps=[0], mode="mean")
    assert not np.allclose(zero.losses_after, mean.losses_after)
    assert zero.loss_after != zero.loss_before


def test_ablation_hooks_leave_other_threads_alone():
    bundle = api.load_model("stories-char")
    ids = torch.tensor([bundle.tokenizer.encode("The dog saw the cat.").ids])
    clean = bundle.model(ids)
    seen = {}
    with ablation_hooks(bundle.model, [(0, 0), (1, 1)], [0], "zero"):
        ablated = bundle.model(ids)
        worker = threading.Thread(target=lambda: seen.update(logits=bundle.model(ids)))
        worker.start()
        worker.join()
    assert not torch.allclose(ablated, clean)
    # the other thread takes the manual attention path (a hook listens), so equal up to rounding
    assert torch.allclose(seen["logits"], clean, atol=1e-4)
    assert torch.equal(bundle.model(ids), clean)  # hooks removed after the block


@pytest.mark.parametrize("kwargs, key", [
    (dict(heads=[(0, 9)]), "ablate.no_such_head"),
    (dict(heads=[(5, 0)]), "ablate.no_such_head"),
    (dict(heads=["x"]), "ablate.head_format"),
    (dict(heads=[(0.5, 0)]), "ablate.head_format"),
    (dict(mlps=[7]), "ablate.no_such_mlp"),
    (dict(mlps=[None]), "ablate.mlp_format"),
    (dict(mode="half"), "ablate.mode"),
])
def test_bad_ablation_requests_say_what_is_allowed_in_both_languages(kwargs, key):
    bundle = api.load_model("induction")
    with pytest.raises(PlaygroundError) as err:
        ablate(bundle, REPEATED, **kwargs)
    assert err.value.key == key
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message("zh"))


def test_induction_targets_need_a_repeated_pair_not_one_common_character():
    assert induction_targets([5, 1, 2, 3, 1, 2, 3]) == {5: 3, 6: 4}  # "1 2" repeats: look after the earlier 2
    assert induction_targets([1, 0, 2, 0, 3, 0]) == {}  # only 0 repeats, never with the same neighbour


def test_roles_find_the_induction_circuit_and_ablation_proves_it():
    bundle = api.load_model("induction")
    result = api.inspect(bundle, REPEATED)
    roles = head_roles(bundle, result)
    assert (0, 0) in roles.heads_with("previous-token", 0.6)
    induction = roles.heads_with("induction", 0.5)
    assert induction and {layer for layer, _ in induction} == {1}  # it needs layer 0's output
    assert roles.induction_queries == list(range(13, 24))

    from playground.roles import roles_from_patterns

    out = ablate(bundle, result, heads=[(0, 0)])
    after = roles_from_patterns(out.patterns_after, result.ids)
    stripe = [roles.scores["induction"][h] for h in induction]
    assert max(after.scores["induction"][h] for h in induction) < 0.2 < min(stripe)  # the stripe breaks
    repeated = range(13, 23)  # the 10 predictions inside the second copy that copying can make
    before_loss, after_loss = out.loss_on(repeated)
    assert before_loss < 1.0 and after_loss > 2 * before_loss + 1.0
    copier = ablate(bundle, result, heads=induction)  # the induction head itself: copying stops
    assert copier.loss_on(repeated)[1] > 2 * before_loss + 1.0
    others = [(1, h) for h in range(bundle.config.n_heads) if (1, h) not in induction]
    control = ablate(bundle, result, heads=others)  # layer 1's other head: copying goes on
    assert control.loss_on(repeated)[1] < before_loss + 0.5


def test_the_notebook_names_are_exported():
    for name in ("logit_lens", "decompose", "head_roles", "ablate", "anatomy", "qkv_provenance"):
        assert name in playground.__all__ and callable(getattr(playground, name))
    lens = playground.logit_lens(api.load_model("induction"), REPEATED)
    assert lens.final_tokens[-2] == "d"  # "...wgjdvkbqzmxtwgj" → "d", copied from the first half


def test_zeroing_the_induction_heads_takes_the_held_out_loss_back_towards_its_plateau():
    from playground.ablation import held_out_loss
    from playground.corpora import load_corpus

    bundle = api.load_model("induction")
    val = load_corpus("induction", seed=0, size=60_000).val  # fresh text of the corpus it learned
    clean = held_out_loss(bundle, val, max_windows=80)
    both = held_out_loss(bundle, val, heads=[(1, 0), (1, 1)], max_windows=80)
    prev = held_out_loss(bundle, val, heads=[(0, 0)], max_windows=80)
    assert clean < 2.4 and both > clean + 0.2 and prev > both
    with pytest.raises(PlaygroundError) as err:
        held_out_loss(bundle, "ab", window=10)
    assert err.value.key == "ablate.text_too_short"


def test_a_logit_lens_on_some_positions_is_those_columns_of_the_whole_one():
    from playground.config import ModelConfig
    from playground.lens import lens_positions

    bundle = api.load_model("stories")
    result = api.inspect(bundle, TEXT)
    whole, part = logit_lens(bundle, result), logit_lens(bundle, result, [5, 2, 7])
    assert part.positions == [2, 5, 7] and part.tokens == [whole.tokens[i] for i in (2, 5, 7)]
    assert np.allclose(part.top_probs, whole.top_probs[:, [2, 5, 7]])
    assert part.top_tokens[1][0] == whole.top_tokens[1][2]
    gpt2 = ModelConfig(n_layers=12, n_heads=12, d_model=768, n_ctx=1024, d_vocab=50257)
    assert lens_positions(bundle.config, 128, 5) == list(range(128))  # small vocabulary: every position
    assert lens_positions(gpt2, 256, 100) == list(range(82, 101))  # 19 positions up to the chosen one
    assert lens_positions(gpt2, 256, 3) == list(range(0, 19))
    with pytest.raises(PlaygroundError):
        logit_lens(bundle, result, [len(result.ids)])


# ---------------------------------------------------------------- any input: a result or a clear message

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=4))


@settings(max_examples=40, deadline=None)
@given(heads=st.lists(st.one_of(st.tuples(ANYTHING, ANYTHING), ANYTHING, st.lists(ANYTHING, max_size=3)), max_size=4),
       mlps=st.lists(ANYTHING, max_size=3), mode=st.one_of(st.sampled_from(["zero", "mean"]), ANYTHING))
def test_ablate_takes_anything_and_answers_or_explains(heads, mlps, mode):
    bundle = api.load_model("induction")
    try:
        out = ablate(bundle, REPEATED, heads=heads, mlps=mlps, mode=mode)
    except PlaygroundError as err:
        assert err.message("en") and err.message("zh")
    else:
        assert out.losses_after.shape == (len(REPEATED) - 1,) and np.isfinite(out.losses_after).all()


@settings(max_examples=40, deadline=None)
@given(position=ANYTHING, token_id=st.one_of(ANYTHING, st.integers(-100, 100)))
def test_decompose_takes_anything_and_answers_or_explains(position, token_id):
    bundle = api.load_model("induction")
    try:
        parts = decompose(bundle, REPEATED, position, token_id)
    except PlaygroundError as err:
        assert err.message("en") and err.message("zh")
    else:
        assert np.isfinite(parts.contributions).all()
