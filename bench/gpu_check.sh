#!/usr/bin/env bash
# The device checks in one script, for a machine with CUDA GPUs (a few minutes on one GPU):
# the GPU tests, a torchrun run over every GPU (NCCL), and bench.device_check (CPU vs GPU).
#   bash bench/gpu_check.sh [output folder]        # figures: <folder>/device_check.txt
set -euo pipefail
out=${1:-${OUT:-runs/gpu-check}}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python -c "from playground import device; print('auto ->', device.describe())" | tee -a "$out/gpu.txt"
timeout 300 python -m pytest -q -rs tests/test_device.py 2>&1 | tee "$out/tests.txt"
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
timeout 300 torchrun --standalone --nproc_per_node="$gpus" -m playground train --device cuda --corpus stories \
    --size 400000 --tokenizer char --layers 4 --heads 4 --d-model 128 --ctx 128 --batch 32 --steps 300 \
    --out "$out/ddp" 2>&1 | tail -3 | tee "$out/torchrun.txt"
timeout 600 python -m bench.device_check --devices cpu cuda 2>&1 | tee "$out/device_check.txt"
