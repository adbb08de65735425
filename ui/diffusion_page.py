"""Diffusion: a learned prior over an autoencoder's codes, against the N(0, I) prior, judged by a classifier."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import diffusion, figure_text, figures, judge
from explorer.errors import ExplorerError
from explorer.latents import decode_codes
from ui import pictures, resources, url_state

GRID, GRID_COLUMNS = 64, 8  # samples shown per route
JUDGED = 500  # samples per route the Fréchet distance and histogram are computed from (as many as test digits)
PATHS, PATH_POINTS = 3, 9  # reverse paths drawn, images shown along each
MIN_STEPS, MAX_STEPS = 10, 250
MAX_SEED = 2**31 - 1
PATH_COLORS = ("#d62728", "#1f77b4", "#2ca02c")


def priors_by_base() -> dict[str, str]:
    """{autoencoder checkpoint: its diffusion prior checkpoint}: of several priors of one base (a student may save
    one from the Train page), the one with the lowest test noise error."""
    priors = resources.readable_checkpoints(role="prior")
    ranked = sorted(priors, key=lambda item: -(item.info.get("metrics") or {}).get("noise_error", float("inf")))
    return {item.info["model"]["base"]: item.name for item in ranked}  # the best is written last


# ---------------------------------------------------------------- cached computations


@st.cache_data(max_entries=32, show_spinner="Sampling…")
def _route_images(base: str, base_version: int, prior: str | None, prior_version: int | None, seed: int,
                  steps: int) -> np.ndarray:
    """JUDGED images (N, C, H, W) decoded by `base` from N(0, I) codes (prior None) or from the prior's."""
    model = resources.checkpoint(base).model
    prior_model = resources.checkpoint(prior).model if prior else None
    codes = diffusion.route_codes(model.config.latent_dim, JUDGED, seed, prior_model, steps)
    return decode_codes(model, codes)


@st.cache_data(max_entries=4, show_spinner=False)
def _reference_features(judge_name: str, version: int, dataset: str) -> np.ndarray:
    return judge.read(resources.checkpoint(judge_name).model, resources.dataset(dataset).x_test).features


@st.cache_data(max_entries=64, show_spinner="Judging…")
def _verdict(judge_name: str, version: int, dataset: str, _images: np.ndarray, key: tuple) -> judge.Verdict:
    return judge.verdict(resources.checkpoint(judge_name).model, _images,
                         _reference_features(judge_name, version, dataset))


@st.cache_data(max_entries=32, show_spinner="Running the reverse process…")
def _paths(prior: str, version: int, seed: int, steps: int) -> np.ndarray:
    return resources.checkpoint(prior).model.sample(PATHS, steps, seed).numpy()  # (steps + 1, PATHS, latent)


# ---------------------------------------------------------------- controls


def diffusion_controls(autoencoders: list[str], variational: list[str]) -> dict:
    def pick(options, wanted):
        return wanted if wanted in options else options[0]

    url_state.seed_widget("dif_ae", "ae", str, pick(autoencoders, "ae_32"), lambda v: v in autoencoders)
    url_state.seed_widget("dif_vae", "vae", str, pick(variational, "vae_32"), lambda v: v in variational)
    url_state.seed_widget("dif_seed", "seed", int, 0, lambda v: 0 <= v <= MAX_SEED)
    url_state.seed_widget("dif_steps", "steps", int, diffusion.DEFAULT_SAMPLE_STEPS,
                          lambda v: MIN_STEPS <= v <= MAX_STEPS)
    c1, c2, c3, c4 = st.columns([2, 2, 1, 2], vertical_alignment="bottom")
    return dict(ae=c1.selectbox("Plain autoencoder", autoencoders, key="dif_ae"),
                vae=c2.selectbox("VAE", variational, key="dif_vae"),
                seed=int(c3.number_input("Seed", 0, MAX_SEED, step=1, key="dif_seed")),
                steps=int(c4.slider("Reverse steps", MIN_STEPS, MAX_STEPS, key="dif_steps",
                                    help="How many of the prior's 1,000 noise levels the reverse process visits")))


# ---------------------------------------------------------------- sections


def route_column(title: str, base: str, prior: str | None, settings: dict, judge_name: str | None) -> None:
    st.markdown(f"**{title}**")
    images = _route_images(base, resources.version(base), prior, prior and resources.version(prior),
                           settings["seed"], settings["steps"] if prior else 0)
    pictures.show(st, figures.tile_images(images[:GRID], ncols=GRID_COLUMNS, scale=1),
                  alt=f"{min(GRID, len(images))} samples from seed {settings['seed']}: {title}")
    if judge_name is None:
        return
    ds = resources.dataset_of(base)
    verdict = _verdict(judge_name, resources.version(judge_name), ds.name, images,
                       (base, prior, settings["seed"], settings["steps"] if prior else 0))
    a, b = st.columns(2)
    a.metric("Fréchet ↓", f"{verdict.frechet:.1f}",
             help=f"Between {JUDGED} samples and the {len(ds.x_test)} test digits, in the features of the judge "
                  f"{judge_name} (a small CNN trained on these digits), not Inception's: compare these numbers only "
                  "with each other.")
    b.metric("Sure", f"{verdict.confident_share:.0%}",
             help=f"Samples the judge reads as some digit with probability ≥ {judge.CONFIDENT:.0%}")
    st.plotly_chart(figures.class_histogram(verdict.histogram, ds.classes, title="Read as"), width="stretch",
                    config={"displayModeBar": False}, key=f"dif_hist_{title}",
                    alt=figure_text.class_histogram_summary(verdict.histogram, ds.classes,
                                                        subject=f"What the judge {judge_name} reads in the samples "
                                                                f"of {title}")
                    + f" {verdict.confident_share:.0%} are read with at least {judge.CONFIDENT:.0%} confidence; "
                      f"Fréchet distance to the test digits {verdict.frechet:.1f}.")


