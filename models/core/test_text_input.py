"""The U-ViT's text input: token ids through its own word embedding (the default), or a text encoder's embeddings."""
import unittest

import torch

from models.core.uvit import UViT, UViTConfig

SMALL = dict(frames=4, height=16, width=16, patch=(2, 8, 8), width_dim=16, depth=3, heads=2, text_len=5, context_frames=1)


def inputs(text: torch.Tensor) -> tuple:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 4, 3, 16, 16, generator=g), torch.zeros(2, 4), torch.tensor([0.5, 0.5]), torch.tensor([24.0, 24.0]), text


class TextInputTest(unittest.TestCase):
    def test_the_default_reads_token_ids_and_has_the_same_weights_as_before(self):
        torch.manual_seed(0)
        state = UViT(UViTConfig(**SMALL)).state_dict()
        self.assertIn("word_embed.weight", state)
        self.assertNotIn("text_proj.weight", state)
        self.assertEqual(UViTConfig().text_dim, 0)

    def test_text_dim_reads_embeddings_of_that_width_and_follows_them(self):
        torch.manual_seed(0)
        model = UViT(UViTConfig(**SMALL, text_dim=12)).eval()
        torch.nn.init.normal_(model.decoder_pred[-1].weight, std=0.1)   # zero at init: every output would be equal
        self.assertNotIn("word_embed.weight", model.state_dict())
        text = torch.randn(2, 5, 12, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            out = model(*inputs(text))
            moved = model(*inputs(text + torch.randn(2, 5, 12)))
        self.assertEqual(out.shape, (2, 4, 3, 16, 16))
        self.assertGreater((out - moved).abs().max().item(), 1e-3)


if __name__ == "__main__":
    unittest.main()
