"""How the shipped translator does on sentences written by hand and kept out of its training data.

    python -m bench.translate_handwritten

The card's figure is measured on fresh sentences *from its own grammar*; these 22 sentences
were written by hand (for the first model, whose grammar had none of their patterns: an
adjective before a noun, a colour as the predicate, counts, pronouns, two clauses). The
translator's grammar (`translation_grammar`) now composes such patterns but never emits one of
these sentences, so they stay out of its training data. References in the grammar's style
(its names: Lily = 小白, Ben = 小刚, ...). Prints JSON: exact match, and how often the Translate
tab's low-confidence notice (a written character below `seq2seq.LOW_CONFIDENCE`) fires on the
wrong and on the right ones.
"""

from __future__ import annotations

import json

import torch

from playground import seq2seq
from playground.translation_grammar import HAND_WRITTEN  # held out: the grammar never makes them


def measure(translator: seq2seq.Translator | None = None) -> dict:
    translator = translator or seq2seq.load_builtin()
    rows = []
    for en, want in HAND_WRITTEN:
        result = translator.translate_with_attention(en)
        rows.append({"english": en, "reference": want, "got": result.text, "exact": result.text == want,
                     "flagged": bool(result.unsure), "lowest_confidence": round(float(result.confidence.min()), 3)})
    wrong = [r for r in rows if not r["exact"]]
    right = [r for r in rows if r["exact"]]
    return {
        "n": len(rows),
        "exact": len(right),
        "exact_match": round(len(right) / len(rows), 3),
        "wrong_flagged": sum(r["flagged"] for r in wrong),
        "wrong": len(wrong),
        "right_flagged": sum(r["flagged"] for r in right),
        "rows": rows,
    }


def main() -> None:
    torch.set_num_threads(1)
    print(json.dumps(measure(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
