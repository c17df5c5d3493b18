"""Trains the footage U-ViT on camera footage (models/footage/data.py), with the library's loop (models/core/loop.py).

  /usr/bin/python3 -m models.footage.train --config footage-tiny --steps 20 --out /tmp/ft          # seconds (tests)
  /usr/bin/python3 -m models.footage.train --config footage-cpu --max-minutes 140 --out runs/footage \\
      --init models/footage-weights/uvit.pt                                                      # our 2-core CPU
  torchrun --nproc_per_node 8 -m models.footage.train --config footage-gpu --max-minutes 8 --out ckpt  # a GPU node

Motion-latent configs (footage-motion-*, issue 26) draw 5 channels a frame, RGB and the backward flow
(models/footage/flows.py); their footage cache holds the clips' flows too (made with node and `npm run build`):
  /usr/bin/python3 -m models.footage.train --config footage-motion-cpu --init-rgb models/footage-weights/uvit.pt \
      --data-cache runs/footage-motion-64x48.pt --threads 2 --max-minutes 140 --out runs/footage-motion
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.schedule import T_MAX, alpha_sigma
from ..core.loop import LoopConfig, LossObjective, RunArgs, run
from ..core.run_args import training_parser
from ..core.uvit import UViT, UViTConfig
from ..core.checkpoints import CheckpointError, expect_kind, load_checkpoint
from .data import WindowConfig, load_footage, sample_batch
from .flows import FLOW_SCALE

KIND = "footage-uvit"


RGB = 3  # a motion window's channels beyond these are its flow (dx, dy)


@dataclass
class FootageConfig:
    model: UViTConfig
    loop: LoopConfig
    # Motion configs: the loss is the mean squared error of the RGB channels plus flow_weight times that of the flow
    # channels, each averaged over its own values, so the motion the render follows counts as much as the picture
    # whatever the channel counts (flow_scale keeps the flow values about as large as the pixels').
    flow_weight: float = 1.0

    @property
    def motion(self) -> bool:
        return self.model.channels > RGB


def _model(width_dim: int, depth: int, frames: int = 16, height: int = 48, width: int = 64, patch=(4, 8, 8), decoder_hidden: int = 256,
           channels: int = RGB) -> UViTConfig:
    # No prompt yet: one all-padding token keeps the U-ViT's text slot (and the package's tokenizer) in place.
    return UViTConfig(frames=frames, height=height, width=width, channels=channels, patch=patch, width_dim=width_dim, depth=depth,
                      heads=4, vocab=1, text_len=1, context_frames=4, predict="x0", decoder_hidden=decoder_hidden, known_skip=True)


MOTION = RGB + 2
CONFIGS = {
    "footage-tiny": FootageConfig(_model(32, 3, frames=8, height=16, width=16, patch=(2, 8, 8), decoder_hidden=32), LoopConfig(batch=4, lr=1e-3, warmup=5, ema=0.9)),
    "footage-cpu": FootageConfig(_model(128, 7), LoopConfig(batch=24, lr=4e-4, warmup=200, ema=0.999, cosine_steps=12000)),
    "footage-gpu": FootageConfig(_model(128, 7), LoopConfig(batch=256, lr=1e-3, warmup=300, ema=0.9995, cosine_steps=20000)),
    "footage-motion-tiny": FootageConfig(_model(32, 3, frames=8, height=16, width=16, patch=(2, 8, 8), decoder_hidden=32, channels=MOTION),
                                         LoopConfig(batch=4, lr=1e-3, warmup=5, ema=0.9)),
    "footage-motion-cpu": FootageConfig(_model(128, 7, channels=MOTION), LoopConfig(batch=24, lr=4e-4, warmup=200, ema=0.999, cosine_steps=12000)),
    "footage-motion-gpu": FootageConfig(_model(128, 7, channels=MOTION), LoopConfig(batch=256, lr=1e-3, warmup=300, ema=0.9995, cosine_steps=20000)),
}


def denoising_loss(net: nn.Module, batch: dict, generator: torch.Generator, flow_weight: float = 1.0) -> torch.Tensor:
    """x0 error on the frames the window generates, at a noise level drawn uniformly; known frames enter clean. With
    flow channels (beyond the first 3), the RGB and the flow errors are each averaged over their own values and summed,
    the flow's times flow_weight (FootageConfig)."""
    x0, known, fps = batch["x0"], batch["known"], batch["fps"]
    b = x0.shape[0]
    t = torch.rand(b, generator=generator).to(x0.device) * T_MAX
    alpha, sigma = (s.view(-1, 1, 1, 1, 1) for s in alpha_sigma(t))
    eps = torch.randn(x0.shape, generator=generator).to(x0.device)
    mask = known.view(*known.shape, 1, 1, 1)
    x_t = mask * x0 + (1 - mask) * (alpha * x0 + sigma * eps)
    tokens = torch.zeros(b, 1, dtype=torch.long, device=x0.device)
    v = net(x_t, known, t, fps, tokens)
    x0_pred = alpha * x_t - sigma * v  # the package's v output back to the network's x0 (exact for predict="x0")
    generated = 1 - mask
    squared = (x0_pred - x0) ** 2 * generated
    values = generated.sum() * x0[0, 0, 0].numel()  # generated frames × pixels, per channel
    loss = squared[:, :, :RGB].sum() / (values * RGB).clamp(min=1)
    flow_channels = x0.shape[2] - RGB
    if flow_channels:
        loss = loss + flow_weight * squared[:, :, RGB:].sum() / (values * flow_channels).clamp(min=1)
    return loss


