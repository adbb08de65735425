"""Does the conditional VAE write the class it is asked for, in the style of the digit it was given?

    python bench/style.py [--threads 2]

Every test digit's style code (encoded with its own class) is decoded as each of the ten classes, and
the shipped judge (digit_judge) reads the 5,000 images: the share read as the requested class, per class
and on average (target ≥ 95%). Also the cVAE's negative ELBO on the test split (nats per image, β = 1)
and the linear-probe accuracy of its codes beside the plain vae_32's (chance is 10%).
Writes bench/results_style.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer import checkpoints, cvae, judge  # noqa: E402
from explorer.data import load_dataset  # noqa: E402
from explorer.metrics import evaluate  # noqa: E402

CVAE, PLAIN, JUDGE = "cvae_16", "vae_32", "digit_judge"
TARGET = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cvae", default=CVAE)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_style.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist5k")
    model = checkpoints.load(checkpoints.resolve(args.cvae)).model
    reader = checkpoints.load(checkpoints.resolve(JUDGE)).model
    grid = cvae.all_classes_grid(model, data.x_test, data.y_test.numpy())  # (N, 10, 1, 28, 28)
    read = judge.read(reader, grid.reshape(-1, *grid.shape[2:])).classes.reshape(grid.shape[:2])
    per_class = (read == np.arange(grid.shape[1])).mean(0)  # (10,) share read as the requested class
    average = float(per_class.mean())
    mine = evaluate(model, data)
    plain = evaluate(checkpoints.load(checkpoints.resolve(PLAIN)).model, data)
    lines = [f"## {args.cvae}: every test digit's style written as each class, read by {JUDGE} "
             f"({args.threads} CPU threads)", "",
             "| requested class | " + " | ".join(map(str, range(len(per_class)))) + " |",
             "|---|" + "---|" * len(per_class),
             "| read as requested | " + " | ".join(f"{p:.0%}" for p in per_class) + " |", "",
             "| figure | value | target | verdict |", "|---|---|---|---|",
             f"| read as the requested class, mean over classes | {average:.1%} | ≥ {TARGET:.0%} | "
             f"{'MET' if average >= TARGET else 'MISSED'} |",
             f"| negative ELBO on the test split (nats per image) | {mine['neg_elbo']:.1f} | reported | — |",
             f"| linear probe on {args.cvae}'s style codes | {mine['linear_probe']:.1%} | near chance (10%) | — |",
             f"| linear probe on {PLAIN}'s codes | {plain['linear_probe']:.1%} | about 90% | — |"]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
