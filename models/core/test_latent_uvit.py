"""The library's latent U-ViT: no world's conditioning of its own, and a world's added through condition_video."""
import unittest

import torch
from torch import nn

from models.core.latent_uvit import LatentUViT, LatentUViTConfig

SMALL = LatentUViTConfig(frames=4, latent=6, width_dim=16, depth=3, heads=2, text_len=5, vocab=7, predicts="v")


class Brightness(LatentUViT):
    """A world's conditioning in miniature: every video token sees the mean of its frame's latent, through its own layer."""

    def __init__(self, cfg: LatentUViTConfig):
        super().__init__(cfg)
        self.brightness = nn.Linear(1, cfg.width_dim)

    def condition_video(self, video, x, known, tokens):
        return video + self.brightness(x.mean(-1, keepdim=True))


def inputs() -> tuple:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 4, 6, generator=g), torch.zeros(2, 4), torch.tensor([0.5, 0.7]), torch.tensor([24.0, 30.0]),
            torch.tensor([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]]))


class ConditioningTest(unittest.TestCase):
    def test_the_library_network_has_no_world_layers(self):
        names = set(LatentUViT(SMALL).state_dict())
        self.assertFalse({n for n in names if n.startswith(("slot_condition", "edge_embed"))})

    def test_a_subclass_conditions_the_video_tokens_and_keeps_the_library_weights(self):
        torch.manual_seed(0)
        plain = LatentUViT(SMALL).eval()
        torch.nn.init.normal_(plain.decoder_pred.weight, std=0.1)   # zero at init: every output would be equal
        world = Brightness(SMALL).eval()
        missing, unexpected = world.load_state_dict(plain.state_dict(), strict=False)
        self.assertEqual((sorted(missing), unexpected), (["brightness.bias", "brightness.weight"], []))
        with torch.no_grad():
            torch.nn.init.zeros_(world.brightness.weight)
            torch.nn.init.zeros_(world.brightness.bias)
            self.assertTrue(torch.allclose(world(*inputs()), plain(*inputs()), atol=1e-6))   # adds nothing yet
            torch.nn.init.constant_(world.brightness.weight, 1.0)
            self.assertFalse(torch.allclose(world(*inputs()), plain(*inputs()), atol=1e-3))


if __name__ == "__main__":
    unittest.main()
