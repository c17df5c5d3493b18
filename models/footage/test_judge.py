"""The footage judge on a synthetic clip with known answers: a textured square moving over a textured background.
The truth must pass every check; each way of getting it wrong must fail the check meant to catch it. numpy only."""
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np

from .baselines import crossfade, hold, soften
from .judge import area_resample, judge_case, judged_size

FPS = 24.0
H, W, SQUARE, SPEED = 96, 128, 32, 2     # px, px, px, px a frame


def scene(frames: int, seed: int = 0) -> np.ndarray:
    """uint8 [frames, H, W, 3]: a square of 8 px blocks of colour crossing a background of fine (1 px) noise at SPEED
    px a frame: the background's detail is what blur takes, the square's blocks a motion that a small shift changes
    a little."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
    texture = rng.integers(0, 256, (SQUARE // 8, SQUARE // 8, 3)).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    clip = np.repeat(background[None], frames, axis=0)
    for i in range(frames):
        x = 4 + i * SPEED
        clip[i, 32:32 + SQUARE, x:x + SQUARE] = texture
    return clip


CLIP = scene(36)
BEFORE, TRUTH, AFTER = CLIP[:12], CLIP[12:24], CLIP[24:]   # a second is 24 frames; the judge takes what there is


class JudgeTest(unittest.TestCase):
    def extend(self, output: np.ndarray) -> dict:
        return judge_case(output, TRUTH, BEFORE, FPS)

    def fill(self, output: np.ndarray) -> dict:
        return judge_case(output, TRUTH, BEFORE, FPS, after=AFTER)

    def test_the_truth_passes_every_check(self):
        for result in (self.extend(TRUTH), self.fill(TRUTH)):
            self.assertTrue(result["pass"], result)
        self.assertGreater(self.extend(TRUTH)["values"]["moving_share"], 0.01)
        big = [x.repeat(4, 1).repeat(4, 2) for x in (TRUTH, BEFORE, AFTER)]   # 384 px tall: measured at 288
        self.assertTrue(judge_case(big[0], big[0], big[1], FPS, after=big[2])["pass"])

    def test_holding_the_last_frame_is_not_alive(self):
        result = self.extend(hold(BEFORE, len(TRUTH)))
        self.assertFalse(result["checks"]["alive"])
        self.assertTrue(result["checks"]["faithful"])   # it is the baseline the PSNR is held to

    def test_a_blurred_truth_is_not_sharp(self):
        result = self.extend(soften(TRUTH))
        self.assertFalse(result["checks"]["sharp"])
        self.assertTrue(result["checks"]["alive"])

    def test_the_wrong_size_or_frame_count_fails_format(self):
        self.assertFalse(self.extend(TRUTH[:, ::2, ::2])["checks"]["format"])
        n = len(BEFORE) + len(TRUTH)
        self.assertFalse(self.extend(CLIP[len(BEFORE):n + 2])["checks"]["format"])   # two frames too many
        self.assertTrue(self.extend(CLIP[len(BEFORE):n + 1])["checks"]["format"])    # one is within tolerance
        self.assertTrue(self.extend(np.pad(TRUTH, ((0, 0), (0, 2), (0, 2), (0, 0)), mode="edge"))["checks"]["format"])

    def test_a_jump_cut_is_not_steady(self):
        elsewhere = scene(len(CLIP), seed=5)   # another background: the cut is to another shot
        jumped = np.concatenate([TRUTH[:6], elsewhere[len(BEFORE) + 6:len(BEFORE) + len(TRUTH)]])
        result = self.extend(jumped)
        self.assertFalse(result["checks"]["steady"])
        self.assertTrue(result["checks"]["seams"])

    def test_a_colour_shift_is_not_faithful(self):
        shifted = TRUTH.astype(np.int16)
        shifted[..., 0] += 20
        result = self.extend(np.clip(shifted, 0, 255).astype(np.uint8))
        self.assertFalse(result["checks"]["faithful"])
        self.assertGreater(result["values"]["colour_gap"], 12)

    def test_a_picture_slid_sideways_is_less_faithful_than_holding(self):
        # The same colours (the mean is kept), but every pixel further from the truth than a held frame's.
        result = self.extend(np.roll(TRUTH, W // 4, axis=2))
        self.assertLess(result["values"]["psnr"], result["values"]["baseline_psnr"] - 1.5)
        self.assertLessEqual(result["values"]["colour_gap"], 12)
        self.assertFalse(result["checks"]["faithful"])

    def test_a_fill_must_join_the_far_side(self):
        held = self.fill(hold(BEFORE, len(TRUTH)))
        self.assertFalse(held["checks"]["seams"])
        self.assertGreater(held["values"]["far_seam_step"], held["values"]["far_seam_limit"])
        self.assertTrue(self.fill(crossfade(BEFORE[-1], AFTER[0], len(TRUTH)))["checks"]["seams"])


class MeasuringTest(unittest.TestCase):
    def test_frames_are_measured_at_the_sources_aspect_at_most_288_tall(self):
        self.assertEqual(judged_size(1920, 1080), (512, 288))
        self.assertEqual(judged_size(640, 480), (384, 288))
        self.assertEqual(judged_size(320, 240), (320, 240))

    def test_the_area_filter_averages_what_each_pixel_covers(self):
        frame = np.arange(4 * 6, dtype=np.float32).reshape(1, 4, 6, 1).repeat(3, axis=3)
        halved = area_resample(frame, 3, 2)
        np.testing.assert_allclose(halved[0, :, :, 0], [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])
        row = np.array([[[[0.0] * 3, [30.0] * 3, [60.0] * 3]]], np.float32)   # 1 × 1 × 3 → 1 × 1 × 2
        np.testing.assert_allclose(area_resample(row, 2, 1)[0, 0, :, 0], [10.0, 50.0])


class EvalScriptArgumentsTest(unittest.TestCase):
    def test_case_lengths_outside_the_issue_ranges_are_refused(self):
        root = Path(__file__).resolve().parents[2]
        for flag, value in (("--extend-seconds", "0.2,3"), ("--fill-seconds", "0.8,0.6"), ("--fill-seconds", "half")):
            result = subprocess.run([sys.executable, str(root / "scripts" / "eval-footage.py"), "--baselines-only", flag, value],
                                    capture_output=True, text=True)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(flag, result.stderr)
            self.assertRegex(result.stderr, r"lengths must lie within|expected LO,HI seconds")


if __name__ == "__main__":
    unittest.main()
