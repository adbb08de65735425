"""Compression lab: autoencoder codes against JPEG and PCA, in bytes per digit and PSNR, on the same test digits."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import bottleneck_figures, compression, figures
from explorer.errors import ExplorerError
from ui import pictures, resources, scaffold, url_state

DEFAULT_DATASET = "mnist5k"
DEFAULT_MODELS = ("ae_32", "vae_32", "conv_ae_32", "conv_vae_32")
N_DIGITS = 500  # the same test digits for every method
N_SHOWN = 10  # digits drawn for a selected budget: the first test digit of each class
CHART_KEY = "lab_chart"
THUMB_SCALE = 2.5  # ten 28 px digits, 70 px wide each, fit one row beside the labels


def datasets_on_offer() -> dict[str, list[str]]:
    """dataset -> readable checkpoints trained on it, in name order."""
    found: dict[str, list[str]] = {}
    for item in resources.autoencoder_listings():
        found.setdefault(item.info.get("dataset", DEFAULT_DATASET), []).append(item.name)
    return found


def lab_controls(offer: dict[str, list[str]]) -> tuple[str, list[str]]:
    """The dataset, and its models to compare; seeded from the link."""
    names = list(offer)
    url_state.seed_widget("lab_dataset", "dataset", str, DEFAULT_DATASET if DEFAULT_DATASET in offer else names[0],
                          lambda v: v in offer)
    left, right = st.columns([1, 3])
    dataset = left.selectbox("Dataset", names, key="lab_dataset", help="Test digits of this dataset, and its models")
    models = offer[dataset]
    default = [m for m in DEFAULT_MODELS if m in models] or models[:4]
    url_state.seed_widget("lab_models", "models", lambda t: [m for m in t.split(",") if m], default,
                          lambda v: all(m in models for m in v))
    st.session_state["lab_models"] = [m for m in st.session_state["lab_models"] if m in models]  # dataset changed
    chosen = right.multiselect("Autoencoders", models, key="lab_models",
                               help="Each model's codes, quantized to 1–8 bits a number, are one curve")
    return dataset, chosen


def _key(models: list[str]) -> tuple[tuple[str, int], ...]:
    return tuple((name, resources.version(name)) for name in models)


@st.cache_resource(max_entries=8, show_spinner="Fitting the quantizers and PCA on the training digits…")
def _codecs(dataset: str, models: tuple[tuple[str, int], ...]) -> dict:
    ds = resources.dataset(dataset)
    x_train, _ = ds.split("train")
    loaded = {name: resources.checkpoint(name).model for name, _ in models}
    # The training rows of the "all" codes the map pages cache already: no second pass over the digits.
    train_rows = resources.split_rows(ds, "train")
    return compression.build_codecs(loaded, x_train, {name: resources.codes(name, "all")[train_rows] for name in loaded})


@st.cache_data(max_entries=8, show_spinner="Compressing the test digits every way (once per server, then cached)…")
def _lab(dataset: str, models: tuple[tuple[str, int], ...]) -> compression.LabResult:
    x_test, _ = resources.dataset(dataset).split("test")
    return compression.run_lab(_codecs(dataset, models), x_test[:N_DIGITS])


@st.cache_data(max_entries=64, show_spinner="Measuring SSIM…")
def _ssim(dataset: str, models: tuple[tuple[str, int], ...], point_key: str) -> float:
    """Mean SSIM over the lab's test digits at one point (by RatePoint.key)."""
    x_test, _ = resources.dataset(dataset).split("test")
    point = next(p for p in _lab(dataset, models).points if p.key == point_key)
    return compression.with_ssim([point], _codecs(dataset, models), x_test[:N_DIGITS])[0].ssim


def chosen_point(lab: compression.LabResult) -> compression.RatePoint | None:
    """The point selected on the chart (kept across reruns and in the link as `point`), or None."""
    by_key = {p.key: p for p in lab.points}
    url_state.seed_widget("lab_point", "point", str, "", lambda v: v in by_key)
    event = (st.session_state.get(CHART_KEY) or {}).get("selection") or {}
    picked = [p for p in event.get("points") or [] if p.get("customdata")]
    keys = [p["customdata"][0] for p in picked if p["customdata"][0] in by_key]
    if keys and keys != st.session_state.get("lab_last"):
        st.session_state["lab_point"] = keys[0]
    st.session_state["lab_last"] = keys
    return by_key.get(st.session_state["lab_point"])


def shown_ids(labels: np.ndarray) -> list[int]:
    """The first test digit of each class (test rows are grouped by class, so the first few are all 0s)."""
    return [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:N_SHOWN]


