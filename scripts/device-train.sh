#!/usr/bin/env bash
# The bundled latent model's training on a lent H200 (issue 9: "when a session is lent the H200, spend it on this
# stage"), as one call of the device tool: its repo copy has no node and no network, only PyTorch.
#
#   run: bash scripts/device-train.sh MINUTES LR_A LR_B      (timeout_s ≥ MINUTES × 60 + 90; CLIPS=3000 for a quick try)
#
# Builds the scene-state data set (400,000 clips: a GPU run reads windows 16× faster than the CPU's), then trains
# side by side on the one GPU, each for MINUTES: two continuations of the bundled U-ViT (models/shapesworld-latent/
# uvit.pt) at learning rates LR_A and LR_B, and the scene autoencoder from its bundled weights. Checkpoints go to
# $OUT/uvit-a, $OUT/uvit-b and $OUT/sae every two minutes (slim: weights and EMA only, so each file stays under the
# tool's 16 MiB), so a run cut short still brings back its latest weights. Back on the CPU, scripts/eval-model.py
# picks between them.
set -u
minutes=${1:?minutes} lr_a=${2:?lr_a} lr_b=${3:?lr_b}
out=${OUT:?OUT is the device tool\'s output folder}
export PYTHONUNBUFFERED=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'
data=/tmp/scene-latents.pt
python3 -m models.train_latent --config latent-scene-gpu --ae scene-state --data $data --clips "${CLIPS:-400000}" --workers 14 --steps 0 \
  --out /tmp/build-only || exit 1
uvit() {  # $1: run name, $2: learning rate
  python3 -m models.train_latent --config latent-scene-gpu --ae scene-state --data $data --loader-workers 5 --slim-checkpoints \
    --init models/shapesworld-latent/uvit.pt --cosine --lr "$2" --max-minutes "$minutes" --checkpoint-minutes 2 \
    --out "$out/$1" > "/tmp/$1.log" 2>&1
}
uvit uvit-a "$lr_a" & uvit uvit-b "$lr_b" &
python3 -m models.train_scene_ae --config scene-gpu --init models/shapesworld-latent/scene-ae.pt --loader-workers 4 \
  --max-minutes "$minutes" --checkpoint-minutes 2 --out "$out/sae" > /tmp/sae.log 2>&1 &
for _ in $(seq 1 $((minutes * 2 + 4))); do  # progress every 30 s, one line a run
  sleep 30
  for run in uvit-a uvit-b sae; do echo "$run $(tail -n 1 /tmp/$run.log)"; done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  jobs -r | grep -q . || break
done
wait
for run in uvit-a uvit-b sae; do echo "== $run"; grep -v '"event": "step"' /tmp/$run.log | tail -n 20; done | tee "$out/logs.txt"
ls -la "$out"/*
