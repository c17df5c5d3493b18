"""CI's training check: the tiny configuration learns on CPU (two DDP processes under torchrun, as the CPU trains) and its export runs in onnxruntime-node."""
import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.core.sampling import GUIDANCE_T_MIN  # noqa: E402


class TrainExportTest(unittest.TestCase):
    def test_tiny_training_lowers_the_loss_and_exports(self):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "--master_port", "29621",
                            "-m", "models.shapesworld.train", "--config", "cpu-tiny", "--steps", "300", "--log-every", "10", "--out", tmp],
                           cwd=ROOT, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            with open(Path(tmp) / "loss.csv") as f:
                losses = [float(row["denoising"]) for row in csv.DictReader(f)]
            first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
            self.assertLess(last, 0.9 * first, f"loss {first:.4f} → {last:.4f}")
            out = Path(tmp) / "package"
            result = subprocess.run([sys.executable, "-m", "models.shapesworld.export", "--checkpoint", str(Path(tmp) / "last.pt"), "--out", str(out),
                                     "--name", "ci-tiny"], cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            verified = json.loads(result.stdout.strip().splitlines()[-1])
            self.assertTrue(verified["ok"])
            self.assertLess(verified["max_abs_error"], 1e-3)
            manifest = json.loads((out / "model.json").read_text())
            self.assertEqual(manifest["inputs"]["x"]["shape"][0], "B")
            self.assertEqual((manifest["space"], manifest["guidance_interval"]), ("pixel", {"t_min": GUIDANCE_T_MIN}))


if __name__ == "__main__":
    unittest.main()
