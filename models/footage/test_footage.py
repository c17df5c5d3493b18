"""The footage model's training and export on CPU: windows in the engine's layouts, a run that stops and resumes
where it was, the same run as two DDP processes (the environment torchrun gives them), and a package that
onnxruntime-node runs as PyTorch does."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.footage.data import FootageSet, WindowConfig, known_mask, sample_batch  # noqa: E402
from models.core.uvit import nearest_known  # noqa: E402


# The training footage decoded once for every run of these tests (ffmpeg on ../shared/footage takes the most time).
CACHE = tempfile.TemporaryDirectory()
CACHE_FILE = str(Path(CACHE.name) / "footage-16x16.pt")


def train(out: str, *flags: str, env: dict | None = None) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "models.footage.train", "--config", "footage-tiny", "--out", out, "--threads", "1",
                             "--data-cache", CACHE_FILE, *flags],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise AssertionError(result.stderr[-3000:])
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{\"event\"")]


class FootageWindowsTest(unittest.TestCase):
    def test_masks_are_the_engine_layouts(self):
        cfg = WindowConfig(frames=16, context_frames=4)
        rng = np.random.default_rng(0)
        for _ in range(300):
            mask = known_mask(cfg, rng)
            runs = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]])))  # starts and ends of known runs
            self.assertGreaterEqual(int((mask == 0).sum()), 1)
            self.assertLessEqual(len(runs) // 2, 2)
            self.assertTrue(mask[0] == 1 or mask[-1] == 1, f"known frames neither at the head nor the tail: {mask}")
            for start, end in zip(runs[::2], runs[1::2]):
                self.assertLessEqual(end - start, cfg.context_frames)

    def test_batches_of_clips_and_photos(self):
        rng = np.random.default_rng(1)
        clip = rng.integers(0, 256, size=(40, 27, 36, 3), dtype=np.uint8)
        photo = rng.integers(0, 256, size=(216, 288, 3), dtype=np.uint8)
        cfg = WindowConfig(frames=8, height=24, width=32, context_frames=2, photo_share=0.5)
        batch = sample_batch(FootageSet([("c", clip, 30.0)], [photo]), cfg, 6, rng)
        self.assertEqual(tuple(batch["x0"].shape), (6, 8, 3, 24, 32))
        self.assertTrue(bool((batch["x0"].abs() <= 1).all()))
        self.assertEqual(tuple(batch["known"].shape), (6, 8))
        self.assertTrue(set(batch["fps"].tolist()) <= {30.0, 15.0, 10.0, 12.0, 24.0, 25.0, 29.97})

    def test_nearest_known_frame(self):
        x = torch.arange(6.0).view(1, 6, 1)
        out = nearest_known(x, torch.tensor([[1.0, 1, 0, 0, 0, 1]])).view(-1)
        self.assertAlmostEqual(float(out[2]), 1.0, places=2)   # nearer the head
        self.assertAlmostEqual(float(out[3]), 3.0, places=2)   # as near both: their mean
        self.assertAlmostEqual(float(out[4]), 5.0, places=2)   # nearer the tail


class FootageTrainingTest(unittest.TestCase):
    def test_stops_resumes_and_exports(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(train(tmp, "--steps", "20")[-1]["step"], 20)
            resumed = train(tmp, "--steps", "30", "--resume")
            # Resumed at 20, it never passes step 20 again (a run from scratch would log it on the way to 30).
            self.assertEqual([e for e in resumed if e["event"] == "step"], [])
            self.assertEqual(resumed[-1]["step"], 30)
            out = Path(tmp) / "package"
            result = subprocess.run([sys.executable, "-m", "models.footage.export", "--checkpoint", str(Path(tmp) / "last.pt"), "--out", str(out),
                                     "--name", "ci-footage", "--version", "0.0.1"], cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            verified = json.loads(result.stdout.strip().splitlines()[-1])
            self.assertTrue(verified["ok"])
            manifest = json.loads((out / "model.json").read_text())
            self.assertEqual((manifest["domain"], manifest["jobs"], manifest["footage_render"]), ("footage", ["extend", "fill"], "motion-transfer"))
            self.assertEqual(manifest["motion_transfer"], {"residual_gain": 1.0, "residual_smoothing": 0})

    def test_two_ddp_processes(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29611", "WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}
            train(tmp, "--steps", "0")  # the footage cache, made before two processes would both write it
            procs = [subprocess.Popen([sys.executable, "-m", "models.footage.train", "--config", "footage-tiny", "--out", tmp, "--steps", "10", "--threads", "1",
                                       "--data-cache", CACHE_FILE],
                                      cwd=ROOT, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for r in range(2)]
            outputs = [p.communicate(timeout=300) for p in procs]
            for p, (_, err) in zip(procs, outputs):
                self.assertEqual(p.returncode, 0, err[-2000:])
            done = [json.loads(line) for line in outputs[0][0].splitlines() if line.startswith("{\"event\": \"done\"")]
            self.assertEqual(done[-1]["step"], 10)
            self.assertTrue((Path(tmp) / "last.pt").exists())


if __name__ == "__main__":
    unittest.main()
