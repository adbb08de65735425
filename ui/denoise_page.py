"""Denoise: corrupt test digits on purpose and see which model rebuilds them best."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import checkpoints, denoise, figure_text, figures
from explorer.errors import ExplorerError
from ui import pictures, resources, scaffold, url_state
from ui.latent_map import latent_map

KINDS = {"gaussian": "Gaussian noise", "salt_pepper": "Salt and pepper", "mask": "Masked box"}
LEVEL_LABELS = {
    "gaussian": "Noise strength σ",
    "salt_pepper": "Fraction of pixels flipped to black or white",
    "mask": "Box side (fraction of the image)",
}
DEFAULT_MODELS = ("dae_32", "ae_32", "vae_32")
DEFAULT_NOISE = ("gaussian", 0.4)  # the noise dae_32 was trained on: where it should shine
N_SHOWN = 8  # test digits shown one by one
MAX_MAPS = 3  # one WebGL map per model; browsers allow a page only a few WebGL contexts
THUMB_SCALE = 3  # a 28 px digit shown 84 px wide


def denoise_controls(names: list[str]) -> dict:
    """Noise kind, level, seed and models; seeded from the URL once per session."""
    default_models = [m for m in DEFAULT_MODELS if m in names] or names[:MAX_MAPS]
    url_state.seed_widget("dn_kind", "noise", str, DEFAULT_NOISE[0], lambda v: v in KINDS)
    url_state.seed_widget("dn_level", "level", float, DEFAULT_NOISE[1], lambda v: 0.0 <= v <= 1.0)
    url_state.seed_widget("dn_seed", "seed", int, 0, lambda v: 0 <= v <= 9999)
    c1, c2, c3 = st.columns([1.2, 2, 1])
    kind = c1.selectbox("Noise", list(KINDS), format_func=KINDS.get, key="dn_kind")
    level = c2.slider(LEVEL_LABELS[kind], 0.0, 1.0, step=0.05, key="dn_level")
    seed = c3.number_input("Seed", 0, 9999, step=1, key="dn_seed",
                           help="Picks the digits shown and the noise drawn; the same seed gives the same picture")
    models = scaffold.models_picker("Models", names, "dn_models", "models", default_models, valid=bool,
                                    help=f"The first {MAX_MAPS} also get a latent map below")
    return dict(kind=kind, level=float(level), seed=int(seed), models=models)


SUMMARY_SEED = 0  # one noise draw for the whole-split means: over 500 digits the seed moves them by ~0.1 dB


@st.cache_data(max_entries=128, show_spinner="Denoising all test digits…")
def split_summary(name: str, version: int, kind: str, level: float) -> dict:
    """Mean PSNR (model and noisy input) and mean relative code shift over the test split.

    Not per seed: the seed picks the digits shown, and a new seed then costs no new pass over
    the split (it was the largest cost of a Denoise rerun with 30 students clicking).
    """
    model = resources.checkpoint(name).model
    x, _ = resources.dataset_of(name).split("test")
    report = denoise.denoise_report({name: model}, x, kind, level, SUMMARY_SEED)
    shift = denoise.latent_shift(model, x, report.noisy)
    return {"psnr": report.mean_psnr[name], "psnr_noisy": report.mean_psnr_noisy, "shift": shift.mean_relative}


def shown_ids(n: int, seed: int) -> list[int]:
    return sorted(np.random.default_rng(seed).choice(n, size=min(N_SHOWN, n), replace=False).tolist())


def image_row(label: str, images, captions: list[str], what: str) -> None:
    """A labelled row of digits, each with its caption; `what` says in words what each is ("noisy digit")."""
    left, right = st.columns([1, 6], vertical_alignment="center")
    left.markdown(label)
    thumbs = [figures.tile_images(image[None], ncols=1, pad=0, scale=1) for image in np.asarray(images)]
    pictures.show(right, thumbs, scale=THUMB_SCALE, caption=captions, alt=[f"{what}: {c}" for c in captions])


def digit_rows(report: denoise.DenoiseReport, clean, ids: list[int], labels, classes) -> None:
    image_row("**clean**", clean, [f"#{i} · {classes[int(labels[i])]}" for i in ids], "clean test digit")
    noisy = [f"{p:.1f} dB" for p in report.psnr_noisy]
    image_row(f"**noisy**  \n{report.mean_psnr_noisy:.1f} dB", report.noisy, noisy, "the same digit with noise")
    for name, recon in report.reconstructions.items():
        image_row(f"**{name}**  \n{report.mean_psnr[name]:.1f} dB", recon, [f"{p:.1f} dB" for p in report.psnr[name]],
                  f"the noisy digit cleaned by {name}")


def intro(dae: tuple[str, str] | None) -> str:
    """The page's opening text; dae is (name, training noise in words) of a DAE on offer, if any."""
    text = ("Corrupt test digits on purpose, then ask each model to rebuild them. **PSNR** compares a picture "
            "with the clean digit (in dB, higher is better). ")
    if dae is None:
        return text + ("**Look for**: a denoising AE (train one on the Train page) learns to undo the noise it was "
                       "trained on; other noise shows what it did not learn.")
    name, noise = dae
    return text + (f"**Look for**: the denoising AE **{name}** was trained on {noise}. Near that noise it should "
                   "beat the noisy input by a wide margin and beat the plain AE; other kinds and strengths of noise "
                   "show what it did not learn, and there it can fall behind both. The sentence beside the bar "
                   "chart says which happened.")


