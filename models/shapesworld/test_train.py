"""CI's training check: the tiny configuration learns on CPU (two workers, as the bundled model trains) and its export runs in onnxruntime-node."""
import csv
import json
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
            subprocess.run([sys.executable, "-m", "models.shapesworld.train", "--config", "cpu-tiny", "--steps", "300", "--out", tmp, "--threads", "1", "--workers", "2"],
                           cwd=ROOT, check=True, capture_output=True)
            with open(Path(tmp) / "loss.csv") as f:
                losses = [float(row[2]) for row in csv.reader(f)]
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
