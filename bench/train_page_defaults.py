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

from explorer import jobs, kinds  # noqa: E402
from explorer.data import load_dataset  # noqa: E402
from explorer.presets import DEFAULTS, PRIOR_BASE, page_configs, trainable_kinds  # noqa: E402

TARGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_train_page_defaults.md")))
    args = parser.parse_args()
    dataset = load_dataset(DEFAULTS["dataset"])
    registry = jobs.JobRegistry(max_running=1)
    # A prior models the codes of the base the page offers first (ae_32, 32 numbers a code).
    settings = {**DEFAULTS, "base": PRIOR_BASE, "base_latent": 32}
    rows = []
    for kind, label in ((k.name, k.label) for k in trainable_kinds()):
        model, training = page_configs(settings, dataset.image_shape, kind=kind, classes=len(dataset.classes))
        started = time.perf_counter()
        snap = registry.wait(registry.submit(jobs.JobSpec(DEFAULTS["dataset"], model, training, f"bench_{kind}")))
        seconds = time.perf_counter() - started
        if snap.status != "done":
            raise SystemExit(f"{kind}: {snap.status} ({snap.error})")
        quality = ", ".join(f"{m.header} {m.format.format(snap.metrics[m.key])}"
                            for m in kinds.ROLE_METRICS[model.spec.role] if m.key in snap.metrics)
        rows.append((label, seconds, quality))
        print(f"{label}: {seconds:.1f} s, {quality}", flush=True)
    shown = ", ".join(f"{k} {v}" for k, v in DEFAULTS.items() if k not in ("dataset", "kind"))
    threads = jobs.threads_per_job(registry.max_running)  # what each job thread sets for itself
    header = (f"## Train page defaults on {DEFAULTS['dataset']} ({threads} torch threads, "
              f"{jobs.available_cores()} cores)\n\n"
              f"Settings: {shown} (β for VAEs, noise for the DAE, base {PRIOR_BASE} for the prior). Seconds from "
              "start to the final test metrics, including the page's per-epoch live view (reconstructions and "
              "latent snapshots, a classifier's readings, a prior's decoded samples).\n\n")
    table = "| model | seconds | target | test metrics |\n|---|---|---|---|\n" + "\n".join(
        f"| {label} | {seconds:.1f} | < {TARGET_SECONDS} s {'MET' if seconds < TARGET_SECONDS else 'MISSED'} "
        f"| {quality} |" for label, seconds, quality in rows)
    print(header + table)
    Path(args.out).write_text(header + table + "\n")


if __name__ == "__main__":
    main()
