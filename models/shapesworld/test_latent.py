"""CI's checks of the latent model: the tiny autoencoder and latent U-ViT learn on CPU, padding words do not change
what a prompt means, and the export writes three graphs that onnxruntime-node runs as PyTorch does."""
import csv
import json
import math
import subprocess
import sys
import tempfile
import unittest
from dataclasses import replace
from pathlib import Path

import torch

from models.core.schedule import alpha_sigma
from models.shapesworld.footage_reading import FootageReader, package_encoder, refine, solve
from models.shapesworld.scene_autoencoder import GEOMETRY, LATENT, LOG_SIZES, PRESENCE, SLOT, SceneAEConfig, SceneAutoencoder, colour_truth, scene_latents
from models.shapesworld.grammar import BACKGROUNDS, COLOURS, MOTIONS, SHAPES
from models.shapesworld.world import half_extents, sample_scene
from models.core.autoencoder import FrameAEConfig, FrameAutoencoder
from models.core.checkpoints import CheckpointError
from models.core.sampling import sample_window
from models.shapesworld.checkpoints import drawing_decoder, load_autoencoder
from models.shapesworld.scene_uvit import SLOT_WORDS, SceneUViT, SceneUViTConfig, edge_layout
from models.shapesworld.text import tokenize
from models.shapesworld.train_latent import CONFIGS, LatentWindows, init_weights, reflections

ROOT = Path(__file__).resolve().parents[2]


def losses(path: Path, column: str) -> list[float]:
    """A column of a run's loss.csv (models/core/loop.py writes a header)."""
    with open(path) as f:
        return [float(row[column]) for row in csv.DictReader(f)]


class LatentUViTTest(unittest.TestCase):
    def test_padding_words_do_not_change_the_prediction(self):
        torch.manual_seed(0)
        model = SceneUViT(SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, text_len=24)).eval()
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


class PredictionTest(unittest.TestCase):
    def test_v_and_x0_heads_give_the_package_v_and_the_same_x0(self):
        torch.manual_seed(0)
        x, known = torch.randn(2, 8, 8), torch.zeros(2, 8)
        t, fps, tokens = torch.tensor([0.3, 0.9]), torch.tensor([24.0, 30.0]), tokenize(["a red circle bounces", ""], 24)
        alpha, sigma = (s.view(-1, 1, 1) for s in alpha_sigma(t))
        for predicts in ("x0", "v"):
            model = SceneUViT(SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, predicts=predicts)).eval()
            torch.nn.init.normal_(model.decoder_pred.weight, std=0.1)
            with torch.no_grad():
                v, x0 = model(x, known, t, fps, tokens), model.denoise(x, known, t, fps, tokens)
            self.assertTrue(torch.allclose(x0, alpha * x - sigma * v, atol=1e-5), predicts)
        model = SceneUViT(SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, predicts="v")).eval()
        with torch.no_grad():  # an untrained v head returns its input scaled by alpha: nearly the input at low noise
            x0 = model.denoise(x, known, torch.tensor([0.01, 0.01]), fps, tokens)
        self.assertLess(float((x0 - x).abs().max()), 0.01 * float(x.abs().max()))

    def test_velocity_inputs_are_differences_of_known_frames_only(self):
        model = SceneUViT(SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, velocity_gain=10.0))
        x = torch.randn(1, 8, 8)
        known = torch.tensor([[1.0, 1.0, 1.0, 0, 0, 0, 1.0, 1.0]])  # first 3 and last 2 known
        velocity = model.known_velocity(x, known)[0]
        self.assertTrue(torch.allclose(velocity[1], 10.0 * (x[0, 1] - x[0, 0])))
        self.assertTrue(torch.allclose(velocity[7], 10.0 * (x[0, 7] - x[0, 6])))
        self.assertEqual(float(velocity[[0, 3, 4, 5, 6]].abs().sum()), 0.0)

    def test_edge_features_are_box_distances_to_the_frame_edges_in_known_frames_of_present_objects(self):
        import random
        scene = sample_scene(["a large red triangle moves right", "a blue square falls"], random.Random(1), 1.75)
        raw = scene_latents(scene, (torch.arange(8) / 24 + 3.0).expand(2, -1))               # 2 8 LATENT, 3 s in
        shift, scale = raw.flatten(0, 1).mean(0), torch.full((LATENT,), 2.0)
        model = SceneUViT(SceneUViTConfig(frames=8, latent=LATENT, width_dim=32, depth=3, heads=2, edges=edge_layout(shift, scale, 8.0)))
        known = torch.tensor([[1.0] * 3 + [0.0] * 5] * 2)
        features = model.edge_distances((raw - shift) * scale, known)                           # 2 8 8
        for clip, shape in ((0, "triangle"), (1, "square")):
            x, y, size = (float(raw[clip, 2, c]) for c in GEOMETRY[:3])
            hw, hh = half_extents(shape, math.exp(size))
            gaps = torch.tensor([x - hw, 1.75 - x - hw, y - hh, 1 - y - hh])
            self.assertTrue(torch.allclose(features[clip, 2, :4], torch.tanh(8.0 * gaps), atol=1e-4), (features[clip, 2, :4], gaps))
        self.assertAlmostEqual(float(features[1, 0, 3]), 0.0, places=4)                         # the fallen square rests on the floor
        self.assertEqual(float(features[:, 3:].abs().sum()), 0.0)                               # unknown frames
        self.assertEqual(float(features[:, :, 4:].abs().sum()), 0.0)                            # the absent second slot
        # From a checkpoint without them, the network computes what it did until their weights learn.
        plain = SceneUViT(SceneUViTConfig(frames=8, latent=LATENT, width_dim=32, depth=3, heads=2)).eval()
        torch.nn.init.normal_(plain.decoder_pred.weight, std=0.1)
        self.assertFalse(init_weights(model, {"ema": plain.state_dict(), "model_config": plain.cfg.to_json()}))
        args = ((raw - shift) * scale, known, torch.tensor([0.5, 0.5]), torch.tensor([24.0, 24.0]), tokenize(["a red circle", "a blue square"], 24))
        with torch.no_grad():
            self.assertTrue(torch.allclose(model.eval()(*args), plain(*args), atol=1e-5))

    def test_init_from_an_x0_checkpoint_keeps_the_trunk_and_resets_the_head(self):
        torch.manual_seed(0)
        cfg = SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2)
        old = SceneUViT(cfg)
        torch.nn.init.normal_(old.decoder_pred.weight, std=0.1)
        checkpoint = {"ema": old.state_dict(), "model_config": {k: v for k, v in cfg.to_json().items() if k != "predicts"}}
        same = SceneUViT(cfg)
        self.assertFalse(init_weights(same, checkpoint))
        self.assertTrue(torch.equal(same.decoder_pred.weight, old.decoder_pred.weight))
        # Velocity inputs and slot conditioning the checkpoint lacked start at zero: the same function until they learn.
        widened = SceneUViT(replace(cfg, velocity_gain=10.0, slot_words=SLOT_WORDS)).eval()
        self.assertFalse(init_weights(widened, checkpoint))
        x, known = torch.randn(1, 8, 8), torch.tensor([[1.0, 1.0, 1.0, 0, 0, 0, 0, 0]])
        args = (torch.tensor([0.5]), torch.tensor([24.0]), tokenize(["a red circle moves left"], 24))
        with torch.no_grad():
            self.assertTrue(torch.allclose(widened.denoise(x, known, *args), old.eval().denoise(x, known, *args), atol=1e-5))
        new = SceneUViT(replace(cfg, predicts="v"))
        self.assertTrue(init_weights(new, checkpoint))
        self.assertTrue(torch.equal(new.word_embed.weight, old.word_embed.weight))
        self.assertEqual(float(new.decoder_pred.weight.abs().sum()), 0.0)


