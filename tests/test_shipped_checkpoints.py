"""The checkpoints in assets/checkpoints: present, small, loadable, and as good as their cards say."""

import json
import re

import pytest
import torch

from playground import api, seq2seq
from playground.corpora import load_corpus, translation_pairs
from playground.training import evaluate

SHIPPED = ["stories", "stories-char", "sort", "induction"]  # GPTs: the model picker lists these
TRANSLATE = "translate-en-zh"  # the encoder-decoder (playground.seq2seq); not a GPT, not in the picker
FRESH_SEED = 12345  # never used to build a checkpoint: this is data the models have not seen
FRESH_SEEDS = (FRESH_SEED, 777, 4242)  # three fresh draws: one 16-window draw alone varies by ±3%


def test_every_shipped_checkpoint_is_present_and_listed_default_first():
    assert sorted(api.builtin_names()) == sorted(SHIPPED)
    assert api.builtin_names()[0] == "stories"


def test_all_checkpoints_together_fit_in_40_mb():
    total = sum(p.stat().st_size for p in api.CHECKPOINT_DIR.rglob("*") if p.is_file())
    assert total <= 40 * 1024 * 1024


@pytest.mark.parametrize("name", SHIPPED)
def test_card_records_how_the_checkpoint_was_made(name):
    card = json.loads((api.CHECKPOINT_DIR / name / "card.json").read_text(encoding="utf-8"))
    assert card["command"].startswith("python -m playground train")
    assert f"--out assets/checkpoints/{name}" in card["command"]
    assert card["train_seconds"] <= 15 * 60
    for key in ("config", "corpus", "steps_done", "train_loss", "val_loss", "tokens_per_s", "sample"):
        assert key in card


@pytest.mark.parametrize("name", SHIPPED)
def test_val_loss_on_freshly_generated_text_is_within_5_percent_of_the_card(name):
    bundle = api.load_model(name)
    losses = []
    for seed in FRESH_SEEDS:
        fresh = load_corpus(bundle.card["corpus"], seed=seed, size=400_000).val  # ~40 kB of new text
        ids = torch.tensor(bundle.tokenizer.encode_ids(fresh))
        losses.append(evaluate(bundle.model, ids, batch_size=16, n_batches=16, seed=7))
    assert sum(losses) / len(losses) == pytest.approx(bundle.card["val_loss"], rel=0.05), losses


def test_the_sort_model_sorts_fresh_digit_strings():
    bundle = api.load_model("sort")
    problems = load_corpus("sort", seed=FRESH_SEED, size=20_000).val.splitlines()[:40]
    correct = 0
    for line in problems:
        question, answer = line.split("=")
        out = api.generate(bundle, "\n" + question + "=", max_new_tokens=len(answer), greedy=True)
        correct += out.completion == answer
    assert correct / len(problems) >= 0.8


def test_the_induction_model_has_a_layer_1_induction_head_at_every_probe_length():
    """A genuine induction head finds the earlier copy wherever it is: it must score on random
    letters repeated at several lengths, and sit in layer 1 (it needs layer 0's previous-token head).
    A head that looks back a fixed distance scores at one length only."""
    import string

    import numpy as np

    from playground.interpret import induction_scores, previous_token_scores, repeated_sequence

    bundle = api.load_model("induction")
    letters = [bundle.tokenizer.encode_ids(c)[0] for c in string.ascii_lowercase]
    by_length = {
        half: np.mean(
            [induction_scores(bundle.model, repeated_sequence(letters, half, seed=s), half) for s in range(8)], 0
        )
        for half in (8, 12, 16, 24, 30)
    }  # half -> (L, H) scores, each averaged over 8 random probes
    best = max(range(bundle.config.n_heads), key=lambda h: min(sc[1, h] for sc in by_length.values()))
    layer1 = {k: v[1].round(2).tolist() for k, v in by_length.items()}
    assert all(sc[1, best] >= 0.3 for sc in by_length.values()), layer1  # chance is ~0.05-0.15 here
    assert np.mean([sc[1, best] for sc in by_length.values()]) >= 0.5, layer1
    assert all(sc[0].max() < 0.2 for sc in by_length.values())  # layer 0 cannot do it alone
    probe = repeated_sequence(letters, 16, seed=99)
    assert previous_token_scores(bundle.model, probe)[0].max() >= 0.4  # the head it composes with


# ---------------------------------------------------------------- the encoder-decoder translator


@pytest.fixture
def one_thread():
    """Decoding is many small matrix products: one thread is ~8x faster than two on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _translate_card() -> dict:
    return json.loads((api.CHECKPOINT_DIR / TRANSLATE / "card.json").read_text(encoding="utf-8"))


def test_the_translation_checkpoint_is_shipped_but_not_offered_as_a_gpt():
    assert (api.CHECKPOINT_DIR / TRANSLATE / "config.json").is_file()
    assert _translate_card()["architecture"] == "encoder-decoder"
    assert TRANSLATE not in api.builtin_names()


def test_translation_card_records_how_it_was_made_and_its_numbers_match_the_model():
    card = _translate_card()
    assert card["command"].startswith("python -m playground train-translate")
    assert f"--out assets/checkpoints/{TRANSLATE}" in card["command"]
    assert re.search(r"--threads [12]\b", card["command"])  # one or two threads: the machine stays usable
    assert 0 < card["train_seconds"] <= 15 * 60
    assert card["steps_done"] == card["train"]["steps"]
    assert card["heldout"]["seed"] != card["train"]["seed"]
    translator = seq2seq.load_translator(api.CHECKPOINT_DIR / TRANSLATE)
    assert card["config"] == translator.config.to_dict()
    assert card["n_params"] == translator.model.n_params()
    size = sum(p.stat().st_size for p in (api.CHECKPOINT_DIR / TRANSLATE).iterdir())
    assert size <= 5 * 1024 * 1024


def test_the_translators_card_exact_match_is_reproduced_on_its_heldout_set(one_thread):
    card = _translate_card()
    translator = seq2seq.load_translator(api.CHECKPOINT_DIR / TRANSLATE)
    train = {en for en, _ in translation_pairs(card["train"]["pairs"], card["train"]["seed"])}
    held, drawn = seq2seq.heldout_pairs(card["heldout"]["n"], card["heldout"]["seed"], train)
    assert drawn == card["heldout"]["drawn"]
    accuracy, _ = translator.exact_match(held)
    assert round(accuracy, 4) == card["exact_match"]
    assert card["exact_match"] >= 0.95


def test_the_translator_gets_95_percent_exact_match_on_fresh_unseen_sentences(one_thread):
    card = _translate_card()
    assert FRESH_SEED not in (card["train"]["seed"], card["heldout"]["seed"])
    translator = seq2seq.load_translator(api.CHECKPOINT_DIR / TRANSLATE)
    train = {en for en, _ in translation_pairs(card["train"]["pairs"], card["train"]["seed"])}
    held, _ = seq2seq.heldout_pairs(100, FRESH_SEED, train)  # English never seen in training
    accuracy, misses = translator.exact_match(held)
    assert accuracy >= 0.95, misses[:5]
