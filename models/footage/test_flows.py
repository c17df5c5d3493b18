"""The motion latent's flow channels (models/footage/flows.py): a camera move's exact flow against the engine's
estimator, stride composition against the exact strided flow, and flips and time reversal keeping every window's
flows true to its frames (frame t drawn from its neighbour along them)."""
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.footage.data import FOOTAGE, PHOTO_SIZE, Window, WindowConfig, clip_window, photo_views, photo_window, sample_batch, FootageSet  # noqa: E402
from models.footage.flows import compose_flows, known_flows, measure_frame_flows, sample_at, view_flows  # noqa: E402


def read_photo(name: str) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(FOOTAGE / "photos" / name), "-vf", f"scale={PHOTO_SIZE[0]}:{PHOTO_SIZE[1]}:flags=area",
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(PHOTO_SIZE[1], PHOTO_SIZE[0], 3)


def endpoint_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])


def drawn_error(frames: np.ndarray, flows: np.ndarray, lag: int) -> float:
    """Mean |frame t − frame t−lag read along frame t's flow| over the frames that have a neighbour (levels), both
    softened by a 3x3 mean first: reading a sharp texture bilinearly between pixels blurs it, which would otherwise
    weigh as much as the motion."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    now = slice(max(lag, 0), len(x) - max(-lag, 0))
    then = slice(max(-lag, 0), len(x) - max(lag, 0))
    drawn = sample_at(x[then], torch.from_numpy(np.ascontiguousarray(flows[now])).float())
    return float((drawn - x[now]).abs()[..., 4:-4, 4:-4].mean())


class PhotoMoveFlowTest(unittest.TestCase):
    def test_exact_flow_agrees_with_the_engines_estimate(self):
        # A move rendered at 128x96, measured as the tool measures clips (at 128x96, averaged to 64x48), against the
        # exact flow averaged the same way. Mean endpoint error within 0.15 px of the 64x48 grid (measured: 0.117 on
        # aloeL moving 1.43 px a frame, 0.100 on baboon moving 0.62).
        cfg = WindowConfig(frames=8, width=128, height=96, motion=True)
        for seed, name in ((3, "aloeL.jpg"), (5, "baboon.jpg")):
            window = photo_window(cfg, read_photo(name), np.random.default_rng(seed))
            measured = measure_frame_flows(window.frames)
            exact_backward = F.avg_pool2d(torch.from_numpy(window.backward), 2).numpy() / 2
            exact_forward = F.avg_pool2d(torch.from_numpy(window.forward), 2).numpy() / 2
            self.assertGreater(float(np.hypot(exact_backward[:, 0], exact_backward[:, 1]).mean()), 0.5, f"{name}: the move should be a real one")
            self.assertLess(float(endpoint_error(measured[1:, 0], exact_backward[1:]).mean()), 0.15, name)
            self.assertLess(float(endpoint_error(measured[:-1, 1], exact_forward[:-1]).mean()), 0.3, name)
            self.assertEqual(float(np.abs(measured[0, 0]).max()), 0.0)   # no frame before the first

    def test_exact_flow_draws_each_frame_from_its_neighbour(self):
        cfg = WindowConfig(frames=8, motion=True)
        window = photo_window(cfg, read_photo("baboon.jpg"), np.random.default_rng(5))
        hold = drawn_error(window.frames, np.zeros_like(window.backward), 1)
        self.assertLess(drawn_error(window.frames, window.backward, 1), 0.4 * hold)
        self.assertLess(drawn_error(window.frames, window.forward, -1), 0.4 * hold)
        self.assertGreater(drawn_error(window.frames, -window.backward, 1), hold)  # the sign matters


class StrideAndTransformTest(unittest.TestCase):
    """A long camera move over a photo stands in for a clip: its stride-1 flows are exact, so strided windows,
    flips and reversals can be checked against exact answers."""

    def setUp(self):
        self.cfg = WindowConfig(frames=30, width=64, height=48, motion=True)
        self.clip = photo_window(self.cfg, read_photo("baboon.jpg"), np.random.default_rng(11))
        self.views = photo_views(self.cfg, PHOTO_SIZE[::-1], np.random.default_rng(11))  # the same draws: the same move
        self.flows = np.stack([self.clip.backward, self.clip.forward], axis=1)  # [T, 2, 2, H, W], as a clip's cache holds
        self.assertGreater(float(np.abs(self.clip.backward).mean()), 0.3)

    def test_composed_strides_match_the_exact_strided_flow(self):
        cx, cy, hw, hh = self.views
        for stride in (2, 3):
            exact = view_flows(cx, cy, hw, hh, 64, 48, stride).numpy()  # frames −1+stride … : index t+1 is frame t
            steps = [torch.from_numpy(self.clip.backward[stride - k: len(self.clip.backward) - k]) for k in range(stride)]
            composed = compose_flows(steps).numpy()                       # frames stride … T−1
            error = endpoint_error(composed, exact[1: 1 + len(composed)])[..., 6:-6, 6:-6]  # away from the border clamp
            self.assertLess(float(error.max()), 0.01, f"stride {stride}")

    def test_window_transforms_keep_flows_true_to_frames(self):
        cfg = WindowConfig(frames=8, width=64, height=48, motion=True, strides=(3,))
        window = clip_window(cfg, self.clip.frames, 30.0, np.random.default_rng(0), self.flows)
        self.assertEqual(window.fps, 10.0)
        variants = {"strided": window, "flipped": window.flipped(), "reversed": window.reversed(), "both": window.flipped().reversed()}
        for name, w in variants.items():
            hold = drawn_error(w.frames, np.zeros_like(w.backward), 1)
            self.assertLess(drawn_error(w.frames, w.backward, 1), 0.4 * hold, name)
            self.assertLess(drawn_error(w.frames, w.forward, -1), 0.4 * hold, name)
        # A flip's dx is negated: left unnegated, the mirrored flow draws the frames worse than holding them.
        flipped = variants["flipped"]
        wrong = flipped.backward.copy()
        wrong[:, 0] *= -1
        self.assertGreater(drawn_error(flipped.frames, wrong, 1), drawn_error(flipped.frames, np.zeros_like(wrong), 1))
        # Reversal twice is the window itself; the reversed window's backward flows are the forward ones reversed.
        twice = window.reversed().reversed()
        np.testing.assert_array_equal(twice.backward, window.backward)
        np.testing.assert_array_equal(variants["reversed"].backward, window.forward[::-1])


class MotionWindowTest(unittest.TestCase):
    def test_known_frames_flows_come_from_known_frames(self):
        backward = np.arange(8, dtype=np.float32).reshape(8, 1, 1, 1) * np.ones((8, 2, 2, 2), np.float32)
        known = np.array([1, 1, 0, 0, 1, 1, 0, 1], np.float32)
        out = known_flows(backward, known)[:, 0, 0, 0]
        # A run's first frame takes the second's flow; the rest keep theirs; a lone known frame has none.
        self.assertEqual(out.tolist(), [1, 1, 2, 3, 5, 5, 6, 0])

    def test_motion_batches_have_five_channels(self):
        clip_cfg = WindowConfig(frames=30, width=72, height=54, motion=True)
        clip = photo_window(clip_cfg, read_photo("baboon.jpg"), np.random.default_rng(2))
        flows = np.stack([clip.backward, clip.forward], axis=1).astype(np.float16)
        cfg = WindowConfig(frames=8, motion=True, photo_share=0.5, flow_scale=0.5)
        batch = sample_batch(FootageSet([("c", clip.frames, 30.0)], [read_photo("aero3.jpg")], [flows]), cfg, 6, np.random.default_rng(3))
        self.assertEqual(tuple(batch["x0"].shape), (6, 8, 5, 48, 64))
        self.assertTrue(bool((batch["x0"][:, :, :3].abs() <= 1).all()))
        self.assertGreater(float(batch["x0"][:, :, 3:].abs().mean()), 0.01)
        with self.assertRaisesRegex(ValueError, "motion=True"):
            sample_batch(FootageSet([("c", clip.frames, 30.0)], []), cfg, 1, np.random.default_rng(0))


if __name__ == "__main__":
    unittest.main()