class SamplingTest(unittest.TestCase):
    def test_the_last_step_returns_the_clean_estimate_x0_as_the_engine_does(self):
        # A denoiser that knows the answer: its x0 is `clean` at every step, whatever the noise.
        clean = torch.randn(2, 8, 5)

        def denoiser(x, known, t, fps, tokens):
            alpha, sigma = (s.view(-1, 1, 1) for s in alpha_sigma(t))
            return (alpha * x - clean.repeat(2, 1, 1)) / sigma

        known = torch.zeros(2, 8)
        known[:, :2] = 1
        x_known = torch.zeros(2, 8, 5)
        x_known[:, :2] = clean[:, :2]
        out = sample_window(denoiser, x_known, known, torch.full((2,), 24.0), tokenize(["a red circle stays still"] * 2, 24), 12, 2.0,
                            torch.Generator().manual_seed(0))
        # Landing on t = 1e-3 would leave sigma 0.006 of noise: 0.003 H of position in the scene state.
        self.assertLess(float((out - clean).abs().max()), 1e-5)

    def test_guidance_applies_at_t_min_and_above_only(self):
        # A denoiser whose prompt and unconditional rows differ, so guidance changes every step it is applied at.
        torch.manual_seed(0)
        net = torch.nn.Linear(5, 5)

        def denoiser(x, known, t, fps, tokens):
            return net(x) + tokens[:, :1, None].float() * 0.1

        known = torch.zeros(1, 8)
        args = (torch.zeros(1, 8, 5), known, torch.full((1,), 24.0), tokenize(["a red circle stays still"], 24), 12)
        run = lambda guidance, t_min: sample_window(denoiser, *args, guidance, torch.Generator().manual_seed(0), t_min)
        with torch.no_grad():
            self.assertTrue(torch.equal(run(2.0, 0.0), sample_window(denoiser, *args, 2.0, torch.Generator().manual_seed(0))))
            self.assertTrue(torch.equal(run(2.0, 1.0), run(1.0, 0.0)))    # above every step: the prompt's prediction alone
            split = run(2.0, 0.04)                                        # the last two of 12 steps unguided
            self.assertFalse(torch.allclose(split, run(2.0, 0.0)))
            self.assertFalse(torch.allclose(split, run(1.0, 0.0)))