def shared_table(lab: compression.LabResult) -> list[dict]:
    return [{"method": m, "held by the receiver": "decoder weights" if m != compression.PCA else "PCA axes and mean",
             "size (kB, float32)": round(size / 1000)} for m, size in lab.shared_bytes.items()]


def render() -> None:
    st.title("Compression lab")
    st.markdown(
        "How many bytes does a digit need? Each autoencoder sends its **code**, each number rounded to *b* bits "
        "(1–8, over the range it takes on the training digits) and then packed with a standard compressor (LZMA, "
        "over all test digits at once, so the bytes per digit are a real compressed length ÷ the digits); the "
        "receiver decodes it with the model's decoder. PCA sends its first *k* coefficients, rounded the same way. "
        "JPEG is Pillow's, counted as whole files and as the image data alone (the headers are the same for every "
        "digit of a stream). **Look for** which curve is highest at the budget you can afford."
    )
    offer = datasets_on_offer()
    if not offer:
        st.error(scaffold.NO_CHECKPOINTS)
        return
    dataset, models = lab_controls(offer)
    try:
        key = _key(models)
        lab = _lab(dataset, key)
    except ExplorerError as error:
        st.error(str(error))
        return
    point = chosen_point(lab)
    url_state.show_notices()
    url_state.write({"dataset": dataset, "models": models, "point": point.key if point else ""})
    st.plotly_chart(bottleneck_figures.rate_distortion_figure(lab.curves, lab.lossless), key=CHART_KEY,
                    on_select="rerun", selection_mode=("points",), width="stretch",
                    alt=bottleneck_figures.rate_distortion_summary(lab.curves, lab.lossless))
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**On these {lab.n_digits} test digits.** " + compression.summary(lab.curves))
        st.caption("Lossless references (dashed lines): " + ", ".join(
            f"{name} {size:.0f} bytes" for name, size in lab.lossless.items()) + ".")
    with right:
        st.caption("Not counted per digit, as JPEG's tables are not: what the receiver already holds.")
        st.dataframe(shared_table(lab), hide_index=True, width="stretch")
    if point is None:
        st.info("**Click a point** on the chart (drag to zoom, double-click to zoom out) to see digits at that budget: the chosen setting, and every other "
                "method's best within the same bytes.", icon=":material/touch_app:")
    else:
        budget_section(dataset, key, lab, point)
    with st.expander("Every point on the chart"):
        st.dataframe([{"method": p.method, "setting": p.setting, "bytes per digit": round(p.bytes_per_digit, 1),
                       "PSNR (dB)": round(p.psnr, 2)} for p in lab.points], hide_index=True, width="stretch")


def budget_section(dataset: str, key, lab: compression.LabResult, point: compression.RatePoint) -> None:
    """The first test digits at the chosen point, then each other method's best within its bytes."""
    budget = point.bytes_per_digit
    ssim = _ssim(dataset, key, point.key)
    st.subheader(f"{point.method}, {point.setting}: {budget:.1f} bytes per digit")
    st.markdown(f"Over all {lab.n_digits} test digits: **{point.psnr:.1f} dB** mean PSNR, SSIM **{ssim:.3f}** "
                "(1 is identical). Below, other methods at their best within the same bytes.")
    x_test, labels = resources.dataset(dataset).split("test")
    ids = shown_ids(labels.numpy())
    shown, labels = x_test[ids], labels[ids]
    codecs = _codecs(dataset, key)
    rows = [("original", shown.numpy())]
    rows.append((f"**{point.method}**  \n{point.setting}", compression.reconstruct(point, codecs, shown)))
    for method, points in lab.curves.items():
        best = compression.psnr_at_budget(points, budget)
        if method != point.method and best is not None:
            rows.append((f"{method}  \n{best.setting}, {best.bytes_per_digit:.0f} B",
                         compression.reconstruct(best, codecs, shown)))
    absent = [m for m, pts in lab.curves.items() if m != point.method and compression.psnr_at_budget(pts, budget) is None]
    with st.container(key="lab_digits"):
        for label, images in rows:
            psnr = compression.psnr_per_image(shown.numpy(), images)
            left, right = st.columns([1, 7], vertical_alignment="center")
            left.markdown(label)
            thumbs = [figures.tile_images(image[None], pad=0, scale=1) for image in np.asarray(images)]
            captions = [f"a {resources.dataset(dataset).classes[int(y)]}" for y in labels] if label == \
                "original" else [f"{p:.1f} dB" for p in psnr]
            method = label.split("\n")[0].strip("* ")
            pictures.show(right, thumbs, scale=THUMB_SCALE, caption=captions,
                          alt=[f"test digit {c}" if label == "original" else f"{method}: that digit at {c}" for c in captions])
    if absent:
        st.caption(f"Cannot go as low as {budget:.1f} bytes: " + ", ".join(absent) + ".")
