"""ShapesWorld's checkpoints and the one place that loads them: each trainer writes its kind (models/core/loop.py),
and weights written before checkpoints had a kind (the bundled models/shapesworld-latent/*.pt) are mapped to one
here. Trainers, export and the evaluation scripts all load through these functions."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..core.autoencoder import FrameAEConfig, FrameAutoencoder
from ..core.checkpoints import CheckpointError, expect_kind, load_checkpoint, uvit_of, weights_key
from ..core.sampling import DECODE_CHUNK, Sampled
from .scene_autoencoder import LATENT_SPACE, SceneAEConfig, SceneAutoencoder
from .scene_uvit import SceneUViT, SceneUViTConfig
from .text import tokenize

PIXEL_UVIT = "shapesworld-uvit"          # models/shapesworld/train.py: the pixel-space U-ViT
LATENT_UVIT = "shapesworld-latent-uvit"  # models/shapesworld/train_latent.py: the U-ViT over latents (SceneUViT)
FRAME_AE = "frame-autoencoder"           # models/shapesworld/train_autoencoder.py: the library's learned-code autoencoder
SCENE_AE = "shapesworld-scene-ae"        # models/shapesworld/train_scene_ae.py: the scene-state autoencoder
SCENE_STATE = "scene-state"              # --ae value: the latents are the world's scene state, no autoencoder


def legacy_kind(state: dict) -> str | None:
    """The kind of a checkpoint written before checkpoints named it, from what each trainer wrote then."""
    if "latent_shift" in state:
        return LATENT_UVIT
    config = state.get("model_config", {})
    if config.get("kind") == "scene":
        return SCENE_AE
    if "phase" in state:
        return FRAME_AE
    if "patch" in config:
        return PIXEL_UVIT
    return None


def read(path: str | Path, *kinds: str) -> dict:
    """A ShapesWorld checkpoint's state, refused unless its kind is one of `kinds`."""
    return expect_kind(load_checkpoint(path, legacy_kind), path, *kinds)


def autoencoder_of(state: dict) -> FrameAutoencoder | SceneAutoencoder:
    """The frame autoencoder of a checkpoint's state, of either kind, in eval mode."""
    if state["kind"] == SCENE_AE:
        ae = SceneAutoencoder(SceneAEConfig(**state["model_config"]))
    else:
        known = FrameAEConfig.__dataclass_fields__
        mc = {k: v for k, v in state["model_config"].items() if k in known}  # options of earlier variants, all at their defaults
        ae = FrameAutoencoder(FrameAEConfig(**{**mc, "channels": tuple(mc["channels"])}))
    ae.load_state_dict(state["model"])
    return ae.eval()


def load_autoencoder(path: str | Path) -> FrameAutoencoder | SceneAutoencoder:
    """A frame autoencoder checkpoint of either kind: a learned code or a scene state."""
    return autoencoder_of(read(path, FRAME_AE, SCENE_AE))


def drawing_decoder(ae: FrameAutoencoder | SceneAutoencoder, scale: int) -> FrameAutoencoder | SceneAutoencoder:
    """The autoencoder whose decoder draws frames `scale`× the native size (--draw-scale): only a scene autoencoder,
    whose decoder renders its scene state, can."""
    if scale == 1:
        return ae
    if not isinstance(ae, SceneAutoencoder):
        raise CheckpointError(f"--draw-scale {scale}: only a scene autoencoder draws at another size; use --draw-scale 1")
    return ae.drawing_at(scale)


def latent_space(ae: str | Path) -> str:
    """What the latents mean, recorded with the data and the U-ViT: the scene state's layout (`--ae scene-state`, or a
    scene autoencoder, whose encoder is trained to output it), or the hash of a learned code's checkpoint."""
    if str(ae) == SCENE_STATE or read(ae, FRAME_AE, SCENE_AE)["kind"] == SCENE_AE:
        return LATENT_SPACE
    return "sha256:" + hashlib.sha256(Path(ae).read_bytes()).hexdigest()


def scene_uvit_of(state: dict, weights: str = "ema") -> SceneUViT:
    """The latent U-ViT of a checkpoint's state, in eval mode."""
    model = SceneUViT(SceneUViTConfig(**state["model_config"]))
    model.load_state_dict(state[weights_key(weights)])
    return model.eval()


def load_latent_uvit(path: str | Path, weights: str = "ema") -> tuple[SceneUViT, dict]:
    """A latent U-ViT checkpoint's network (its EMA or raw weights) and its state (latent shift, scale and space)."""
    state = read(path, LATENT_UVIT)
    return scene_uvit_of(state, weights), state


def load_sampled(checkpoint: str, weights: str, autoencoder: str | None = None, draw_scale: int = 1) -> Sampled:
    """A checkpoint ready to sample; a scene autoencoder's decoder draws frames draw_scale× its native size, as the
    package's decoder.onnx does (models/shapesworld/export.py --draw-scale)."""
    state = read(checkpoint, LATENT_UVIT, PIXEL_UVIT)
    if state["kind"] == LATENT_UVIT:
        if not autoencoder:
            raise CheckpointError(f"--checkpoint {checkpoint} is a latent U-ViT: give its --autoencoder too")
        model = scene_uvit_of(state, weights)
        ae = drawing_decoder(load_autoencoder(autoencoder), draw_scale)
        shift, scale = state["latent_shift"], state["latent_scale"]
        c = model.cfg
        # In chunks, as the engine decodes: 1,200 frames drawn at 4× at once need tens of GB.
        return Sampled(model, c.frames, c.context_frames, c.text_len, (c.latent,), (ae.cfg.height, ae.cfg.width),
                       lambda z: torch.cat([ae.decode(chunk / scale + shift) for chunk in z.split(DECODE_CHUNK)]), tokenize)
    model = uvit_of(state, weights)
    cfg = model.cfg
    return Sampled(model, cfg.frames, cfg.context_frames, cfg.text_len, (cfg.channels, cfg.height, cfg.width),
                   (cfg.height, cfg.width), lambda x: x, tokenize, clip_range=(-1.0, 1.0))
