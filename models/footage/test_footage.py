"""The footage model's training and export on CPU: windows in the engine's layouts, a run that stops and resumes
where it was, the same run as two DDP processes (the environment torchrun gives them), and a package that
onnxruntime-node runs as PyTorch does."""
import json
import os
import socket
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
MOTION_CACHE_FILE = str(Path(CACHE.name) / "footage-motion-16x16.pt")  # with the clips' flows (node, dist/clip-flows.cjs)


def train(out: str, *flags: str, env: dict | None = None, config: str = "footage-tiny") -> list[dict]:
    cache = MOTION_CACHE_FILE if "motion" in config else CACHE_FILE
    result = subprocess.run([sys.executable, "-m", "models.footage.train", "--config", config, "--out", out, "--threads", "1",
                             "--data-cache", cache, *flags],
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
            self.assertNotIn("motion_latent", manifest)

    def test_motion_config_trains_from_widened_rgb_weights_and_resumes(self):
        from models.footage.train import CONFIGS, widen_to_motion
        from models.core.checkpoints import load_checkpoint, uvit_of
        with tempfile.TemporaryDirectory() as tmp:
            rgb_run, motion_run = Path(tmp) / "rgb", Path(tmp) / "motion"
            train(str(rgb_run), "--steps", "20")
            # Widened, the network draws the picture as the RGB one did, whatever the flow inputs, and the flow channels
            # are the nearest known frame's (the last velocity carried on).
            widened = load_checkpoint(widen_to_motion(str(rgb_run / "last.pt"), CONFIGS["footage-motion-tiny"].model.to_json(), motion_run))
            rgb_net, motion_net = uvit_of(load_checkpoint(rgb_run / "last.pt"), "ema"), uvit_of(widened, "ema")
            g = torch.Generator().manual_seed(0)
            x = torch.randn(2, 8, 5, 16, 16, generator=g)
            known = torch.zeros(2, 8)
            known[:, :3] = 1
            args = (known, torch.tensor([0.3, 0.9]), torch.tensor([30.0, 12.0]), torch.zeros(2, 1, dtype=torch.long))
            with torch.no_grad():
                rgb_out = rgb_net.network(x[:, :, :3], *args)
                motion_out = motion_net.network(x, *args)
                shuffled = motion_net.network(torch.cat([x[:, :, :3], torch.randn(2, 8, 2, 16, 16, generator=g)], dim=2), *args)
            torch.testing.assert_close(motion_out[:, :, :3], rgb_out, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(shuffled[:, :, :3], rgb_out, atol=1e-5, rtol=1e-4)
            # (nearest_known is a soft argmin: the next known frame leaks in at e^-8 of the nearest's weight.)
            torch.testing.assert_close(motion_out[:, 3:, 3:], x[:, 2:3, 3:].expand(-1, 5, -1, -1, -1), atol=5e-3, rtol=0)
            # A few steps of the motion config from those weights, then resumed: the loss is finite throughout.
            events = train(str(motion_run), "--steps", "20", "--init-rgb", str(rgb_run / "last.pt"), config="footage-motion-tiny")
            resumed = train(str(motion_run), "--steps", "40", "--resume", config="footage-motion-tiny")
            losses = [e["loss"] for e in events + resumed if e["event"] == "step"]
            self.assertEqual(len(losses), 2)
            self.assertTrue(all(np.isfinite(losses)), losses)
            self.assertEqual(resumed[-1]["step"], 40)
            state = load_checkpoint(motion_run / "last.pt")
            self.assertEqual((state["model_config"]["channels"], state["config"]["motion"]["flow_scale"]), (5, 1.0))
            # Exported, model.json says what the channels hold; onnxruntime-node agrees with PyTorch.
            out = Path(tmp) / "package"
            result = subprocess.run([sys.executable, "-m", "models.footage.export", "--checkpoint", str(motion_run / "last.pt"), "--out", str(out),
                                     "--name", "ci-footage-motion", "--version", "0.0.1"], cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr[-2000:])
            self.assertTrue(json.loads(result.stdout.strip().splitlines()[-1])["ok"])
            manifest = json.loads((out / "model.json").read_text())
            self.assertEqual((manifest["channels"], manifest["motion_latent"]), (5, {"channels": ["r", "g", "b", "flow_x", "flow_y"], "flow": "backward",
                                                                                     "flow_scale": 1.0, "flow_measure_factor": 2}))

    def test_two_ddp_processes(self):
        with tempfile.TemporaryDirectory() as tmp:
            with socket.socket() as probe:  # a free port: a fixed one may be held by another run on this machine
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}
            train(tmp, "--steps", "0")  # the footage cache, made before two processes would both write it
            procs = [subprocess.Popen([sys.executable, "-m", "models.footage.train", "--config", "footage-tiny", "--out", tmp, "--steps", "10", "--threads", "1",
                                       "--data-cache", CACHE_FILE],
                                      cwd=ROOT, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for r in range(2)]
            try:
                outputs = [p.communicate(timeout=300) for p in procs]
            finally:
                for p in procs:  # a rank left waiting on the other would otherwise outlive the test
                    p.kill()
            for p, (_, err) in zip(procs, outputs):
                self.assertEqual(p.returncode, 0, err[-2000:])
            done = [json.loads(line) for line in outputs[0][0].splitlines() if line.startswith("{\"event\": \"done\"")]
            self.assertEqual(done[-1]["step"], 10)
            self.assertTrue((Path(tmp) / "last.pt").exists())


if __name__ == "__main__":
    unittest.main()
