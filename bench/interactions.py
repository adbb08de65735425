"""Server-side compute of each interaction, as the pages do it: p50 / p95 over many repetitions.

The same explorer calls the pages make, on the 5,000-digit mnist5k maps, with each model loaded
once, in eval mode, and torch.set_num_threads(1) as ui/resources.py sets it. Streamlit's own
cost (sending the elements, the browser drawing them) is not in these figures: see browser.py.

    python bench/interactions.py [--repeats 50] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from harness import checkpoints_dir, ms, server_settings, table, timed, verdict, write_section  # noqa: E402

from explorer import anomaly, checkpoints, data, denoise, drawing, figures, generate, latents, maps  # noqa: E402

TARGET_P95_MS = 50.0
MAIN_MODEL = "vae_32"  # the map page's default
DENOISE_MODELS = ("dae_32", "ae_32", "vae_32")  # the denoise page's defaults


def synthetic_canvas(i: int) -> np.ndarray:
    """A 280×280 RGBA drawing-pad image (white strokes on transparent) of a '7', shifted by i: (280, 280, 4) uint8."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    pen = ImageDraw.Draw(canvas)
    dx, dy = (i * 7) % 60 - 30, (i * 11) % 40 - 20
    points = [(70 + dx, 60 + dy), (210 + dx, 60 + dy), (130 + dx, 230 + dy)]
    pen.line(points, fill=(255, 255, 255, 255), width=18, joint="curve")
    return np.asarray(canvas)


def umap_projector(path: Path, dataset: str, codes: np.ndarray):
    """The stored UMAP map of a checkpoint (computed now, in a child process, if it has none)."""
    service = maps.UMAPService()
    projector = service.get(path, dataset, codes)
    if projector is None:
        print(f"{path.name} has no stored UMAP map; computing one…", flush=True)
        service.wait(path, dataset)
        projector = service.get(path, dataset, codes)
        if projector is None:
            raise SystemExit(f"UMAP failed: {service.problem(path, dataset)}")
    return projector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per interaction (default 50; 10 with --quick)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="also limit numpy's BLAS to this many threads (to try a setting before ui/resources.py has it)")
    args = parser.parse_args()
    repeats = args.repeats or (10 if args.quick else 50)
    settings = server_settings(args.blas_threads)

    root = checkpoints_dir()
    loaded = {name: checkpoints.load(checkpoints.resolve(name, root)) for name in dict.fromkeys((MAIN_MODEL, *DENOISE_MODELS))}
    for item in loaded.values():
        item.model.eval()
    model = loaded[MAIN_MODEL].model
    dataset_name = loaded[MAIN_MODEL].info.get("dataset", data.DEFAULT_DATASET)
    ds = data.load_dataset(dataset_name)
    x, _ = ds.split("all")
    n = len(x)
    codes = latents.encode_dataset(model, x)  # (N, latent), cached by the app
    pca = maps.fit_pca(codes, 2)
    umap = umap_projector(loaded[MAIN_MODEL].path, dataset_name, codes)
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, n, size=(repeats + 3, 4))
    x_test = ds.x_test

    def select_detail(i):  # ui/map_page.digit_panel for 4 selected digits
        batch = x[pairs[i]]
        recon = latents.reconstruct(model, batch)
        errors = latents.per_image_mse(batch.numpy(), recon)
        z = latents.encode_dataset(model, batch)
        for j in range(len(batch)):
            figures.png(figures.tile_images(np.stack([batch[j].numpy(), recon[j]]), ncols=1, scale=1))
        figures.code_bars_svg(z, titles=[f"#{row}" for row in pairs[i]])  # one picture for all four codes
        return errors

    def interpolate_on(projector):
        def run(i):  # ui/map_page: two selected digits -> strip + path on the map
            path_codes, images = generate.interpolate(model, x[pairs[i, 0]], x[pairs[i, 1]], 10, "linear")
            figures.png(figures.tile_images(images, ncols=len(images), scale=1))
            return projector.transform(path_codes)
        return run

    def prior(i):
        return generate.sample_prior(model, 64, seed=i)

    code = codes[0]

    def slider_step(i):  # one traversal slider moved: decode the edited code
        return generate.edit_code(model, code, {0: float(np.sin(i))})

    def denoise_16(i):
        clean = x_test[(i * 16) % 480:(i * 16) % 480 + 16]
        return denoise.denoise_report({name: loaded[name].model for name in DENOISE_MODELS}, clean, "gaussian", 0.5, seed=i)

    def anomaly_scores(i):
        return anomaly.reconstruction_scores(model, x_test)

    canvases = [synthetic_canvas(i) for i in range(repeats + 3)]

    def place_drawing(i):  # ui/draw_page: canvas -> MNIST-style digit -> code -> both maps
        digit = drawing.to_mnist(drawing.canvas_to_gray(canvases[i]))
        reading = drawing.read_digit(model, digit, codes)
        return pca.transform(reading.code[None]), umap.transform(reading.code[None])

    cases = [
        ("select → detail panel (reconstruct + encode 4 digits, their pictures, one code_bars_svg picture)", select_detail),
        ("interpolate 10 steps + place the path on the PCA map", interpolate_on(pca)),
        ("interpolate 10 steps + place the path on the UMAP map", interpolate_on(umap)),
        ("64 prior samples", prior),
        ("one traversal slider step (generate.edit_code)", slider_step),
        ("denoise 16 digits (noise + reconstruct by 3 models + PSNR)", denoise_16),
        (f"anomaly scores of the test split ({len(x_test)} digits)", anomaly_scores),
        ("place one drawn digit (280×280 canvas → to_mnist → encode/decode → PCA and UMAP maps)", place_drawing),
    ]
    rows = []
    for label, function in cases:
        p50, p95 = ms(timed(function, repeats))
        rows.append((label, f"{p50:.1f}", f"{p95:.1f}", f"≤ {TARGET_P95_MS:.0f}", verdict(p95, TARGET_P95_MS)))
        print(rows[-1], flush=True)

    # What a student feels while the server fits a new model's UMAP map (a child process).
    folder = Path(tempfile.mkdtemp(prefix="bench-umap-"))
    fresh = folder / "fresh"
    fresh.mkdir()
    (fresh / "model.safetensors").write_bytes((loaded[MAIN_MODEL].path / "model.safetensors").read_bytes() + b"bench")
    service = maps.UMAPService()
    service.get(fresh, dataset_name, codes)
    busy = []
    while not service.wait(fresh, dataset_name, timeout=0) and len(busy) < 5 * repeats:
        busy += timed(select_detail, 1, warmup=0)
        time.sleep(0.02)
    if busy:
        p50, p95 = ms(busy)
        rows.append((f"select → detail panel while a UMAP map is fitted (child process; {len(busy)} samples)",
                     f"{p50:.1f}", f"{p95:.1f}", f"≤ {TARGET_P95_MS:.0f}", verdict(p95, TARGET_P95_MS)))
    service.wait(fresh, dataset_name)
    shutil.rmtree(folder, ignore_errors=True)

    body = (f"{repeats} repetitions each (after 3 untimed), model `{MAIN_MODEL}` on {dataset_name} "
            f"({n} digits), {settings} (as ui/resources.py sets them); "
            f"checkpoints from `{root}`. Milliseconds.\n\n"
            + table(rows, ("interaction", "p50 ms", "p95 ms", "target p95 ms", "")))
    write_section("interactions", "Interactions: server-side compute", body)


if __name__ == "__main__":
    main()