def routes_section(settings: dict, priors: dict[str, str], judge_name: str | None) -> None:
    ae, vae = settings["ae"], settings["vae"]
    routes = [(f"N(0, I) → {ae}", ae, None), (f"N(0, I) → {vae}", vae, None),
              (f"diffusion prior → {ae}", ae, priors.get(ae)), (f"diffusion prior → {vae}", vae, priors.get(vae))]
    for column, (title, base, prior) in zip(st.columns(4, gap="medium"), routes):
        with column:
            if "diffusion" in title and prior is None:
                st.info(f"{base} has no diffusion prior yet: train one with `python -m explorer train --model "
                        f"latent_diffusion --base {base} --latent-dim {resources.checkpoint(base).config.latent_dim}`.")
                continue
            route_column(title, base, prior, settings, judge_name)


def path_section(settings: dict, priors: dict[str, str]) -> None:
    st.subheader("The reverse process, step by step")
    bases = [name for name in (settings["ae"], settings["vae"]) if name in priors]
    if not bases:
        return
    base = st.radio("Prior of", bases, horizontal=True, key="dif_path_base")
    prior, steps = priors[base], settings["steps"]
    path = _paths(prior, resources.version(prior), settings["seed"], steps)  # (steps + 1, PATHS, latent)
    lmap = resources.latent_map(base, "all", "pca")
    ds = resources.dataset_of(base)
    _, labels = ds.split("all")
    overlays = []
    for k in range(PATHS):
        xy = lmap.projector.transform(path[:, k])  # placed on the map's existing projection: no refit
        overlays.append(figures.overlay(xy, f"sample {k + 1}", mode="lines+markers",
                                        line=dict(color=PATH_COLORS[k], width=2),
                                        marker=dict(color=PATH_COLORS[k], size=4)))
        overlays.append(figures.overlay(xy[-1:], f"sample {k + 1}: the code it ends at", marker=dict(
            symbol="star", size=18, color=PATH_COLORS[k], line=dict(width=1, color=figures.INK_COLOR))))
    map_col, strips = st.columns([1, 1], gap="large")
    with map_col:
        digits = figures.digit_points(lmap.xy, labels.numpy(), np.arange(len(labels)), ds.classes, opacity=0.3,
                                      colorbar=False)
        layout = figures.map_layout(lmap.axis_titles, height=480, dragmode="zoom")
        st.plotly_chart(figures.map_figure([digits, *overlays], layout), key="dif_path_map", width="stretch",
                        config={"displayModeBar": False},
                        alt=figure_text.map_summary([digits, *overlays], layout, subject=f"{PATHS} reverse paths of "
                                                f"{prior} over {steps} steps, on {base}'s PCA map of its codes"))
    points = diffusion.path_points(path, PATH_POINTS)
    model = resources.checkpoint(base).model
    with strips:
        st.caption(f"Each path starts at random noise (left) and ends at a code ★ among the digits (right); "
                   f"images at steps {', '.join(map(str, points))} of {steps}, decoded by {base}.")
        for k in range(PATHS):
            images = decode_codes(model, path[points, k])
            pictures.show(st, figures.tile_images(images, ncols=len(points), scale=1), caption=f"sample {k + 1}",
                          alt=f"sample {k + 1} from noise to a code, decoded by {base} at steps "
                              + ", ".join(map(str, points)) + f" of {steps}")


def render() -> None:
    st.title("Diffusion")
    st.markdown("A VAE forces its codes towards N(0, I), so random codes decode to digits, at a price in sharpness. "
                "The **latent diffusion** recipe keeps any autoencoder and learns where its codes lie instead: a "
                "small network learns to remove noise from codes, and run backwards it turns pure noise into a code "
                "the decoder knows. **Look for** the plain AE's blots from N(0, I) turning into digits.")
    autoencoders = resources.checkpoint_names(role="autoencoder", conditional=False, variational=False)
    variational = resources.checkpoint_names(role="autoencoder", conditional=False, variational=True)
    if not autoencoders or not variational:
        st.error("This page needs a plain autoencoder and a VAE in the checkpoints folder.")
        return
    settings = diffusion_controls(autoencoders, variational)
    url_state.show_notices()
    judges = resources.judge_names()
    if not judges:
        st.info("No digit classifier in the checkpoints folder, so the samples are not judged. Train one with "
                "`python -m explorer train --model classifier`.")
    try:
        priors = priors_by_base()
        routes_section(settings, priors, judges[0] if judges else None)
        path_section(settings, priors)
    except ExplorerError as error:
        st.error(str(error))
    url_state.write({"ae": settings["ae"], "vae": settings["vae"], "seed": settings["seed"],
                     "steps": settings["steps"]})