class SlotConditioningTest(unittest.TestCase):
    def bags(self, *prompts: str) -> torch.Tensor:
        torch.manual_seed(0)
        model = SceneUViT(SceneUViTConfig(frames=8, latent=8, width_dim=32, depth=3, heads=2, slot_words=SLOT_WORDS))
        return model.slot_clauses(tokenize(list(prompts), 24)).detach().view(len(prompts), 2, 32)

    def test_clauses_come_in_the_slots_colour_order_without_the_background_phrase(self):
        bags = self.bags("a blue square falls and a red circle moves left on a gray background", "a red circle moves left and a blue square falls",
                         "a red circle moves left", "a blue square falls")
        self.assertTrue(torch.allclose(bags[0], bags[1], atol=1e-6))
        self.assertTrue(torch.allclose(bags[0, 0], bags[2, 0], atol=1e-6))
        self.assertTrue(torch.allclose(bags[0, 1], bags[3, 0], atol=1e-6))
        self.assertEqual(float(bags[2, 1].abs().sum()), 0.0)  # one object: the second slot has no words

    def test_a_clause_without_a_colour_sorts_as_the_parsers_colour(self):
        bags = self.bags("a circle falls and a red square grows", "a red square grows", "a purple square grows and a circle falls")
        self.assertTrue(torch.allclose(bags[0, 0], bags[1, 0], atol=1e-6))   # white (unnamed) after red
        self.assertTrue(torch.allclose(bags[2, 0], bags[0, 1], atol=1e-6))   # and before purple


