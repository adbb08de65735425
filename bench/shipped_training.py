"""How long each shipped MLP checkpoint takes to train from scratch, with its own saved settings.

    python bench/shipped_training.py [--threads 2]

Rebuilds each model from checkpoints/NAME/config.json (model config + training settings),
trains it in-process (nothing is saved), and prints seconds beside the 60 s target.
Writes the table to bench/results_shipped_training.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer.data import load_dataset  # noqa: E402
from explorer.models import ModelConfig, build_model  # noqa: E402
from explorer.train import TrainConfig, train  # noqa: E402

MLP_CHECKPOINTS = ("ae_32", "dae_32", "vae_32", "vae_2")
TARGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_shipped_training.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in MLP_CHECKPOINTS:
        info = json.loads((ROOT / "checkpoints" / name / "config.json").read_text())
        settings = {k: v for k, v in info["training"].items() if k != "seconds"}
        data = load_dataset(info["dataset"])
        torch.manual_seed(settings["seed"])
        model = build_model(ModelConfig.from_dict(info["model"]))
        started = time.perf_counter()
        train(model, data.x_train, TrainConfig(**{**settings, "report_every": 0}))
        seconds = time.perf_counter() - started
        rows.append((name, settings["epochs"], seconds))
        print(f"{name}: {seconds:.1f} s", flush=True)
    header = f"## Shipped MLP checkpoints: time to train from scratch ({args.threads} CPU threads)\n\n"
    table = "| checkpoint | epochs | seconds | target |\n|---|---|---|---|\n" + "\n".join(
        f"| {name} | {epochs} | {seconds:.1f} | < {TARGET_SECONDS} s  {'MET' if seconds < TARGET_SECONDS else 'MISSED'} |"
        for name, epochs, seconds in rows)
    print(header + table)
    Path(args.out).write_text(header + table + "\n")


if __name__ == "__main__":
    main()
