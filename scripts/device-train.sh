#!/usr/bin/env bash
# The bundled latent model's training on a lent H200 (issue 9: "when a session is lent the H200, spend it on this
# stage"), as one call of the device tool: its repo copy has no node and no network, only PyTorch.
#
#   run: bash scripts/device-train.sh MINUTES CONFIG_A:LR_A CONFIG_B:LR_B [sae]   e.g. 7 latent-scene-gpu:1e-3 latent-scene-gpu:2.5e-3 sae
#        (timeout_s ≥ MINUTES × 60 + 90; CLIPS=3000 for a quick try; INIT=path continues another U-ViT checkpoint)
#
# Builds the scene-state data set (400,000 clips: a GPU run reads windows 16× faster than the CPU's), then trains
# side by side on the one GPU, each for MINUTES: two continuations of the bundled U-ViT (models/shapesworld-latent/
# uvit.pt, or INIT), each with its models/shapesworld/train_latent.py config and learning rate, and with `sae` the scene
# autoencoder from its bundled weights. Checkpoints go to $OUT/uvit-a, $OUT/uvit-b and $OUT/sae every two minutes
# (slim: weights and EMA only, so each file stays under the tool's 16 MiB), so a run cut short still brings back its
# latest weights. Back on the CPU, scripts/eval-model.py and scripts/eval-jobs.py pick between them.
# Every run is one torchrun process on the one GPU (the library's loop, models/core/loop.py), each run on its own
# rendezvous port; `--redirects 1 --tee 1` because Debian's torch 1.13 torchrun fails on Python 3.11 with the default.
set -u
train() {  # $1: master port, then the module and its options
  port=$1
  shift
  torchrun --nnodes 1 --nproc_per_node 1 --master_port "$port" --redirects 1 --tee 1 -m "$@"
}
# The footage model (models/footage/train.py, config footage-motion-gpu) from its shipped weights:
#   bash scripts/device-train.sh footage MINUTES   (carry .devicepack/footage-motion-64x48.pt: the device has neither
#   ffmpeg nor node to read the clips and measure their flows; make it here after `npm run build` with
#   `/usr/bin/python3 -m models.footage.train --config footage-motion-gpu --data-cache .devicepack/footage-motion-64x48.pt --steps 0 --out /tmp/x`.
#   It is about 120 MB, over the device tool's 64 MiB working tree: until the cache is made smaller, this runs only
#   where the cache can be copied in some other way)
if [ "${1:-}" = footage ]; then
  out=${OUT:?OUT is the device tool\'s output folder}
  # Slim checkpoints: the optimiser's state would take one past the tool's 16 MiB; weights and EMA come back.
  train 29511 models.footage.train --config footage-motion-gpu --init models/footage-weights/uvit.pt --data-cache .devicepack/footage-motion-64x48.pt \
    --max-minutes "${2:?minutes}" --checkpoint-minutes 2 --slim-checkpoints --out /tmp/footage || exit 1
  cp /tmp/footage/last.pt "$out/footage.pt"
  tail -n 3 /tmp/footage/loss.csv
  exit 0
fi
minutes=${1:?minutes} run_a=${2:?config_a:lr_a} run_b=${3:?config_b:lr_b} with_sae=${4:-}
init=${INIT:-models/shapesworld-latent/uvit.pt}
out=${OUT:?OUT is the device tool\'s output folder}
export PYTHONUNBUFFERED=1 TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'
data=/tmp/scene-latents.pt
train 29510 models.shapesworld.train_latent --config latent-scene-gpu --ae scene-state --data $data --clips "${CLIPS:-400000}" \
  --build-workers 14 --steps 0 --out /tmp/build-only || exit 1
uvit() {  # $1: run name, $2: config:learning rate, $3: master port
  train "$3" models.shapesworld.train_latent --config "${2%%:*}" --ae scene-state --data $data --loader-workers 5 --slim-checkpoints \
    --init "$init" --cosine --lr "${2##*:}" --max-minutes "$minutes" --checkpoint-minutes 2 \
    --out "$out/$1" > "/tmp/$1.log" 2>&1
}
runs="uvit-a uvit-b"
uvit uvit-a "$run_a" 29511 & uvit uvit-b "$run_b" 29512 &
if [ "$with_sae" = sae ]; then
  runs="$runs sae"
  train 29513 models.shapesworld.train_scene_ae --config scene-bundled --batch 128 --init models/shapesworld-latent/scene-ae.pt \
    --loader-workers 4 --max-minutes "$minutes" --checkpoint-minutes 2 --slim-checkpoints --out "$out/sae" > /tmp/sae.log 2>&1 &
fi
while jobs -r | grep -q .; do  # progress every 30 s, one line a run
  sleep 30
  for run in $runs; do echo "$run $(tail -n 1 /tmp/$run.log)"; done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
done
wait
for run in $runs; do echo "== $run"; grep -v '"event": "step"' /tmp/$run.log | tail -n 20; done | tee "$out/logs.txt"
ls -la "$out"/*
