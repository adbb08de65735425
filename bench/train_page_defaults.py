"""The Train page's default settings, for every model kind: how long a student waits, and what comes out.

    python bench/train_page_defaults.py

Runs each kind through the same job registry the page uses (training plus the per-epoch snapshots
the page shows, plus the final test metrics), on mnist5k with the page's defaults, one job at a
time. Prints seconds beside the 60 s target and the test metrics that say whether the model is
recognisable (reconstruction MSE per pixel, linear-probe accuracy of the codes).
Writes the table to bench/results_train_page_defaults.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer import jobs  # noqa: E402
from explorer.data import load_dataset  # noqa: E402
from explorer.presets import DEFAULTS, page_configs, trainable_kinds  # noqa: E402

TARGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_train_page_defaults.md")))
    args = parser.parse_args()
    image_shape = load_dataset(DEFAULTS["dataset"]).image_shape
    registry = jobs.JobRegistry(max_running=1)
    rows = []
    for kind, label in ((k.name, k.label) for k in trainable_kinds()):
        model, training = page_configs(DEFAULTS, image_shape, kind=kind)
        started = time.perf_counter()
        snap = registry.wait(registry.submit(jobs.JobSpec(DEFAULTS["dataset"], model, training, f"bench_{kind}")))
        seconds = time.perf_counter() - started
        if snap.status != "done":
            raise SystemExit(f"{kind}: {snap.status} ({snap.error})")
        rows.append((label, seconds, snap.metrics))
        print(f"{label}: {seconds:.1f} s, MSE {snap.metrics['mse']:.4f}, probe {snap.metrics['linear_probe']:.1%}",
              flush=True)
    settings = ", ".join(f"{k} {v}" for k, v in DEFAULTS.items() if k not in ("dataset", "kind"))
    threads = jobs.threads_per_job(registry.max_running)  # what each job thread sets for itself
    header = (f"## Train page defaults on {DEFAULTS['dataset']} ({threads} torch threads, "
              f"{jobs.available_cores()} cores)\n\n"
              f"Settings: {settings} (β for VAEs, noise for the DAE). Seconds from start to the final test "
              "metrics, including the page's per-epoch reconstructions and latent snapshots.\n\n")
    table = "| model | seconds | target | test MSE/pixel | linear probe |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {label} | {seconds:.1f} | < {TARGET_SECONDS} s {'MET' if seconds < TARGET_SECONDS else 'MISSED'} "
        f"| {metrics['mse']:.4f} | {metrics['linear_probe']:.1%} |" for label, seconds, metrics in rows)
    print(header + table)
    Path(args.out).write_text(header + table + "\n")


if __name__ == "__main__":
    main()
