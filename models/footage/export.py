"""Exports a footage U-ViT checkpoint (models/footage/train.py) to a model package (models/PACKAGE.md): the U-ViT
graph, a one-token vocabulary (no prompt yet), model.json saying what the model knows (domain "footage", jobs extend
and fill) and how its frames reach the timeline (footage_render "motion-transfer"). Verified in onnxruntime-node
against PyTorch. The shipped checkpoint lives beside the package, in models/footage-weights/uvit.pt, so the next
training run continues from it (--init).

  /usr/bin/python3 -m models.footage.export --checkpoint runs/footage/last.pt --out models/footage-uvit --version 0.1.0
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..core.schedule import COSINE_S, T_MAX
from ..core.checkpoints import CheckpointError, expect_kind, load_checkpoint, uvit_of
from ..core.package_export import UVIT_INPUTS, export_uvit, file_entries, uvit_io, verify
from ..core.uvit import UViTConfig
from .flows import MEASURE_FACTOR
from .train import KIND, RGB

DESCRIPTION = ("Extends and fills camera footage: a U-ViT samples the span's motion at 64x48 from the footage around it, "
               "and the footage's own frames are carried along that motion at the footage's size")


def example_inputs(cfg: UViTConfig, batch: int, seed: int) -> tuple:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg.frames, cfg.channels, cfg.height, cfg.width, generator=g)
    known = torch.zeros(batch, cfg.frames)
    known[:, : cfg.context_frames] = 1
    known[-1, -2:] = 1  # a fill's layout beside an extend's
    t = torch.rand(batch, generator=g) * T_MAX
    fps = torch.tensor([29.97, 10.0][:batch] + [25.0] * max(0, batch - 2))
    return x, known, t, fps, torch.zeros(batch, cfg.text_len, dtype=torch.long)


def motion_latent(state: dict) -> dict:
    """model.json's `motion_latent` (models/PACKAGE.md) of a motion checkpoint: what its channels hold and how the
    engine measures a known frame's flow, as training did (models/footage/flows.py)."""
    motion = state["config"].get("motion")
    if not motion:
        raise SystemExit(f"--checkpoint: {state['model_config']['channels']} channels but no motion settings in its config (not a footage-motion-* run)")
    return {"channels": ["r", "g", "b", "flow_x", "flow_y"], "flow": "backward", "flow_scale": motion["flow_scale"],
            "flow_measure_factor": MEASURE_FACTOR}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a footage-uvit checkpoint of models/footage/train.py")
    ap.add_argument("--weights", choices=["ema", "raw"], default="ema")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="footage-uvit")
    ap.add_argument("--version", required=True)
    ap.add_argument("--steps", type=int, default=12, help="default sampler steps written to model.json")
    ap.add_argument("--residual-gain", type=float, default=1.0, help="motion transfer: how much of the small residual the motion "
                    "cannot explain is added (model.json motion_transfer.residual_gain, 0-2)")
    ap.add_argument("--fill-residual-gain", type=float, help="the same in a fill, where both sides are real frames "
                    "(model.json motion_transfer.fill_residual_gain; default: --residual-gain)")
    ap.add_argument("--residual-smoothing", type=int, default=0, help="motion transfer: frames either side the residual is averaged over (0-8)")
    a = ap.parse_args()

    try:
        state = expect_kind(load_checkpoint(a.checkpoint), a.checkpoint, KIND)
    except CheckpointError as e:
        raise SystemExit(f"--checkpoint {e}") from None
    model = uvit_of(state, a.weights)
    cfg = model.cfg
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. The graph and the vocabulary of its one text token.
    model.set_exporting(True)
    export_uvit(model, example_inputs(cfg, 2, 0), out / "uvit.onnx")
    model.set_exporting(False)
    (out / "vocab.json").write_text(json.dumps({"type": "word", "lowercase": True, "max_length": cfg.text_len, "tokens": ["<pad>"]}, indent=1))

    # 2. model.json, with the hash of every file (the card, README.md, written before).
    shape = ["B", cfg.frames, cfg.channels, cfg.height, cfg.width]
    manifest = {
        "format": "longshot-model/2", "name": a.name, "version": a.version, "description": DESCRIPTION,
        "domain": "footage", "jobs": ["extend", "fill"], "footage_render": "motion-transfer",
        "architecture": {"type": "uvit-video", "width": cfg.width_dim, "depth": cfg.depth, "heads": cfg.heads, "patch": list(cfg.patch),
                         "params": sum(p.numel() for p in model.parameters()), "tokens": cfg.patch_tokens + 2 + cfg.text_len},
        "training": {"config": state["config"]["name"], "steps": state["step"], "seed": state["seed"], "weights": a.weights},
        "channels": cfg.channels, "frames_per_window": cfg.frames, "context_frames": cfg.context_frames, "fps_range": [5, 60],
        "value_range": [-1, 1], "schedule": {"type": "cosine", "s": COSINE_S, "t_min": 0.0, "t_max": T_MAX}, "prediction": "v",
        # No prompt conditions it yet, so guidance would only double the work.
        "defaults": {"steps": a.steps, "guidance": 1.0, "sampler": "dpmpp-2m"},
        **uvit_io(cfg.frames, shape, cfg.text_len),
        "space": "pixel", "native": {"width": cfg.width, "height": cfg.height},
        "motion_transfer": {"residual_gain": a.residual_gain, **({} if a.fill_residual_gain is None else {"fill_residual_gain": a.fill_residual_gain}),
                            "residual_smoothing": a.residual_smoothing},
    }
    if cfg.channels > RGB:
        manifest["motion_latent"] = motion_latent(state)
    manifest["files"] = file_entries(out)
    (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"event": "exported", "out": str(out), "onnx_bytes": (out / "uvit.onnx").stat().st_size}))

    # 3. The same inputs through PyTorch and onnxruntime-node.
    inputs = example_inputs(cfg, 2, 1)
    with torch.no_grad():
        expected = model(*inputs)
    verify(out, "uvit.onnx", dict(zip(UVIT_INPUTS, inputs)), "v", expected)


if __name__ == "__main__":
    main()