def left_out_warning(first: str, dataset: str, left_out: dict[str, str]) -> str:
    others = ", ".join(f"**{name}** (trained on {other})" for name, other in left_out.items())
    return (f"Left out {others}: every model here rebuilds the same test digits, those of **{dataset}**, "
            f"the dataset of **{first}**, the first model chosen. To look at the others, choose models "
            "of one dataset, or put one of them first.")


def shift_map(name: str, ids: list[int], clean, noisy, labels, classes, mean_shift: float) -> tuple[dict, dict, list]:
    """The model's PCA map of its clean test codes, with each shown digit joined to its noisy version:
    the digits' trace, the layout and the overlays (ui.latent_map's arguments)."""
    lmap = resources.latent_map(name, "test", "pca")
    model = resources.checkpoint(name).model
    shift = denoise.latent_shift(model, clean, noisy)
    xy_clean = lmap.projector.transform(shift.codes_clean)
    xy_noisy = lmap.projector.transform(shift.codes_noisy)
    title = f"{name} · codes move {mean_shift:.2f}× their spread"
    shifts = figures.overlay(denoise.segment_coordinates(xy_clean, xy_noisy), "shift", mode="lines",
                             line=dict(color=figures.INK_COLOR, width=2))
    noisy_codes = figures.overlay(
        xy_noisy, "noisy", marker=dict(symbol="x", size=11, color=figures.INK_COLOR, line=dict(width=1, color="#ffffff")),
        customdata=np.array(ids).reshape(-1, 1), hovertemplate="noisy #%{customdata[0]}<extra></extra>")
    rows = np.arange(len(lmap.xy))
    return (figures.digit_points(lmap.xy, labels, rows, classes, opacity=0.3, colorbar=False),
            figures.map_layout(lmap.axis_titles, title=title, height=420, dragmode="zoom"),
            [figures.highlight_points(lmap.xy, labels, rows, classes, ids), shifts, noisy_codes])


