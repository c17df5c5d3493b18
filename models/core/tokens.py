"""The word tokenizer of models/PACKAGE.md (`"tokenizer": {"type": "word"}`) over a world's vocabulary: the world
says what its words are and how a prompt splits into them; the ids are the vocabulary's order, 0 the padding."""
from __future__ import annotations

from typing import Callable

import torch


def word_ids(prompts: list[str], max_length: int, vocabulary: list[str], words_of: Callable[[str], list[str]]) -> torch.Tensor:
    """[B, max_length] ids: each prompt's words (words_of) that are in the vocabulary, the first max_length, padded with 0."""
    index = {w: i for i, w in enumerate(vocabulary)}
    out = torch.zeros(len(prompts), max_length, dtype=torch.long)
    for row, text in enumerate(prompts):
        ids = [index[w] for w in words_of(text) if w in index][:max_length]
        out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out