class LatentWindowsTest(unittest.TestCase):
    def test_present_objects_keep_the_offset_and_lose_the_slope_after_the_known_frames(self):
        import random
        shift, scale = torch.zeros(LATENT), torch.full((LATENT,), 2.0)
        data = {"latents": torch.zeros(1, 32, LATENT), "fps": torch.tensor([24.0]), "t0": torch.tensor([0.0]),
                "prompts": ["a red circle moves left"], "shift": shift, "scale": scale}
        windows = LatentWindows(data, replace(CONFIGS["latent-scene"], context_size_jitter=(0.1, 0.01)), random.Random(1))
        window = torch.zeros(16, LATENT)
        window[:, PRESENCE[0]] = 1.0 * 2.0              # slot 0 present (normalised), slot 1 absent
        windows.jitter_sizes(window, 3)
        size = window[:, LOG_SIZES[0]] / 2.0            # back to raw log sizes
        offset, slope = float(size[2]), float(size[2] - size[1])
        self.assertNotEqual(offset, 0.0)
        self.assertTrue(torch.allclose(size[3:], torch.full((13,), offset)))
        self.assertAlmostEqual(float(size[1] - size[0]), slope, places=5)
        self.assertEqual(float(window[:, LOG_SIZES[1]].abs().sum()), 0.0)


    def test_present_objects_keep_the_last_known_position_and_lose_the_tilt_after_it(self):
        import random
        data = {"latents": torch.zeros(1, 32, LATENT), "fps": torch.tensor([24.0]), "t0": torch.tensor([0.0]),
                "prompts": ["a red circle moves left"], "shift": torch.zeros(LATENT), "scale": torch.full((LATENT,), 2.0)}
        windows = LatentWindows(data, replace(CONFIGS["latent-scene"], context_velocity_jitter=0.1), random.Random(3))
        window = torch.zeros(16, LATENT)
        window[:, PRESENCE[1]] = 1.0 * 2.0              # slot 1 present, slot 0 absent
        windows.jitter_velocities(window, 4, 24.0)
        x, y = window[:, GEOMETRY[3]] / 2.0, window[:, GEOMETRY[4]] / 2.0
        for track in (x, y):
            step = float(track[1] - track[0])
            self.assertNotEqual(step, 0.0)
            self.assertTrue(torch.allclose(track[:4], step * (torch.arange(4.0) - 3), atol=1e-6))
            self.assertEqual(float(track[3:].abs().sum()), 0.0)
        self.assertEqual(float(window[:, list(GEOMETRY[:3]) + [LOG_SIZES[1]]].abs().sum()), 0.0)

    def test_reflections_are_the_walls_and_the_floor_not_the_top_of_a_bounce(self):
        import random
        scene = sample_scene(["a red circle moves right", "a red square bounces", "a red circle stays still"], random.Random(4), 1.75)
        fps = torch.full((3,), 24.0)
        z = scene_latents(scene, torch.arange(240).expand(3, -1) / fps[:, None])        # 10 s
        found = reflections(z, fps)
        by_clip = {c: [f for cc, f in found if cc == c] for c in range(3)}
        self.assertEqual(by_clip[2], [])
        x, y = z[..., GEOMETRY[0]], z[..., GEOMETRY[1]]
        hw, hh = (float(v) for v in half_extents(SHAPES[int(scene.shape[0, 0])], float(scene.size0[0, 0])))
        self.assertGreaterEqual(len(by_clip[0]), 2)                 # 10 s at 0.4 H/s crosses the frame twice
        for f in by_clip[0]:                                         # at a side wall, within a frame's step
            self.assertLess(min(abs(float(x[0, f]) - hw), abs(float(x[0, f]) - (1.75 - hw))), 0.4 / 24)
        floor = 1 - float(half_extents("square", float(scene.size0[1, 0]))[1])
        self.assertGreaterEqual(len(by_clip[1]), 1)
        for f in by_clip[1]:                                         # at the floor, never at the top of an arc
            self.assertLess(abs(float(y[1, f]) - floor), 0.05)

    def test_turn_windows_hold_a_reflection_among_the_generated_frames(self):
        import random
        prompts = ["a red circle moves right", "a blue circle moves left"] * 4
        scene = sample_scene(prompts, random.Random(5), 1.75)
        fps = torch.full((8,), 24.0)
        raw = scene_latents(scene, torch.rand(8, 1, generator=torch.Generator().manual_seed(7)) * 12 + torch.arange(32) / fps[:, None])
        shift, scale = raw.flatten(0, 1).mean(0), torch.full((LATENT,), 2.0)
        data = {"latents": (raw - shift) * scale, "fps": fps, "t0": torch.ones(8), "prompts": prompts,
                "shift": shift, "scale": scale}
        cfg = replace(CONFIGS["latent-scene"], turn_share=1.0, mask_weights=(0.0, 1.0, 0.0, 0.0), one_object_start=1.0, one_object_end=1.0)
        windows = LatentWindows(data, cfg, random.Random(6))
        self.assertGreater(len(windows.turns), 0)
        x0, known, batch_fps, _ = windows.batch(32, 0)
        k, f = cfg.model.context_frames, cfg.model.frames
        for window, rate in zip(x0, batch_fps):
            turns = [t for _, t in reflections((window / scale + shift)[None], rate[None])]
            self.assertTrue(any(k <= t <= f - 1 - k for t in turns), turns)

    def test_level_windows_mirror_top_to_bottom_and_others_never(self):
        import random
        prompts = ["a red circle moves right", "a blue square falls", "a red circle moves up"]
        scene = sample_scene(prompts, random.Random(8), 1.75)
        fps = torch.full((3,), 24.0)
        raw = scene_latents(scene, torch.arange(32).expand(3, -1) / fps[:, None])
        shift, scale = raw.flatten(0, 1).mean(0), torch.full((LATENT,), 2.0)
        data = {"latents": (raw - shift) * scale, "fps": fps, "t0": torch.zeros(3), "prompts": prompts, "shift": shift, "scale": scale}
        cfg = replace(CONFIGS["latent-scene"], level_flip_share=1.0, mask_weights=(0.0, 1.0, 0.0, 0.0), one_object_start=1.0, one_object_end=1.0,
                      context_size_jitter=(0.0, 0.0), context_velocity_jitter=0.0)
        windows = LatentWindows(data, cfg, random.Random(9))
        self.assertEqual(windows.level, [True, False, False])
        x0, _, _, tokens = windows.batch(64, 0)
        f = cfg.model.frames
        seen = set()
        for window, row in zip(x0 / scale + shift, tokens):
            clip = [c for c in range(3) if torch.equal(tokenize([prompts[c]], cfg.model.text_len)[0, : row.shape[0]], row)]
            if not clip:
                continue                       # the prompt dropped (classifier-free guidance)
            c = clip[0]
            # The mover's x places its window; the others' windows are the clip's own, every channel.
            same = (lambda o: torch.allclose(window[:, GEOMETRY[0]], raw[c, o: o + f, GEOMETRY[0]], atol=1e-5)) if c == 0 else \
                (lambda o: torch.allclose(window, raw[c, o: o + f], atol=1e-5))
            offsets = [o for o in range(32 - f + 1) if same(o)]
            self.assertTrue(offsets)
            truth = raw[c, offsets[0]: offsets[0] + f]
            expected_y = 1 - truth[:, GEOMETRY[1]] if c == 0 else truth[:, GEOMETRY[1]]
            self.assertTrue(torch.allclose(window[:, GEOMETRY[1]], expected_y, atol=1e-5), c)
            self.assertTrue(torch.allclose(window[:, GEOMETRY[4]], truth[:, GEOMETRY[4]], atol=1e-5))     # absent slot untouched
            seen.add(c)
        self.assertEqual(seen, {0, 1, 2})

    def test_motion_weights_draw_clips_in_proportion_and_gravity_clips_are_not_steady(self):
        import random
        prompts = ["a red circle moves left", "a red circle bounces", "a red circle falls and a blue square grows"]
        data = {"latents": torch.zeros(3, 32, LATENT), "fps": torch.full((3,), 24.0), "t0": torch.zeros(3),
                "prompts": prompts, "shift": torch.zeros(LATENT), "scale": torch.ones(LATENT)}
        windows = LatentWindows(data, replace(CONFIGS["latent-scene"], motion_weights={"bounces": 3.0, "falls": 2.0}), random.Random(0))
        self.assertEqual(windows.steady, [True, False, False])
        members, cumulative = windows.pools[(True, True)]
        self.assertEqual((members, cumulative), ([0, 1], [1.0, 4.0]))
        self.assertEqual(windows.pools[(False, True)], ([2], [2.0]))