def render() -> None:
    st.title("Denoise")
    listings = resources.autoencoder_listings()
    # The DAE chosen (session state holds the choice already, before its widget is drawn), else dae_32.
    st.markdown(intro(denoise.offered_dae(listings, [*st.session_state.get("dn_models", []), *DEFAULT_MODELS])))
    names = [item.name for item in listings]
    if not names:
        st.error(scaffold.NO_CHECKPOINTS)
        return
    settings = denoise_controls(names)
    url_state.show_notices()
    chosen = settings["models"]
    url_state.write({"noise": settings["kind"], "level": settings["level"], "seed": settings["seed"],
                     "models": chosen})
    if not chosen:
        st.info("Pick at least one model to denoise with.", icon=":material/touch_app:")
        return
    kind, level, seed = settings["kind"], settings["level"], settings["seed"]
    try:
        # One batch of test digits goes to every model, so they must share the first one's dataset.
        datasets = {name: checkpoints.check_dataset(resources.checkpoint(name).info, name) for name in chosen}
        models, left_out = denoise.same_dataset(datasets)
        if left_out:
            st.warning(left_out_warning(models[0], datasets[models[0]], left_out), icon=":material/filter_alt:")
        ds = resources.dataset_of(models[0])
        x, labels = ds.split("test")
        labels = labels.numpy()
        ids = shown_ids(len(x), seed)
        clean = x[ids]
        loaded = {name: resources.checkpoint(name) for name in models}
        report = denoise.denoise_report({name: c.model for name, c in loaded.items()}, clean, kind, level, seed)
        summaries = {name: split_summary(name, resources.version(name), kind, level) for name in models}
    except ExplorerError as error:
        st.error(str(error))
        return

    st.subheader(f"{len(ids)} test digits, {KINDS[kind].lower()} at {level:g}")
    st.caption("Under each digit: its PSNR against the clean digit. Beside each row's name: the average over "
               "these digits. Change the seed for other digits and other noise.")
    digit_rows(report, clean.numpy(), ids, labels, ds.classes)

    st.subheader(f"All {len(x)} test digits")
    noisy_psnr = next(iter(summaries.values()))["psnr_noisy"]
    left, right = st.columns([3, 2])
    psnr = {m: s["psnr"] for m, s in summaries.items()}
    left.plotly_chart(figures.psnr_bars(psnr, noisy_psnr), key="dn_psnr", config={"displayModeBar": False},
                      width="stretch", alt=figure_text.psnr_summary(psnr, noisy_psnr, digits=len(x)))
    with right:
        st.markdown(f"Mean PSNR at this noise: the noisy input scores **{noisy_psnr:.1f} dB**; "
                    + ", ".join(f"**{m}** {s['psnr']:.1f} dB" for m, s in summaries.items()) + ".")
        kinds = {m: c.config.kind for m, c in loaded.items()}
        dae = next((loaded[m].config for m in models if loaded[m].config.spec.denoising), None)
        trained_on = denoise.training_noise(dae.noise, dae.noise_level) if dae is not None and level > 0 else None
        sentence = denoise.verdict(summaries, kinds, noisy_psnr, trained_on=trained_on,
                           seen=dae is not None and denoise.seen_in_training(dae.noise, dae.noise_level, kind, level))
        if sentence:
            st.markdown(sentence)
        if level == 0:
            st.caption("With no noise the input *is* the clean digit (PSNR is capped at 100 dB): "
                       "every model can only lose a little.")

    st.subheader("On the latent map")
    st.markdown(
        "Each map shows a model's codes of the clean test digits (PCA). The ringed dots are the digits above, "
        "each joined by a line to the code of its noisy version (✕). **Look for**: a robust encoder keeps the "
        "two close, so the decoder gets nearly the same code back. The number in each title is the mean move "
        "over all test digits, relative to the spread of the clean codes."
    )
    mapped = models[:MAX_MAPS]
    for column, name in zip(st.columns(len(mapped)), mapped):
        try:
            base, layout, overlays = shift_map(name, ids, clean, report.noisy, labels, ds.classes,
                                               summaries[name]["shift"])
        except ExplorerError as error:
            column.error(str(error))
            continue
        with column:
            latent_map(base, layout, overlays, key=f"dn_map_{name}", selectable=False,
                       alt=figure_text.map_summary([base, *overlays], layout, subject=f"PCA map of {name}'s codes of "
                                               "the clean test digits, the shown digits joined to their noisy codes"))
    if len(models) > MAX_MAPS:
        st.caption(f"Maps are drawn for the first {MAX_MAPS} models only.")
