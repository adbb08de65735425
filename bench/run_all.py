"""Run every benchmark, each in its own process, and collect their tables in bench/results.md.

    python bench/run_all.py            # the full run (about 15 minutes on a quiet 2-core machine)
    python bench/run_all.py --quick    # fewer repetitions, no "before" UMAP runs (a few minutes)
    python bench/run_all.py --only umap,interactions

Each script also runs alone and then replaces just its own section of bench/results.md.
Set LATENT_LAB_CHECKPOINTS to benchmark another checkpoints folder.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS, ROOT, checkpoints_dir, git_commit, load_note, summary, write_section  # noqa: E402

BENCH = ROOT / "bench"
# name -> (title, command); sections appear in results.md in this order.
SCRIPTS = {
    "cold_start": ("Cold start", ["cold_start.py"]),
    "interactions": ("Interactions: server-side compute", ["interactions.py"]),
    "browser": ("Browser: action to picture", ["browser_latency.py"]),
    "umap": ("UMAP maps", ["umap_speed.py"]),
    "training": ("Training speed", ["train_speed.py"]),
    "memory": ("Memory", ["memory.py"]),
}


def run_training(quick: bool) -> None:
    """bench/train_speed.py writes its own file; its table goes into results.md as it is."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "train.md"
        command = [sys.executable, str(BENCH / "train_speed.py"), "--out", str(out)] + (["--epochs", "3"] if quick else [])
        subprocess.run(command, cwd=ROOT, check=True)
        text = out.read_text().strip()
    heading, _, body = text.partition("\n")
    write_section("training", heading.lstrip("# ").strip(), body + ("\n\n(--quick: 3 epochs.)" if quick else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; skips the slow 'before' UMAP runs")
    parser.add_argument("--only", default=",".join(SCRIPTS), help=f"comma-separated subset of: {', '.join(SCRIPTS)}")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {', '.join(SCRIPTS)}")

    started = time.perf_counter()
    start_load = load_note()
    if set(chosen) == set(SCRIPTS) or not RESULTS.exists():
        # A fresh file with every section in order; each script fills its own.
        RESULTS.write_text("# Benchmarks\n\n<!-- header -->\n<!-- /header -->\n\n<!-- summary -->\n<!-- /summary -->\n\n"
                           + "\n\n".join(f"<!-- {name} -->\n## {title}\n\n(not run)\n<!-- /{name} -->"
                                         for name, (title, _) in SCRIPTS.items()) + "\n")
    failed, durations = [], {}
    for name in chosen:
        title, command = SCRIPTS[name]
        print(f"\n=== {name} ===", flush=True)
        began = time.perf_counter()
        try:
            if name == "training":
                run_training(args.quick)
            else:
                subprocess.run([sys.executable, str(BENCH / command[0]), *(["--quick"] if args.quick else [])],
                               cwd=ROOT, check=True)
        except subprocess.CalledProcessError as error:
            failed.append(name)
            write_section(name, title, f"**FAILED** (exit code {error.returncode}); see the run's output.")
        durations[name] = time.perf_counter() - began

    header = (f"Written by `python bench/run_all.py{' --quick' if args.quick else ''}` on "
              f"{datetime.datetime.now():%Y-%m-%d %H:%M}, commit {git_commit()}, Python {platform.python_version()}, "
              f"checkpoints `{checkpoints_dir()}`.\n\nMachine: {start_load} at the start, {load_note()} at the end "
              f"({(time.perf_counter() - started) / 60:.1f} min: "
              + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items()) + "). "
              "A load average above the core count means other work shared the cores: figures are then "
              "pessimistic." + (f"\n\n**Failed:** {', '.join(failed)}." if failed else ""))
    verdicts = summary()
    text = re.sub(r"<!-- header -->.*?<!-- /header -->", lambda _: f"<!-- header -->\n{header}\n<!-- /header -->",
                  RESULTS.read_text(), flags=re.S)
    RESULTS.write_text(text)
    print("\n" + header + "\n\n" + verdicts)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
