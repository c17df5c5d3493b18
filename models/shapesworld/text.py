"""ShapesWorld's prompts as the U-ViT reads them: the word tokenizer of models/PACKAGE.md over the world's vocabulary."""
from __future__ import annotations

import torch

from ..core.tokens import word_ids
from .grammar import VOCABULARY, words_of


def tokenize(prompts: list[str], max_length: int) -> torch.Tensor:
    """[B, max_length] word ids of ShapesWorld prompts (unknown words dropped, padded with 0)."""
    return word_ids(prompts, max_length, VOCABULARY, words_of)
