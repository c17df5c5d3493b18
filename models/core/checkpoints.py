"""Checkpoints of every model: one reader, and the checkpoint's "kind" says what it holds (which network, trained by
which world's trainer), so no caller guesses it from other keys. Weights written before checkpoints had a kind are
mapped to one, once, by the world that wrote them (its `legacy_kind`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from .uvit import UViT, UViTConfig


class CheckpointError(ValueError):
    """A checkpoint that cannot be used where it was given; the message names the file and what was expected."""


def load_checkpoint(path: str | Path, legacy_kind: Callable[[dict], str | None] | None = None) -> dict:
    """The checkpoint's state with its "kind"; one without a kind gets legacy_kind's answer, or is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a Longshot checkpoint")
    if "kind" not in state:
        kind = legacy_kind(state) if legacy_kind else None
        if kind is None:
            raise CheckpointError(f"{path}: not a Longshot checkpoint (no 'kind')")
        state = {**state, "kind": kind}
    return state


def expect_kind(state: dict, path: str | Path, *kinds: str) -> dict:
    """The state, when its kind is one of `kinds`."""
    if state["kind"] not in kinds:
        raise CheckpointError(f"{path}: a {state['kind']} checkpoint; give one of {', '.join(kinds)}")
    return state


def weights_key(weights: str) -> str:
    """--weights ema|raw as the checkpoint's key: its EMA average ("ema") or the raw weights ("model")."""
    return "ema" if weights == "ema" else "model"


def uvit_of(state: dict, weights: str = "ema") -> UViT:
    """The pixel U-ViT of a checkpoint (its model_config and its `weights`), in eval mode."""
    cfg = UViTConfig(**{**state["model_config"], "patch": tuple(state["model_config"]["patch"])})
    model = UViT(cfg)
    model.load_state_dict(state[weights_key(weights)])
    return model.eval()