def widen_to_motion(rgb_checkpoint: str, model_config: dict, out: Path) -> Path:
    """An RGB footage checkpoint's EMA weights widened to a motion config's channels, saved as a checkpoint of that
    config (for --init): the patch embedding reads the flow channels with zero weights and the decoder predicts zero
    for them, so the widened network draws the picture as the RGB model did and carries the last known velocity on
    (its known_skip) until training teaches it how motion changes."""
    try:
        state = expect_kind(load_checkpoint(rgb_checkpoint), rgb_checkpoint, KIND)
    except CheckpointError as e:
        raise SystemExit(f"--init-rgb {e}") from None
    old = dict(state["model_config"])
    if old.get("channels") != RGB or {k: v for k, v in old.items() if k != "channels"} != {k: v for k, v in model_config.items() if k != "channels"}:
        raise SystemExit(f"--init-rgb {rgb_checkpoint}: not an RGB checkpoint of this config's model (only the channels may differ)")
    extra = model_config["channels"] - RGB
    weights = dict(state["ema"])
    # Patch embedding: inputs per patch position are (channels…, known mask), innermost (UViT.patchify).
    embed = weights["patch_embed.weight"]
    d = embed.shape[0]
    per_position = embed.view(d, -1, RGB + 1)
    zeros = per_position.new_zeros(d, per_position.shape[1], extra)
    weights["patch_embed.weight"] = torch.cat([per_position[..., :RGB], zeros, per_position[..., RGB:]], dim=-1).reshape(d, -1)
    # Patch decoder's last Linear: outputs per patch position are the channels, innermost (UViT.unpatchify).
    last = max(int(k.split(".")[1]) for k in weights if k.startswith("decoder_pred."))
    w, b = weights[f"decoder_pred.{last}.weight"], weights[f"decoder_pred.{last}.bias"]
    w = w.view(-1, RGB, w.shape[1])
    weights[f"decoder_pred.{last}.weight"] = torch.cat([w, w.new_zeros(w.shape[0], extra, w.shape[2])], dim=1).reshape(-1, w.shape[2])
    b = b.view(-1, RGB)
    weights[f"decoder_pred.{last}.bias"] = torch.cat([b, b.new_zeros(b.shape[0], extra)], dim=1).reshape(-1)
    widened = {**{k: v for k, v in state.items() if k != "opt"}, "model_config": model_config, "model": weights, "ema": weights}
    path = out / "init-widened.pt"
    out.mkdir(parents=True, exist_ok=True)
    torch.save(widened, path)
    return path


def main() -> None:
    ap = training_parser(__doc__, CONFIGS, "start from these weights (a footage-uvit checkpoint, e.g. the shipped models/footage-weights/uvit.pt)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads a process (0: torch's default)")
    ap.add_argument("--data-cache", type=Path, help="decoded footage: read from this file, or written there when it does not exist "
                    "(a motion config's holds the flows too: give it its own file)")
    ap.add_argument("--init-rgb", metavar="CHECKPOINT", help="a motion config starts from an RGB footage checkpoint of the same model, widened to "
                    "the flow channels (widen_to_motion)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = CONFIGS[a.config]
    m = cfg.model
    if a.init_rgb:
        if not cfg.motion or a.init:
            raise SystemExit("--init-rgb: only for a footage-motion-* config, instead of --init")
        a.init = str(widen_to_motion(a.init_rgb, m.to_json(), Path(a.out)))
    windows = WindowConfig(frames=m.frames, height=m.height, width=m.width, context_frames=m.context_frames, motion=cfg.motion, flow_scale=FLOW_SCALE)
    data = load_footage(m.width, m.height, cache=a.data_cache, motion=cfg.motion)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_process = max(1, cfg.loop.batch // world)
    rngs: dict[int, np.random.Generator] = {}

    def batches(rank: int, step: int) -> dict:
        rng = rngs.setdefault(rank, np.random.default_rng(a.seed * 7919 + rank))
        return sample_batch(data, windows, per_process, rng)

    print({"clips": [name for name, _, _ in data.clips], "frames": sum(len(f) for _, f, _ in data.clips), "photos": len(data.photos)}, flush=True)
    model = UViT(m)
    run_config = {"name": a.config, "loop": asdict(cfg.loop)}
    if cfg.motion:
        run_config["motion"] = {"flow_scale": FLOW_SCALE, "flow_weight": cfg.flow_weight}
    loss = lambda net, batch, generator: denoising_loss(net, batch, generator, cfg.flow_weight)  # noqa: E731
    run(KIND, LossObjective(model, loss), m.to_json(), run_config, cfg.loop, RunArgs.of(a), batches)


if __name__ == "__main__":
    main()
