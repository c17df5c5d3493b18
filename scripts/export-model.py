"""Exports a trained ShapesWorld U-ViT checkpoint to a Longshot model package (models/PACKAGE.md) and verifies
that onnxruntime (onnxruntime-node: there is no onnxruntime for Python on our machines) and PyTorch agree.

  /usr/bin/python3 scripts/export-model.py --checkpoint models/shapesworld-uvit/checkpoints/last.pt \
      --out models/shapesworld-uvit --name shapesworld-uvit --version 0.1.0
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.diffusion import COSINE_S, T_MAX, tokenize  # noqa: E402
from models.shapesworld.grammar import VOCABULARY  # noqa: E402
from models.train import CONFIGS  # noqa: E402
from models.uvit import UViT, UViTConfig  # noqa: E402

INPUTS = ["x", "known", "t", "fps", "tokens"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def example_inputs(cfg: UViTConfig, batch: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg.frames, cfg.channels, cfg.height, cfg.width, generator=g)
    known = torch.zeros(batch, cfg.frames)
    known[:, : cfg.context_frames] = 1
    t = torch.rand(batch, generator=g) * T_MAX
    fps = torch.tensor([24.0, 29.97][:batch] + [25.0] * max(0, batch - 2))
    tokens = tokenize(["a red circle bounces and a large blue square moves left on a gray background", ""][:batch] + [""] * max(0, batch - 2), cfg.text_len)
    return x, known, t, fps, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="a train.py checkpoint")
    ap.add_argument("--weights", choices=["ema", "raw"], default="ema",
                    help="the checkpoint's EMA average (default) or its raw weights (for runs too short for the EMA)")
    ap.add_argument("--random-init", metavar="CONFIG", help="export an untrained model of a train.py config instead")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--description", default="U-ViT video diffusion model trained on ShapesWorld v1")
    ap.add_argument("--steps", type=int, default=12, help="default sampler steps written to model.json")
    ap.add_argument("--guidance", type=float, default=3.0)
    a = ap.parse_args()

    if a.checkpoint:
        state = torch.load(a.checkpoint, map_location="cpu")
        cfg = UViTConfig(**{**state["model_config"], "patch": tuple(state["model_config"]["patch"])})
        model = UViT(cfg)
        model.load_state_dict(state["ema" if a.weights == "ema" else "model"])
        trained = {"config": state["config"], "steps": state["step"], "seed": state["seed"], "weights": a.weights}
    elif a.random_init:
        cfg = replace(CONFIGS[a.random_init].model, vocab=len(VOCABULARY))
        model = UViT(cfg)
        trained = {"config": a.random_init, "steps": 0, "seed": None}
    else:
        ap.error("give --checkpoint or --random-init")
    model.eval()
    model.set_exporting(True)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "uvit.onnx"
    # 1. ONNX, opset 17, attention as com.microsoft::MultiHeadAttention, dynamic batch.
    dynamic = {name: {0: "B"} for name in INPUTS + ["v"]}
    with torch.no_grad():
        torch.onnx.export(model, example_inputs(cfg, 2, 0), str(onnx_path), input_names=INPUTS, output_names=["v"],
                          dynamic_axes=dynamic, opset_version=17, custom_opsets={"com.microsoft": 1}, do_constant_folding=True)
    # 2. Tokenizer vocabulary.
    (out / "vocab.json").write_text(json.dumps({"type": "word", "lowercase": True, "max_length": cfg.text_len, "tokens": VOCABULARY}, indent=1))
    # 3. model.json with the hash of every file.
    shape = ["B", cfg.frames, cfg.channels, cfg.height, cfg.width]
    manifest = {
        "format": "longshot-model/1",
        "name": a.name,
        "version": a.version,
        "description": a.description,
        "architecture": {"type": "uvit-video", "width": cfg.width_dim, "depth": cfg.depth, "heads": cfg.heads,
                         "patch": list(cfg.patch), "params": sum(p.numel() for p in model.parameters()),
                         "tokens": cfg.patch_tokens + 2 + cfg.text_len},
        "training": trained,
        "space": "pixel",
        "native": {"width": cfg.width, "height": cfg.height},
        "channels": cfg.channels,
        "frames_per_window": cfg.frames,
        "context_frames": cfg.context_frames,
        "fps_range": [6, 60],
        "value_range": [-1, 1],
        "schedule": {"type": "cosine", "s": COSINE_S, "t_min": 0.0, "t_max": T_MAX},
        "prediction": "v",
        "defaults": {"steps": a.steps, "guidance": a.guidance, "sampler": "dpmpp-2m"},
        "inputs": {
            "x": {"name": "x", "dtype": "float32", "shape": shape},
            "known": {"name": "known", "dtype": "float32", "shape": ["B", cfg.frames]},
            "t": {"name": "t", "dtype": "float32", "shape": ["B"]},
            "fps": {"name": "fps", "dtype": "float32", "shape": ["B"]},
            "text": {"name": "tokens", "dtype": "int64", "shape": ["B", cfg.text_len]},
        },
        "outputs": {"prediction": {"name": "v", "dtype": "float32", "shape": shape}},
        "tokenizer": {"type": "word", "file": "vocab.json", "max_length": cfg.text_len},
        "text_encoder": None,
        "weights_dtype": "float32",
        # Every file of the folder but model.json (a model card README.md written before the export included).
        "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
                  for p in sorted(out.iterdir()) if p.is_file() and p.name != "model.json"},
    }
    (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"event": "exported", "out": str(out), "onnx_bytes": onnx_path.stat().st_size}))

    # 4. Same inputs through PyTorch and onnxruntime-node.
    model.set_exporting(False)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = example_inputs(cfg, 2, 1)
        with torch.no_grad():
            expected = model(*inputs)
        for name, tensor in zip(INPUTS, inputs):
            (Path(tmp) / f"{name}.bin").write_bytes(tensor.numpy().tobytes())
        (Path(tmp) / "expected.bin").write_bytes(expected.numpy().tobytes())
        result = subprocess.run(["node", str(ROOT / "scripts" / "verify-export.cjs"), str(out), tmp], capture_output=True, text=True)
        print(result.stdout.strip() or result.stderr.strip())
        if result.returncode != 0:
            sys.exit(result.returncode)


if __name__ == "__main__":
    main()
