"""What every model package export shares (models/PACKAGE.md): the U-ViT graph in ONNX, the inputs and outputs
model.json declares for it, file hashes, and the check that onnxruntime-node and PyTorch agree on the same inputs
(there is no onnxruntime for Python on our machines)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
UVIT_INPUTS = ["x", "known", "t", "fps", "tokens"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entries(out: Path) -> dict:
    """Every file of the folder but model.json (a model card README.md written before the export included)."""
    return {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(out.iterdir()) if p.is_file() and p.name != "model.json"}


def export_uvit(model: torch.nn.Module, example: tuple, path: Path) -> None:
    """The U-ViT as ONNX opset 17, attention as com.microsoft::MultiHeadAttention, batch dynamic."""
    dynamic = {name: {0: "B"} for name in UVIT_INPUTS + ["v"]}
    with torch.no_grad():
        torch.onnx.export(model, example, str(path), input_names=UVIT_INPUTS, output_names=["v"], dynamic_axes=dynamic,
                          opset_version=17, custom_opsets={"com.microsoft": 1}, do_constant_folding=True)


def uvit_io(frames: int, x_shape: list, text_len: int) -> dict:
    """model.json's inputs, outputs and tokenizer of a U-ViT graph exported by export_uvit."""
    return {
        "inputs": {
            "x": {"name": "x", "dtype": "float32", "shape": x_shape},
            "known": {"name": "known", "dtype": "float32", "shape": ["B", frames]},
            "t": {"name": "t", "dtype": "float32", "shape": ["B"]},
            "fps": {"name": "fps", "dtype": "float32", "shape": ["B"]},
            "text": {"name": "tokens", "dtype": "int64", "shape": ["B", text_len]},
        },
        "outputs": {"prediction": {"name": "v", "dtype": "float32", "shape": x_shape}},
        "tokenizer": {"type": "word", "file": "vocab.json", "max_length": text_len},
        "text_encoder": None,
        "weights_dtype": "float32",
    }


def verify(package: Path, graph: str, inputs: dict[str, torch.Tensor], output: str, expected: torch.Tensor) -> None:
    """Runs `graph` in onnxruntime-node on the same inputs PyTorch saw; prints the largest difference, exits on a mismatch."""
    with tempfile.TemporaryDirectory() as tmp:
        feeds = []
        for name, tensor in inputs.items():
            (Path(tmp) / f"{name}.bin").write_bytes(tensor.contiguous().numpy().tobytes())
            feeds.append({"name": name, "dtype": "int64" if tensor.dtype == torch.long else "float32", "dims": list(tensor.shape)})
        (Path(tmp) / "expected.bin").write_bytes(expected.contiguous().numpy().tobytes())
        (Path(tmp) / "feeds.json").write_text(json.dumps({"graph": graph, "inputs": feeds, "output": output}))
        result = subprocess.run(["node", str(ROOT / "scripts" / "verify-export.cjs"), str(package), tmp], capture_output=True, text=True)
        print(result.stdout.strip() or result.stderr.strip())
        if result.returncode != 0:
            sys.exit(result.returncode)
