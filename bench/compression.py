"""Compression lab benchmark: autoencoder codes vs PCA vs JPEG on the same 500 mnist5k test digits.

    python bench/compression.py

Prints, per method, the bytes per digit needed to reach a mean PSNR of 15, 18 and 20 dB, and the
PSNR (with SSIM) reached within 16, 32, 64 and 128 bytes per digit; then the guide's claim ("an
autoencoder compresses digits into fewer bytes than JPEG") checked at each PSNR, and how long the
Compression lab page takes to open (cold, once per server) and to rerun (cached). Codes and PCA
coefficients: b-bit uniform quantization (ranges from the training split) + LZMA over all 500
digits ÷ 500. JPEG: Pillow, whole files and scan data only. Writes bench/results_compression.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from explorer import checkpoints, compression, data, latents  # noqa: E402

MODELS = ("ae_32", "vae_32", "conv_ae_32", "conv_vae_32")
N_DIGITS = 500
PAGE_COLD_TARGET_S = 30.0  # the first visit after a server start computes every method once
PAGE_CACHED_TARGET_S = 1.0


def cell_bytes(point) -> str:
    return "not reached" if point is None else f"{point.bytes_per_digit:.1f} ({point.setting})"


def cell_psnr(point) -> str:
    return "nothing fits" if point is None else f"{point.psnr:.1f} dB · SSIM {point.ssim:.3f} ({point.setting})"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def measure_lab() -> tuple[compression.LabResult, dict, float]:
    ds = data.load_dataset("mnist5k")
    models = {name: checkpoints.load(ROOT / "checkpoints" / name).model for name in MODELS}
    started = time.perf_counter()
    codes = {name: latents.encode_dataset(model, ds.x_train) for name, model in models.items()}
    codecs = compression.build_codecs(models, ds.x_train, codes)
    lab = compression.run_lab(codecs, ds.x_test[:N_DIGITS])
    return lab, codecs, time.perf_counter() - started


def page_seconds() -> tuple[float, float]:
    """(first run, second run) of the Compression lab page under AppTest in this process."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_string("from ui import compression_page\ncompression_page.render()\n", default_timeout=900)
    started = time.perf_counter()
    app.run()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    app.run()
    if app.exception or app.error:
        raise RuntimeError(f"the page failed: {app.exception or app.error}")
    return cold, time.perf_counter() - started


def claim_rows(lab: compression.LabResult) -> list[list[str]]:
    """At each PSNR target: the best autoencoder's bytes against JPEG's (scan data only, and whole file)."""
    rows = []
    autoencoders = [p for m in MODELS for p in lab.curves.get(m, [])]
    for target in compression.PSNR_TARGETS:
        ae = compression.bytes_for_psnr(autoencoders, target)
        for jpeg_method in (compression.JPEG_SCAN, compression.JPEG_FILE):
            jpeg = compression.bytes_for_psnr(lab.curves[jpeg_method], target)
            met = ae is not None and (jpeg is None or ae.bytes_per_digit < jpeg.bytes_per_digit)
            ae_text = "not reached" if ae is None else f"{ae.method} {ae.bytes_per_digit:.1f}"
            rows.append([f"{target:g} dB", ae_text, f"{jpeg_method} {cell_bytes(jpeg)}", "MET" if met else "MISSED"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_compression.md")))
    parser.add_argument("--skip-page", action="store_true", help="skip the page timing (AppTest)")
    args = parser.parse_args()
    lab, codecs, seconds = measure_lab()
    x_test = data.load_dataset("mnist5k").x_test[:N_DIGITS]
    need_rows, budget_rows = [], []
    for method, points in lab.curves.items():
        need_rows.append([method] + [cell_bytes(compression.bytes_for_psnr(points, t)) for t in compression.PSNR_TARGETS])
        within = [compression.psnr_at_budget(points, b) for b in compression.BUDGETS]
        measured = {p.key: p for p in compression.with_ssim([p for p in within if p], codecs, x_test)}
        budget_rows.append([method] + [cell_psnr(measured[p.key] if p else None) for p in within])
    sections = [
        f"# Compression lab: {N_DIGITS} mnist5k test digits, every method\n",
        "Codes and PCA coefficients: b-bit uniform quantization per dimension (ranges from the 4,500 training "
        "digits), LZMA (raw LZMA2, preset 6) over all 500 digits' symbols ÷ 500. JPEG: Pillow, standard tables; "
        "whole files, and the entropy-coded scan data only. The decoders' weights, PCA's axes and JPEG's tables "
        "are shared knowledge, not counted per digit.\n",
        "## Bytes per digit needed for a mean PSNR of 15, 18 and 20 dB\n",
        table(["method"] + [f"{t:g} dB" for t in compression.PSNR_TARGETS], need_rows),
        "\n## PSNR (and SSIM) reached within 16, 32, 64 and 128 bytes per digit\n",
        table(["method"] + [f"{b} B" for b in compression.BUDGETS], budget_rows),
        "\n## The guide's claim: an autoencoder needs fewer bytes than JPEG for the same picture quality\n",
        table(["PSNR", "best autoencoder (bytes)", "JPEG (bytes)", "target: AE < JPEG"], claim_rows(lab)),
        "\nLossless references: " + ", ".join(f"{k} {v:.1f} bytes" for k, v in lab.lossless.items()) + ".\n",
        "Verdict, as the page words it: " + compression.summary(lab.curves) + "\n",
        f"Computing every method (codes of the training digits included) took {seconds:.1f} s in this process.\n",
    ]
    if not args.skip_page:
        cold, cached = page_seconds()
        sections.append("## Compression lab page (AppTest, this process)\n")
        sections.append(table(["measure", "measured", "target", ""], [
            ["first open (computes every method once per server)", f"{cold:.1f} s", f"≤ {PAGE_COLD_TARGET_S:g} s",
             "MET" if cold <= PAGE_COLD_TARGET_S else "MISSED"],
            ["rerun (cached)", f"{cached:.2f} s", f"≤ {PAGE_CACHED_TARGET_S:g} s",
             "MET" if cached <= PAGE_CACHED_TARGET_S else "MISSED"]]))
    sections.append(f"\nMachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} when it finished.\n")
    text = "\n".join(sections)
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
