"""The command-line options every trainer shares: which config, where checkpoints go, how long, which seed, and
whether the run resumes its own checkpoint or starts from another's weights."""
from __future__ import annotations

import argparse


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
    return ap
