"""Training's probe targets and checkpoint widening, on small rendered scenes."""
import random
import unittest
from dataclasses import replace

import torch

from models.shapesworld.grammar import COLOURS, SHAPES, VOCABULARY
from models.shapesworld.world import render, sample_scene
from models.shapesworld.train import CONFIGS, probe_targets, widen_temporal_patch
from models.core.uvit import UViT


class ProbeTargetsTest(unittest.TestCase):
    def test_the_tokens_under_an_object_name_its_colour_and_shape(self):
        scene = sample_scene(["a large blue triangle stays still"], random.Random(3), 2.0)
        scene.pos0[0, 0] = torch.tensor([0.25, 0.25])  # centre of the top-left 32x32 block of a 64x128 frame
        frames, coverage = render(scene, torch.zeros(1, 4), 64, 128)
        known = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
        colour, shape, weight = probe_targets(coverage, scene, known, (2, 32, 32))
        # Tokens: 2 time slots × 2 rows × 4 columns; the triangle fills the first block of each slot.
        blue = list(COLOURS).index("blue")
        self.assertEqual(colour.shape, (1, 16, len(COLOURS)))
        self.assertEqual(colour[0, 0].tolist(), [1.0 if c == blue else 0.0 for c in range(len(COLOURS))])
        self.assertEqual(colour[0, 8, blue].item(), 1.0)
        self.assertEqual(colour[0, [1, 2, 3, 5, 6, 7]].sum().item(), 0.0)
        self.assertEqual(shape[0, 0].item(), SHAPES.index("triangle"))
        self.assertEqual(shape[0, 3].item(), -100)
        self.assertEqual(weight[0].tolist(), [0.0] * 8 + [1.0] * 8)  # the first slot's frames are known


class WidenTemporalPatchTest(unittest.TestCase):
    def test_a_widened_model_matches_the_original_on_a_still_clip(self):
        cfg = replace(CONFIGS["cpu-tiny"].model, vocab=len(VOCABULARY), decoder_hidden=16)
        torch.manual_seed(0)
        narrow = UViT(cfg)
        for p in narrow.parameters():  # the zero-initialised decoder would make any widening look right
            p.data.normal_(0, 0.05)
        with torch.no_grad():  # positions that repeat over each pair of time slots, so pairs of tokens are equal
            pos = narrow.pos_embed.view(1, cfg.grid[0] // 2, 2, -1, cfg.width_dim)
            pos[:, :, 1] = pos[:, :, 0]
        wide = UViT(replace(cfg, patch=(2 * cfg.patch[0], *cfg.patch[1:])))
        wide.load_state_dict(widen_temporal_patch(narrow.state_dict(), cfg.patch[0], wide))
        x = torch.randn(2, 1, cfg.channels, cfg.height, cfg.width).expand(2, cfg.frames, -1, -1, -1)
        args = (x, torch.zeros(2, cfg.frames), torch.tensor([0.3, 0.8]), torch.tensor([24.0, 50.0]), torch.zeros(2, cfg.text_len, dtype=torch.long))
        with torch.no_grad():
            torch.testing.assert_close(wide.denoise(*args), narrow.denoise(*args), atol=1e-5, rtol=1e-4)

    def test_a_patch_that_is_not_a_multiple_is_refused_with_the_flag_named(self):
        cfg = replace(CONFIGS["cpu-tiny"].model, vocab=len(VOCABULARY), patch=(4, 8, 8))
        with self.assertRaisesRegex(ValueError, r"^--init: temporal patch 3 does not divide 4$"):
            widen_temporal_patch({}, 3, UViT(cfg))


if __name__ == "__main__":
    unittest.main()
