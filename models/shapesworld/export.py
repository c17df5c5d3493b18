"""Exports a trained ShapesWorld U-ViT checkpoint to a Longshot model package (models/PACKAGE.md) and verifies
that onnxruntime (onnxruntime-node: there is no onnxruntime for Python on our machines) and PyTorch agree.

  /usr/bin/python3 -m models.shapesworld.export --checkpoint models/shapesworld-latent/uvit.pt --autoencoder models/shapesworld-latent/scene-ae.pt \
      --draw-scale 4 --read-scale 2 --guidance 2 --out /tmp/shapesworld-uvit --name shapesworld-uvit   # the bundled weights; its card has the release command
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

from ..core.checkpoints import CheckpointError, uvit_of
from ..core.package_export import UVIT_INPUTS as INPUTS, export_uvit, file_entries, uvit_io, verify
from ..core.sampling import GUIDANCE_T_MIN
from ..core.schedule import COSINE_S, T_MAX
from .checkpoints import FRAME_AE, LATENT_UVIT, PIXEL_UVIT, SCENE_AE, autoencoder_of, drawing_decoder, latent_space, read, scene_uvit_of
from .footage_reading import package_encoder
from .grammar import VOCABULARY, sample_split
from .text import tokenize
from .world import render_prompt


def example_inputs(cfg, batch: int, seed: int):
    """Inputs of one U-ViT call: x of the package's shape (frames, or latents for a latent U-ViT), the rest alike."""
    g = torch.Generator().manual_seed(seed)
    frame = (cfg.latent,) if hasattr(cfg, "latent") else (cfg.channels, cfg.height, cfg.width)
    x = torch.randn(batch, cfg.frames, *frame, generator=g)
    known = torch.zeros(batch, cfg.frames)
    known[:, : cfg.context_frames] = 1
    t = torch.rand(batch, generator=g) * T_MAX
    fps = torch.tensor([24.0, 29.97][:batch] + [25.0] * max(0, batch - 2))
    # Red comes before blue in the palette: a slot-conditioned U-ViT's clause swap is part of what is verified.
    tokens = tokenize(["a large blue square moves left and a red circle bounces on a gray background", ""][:batch] + [""] * max(0, batch - 2), cfg.text_len)
    return x, known, t, fps, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a U-ViT checkpoint of models/shapesworld/train_latent.py or train.py")
    ap.add_argument("--weights", choices=["ema", "raw"], default="ema",
                    help="the checkpoint's EMA average (default) or its raw weights (for runs too short for the EMA)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--description", default="U-ViT video diffusion model trained on ShapesWorld v1")
    ap.add_argument("--steps", type=int, default=12, help="default sampler steps written to model.json")
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--guidance-t-min", type=float, default=GUIDANCE_T_MIN, help="guidance applies at noise levels t >= this only "
                    "(model.json's guidance_interval; 0: at every step)")
    ap.add_argument("--autoencoder", help="the frame autoencoder checkpoint of a latent U-ViT checkpoint (train_scene_ae.py or train_autoencoder.py)")
    ap.add_argument("--draw-scale", type=int, default=1, help="the decoder draws frames this many times the native size (a scene "
                    "autoencoder renders its scene state at any size: drawn at the output size, seams and edges are the renderer's)")
    ap.add_argument("--read-scale", type=int, default=1, help="the encoder reads reference frames this many times the native size "
                    "and refines its reading against them by render and compare (a scene autoencoder only: models/shapesworld/footage_reading.py)")
    a = ap.parse_args()
    try:
        state = read(a.checkpoint, LATENT_UVIT, PIXEL_UVIT)
        if state["kind"] == LATENT_UVIT:
            if not a.autoencoder:
                ap.error(f"--checkpoint {a.checkpoint} is a latent U-ViT: give its --autoencoder too")
            export_latent(a, state)
        else:
            export_pixel(a, state)
    except CheckpointError as e:
        raise SystemExit(str(e)) from None


