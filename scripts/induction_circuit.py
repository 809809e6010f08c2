"""Print, as JSON, every figure the README gives about the `induction` model's circuit.

    python scripts/induction_circuit.py [checkpoint]      (default: the shipped `induction`)

Roles on the two probes, induction scores at several lengths, the ablation table (zero and
mean), held-out losses with heads switched off, and the phase change in its recorded training.
Rerun it after a rebuild and the README's tables can be checked against it line by line."""

from __future__ import annotations

import json
import string
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground import api  # noqa: E402
from playground.ablation import ablate, held_out_loss  # noqa: E402
from playground.corpora import load_corpus  # noqa: E402
from playground.history import load_history  # noqa: E402
from playground.interpret import induction_scores, previous_token_scores, repeated_sequence  # noqa: E402
from playground.roles import head_roles, roles_from_patterns  # noqa: E402

PROBES = ["xkcdqwertyjvxkcdqwertyjv", "vkbqzmxtwgjdvkbqzmxtwgjd"]  # a random string said twice
REPEATED = range(13, 23)  # the 10 predictions inside the second copy that copying can make
LENGTHS = (4, 6, 8, 12, 16, 24, 30)


def r(x, n=3):
    return np.round(np.asarray(x, dtype=float), n).tolist()


def main(name: str = "induction") -> dict:
    bundle = api.load_model(name)
    cfg = bundle.model.cfg
    heads = [(layer, head) for layer in range(cfg.n_layers) for head in range(cfg.n_heads)]
    out: dict = {"card": {k: bundle.card.get(k) for k in ("val_loss", "train_seconds", "steps_done", "command")}}

    out["roles"] = {}
    for probe in PROBES:
        roles = head_roles(bundle, probe)
        out["roles"][probe] = {"strongest": roles.strongest, "score": r(roles.strongest_score),
                               "previous-token": r(roles.scores["previous-token"]),
                               "local": r(roles.scores["local"]), "induction": r(roles.scores["induction"]),
                               "first-token": r(roles.scores["first-token"])}
    result = api.inspect(bundle, PROBES[0])
    probs = result.logits[-1].softmax(-1)
    nxt = bundle.tokenizer.encode_ids(PROBES[0][0])[0]
    out["p_next_letter_of_copy"] = round(float(probs[nxt]), 3)

    letters = [bundle.tokenizer.encode_ids(c)[0] for c in string.ascii_lowercase]
    out["induction_by_length"] = {
        half: r(np.mean([induction_scores(bundle.model, repeated_sequence(letters, half, seed=s), half)
                         for s in range(8)], 0)) for half in LENGTHS}
    out["previous_token_random"] = r(previous_token_scores(bundle.model, repeated_sequence(letters, 16, seed=99)))

    table = []
    for off in [[]] + [[h] for h in heads] + [[(1, h) for h in range(cfg.n_heads)]]:
        row = {"off": [f"L{a}H{b}" for a, b in off]}
        for probe in PROBES:
            for mode in ("zero", "mean"):
                ab = ablate(bundle, probe, heads=off, mode=mode)
                after = roles_from_patterns(ab.patterns_after, api.inspect(bundle, probe).ids)
                row[f"{probe[:4]}.{mode}"] = {"text": round(ab.loss_after, 3),
                                              "repeated": round(ab.loss_on(REPEATED)[1], 3),
                                              "L1_induction": r(after.scores["induction"][1], 2)}
        table.append(row)
    out["ablation"] = table

    val = load_corpus("induction", seed=0, size=100_000).val
    out["held_out"] = {"clean": round(held_out_loss(bundle, val, max_windows=200), 3)}
    for off in [[h] for h in heads] + [[(1, h) for h in range(cfg.n_heads)]]:
        loss = held_out_loss(bundle, val, heads=off, max_windows=200)
        out["held_out"]["+".join(f"L{a}H{b}" for a, b in off)] = round(loss, 3)

    history = api.load_history(name) if name in api.history_names() else load_history(name)
    if history is None:  # a checkpoint trained without --probe has no recording
        out["history"] = None
    else:
        scores = history.induction_scores()  # (S, L, H)
        best = scores[:, 1].max(-1)
        passed = [s for s, b in zip(history.steps, best) if b >= 0.3]
        out["history"] = {"steps": history.steps, "best_L1_induction": r(best, 2),
                          "first_step_over_0.3": passed[0] if passed else None,
                          "val": list(zip(history.val_steps, r(history.val_losses)))}
    return out


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:]), indent=1, ensure_ascii=False))
