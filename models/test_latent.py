"""CI's checks of the latent model: the tiny autoencoder and latent U-ViT learn on CPU, padding words do not change
what a prompt means, and the export writes three graphs that onnxruntime-node runs as PyTorch does."""
import csv
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import torch

from models.diffusion import tokenize
from models.latent_uvit import LatentUViT, LatentUViTConfig

ROOT = Path(__file__).resolve().parents[1]


def losses(path: Path, column: int) -> list[float]:
    with open(path) as f:
        return [float(row[column]) for row in csv.reader(f)]


class LatentUViTTest(unittest.TestCase):
    def test_padding_words_do_not_change_the_prediction(self):
        torch.manual_seed(0)
        model = LatentUViT(LatentUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, text_len=24)).eval()
        for p in model.decoder_pred.parameters():  # zero-initialised; give it weights so the output depends on the words
            torch.nn.init.normal_(p, std=0.1)
        x, known = torch.randn(1, 8, 8), torch.zeros(1, 8)
        t, fps = torch.tensor([0.5]), torch.tensor([24.0])
        tokens = tokenize(["a red circle bounces"], 24)
        with torch.no_grad():
            padded = model.denoise(x, known, t, fps, tokens)
            trimmed = model.denoise(x, known, t, fps, tokens[:, :4])
            other = model.denoise(x, known, t, fps, tokenize(["a blue square falls"], 24))
        self.assertLess(float((padded - trimmed).abs().max()), 1e-5)
        self.assertGreater(float((padded - other).abs().max()), 1e-3)


class TinyLatentTrainingTest(unittest.TestCase):
    def test_tiny_autoencoder_and_latent_uvit_learn_and_export(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            run = lambda *args: subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True, text=True)
            run("-m", "models.train_autoencoder", "--config", "ae-tiny", "--steps", "200", "--grid-steps", "120", "--out", str(tmp / "ae"))
            ae_losses = losses(tmp / "ae" / "loss.csv", 3)
            self.assertLess(sum(ae_losses[-3:]) / 3, 0.7 * sum(ae_losses[:3]) / 3)
            run("-m", "models.train_latent", "--config", "latent-tiny", "--ae", str(tmp / "ae" / "last.pt"), "--data", str(tmp / "latents.pt"),
                "--clips", "64", "--steps", "150", "--workers", "2", "--out", str(tmp / "uvit"))
            uvit_losses = losses(tmp / "uvit" / "loss.csv", 2)
            self.assertLess(sum(uvit_losses[-5:]) / 5, 0.9 * sum(uvit_losses[:5]) / 5)
            result = run("scripts/export-model.py", "--checkpoint", str(tmp / "uvit" / "last.pt"), "--autoencoder", str(tmp / "ae" / "last.pt"),
                         "--out", str(tmp / "package"), "--name", "ci-latent")
            verified = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{") and '"verified"' in line]
            self.assertEqual(sorted(v["graph"] for v in verified), ["decoder.onnx", "encoder.onnx", "uvit.onnx"])
            self.assertTrue(all(v["ok"] and v["max_abs_error"] < 1e-3 for v in verified))
            manifest = json.loads((tmp / "package" / "model.json").read_text())
            self.assertEqual(manifest["space"], "latent")
            self.assertEqual(manifest["inputs"]["x"]["shape"], ["B", 8, 8])
            self.assertEqual(len(manifest["latent"]["shift"]), 8)
            self.assertEqual(set(manifest["files"]), {"uvit.onnx", "encoder.onnx", "decoder.onnx", "vocab.json"})


if __name__ == "__main__":
    unittest.main()