class SceneLatentTest(unittest.TestCase):
    def test_slots_hold_the_objects_in_palette_order_and_an_absent_slot_is_zero(self):
        import random
        scene = sample_scene(["a purple square falls and a red circle moves left on a gray background", "a large blue triangle grows"],
                             random.Random(3), 1.75)
        z = scene_latents(scene, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))
        nb, nc = len(BACKGROUNDS), len(COLOURS)
        self.assertEqual(z.shape, (2, 2, LATENT))
        self.assertEqual(int(z[0, 0, :nb].argmax()), list(BACKGROUNDS).index("gray"))
        first, second = z[0, 0, nb: nb + SLOT], z[0, 0, nb + SLOT:]
        self.assertEqual(int(first[1: 1 + nc].argmax()), list(COLOURS).index("red"))      # red before purple
        self.assertEqual(int(second[1: 1 + nc].argmax()), list(COLOURS).index("purple"))
        self.assertAlmostEqual(float(first[SLOT - 3] - z[0, 1, nb + SLOT - 3]), 0.2, places=4)  # red moved left at 0.4 H/s
        self.assertTrue(torch.equal(z[1, :, nb + SLOT:], torch.zeros(2, SLOT)))
        truth = colour_truth(scene, torch.tensor([[0.5], [0.5]]))
        self.assertEqual(truth["present"][0].nonzero().flatten().tolist(), [list(COLOURS).index("red"), list(COLOURS).index("purple")])
        self.assertTrue(torch.allclose(truth["centre"][0, 0], z[0, 1, nb + SLOT - 3: nb + SLOT - 1]))

    def test_the_encoder_fills_slots_with_the_present_colours_in_palette_order(self):
        class Reading(SceneAutoencoder):  # the learned reading replaced by a fixed one: what is left is the slot logic
            def read_colours(self, frames):
                n, nc = frames.shape[0], len(COLOURS)
                present = torch.full((n, nc), -12.0)
                present[:, 4], present[:, 1] = 12.0, 12.0                        # white and green
                return {"background": torch.tensor([[0.0, 9.0, 0.0]]).expand(n, 3), "present": present,
                        "shape": torch.eye(3)[torch.arange(nc) % 3].mul(30).expand(n, nc, 3),
                        "centre": torch.arange(nc, dtype=torch.float32).view(1, nc, 1).expand(n, nc, 2),
                        "log_size": -torch.arange(nc, dtype=torch.float32).expand(n, nc)}

        z = Reading(SceneAEConfig(height=32, width=48, segment=4, hidden=8, atlas=8)).encode(torch.zeros(1, 3, 32, 48))[0]
        nb, nc = len(BACKGROUNDS), len(COLOURS)
        first, second = z[nb: nb + SLOT], z[nb + SLOT:]
        for slot, colour in ((first, 1), (second, 4)):
            self.assertAlmostEqual(float(slot[0]), 1.0, places=4)
            self.assertEqual(int(slot[1: 1 + nc].argmax()), colour)
            self.assertAlmostEqual(float(slot[1: 1 + nc].sum()), 1.0, places=4)
            self.assertEqual(int(slot[1 + nc: SLOT - 3].argmax()), colour % 3)
            self.assertTrue(torch.allclose(slot[SLOT - 3:], torch.tensor([colour, colour, -colour], dtype=torch.float32), atol=1e-3))


class DrawScaleTest(unittest.TestCase):
    def test_only_a_scene_autoencoder_draws_at_another_size(self):
        learned = FrameAutoencoder(FrameAEConfig(height=32, width=48, channels=(8, 8, 8, 8), code=8, code_hidden=16))
        self.assertIs(drawing_decoder(learned, 1), learned)
        with self.assertRaises(CheckpointError) as refused:
            drawing_decoder(learned, 2)
        self.assertEqual(str(refused.exception), "--draw-scale 2: only a scene autoencoder draws at another size; use --draw-scale 1")
        scene = SceneAutoencoder(SceneAEConfig(height=32, width=48, segment=8, hidden=32, atlas=16)).eval()
        z = scene.encode(torch.rand(1, 3, 32, 48) * 2 - 1)
        with torch.no_grad():
            self.assertEqual(tuple(drawing_decoder(scene, 2).decode(z).shape), (1, 3, 64, 96))


