"""How good are generated digits, route by route? The shipped judge's verdict on each way of making them.

    python bench/generation_quality.py [--samples 1000] [--steps 50] [--threads 2]

Routes: N(0, I) codes through ae_32's and vae_32's decoders, and the shipped diffusion priors' codes
through the same decoders (test reconstructions give the floor). For each: the Fréchet distance to the
500 test digits in the judge's penultimate features (digit_judge, a small CNN, not Inception: compare
these numbers only with each other), the share read confidently as a digit, and the class histogram.
Also the time to sample 64 codes from each prior at the default steps (median of 5, after a warm-up).
Targets (issue 14): prior → ae_32 beats N(0, I) → ae_32 by a wide margin (here: at most half its
distance) and is at least as good as N(0, I) → vae_32; 64 samples at the default steps in ≤ 0.5 s.
Writes bench/results_generation_quality.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer import checkpoints, diffusion, judge  # noqa: E402
from explorer.data import load_dataset  # noqa: E402
from explorer.latents import decode_codes, reconstruct  # noqa: E402

AUTOENCODERS = ("ae_32", "vae_32")
PRIORS = {"ae_32": "diffusion_ae_32", "vae_32": "diffusion_vae_32"}
JUDGE = "digit_judge"
SAMPLE_SECONDS_TARGET = 0.5


def sampling_seconds(prior, steps: int, n: int = 64) -> float:
    prior.sample(n, steps, seed=0)  # warm-up
    times = []
    for seed in range(5):
        started = time.perf_counter()
        prior.sample(n, steps, seed=seed)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(samples: int, steps: int, seed: int = 0) -> tuple[list[tuple], dict[str, float]]:
    data = load_dataset("mnist5k")
    reader = checkpoints.load(checkpoints.resolve(JUDGE)).model
    reference = judge.read(reader, data.x_test).features
    rows, timings = [], {}
    for name in AUTOENCODERS:
        model = checkpoints.load(checkpoints.resolve(name)).model
        prior = checkpoints.load(checkpoints.resolve(PRIORS[name])).model
        latent = model.config.latent_dim
        for route, images in (
            (f"test reconstructions → {name} (floor)", reconstruct(model, data.x_test)),
            (f"N(0, I) → {name}", decode_codes(model, diffusion.route_codes(latent, samples, seed))),
            (f"diffusion prior ({steps} steps) → {name}",
             decode_codes(model, diffusion.route_codes(latent, samples, seed, prior, steps))),
        ):
            verdict = judge.verdict(reader, images, reference)
            rows.append((route, verdict))
            print(f"{route}: Fréchet {verdict.frechet:.1f}", flush=True)
        timings[PRIORS[name]] = sampling_seconds(prior, steps)
    return rows, timings


def table(rows, timings, samples: int, steps: int, threads: int) -> str:
    fd = {route: verdict.frechet for route, verdict in rows}
    prior_ae, gauss_ae = fd[f"diffusion prior ({steps} steps) → ae_32"], fd["N(0, I) → ae_32"]
    gauss_vae = fd["N(0, I) → vae_32"]
    lines = [f"## Generated digits judged by {JUDGE} ({samples} samples per route, seed 0, {threads} CPU threads)", "",
             "Fréchet distance in the judge's 128 penultimate features (not Inception's) to the 500 test digits.", "",
             "| route | Fréchet ↓ | read confidently | class histogram (0–9) |", "|---|---|---|---|"]
    for route, verdict in rows:
        lines.append(f"| {route} | {verdict.frechet:.1f} | {verdict.confident_share:.0%} | "
                     f"{' '.join(map(str, verdict.histogram))} |")
    verdicts = [
        ("prior → ae_32 vs N(0, I) → ae_32 (wide margin: ≤ ½)", f"{prior_ae:.1f} vs {gauss_ae:.1f}",
         prior_ae <= gauss_ae / 2),
        ("prior → ae_32 vs N(0, I) → vae_32 (at least as good)", f"{prior_ae:.1f} vs {gauss_vae:.1f}",
         prior_ae <= gauss_vae),
        *[(f"{name}: 64 samples at {steps} steps (≤ {SAMPLE_SECONDS_TARGET} s)", f"{seconds:.3f} s",
           seconds <= SAMPLE_SECONDS_TARGET) for name, seconds in timings.items()],
    ]
    lines += ["", "| target | figure | verdict |", "|---|---|---|"]
    lines += [f"| {target} | {figure} | {'MET' if ok else 'MISSED'} |" for target, figure, ok in verdicts]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=diffusion.DEFAULT_SAMPLE_STEPS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_generation_quality.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows, timings = measure(args.samples, args.steps)
    text = table(rows, timings, args.samples, args.steps, args.threads)
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
