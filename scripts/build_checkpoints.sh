#!/usr/bin/env bash
# Rebuilds every shipped checkpoint in assets/checkpoints/ (fixed seeds; README lists each command).
# Usage: bash scripts/build_checkpoints.sh [name ...]   (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/checkpoints
declare -A CMD=(
  [sort]="python -m playground train --corpus sort --size 2000000 --tokenizer char --vocab 16 --layers 2 --heads 2 --d-model 64 --ctx 48 --steps 1000 --batch 32 --lr 3e-3 --warmup 100 --eval-interval 250 --optimizer muon --precision float32 --seed 0 --threads 1 --sample-prompt 52819= --probe 7302581=0123578 --snapshots 30 --out $out/sort"
  [induction]="python -m playground train --corpus induction --size 3000000 --tokenizer char --vocab 32 --layers 2 --heads 2 --d-model 128 --ctx 64 --steps 3000 --batch 32 --lr 3e-3 --muon-lr 0.01 --warmup 100 --min-lr-ratio 0.1 --weight-decay 0.1 --beta2 0.99 --grad-clip 1.0 --eval-interval 250 --optimizer muon --precision auto --seed 0 --threads 1 --sample-prompt mxqwertyuabcqwert --probe vkbqzmxtwgjdvkbqzmxtwgjd --snapshots 30 --out $out/induction"
  [stories]="python -m playground train --corpus stories --tokenizer bpe --vocab 2048 --layers 4 --heads 4 --d-model 192 --ctx 128 --steps 1200 --batch 16 --lr 2e-3 --muon-lr 0.01 --warmup 100 --eval-interval 200 --optimizer muon --precision auto --seed 0 --threads 1 --sample-prompt Once --probe 'The dog saw the cat. The dog ran to the cat.' --snapshots 24 --out $out/stories"
  [stories-char]="python -m playground train --corpus stories --tokenizer char --layers 4 --heads 4 --d-model 128 --ctx 128 --steps 1000 --batch 16 --lr 2e-3 --warmup 100 --eval-interval 250 --optimizer muon --precision auto --seed 0 --threads 1 --sample-prompt Once --probe 'The dog saw the cat. The dog ran to the cat.' --snapshots 30 --out $out/stories-char"
  [translate-en-zh]="python -m playground train-translate --pairs 30000 --layers 2 --heads 4 --d-model 128 --d-mlp 256 --steps 300 --batch 64 --lr 3e-3 --muon-lr 0.005 --warmup 40 --optimizer muon --precision float32 --seed 0 --eval-pairs 1000 --eval-seed 1 --threads 1 --out $out/translate-en-zh"
)
names=("$@"); [ ${#names[@]} -eq 0 ] && names=(sort induction stories stories-char translate-en-zh)
for name in "${names[@]}"; do
  echo "== $name: ${CMD[$name]}"
  eval "${CMD[$name]}"
done
