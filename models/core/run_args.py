"""The command-line options every trainer shares (models/core/loop.py's RunArgs): which config, where checkpoints go,
how long, which seed, whether the run resumes its own checkpoint or starts from another's weights, and the rate's
shape over the run."""
from __future__ import annotations

import argparse
from dataclasses import replace

from .loop import LoopConfig


def training_parser(doc: str, configs: dict, init_help: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(configs), required=True)
    ap.add_argument("--out", required=True, help="checkpoint folder (last.pt, loss.csv)")
    ap.add_argument("--steps", type=int, default=10 ** 9)
    ap.add_argument("--max-minutes", type=float, default=10 ** 9)
    ap.add_argument("--checkpoint-minutes", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1234, help="data and initialisation seed")
    ap.add_argument("--resume", action="store_true", help="continue --out's last.pt (weights, optimiser, step)")
    ap.add_argument("--init", metavar="CHECKPOINT", help=init_help)
    ap.add_argument("--cosine", action="store_true",
                    help="the learning rate falls along a cosine over this run (--steps or --max-minutes, whichever ends it first)")
    ap.add_argument("--slim-checkpoints", action="store_true",
                    help="checkpoints without the optimiser state (half the size; --resume then starts a new optimiser)")
    ap.add_argument("--log-every", type=int, default=20, help="steps between lines of loss.csv")
    return ap


def loop_overrides(ap: argparse.ArgumentParser) -> None:
    """--batch and --lr, for a run that differs from its config in nothing else (a device run's larger batch)."""
    ap.add_argument("--batch", type=int, default=0, help="override the config's batch (windows a step, all processes together)")
    ap.add_argument("--lr", type=float, default=0.0, help="override the config's learning rate")


def overridden(loop: LoopConfig, a: argparse.Namespace) -> LoopConfig:
    return replace(loop, batch=a.batch or loop.batch, lr=a.lr or loop.lr)