class BundledDecoderTest(unittest.TestCase):
    """The bundled scene autoencoder's decoder, drawn at the package's size (4× native), against the renderer."""

    def test_objects_are_drawn_where_and_as_large_as_the_renderer_draws_them(self):
        import random
        import numpy as np
        from models.shapesworld.world import render
        ae = load_autoencoder(ROOT / "models" / "shapesworld-latent" / "scene-ae.pt")
        drawer = ae.drawing_at(4)
        prompts = ["a large red square stays still", "a small blue triangle moves left", "a green circle falls", "a white square bounces",
                   "a small purple circle grows", "a large yellow triangle moves up", "a blue square shrinks", "a red triangle moves right"]
        rng = random.Random(8)
        scene = sample_scene(prompts, rng, 112 / 64)
        times = torch.tensor([[rng.uniform(0.0, 4.0)] for _ in prompts])
        truth, _ = render(scene, times, drawer.cfg.height, drawer.cfg.width)
        with torch.no_grad():
            drawn = (drawer.decode(scene_latents(scene, times)[:, 0]) + 1) * 127.5
        h = drawer.cfg.height
        for i, colour in enumerate(scene.colour[:, 0]):
            # The judge's reading of an object: the pixels within 60 levels of its colour.
            masks = [(np.abs(frame[i].permute(1, 2, 0).numpy() - colour.numpy()).max(-1) < 60) for frame in (truth[:, 0], drawn)]
            (ty, tx), (dy, dx) = [np.nonzero(m) for m in masks]
            # A fifth of a pixel at 256 px: a still object's seam allows three quarters of one (check 5).
            self.assertLess(float(np.hypot(dx.mean() - tx.mean(), dy.mean() - ty.mean())) / h, 0.2 / h, prompts[i])
            self.assertLess(abs(len(dx) / len(tx) - 1), 0.015, prompts[i])


    def test_fitting_the_drawing_moves_the_decoder_alone_and_keeps_the_native_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            bundled = ROOT / "models" / "shapesworld-latent" / "scene-ae.pt"
            subprocess.run([sys.executable, "-m", "models.shapesworld.train_scene_ae", "--config", "scene-drawing", "--init", str(bundled), "--steps", "3",
                            "--out", tmp], cwd=ROOT, check=True, capture_output=True, text=True)
            before, after = torch.load(bundled, map_location="cpu"), torch.load(Path(tmp) / "last.pt", map_location="cpu")
            self.assertEqual((after["model_config"]["height"], after["model_config"]["width"]), (64, 112))
            moved = {name for name, value in after["model"].items() if not torch.equal(value, before["model"][name])}
            self.assertIn("atlas", moved)
            self.assertTrue(moved <= {"atlas", "slot_colour.weight", "slot_colour.bias", "background_colour.weight", "background_colour.bias"}, moved)


class FootageReadingTest(unittest.TestCase):
    """The render-and-compare refinement of a reading (models/shapesworld/footage_reading.py), on the bundled scene autoencoder."""

    def test_the_package_encoder_reads_by_render_and_compare_only_for_a_scene_autoencoder(self):
        learned = FrameAutoencoder(FrameAEConfig(height=32, width=48, channels=(8, 8, 8, 8), code=8, code_hidden=16))
        frames = torch.rand(2, 3, 32, 48) * 2 - 1
        with torch.no_grad():
            self.assertTrue(torch.equal(package_encoder(learned, 1)(frames), learned.encode(frames)))
        with self.assertRaises(SystemExit) as refused:
            package_encoder(learned, 2)
        self.assertEqual(str(refused.exception), "--read-scale 2: only a scene autoencoder refines its reading by drawing it; use --read-scale 1")
        scene = SceneAutoencoder(SceneAEConfig(height=32, width=48, segment=8, hidden=32, atlas=16)).eval()
        self.assertIsInstance(package_encoder(scene, 2), FootageReader)

    def test_solve_matches_a_linear_solver(self):
        g = torch.Generator().manual_seed(0)
        m = torch.randn(5, 6, 6, generator=g)
        a, b = m @ m.transpose(1, 2) + 0.1 * torch.eye(6), torch.randn(5, 6, generator=g)
        self.assertLess(float((solve(a, b) - torch.linalg.solve(a, b)).abs().max()), 1e-4)

    def test_refine_finds_the_drawn_state_and_leaves_absent_slots_alone(self):
        import random
        ae = load_autoencoder(ROOT / "models" / "shapesworld-latent" / "scene-ae.pt").drawing_at(2)
        prompts = ["a large red square stays still on a gray background", "a blue triangle grows", "a white circle falls and a small green square moves left"]
        scene = sample_scene(prompts, random.Random(3), 112 / 64)
        truth = scene_latents(scene, torch.full((3, 1), 0.7))[:, 0]
        with torch.no_grad():
            frames = ae.decode(truth)
            off = truth.clone()
            for slot, p in enumerate(PRESENCE):   # each present object read a quarter of a native pixel off and 2 % too large
                present = truth[:, p]
                off[:, GEOMETRY[3 * slot]] += 0.004 * present
                off[:, GEOMETRY[3 * slot + 1]] -= 0.004 * present
                off[:, GEOMETRY[3 * slot + 2]] += 0.02 * present
            refined = refine(ae.decode, off, frames)
        geometry = list(GEOMETRY)
        error = (refined - truth)[:, geometry].abs()
        # Positions to a sixteenth of a native pixel; a triangle's size converges slowest (it trades against its y).
        self.assertLess(float(error[:, [i for i in range(len(geometry)) if i % 3 != 2]].max()), 0.001, error)
        self.assertLess(float(error[:, 2::3].max()), 0.015, error)
        absent = torch.stack([truth[:, p] < 0.5 for p in PRESENCE], 1).repeat_interleave(3, 1)
        self.assertTrue(bool((refined[:, geometry][absent] == off[:, geometry][absent]).all()))


