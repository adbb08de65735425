"""AE vs VAE where the difference shows: every point of ae_2's and vae_2's code planes, decoded and judged.

    python bench/planes.py [--threads 2]

A 24×24 grid over the middle 98% of each model's codes of all 5,000 digits (`compare.scan_plane`, what the
AE vs VAE page and Lesson 3 show): the share of decodes the shipped judge (digit_judge) reads as some digit
with at least 90% confidence, and the share whose decode the encoder puts back within one grid step.
The issue aims for a gap of at least 20 points in the judge's share. Writes bench/results_planes.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import load_note  # noqa: E402
from explorer import checkpoints, compare, latents  # noqa: E402
from explorer.data import load_dataset  # noqa: E402

PAIR, JUDGE = ("ae_2", "vae_2"), "digit_judge"
GAP_TARGET = 0.20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_planes.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = load_dataset("mnist5k").split("all")[0]
    reader = checkpoints.load(checkpoints.resolve(JUDGE)).model
    scans, seconds = {}, {}
    for name in PAIR:
        model = checkpoints.load(checkpoints.resolve(name)).model
        start = time.perf_counter()
        scans[name] = compare.scan_plane(model, latents.encode_dataset(model, x), reader)
        seconds[name] = time.perf_counter() - start
    ae, vae = (scans[name] for name in PAIR)
    gap = vae.confident_share() - ae.confident_share()
    cells = compare.PLANE_CELLS
    lines = [f"## {PAIR[0]} vs {PAIR[1]}: a {cells}×{cells} grid over each code plane, read by {JUDGE} "
             f"({args.threads} CPU threads; {load_note()})", "",
             "| model | plane span (z0, z1) | read as a digit (≥ 90% sure) | comes back within a grid step | scan time |",
             "|---|---|---|---|---|"]
    for name, scan in scans.items():
        lines.append(f"| {name} | {scan.xs[0]:.1f}…{scan.xs[-1]:.1f}, {scan.ys[0]:.1f}…{scan.ys[-1]:.1f} | "
                     f"{scan.confident_share():.1%} | {scan.returned_share():.1%} | {seconds[name]:.2f} s |")
    lines += ["", "| figure | measured | target | verdict |", "|---|---|---|---|",
              f"| judge's share, {PAIR[1]} minus {PAIR[0]} | {gap * 100:+.1f} points | ≥ +{GAP_TARGET * 100:.0f} points | "
              f"{'MET' if gap >= GAP_TARGET else 'MISSED'} |",
              f"| comes back within a grid step, {PAIR[1]} minus {PAIR[0]} | "
              f"{(vae.returned_share() - ae.returned_share()) * 100:+.1f} points | reported | — |"]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
