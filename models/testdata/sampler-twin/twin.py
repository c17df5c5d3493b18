"""The Python side of the sampler twin's known-answer test (daemon/engine/sampler-twin.test.ts): builds a tiny pixel
U-ViT with random weights (its output layer too, so its x0 estimates leave [-1, 1] and the clip matters), exports it as
a package, and samples each window the test describes with models/core/sampling.py's sample_window from the engine's own
initial noise. The test runs the engine on the same package, noise and steps and compares the frames.

  /usr/bin/python3 models/testdata/sampler-twin/twin.py OUT_DIR CASES.json

CASES.json: { "cases": [{ "name", "tokens": [L ids], "known": [F flags], "known_frames": file of [F, 3, H, W] float32
(model values where known), "noise": file of [F, 3, H, W] float32, "steps", "guidance", "guidance_t_min", "fps",
"clip": true|false }] } (files relative to CASES.json). Writes OUT_DIR/package/ and OUT_DIR/<name>.bin, the window.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from models.core.schedule import COSINE_S, T_MAX  # noqa: E402
from models.core.package_export import export_uvit, file_entries, uvit_io  # noqa: E402
from models.core.sampling import sample_window  # noqa: E402
from models.core.uvit import UViT, UViTConfig  # noqa: E402

CONFIG = UViTConfig(frames=8, height=16, width=32, patch=(2, 8, 8), width_dim=32, depth=3, heads=2, vocab=6, text_len=4,
                    context_frames=2)
VOCABULARY = ["<pad>", "a", "red", "blue", "circle", "moves"]
GUIDANCE_T_MIN = 0.3   # model.json guidance_interval: the last steps unguided, as the bundled package's


def package(model: UViT, out: Path) -> None:
    cfg = model.cfg
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    example = (torch.randn(2, cfg.frames, 3, cfg.height, cfg.width, generator=g), torch.zeros(2, cfg.frames),
               torch.tensor([0.9, 0.2]), torch.tensor([24.0, 24.0]), torch.zeros(2, cfg.text_len, dtype=torch.long))
    model.set_exporting(True)
    export_uvit(model, example, out / "uvit.onnx")
    model.set_exporting(False)
    (out / "vocab.json").write_text(json.dumps({"type": "word", "lowercase": True, "max_length": cfg.text_len, "tokens": VOCABULARY}))
    shape = ["B", cfg.frames, 3, cfg.height, cfg.width]
    manifest = {
        "format": "longshot-model/1", "name": "sampler-twin", "version": "0.0.1", "description": "random weights: the sampler twin's test",
        "architecture": {"type": "uvit-video"}, "space": "pixel", "native": {"width": cfg.width, "height": cfg.height}, "channels": 3,
        "frames_per_window": cfg.frames, "context_frames": cfg.context_frames, "fps_range": [6, 60], "value_range": [-1, 1],
        "schedule": {"type": "cosine", "s": COSINE_S, "t_min": 0.0, "t_max": T_MAX}, "prediction": "v",
        "defaults": {"steps": 4, "guidance": 3.0, "sampler": "dpmpp-2m"}, "guidance_interval": {"t_min": GUIDANCE_T_MIN},
        **uvit_io(cfg.frames, shape, cfg.text_len), "files": file_entries(out),
    }
    (out / "model.json").write_text(json.dumps(manifest, indent=1))


def floats(path: Path, shape: tuple) -> torch.Tensor:
    return torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.float32).view(*shape).clone()


def main() -> None:
    out, cases_file = Path(sys.argv[1]), Path(sys.argv[2])
    torch.manual_seed(5)
    model = UViT(CONFIG)
    torch.nn.init.normal_(model.decoder_pred[-1].weight, std=0.3)   # zero-initialised for training: every x0 would be 0
    model.eval()
    package(model, out / "package")
    cfg = model.cfg
    window = (1, cfg.frames, 3, cfg.height, cfg.width)
    for case in json.loads(cases_file.read_text())["cases"]:
        known = torch.tensor([case["known"]], dtype=torch.float32)
        x_known = floats(cases_file.parent / case["known_frames"], window)
        noise = floats(cases_file.parent / case["noise"], window)
        tokens = torch.tensor([case["tokens"]], dtype=torch.long)
        x = sample_window(model, x_known, known, torch.tensor([float(case["fps"])]), tokens, case["steps"], case["guidance"],
                          torch.Generator(), case["guidance_t_min"], noise=noise, clip_range=(-1.0, 1.0) if case["clip"] else None)
        (out / f"{case['name']}.bin").write_bytes(x.contiguous().numpy().tobytes())


if __name__ == "__main__":
    main()