class AverageCheckpointsTest(unittest.TestCase):
    def test_the_average_interpolates_ema_weights_and_refuses_another_network(self):
        def checkpoint(value: float, width: int = 32) -> dict:
            return {"ema": {"w": torch.full((2, 2), value), "steps": torch.tensor(7)}, "model_config": {"width_dim": width}, "step": int(value),
                    "latent_space": "s", "latent_shift": torch.zeros(3), "latent_scale": torch.ones(3), "config": "c", "seed": 1}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for name, state in (("a", checkpoint(1.0)), ("b", checkpoint(3.0)), ("wide", checkpoint(3.0, 64))):
                torch.save(state, tmp / f"{name}.pt")
            run = lambda *args: subprocess.run([sys.executable, "scripts/average-checkpoints.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True)
            self.assertEqual(run(tmp / "a.pt", tmp / "b.pt", "--weight", "0.25", "--out", tmp / "soup.pt").returncode, 0)
            soup = torch.load(tmp / "soup.pt")
            self.assertTrue(torch.allclose(soup["ema"]["w"], torch.full((2, 2), 1.5)))
            self.assertEqual(int(soup["ema"]["steps"]), 7)
            self.assertEqual((soup["averaged"]["weight"], soup["averaged"]["steps"]), (0.25, [1, 3]))
            self.assertEqual(soup["kind"], "shapesworld-latent-uvit")   # the pre-kind checkpoints' kind, written out
            scene_ae = ROOT / "models" / "shapesworld-latent" / "scene-ae.pt"
            refused = run(tmp / "a.pt", scene_ae, "--out", tmp / "bad.pt")
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn(f"{scene_ae}: a shapesworld-scene-ae checkpoint; give one of shapesworld-latent-uvit", refused.stderr)
            refused = run(tmp / "a.pt", tmp / "wide.pt", "--out", tmp / "bad.pt")
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("its model_config differs", refused.stderr)
            shifted = checkpoint(3.0)
            shifted["latent_shift"] = torch.ones(3)
            torch.save(shifted, tmp / "shifted.pt")
            refused = run(tmp / "a.pt", tmp / "shifted.pt", "--out", tmp / "bad.pt")
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("its latent_shift differs", refused.stderr)
            refused = run(tmp / "a.pt", tmp / "b.pt", "--weight", "1.5", "--out", tmp / "bad.pt")
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("--weight: must be between 0 and 1, got 1.5", refused.stderr)
            self.assertFalse((tmp / "bad.pt").exists())


class EvalModelOptionsTest(unittest.TestCase):
    def test_an_unknown_one_object_motion_is_refused_with_the_motions_listed(self):
        result = subprocess.run([sys.executable, "scripts/eval-model.py", "--checkpoint", "unused.pt", "--out", "unused",
                                 "--one-object", "moves left,hovers"], cwd=ROOT, capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--one-object: unknown motion 'hovers'; the motions are moves left", result.stderr)


class TinyLatentTrainingTest(unittest.TestCase):
    def test_tiny_autoencoder_and_latent_uvit_learn_and_export(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            run = lambda *args: subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True, text=True)
            run("-m", "models.shapesworld.train_autoencoder", "--config", "ae-tiny", "--steps", "200", "--grid-steps", "120", "--log-every", "10",
                "--out", str(tmp / "ae"))
            ae_losses = losses(tmp / "ae" / "loss.csv", "loss")
            self.assertEqual(losses(tmp / "ae" / "loss.csv", "code_phase"), [0.0] * 12 + [1.0] * 8)   # the grid phase, then the code phase
            self.assertLess(ae_losses[11], 0.7 * ae_losses[0])
            # Two DDP processes (gloo), as the CPU trains: torchrun, here through its module.
            run("-m", "torch.distributed.run", "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "--master_port", "29623",
                "-m", "models.shapesworld.train_latent", "--config", "latent-tiny", "--ae", str(tmp / "ae" / "last.pt"), "--data", str(tmp / "latents.pt"),
                "--clips", "64", "--build-workers", "2", "--steps", "150", "--log-every", "10", "--out", str(tmp / "uvit"))
            uvit_losses = losses(tmp / "uvit" / "loss.csv", "loss")
            self.assertLess(sum(uvit_losses[-5:]) / 5, 0.9 * sum(uvit_losses[:5]) / 5)
            result = run("-m", "models.shapesworld.export", "--checkpoint", str(tmp / "uvit" / "last.pt"), "--autoencoder", str(tmp / "ae" / "last.pt"),
                         "--out", str(tmp / "package"), "--name", "ci-latent")
            verified = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{") and '"verified"' in line]
            self.assertEqual(sorted(v["graph"] for v in verified), ["decoder.onnx", "encoder.onnx", "encoder.onnx", "uvit.onnx"])  # encoder at two frame counts
            self.assertTrue(all(v["ok"] and v["max_abs_error"] < 1e-3 for v in verified))
            manifest = json.loads((tmp / "package" / "model.json").read_text())
            self.assertEqual(manifest["space"], "latent")
            self.assertEqual(manifest["inputs"]["x"]["shape"], ["B", 8, 8])
            self.assertEqual(len(manifest["latent"]["shift"]), 8)
            self.assertEqual(set(manifest["files"]), {"uvit.onnx", "encoder.onnx", "decoder.onnx", "vocab.json"})

    def test_tiny_scene_autoencoder_and_latent_uvit_learn_and_export(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            run = lambda *args: subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True, text=True)
            run("-m", "models.shapesworld.train_scene_ae", "--config", "scene-tiny", "--steps", "150", "--log-every", "10", "--out", str(tmp / "sae"))
            encoder, decoder = losses(tmp / "sae" / "loss.csv", "encoder"), losses(tmp / "sae" / "loss.csv", "decoder")
            self.assertLess(encoder[-1], 0.8 * encoder[0])
            self.assertLess(decoder[-1], 0.8 * decoder[0])
            # The latents are the scene state at the autoencoder's frame size: no encoding pass.
            run("-m", "models.shapesworld.train_latent", "--config", "latent-scene-tiny", "--ae", str(tmp / "sae" / "last.pt"), "--data", str(tmp / "latents.pt"),
                "--clips", "64", "--steps", "60", "--out", str(tmp / "uvit"))
            # Stopped at 60 steps and resumed to 100: it continues at step 60, with its optimiser and its average.
            resumed = run("-m", "models.shapesworld.train_latent", "--config", "latent-scene-tiny", "--ae", str(tmp / "sae" / "last.pt"),
                          "--data", str(tmp / "latents.pt"), "--steps", "100", "--resume", "--out", str(tmp / "uvit"))
            events = [json.loads(line) for line in resumed.stdout.splitlines() if line.startswith("{")]
            self.assertEqual((events[0]["event"], events[0]["step"]), ("start", 60))
            self.assertEqual((events[-1]["event"], events[-1]["step"]), ("done", 100))
            self.assertEqual([int(v) for v in losses(tmp / "uvit" / "loss.csv", "step")], [20, 40, 60, 80, 100])
            state = torch.load(tmp / "uvit" / "last.pt")
            self.assertEqual((state["kind"], state["step"], state["ema_steps"]), ("shapesworld-latent-uvit", 100, 100))
            self.assertEqual(torch.load(tmp / "latents.pt")["latent_space"], state["latent_space"])
            continued = json.loads(run("scripts/eval-continuation.py", "--checkpoint", str(tmp / "uvit" / "last.pt"), "--windows", "6").stdout)
            self.assertEqual((continued["windows"], continued["known"]), (6, 2))
            self.assertTrue(0 <= continued["seam_ok"] <= 1 and continued["position_error_h"] >= 0)
            self.assertTrue(set(continued["seam_ok_by_motion"]) <= set(MOTIONS))
            self.assertTrue(0 <= continued["wall_turn"]["short_over_0.02"] <= 1)
            # Continuing what the encoder reads from footage (H.264, Lanczos), as an extend does.
            from_footage = json.loads(run("scripts/eval-continuation.py", "--checkpoint", str(tmp / "uvit" / "last.pt"), "--windows", "6",
                                          "--autoencoder", str(tmp / "sae" / "last.pt")).stdout)
            self.assertTrue(0 <= from_footage["seam_ok"] <= 1)
            self.assertNotEqual(from_footage["position_error_h"], continued["position_error_h"])
            result = run("-m", "models.shapesworld.export", "--checkpoint", str(tmp / "uvit" / "last.pt"), "--autoencoder", str(tmp / "sae" / "last.pt"),
                         "--out", str(tmp / "package"), "--name", "ci-scene", "--draw-scale", "2", "--read-scale", "2")
            verified = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{") and '"verified"' in line]
            # The encoder graph (render and compare, traced) at two frame counts: its frame count is dynamic.
            self.assertEqual(sorted(v["graph"] for v in verified), ["decoder.onnx", "encoder.onnx", "encoder.onnx", "uvit.onnx"])
            self.assertTrue(all(v["ok"] and v["max_abs_error"] < 1e-3 for v in verified), verified)
            manifest = json.loads((tmp / "package" / "model.json").read_text())
            self.assertEqual(manifest["latent"]["shape"], [LATENT])
            self.assertEqual(manifest["native"], {"width": 48, "height": 32})
            # Its decoder renders the scene state, so it draws at twice the native size (verified above against PyTorch).
            self.assertEqual(manifest["latent"]["decoder"]["output"]["shape"], ["N", 3, 64, 96])
            # It reads reference frames at twice the native size too.
            self.assertEqual(manifest["latent"]["encoder"]["input"]["shape"], ["N", 3, 64, 96])
            # The scene U-ViT does not export with a learned-code autoencoder: its latents mean something else.
            run("-m", "models.shapesworld.train_autoencoder", "--config", "ae-tiny", "--steps", "2", "--grid-steps", "1", "--out", str(tmp / "ae"))
            refused = subprocess.run([sys.executable, "-m", "models.shapesworld.export", "--checkpoint", str(tmp / "uvit" / "last.pt"),
                                      "--autoencoder", str(tmp / "ae" / "last.pt"), "--out", str(tmp / "bad"), "--name", "x"],
                                     cwd=ROOT, capture_output=True, text=True)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("is not the autoencoder the U-ViT was trained on", refused.stderr)


if __name__ == "__main__":
    unittest.main()
