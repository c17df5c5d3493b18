"""Averages the EMA weights of two latent U-ViT checkpoints that continue the same weights (a "model soup"): the mean
of two fine-tunings from one start often keeps what each learned better than either (Wortsman et al., 2022).

  /usr/bin/python3 scripts/average-checkpoints.py A.pt B.pt --weight 0.5 --out soup.pt

Both must be latent U-ViT checkpoints (models/shapesworld/train_latent.py) that share the network config and the latent
shift and scale; the result keeps A's metadata (its kind included) and records both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.core.checkpoints import CheckpointError  # noqa: E402
from models.shapesworld.checkpoints import LATENT_UVIT, read  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--weight", type=float, default=0.5, help="the second checkpoint's share (0 to 1)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not 0.0 <= a.weight <= 1.0:
        raise SystemExit(f"--weight: must be between 0 and 1, got {a.weight}")
    try:
        first, second = (read(path, LATENT_UVIT) for path in (a.first, a.second))
    except CheckpointError as e:
        raise SystemExit(str(e)) from None
    for key in ("model_config", "latent_space"):
        if first.get(key) != second.get(key):
            raise SystemExit(f"{a.second}: its {key} differs from {a.first}'s; only continuations of one network average")
    for key in ("latent_shift", "latent_scale"):
        if not torch.equal(torch.as_tensor(first[key]), torch.as_tensor(second[key])):
            raise SystemExit(f"{a.second}: its {key} differs from {a.first}'s; only continuations of one network average")
    ema = {name: torch.lerp(value.float(), second["ema"][name].float(), a.weight).to(value.dtype) if value.is_floating_point() else value
           for name, value in first["ema"].items()}
    out = {key: value for key, value in first.items() if key not in ("model", "opt")}
    out.update(ema=ema, averaged={"first": a.first, "second": a.second, "weight": a.weight, "steps": [first.get("step"), second.get("step")]})
    torch.save(out, a.out)
    print(f"wrote {a.out}: {1 - a.weight:g} x {a.first} + {a.weight:g} x {a.second}")


if __name__ == "__main__":
    main()