def export_pixel(a, state: dict) -> None:
    """A `space: "pixel"` package: uvit.onnx over frames, the vocabulary and model.json, verified in onnxruntime-node."""
    model = uvit_of(state, a.weights)
    cfg = model.cfg
    trained = {"config": state["config"], "steps": state["step"], "seed": state["seed"], "weights": a.weights}
    model.set_exporting(True)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "uvit.onnx"
    # 1. ONNX, opset 17, attention as com.microsoft::MultiHeadAttention, dynamic batch.
    export_uvit(model, example_inputs(cfg, 2, 0), onnx_path)
    # 2. Tokenizer vocabulary.
    (out / "vocab.json").write_text(json.dumps({"type": "word", "lowercase": True, "max_length": cfg.text_len, "tokens": VOCABULARY}, indent=1))
    # 3. model.json with the hash of every file.
    shape = ["B", cfg.frames, cfg.channels, cfg.height, cfg.width]
    architecture = {"type": "uvit-video", "width": cfg.width_dim, "depth": cfg.depth, "heads": cfg.heads, "patch": list(cfg.patch),
                    "params": sum(p.numel() for p in model.parameters()), "tokens": cfg.patch_tokens + 2 + cfg.text_len}
    manifest = {"format": "longshot-model/1", **common_manifest(a, architecture, trained, cfg.frames, cfg.context_frames, cfg.text_len, shape),
                "space": "pixel", "native": {"width": cfg.width, "height": cfg.height}, "files": file_entries(out)}
    (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"event": "exported", "out": str(out), "onnx_bytes": onnx_path.stat().st_size}))

    # 4. Same inputs through PyTorch and onnxruntime-node.
    model.set_exporting(False)
    inputs = example_inputs(cfg, 2, 1)
    with torch.no_grad():
        expected = model(*inputs)
    verify(out, "uvit.onnx", dict(zip(INPUTS, inputs)), "v", expected)


def common_manifest(a, architecture: dict, trained: dict, frames: int, context: int, text_len: int, x_shape: list) -> dict:
    """The fields every package has (models/PACKAGE.md); the caller adds its space's own."""
    return {
        "name": a.name, "version": a.version, "description": a.description, "domain": "shapesworld", "jobs": ["broll", "extend", "fill"],
        "architecture": architecture, "training": trained,
        "channels": 3, "frames_per_window": frames, "context_frames": context, "fps_range": [6, 60], "value_range": [-1, 1],
        "schedule": {"type": "cosine", "s": COSINE_S, "t_min": 0.0, "t_max": T_MAX}, "prediction": "v",
        "defaults": {"steps": a.steps, "guidance": a.guidance, "sampler": "dpmpp-2m"},
        "guidance_interval": {"t_min": a.guidance_t_min},
        **uvit_io(frames, x_shape, text_len),
    }


class _Graph(torch.nn.Module):
    """One method of a module as the forward of an exportable module."""

    def __init__(self, module: torch.nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.module, self.method)(x)


