"""How the shipped translator does on sentences written by hand, outside its training grammar.

    python -m bench.translate_handwritten

The card's 100% is measured on fresh sentences *from its own grammar*; these 22 sentences use
only words the model knows but sentence patterns the grammar never makes (an adjective before a
noun, a colour as the predicate, numbers and pronouns where the grammar has none, two clauses).
The references were written by hand in the grammar's own style (its names: Lily = 小白, Ben =
小刚, ...). Prints JSON: exact match, and how often the Translate tab's low-confidence notice
(a written character below `seq2seq.LOW_CONFIDENCE`) fires on the wrong and on the right ones.
"""

from __future__ import annotations

import json

import torch

from playground import seq2seq

HAND_WRITTEN = (
    ("Lily likes the red ball.", "小白喜欢红色的球。"),
    ("The frog is green.", "青蛙是绿色的。"),
    ("The small bird can sing.", "小鸟会唱歌。"),
    ("A small red fox chases two ducks.", "一只红色的小狐狸追两只鸭子。"),
    ("Lily and Ben like the big green kite.", "小白和小刚喜欢绿色的大风筝。"),
    ("The big dog sees the small cat.", "大狗看见小猫。"),
    ("Mia and Tom are happy.", "小花和明明很开心。"),
    ("Three ducks can swim.", "三只鸭子会游泳。"),
    ("Lucy gives the dog a book.", "兰兰给狗一本书。"),
    ("The fish is in the river.", "鱼在河里。"),
    ("Emma is a big white cat.", "小雪是一只白色的大猫。"),
    ("The pig is hungry and tired.", "猪又饿又累。"),
    ("Jack helps Anna and Rose.", "小军帮助丽丽和美美。"),
    ("Two cats are happy.", "两只猫很开心。"),
    ("She sees the rabbit.", "她看见兔子。"),
    ("He has a blue hat.", "他有一顶蓝色的帽子。"),
    ("The owl is not happy.", "猫头鹰不开心。"),
    ("Sam finds a yellow kite.", "小虎找到一只黄色的风筝。"),
    ("Leo and the horse are on the farm.", "小龙和马在农场里。"),
    ("The dog and the cat are tired.", "狗和猫很累。"),
    ("Rose can fly a kite.", "美美会放风筝。"),
    ("The bear is big and the rabbit is small.", "熊很大，兔子很小。"),
)


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
