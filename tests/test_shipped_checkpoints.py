"""The checkpoints in assets/checkpoints: present, small, loadable, and as good as their cards say."""

import json

import pytest
import torch

from playground import api
from playground.corpora import load_corpus
from playground.training import evaluate

SHIPPED = ["stories", "stories-char", "sort", "induction"]
FRESH_SEED = 12345  # never used to build a checkpoint: this is data the models have not seen


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
    fresh = load_corpus(bundle.card["corpus"], seed=FRESH_SEED, size=400_000).val  # ~40 kB of new text
    ids = torch.tensor(bundle.tokenizer.encode_ids(fresh))
    loss = evaluate(bundle.model, ids, batch_size=16, n_batches=16, seed=7)
    assert loss == pytest.approx(bundle.card["val_loss"], rel=0.05)


def test_the_sort_model_sorts_fresh_digit_strings():
    bundle = api.load_model("sort")
    problems = load_corpus("sort", seed=FRESH_SEED, size=20_000).val.splitlines()[:40]
    correct = 0
    for line in problems:
        question, answer = line.split("=")
        out = api.generate(bundle, "\n" + question + "=", max_new_tokens=len(answer), greedy=True)
        correct += out.completion == answer
    assert correct / len(problems) >= 0.8
