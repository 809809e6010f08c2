"""Print the README's table of shipped checkpoints from their card.json files (numbers are the cards')."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "assets" / "checkpoints"
ORDER = ["stories", "stories-char", "sort", "induction"]


def main() -> None:
    print("| checkpoint | corpus · tokenizer | size | train time | val loss | sample (seeded) |")
    print("|---|---|---|---|---|---|")
    for name in ORDER:
        path = ROOT / name / "card.json"
        if not path.exists():
            print(f"| `{name}` | (not built) | | | | |")
            continue
        card = json.loads(path.read_text(encoding="utf-8"))
        c = card["config"]
        shape = f"{c['n_layers']}L·{c['n_heads']}H·d{c['d_model']}·ctx{c['n_ctx']}"
        size = f"{shape}, {card['n_params'] / 1e6:.2f} M params"
        sample = card["sample"].strip().replace("\n", " ⏎ ").replace("|", "\\|")[:160]
        print(
            f"| `{name}` | {card['corpus']} · {card['tokenizer']} ({card['vocab_size']}) | {size} | "
            f"{card['train_seconds'] / 60:.1f} min | {card['val_loss']:.3f} | {sample} |"
        )
    print()
    for name in ORDER:
        path = ROOT / name / "card.json"
        if path.exists():
            print(f"    {json.loads(path.read_text(encoding='utf-8'))['command']}")


if __name__ == "__main__":
    main()