def export_latent(a, state: dict) -> None:
    """A `space: "latent"` package: encoder.onnx (frames → codes), decoder.onnx (codes → frames), uvit.onnx over the
    normalised codes ((code − shift) · scale), the vocabulary and model.json; each graph verified in onnxruntime-node."""
    model = scene_uvit_of(state, a.weights)
    ae_state = read(a.autoencoder, FRAME_AE, SCENE_AE)
    ae = autoencoder_of(ae_state)
    if latent_space(a.autoencoder) != state["latent_space"]:
        raise SystemExit(f"--autoencoder {a.autoencoder} is not the autoencoder the U-ViT was trained on: its latents mean "
                 f"{latent_space(a.autoencoder)}, the U-ViT's {state['latent_space']}")
    cfg, m = model.cfg, ae.cfg
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    reader = package_encoder(ae, a.read_scale)
    # Verified on frames of the world: the reader's accepted steps follow its error, which on noise ties to the last bit.
    frames = render_prompt(sample_split(random.Random(1), held_out=True), 3 / 24, 24, m.height * a.read_scale, m.width * a.read_scale, seed=1)
    frames = frames.float() / 127.5 - 1
    with torch.no_grad():
        codes = reader(frames)
    drawer = drawing_decoder(ae, a.draw_scale)
    graphs = {"encoder.onnx": (reader, frames, "frames", "latent"), "decoder.onnx": (_Graph(drawer, "decode"), codes, "latent", "frames")}
    for file, (graph, example, name_in, name_out) in graphs.items():
        with torch.no_grad():
            torch.onnx.export(graph, (example,), str(out / file), input_names=[name_in], output_names=[name_out],
                              dynamic_axes={name_in: {0: "N"}, name_out: {0: "N"}}, opset_version=17, do_constant_folding=True)
    inputs = example_inputs(cfg, 2, 0)
    with torch.no_grad():
        torch.onnx.export(model, inputs, str(out / "uvit.onnx"), input_names=INPUTS, output_names=["v"],
                          dynamic_axes={name: {0: "B"} for name in INPUTS + ["v"]}, opset_version=17, do_constant_folding=True)
    (out / "vocab.json").write_text(json.dumps({"type": "word", "lowercase": True, "max_length": cfg.text_len, "tokens": VOCABULARY}, indent=1))
    trained = {"config": state["config"], "steps": state["step"], "seed": state["seed"], "weights": a.weights,
               "autoencoder": {"config": ae_state["config"], "steps": ae_state["step"], "seed": ae_state["seed"]}}
    if "averaged" in state:  # scripts/average-checkpoints.py: the second checkpoint's share and both step counts
        trained["averaged"] = {"weight": state["averaged"]["weight"], "steps": state["averaged"]["steps"]}
    params = sum(p.numel() for p in model.parameters())
    architecture = {"type": "latent-uvit-video", "width": cfg.width_dim, "depth": cfg.depth, "heads": cfg.heads,
                    "frames_per_token": cfg.frames_per_token, "params": params, "autoencoder_params": sum(p.numel() for p in ae.parameters()),
                    "tokens": 2 + cfg.text_len + cfg.video_tokens}
    frame_shape = ["N", 3, m.height * a.read_scale, m.width * a.read_scale]
    manifest = {"format": "longshot-model/2", **common_manifest(a, architecture, trained, cfg.frames, cfg.context_frames, cfg.text_len,
                                                                 ["B", cfg.frames, cfg.latent])}
    manifest["space"] = "latent"
    manifest["native"] = {"width": m.width, "height": m.height}
    manifest["latent"] = {
        "shape": [cfg.latent],
        "shift": [float(v) for v in state["latent_shift"]],
        "scale": [float(v) for v in state["latent_scale"]],
        "encoder": {"file": "encoder.onnx", "input": {"name": "frames", "dtype": "float32", "shape": frame_shape},
                    "output": {"name": "latent", "dtype": "float32", "shape": ["N", cfg.latent]}},
        "decoder": {"file": "decoder.onnx", "input": {"name": "latent", "dtype": "float32", "shape": ["N", cfg.latent]},
                    "output": {"name": "frames", "dtype": "float32", "shape": ["N", 3, drawer.cfg.height, drawer.cfg.width]}},
    }
    manifest["files"] = file_entries(out)
    (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"event": "exported", "out": str(out), "bytes": {f: (out / f).stat().st_size for f in ("uvit.onnx", "encoder.onnx", "decoder.onnx")}}))
    with torch.no_grad():
        verify(out, "encoder.onnx", {"frames": frames}, "latent", codes)
        verify(out, "encoder.onnx", {"frames": frames[:2]}, "latent", codes[:2])   # another frame count: N is dynamic
        verify(out, "decoder.onnx", {"latent": codes}, "frames", drawer.decode(codes))
        inputs = example_inputs(cfg, 2, 1)
        verify(out, "uvit.onnx", dict(zip(INPUTS, inputs)), "v", model(*inputs))


if __name__ == "__main__":
    main()
