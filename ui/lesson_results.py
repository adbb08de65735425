"""The lessons' revealed results: which shipped models each lesson uses, and cached calls into
explorer/lessons.py keyed by checkpoint name and version, so a reveal is quick after the first time."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import anomaly, figure_text, figures, generate, latents, lessons
from ui import anomaly_page, pictures, resources
from ui.selection import chart_selection

BOTTLENECK = ("vae_2", "vae_32")  # a 2-number code against a 32-number one, same kind and training
MAP_MODEL = "vae_32"
COMPARED = ("ae_32", "vae_32")  # AE, then VAE: random codes from N(0, I)
PLANES = resources.DEFAULT_COMPARE  # AE, then VAE, each with a 2-number code: the plane itself, no projection
BETA_MODEL = "vae_beta_4"
REPARAM_MODEL, REPARAM_DIGIT, REPARAM_SEED, REPARAM_SAMPLES = "vae_2", 0, 0, 64  # the plane drawn exactly
DAE, DENOISERS = "dae_32", ("dae_32", "ae_32")
NOISE_LEVEL = 0.4  # the Gaussian σ dae_32 was trained on
QUIZ_SEED = 0
ANOMALY_MODEL = "ae_32"
PAIRS = 64  # prior samples judged per model
SHOWN = 12  # of them drawn on the page
ACTIVE_NATS = 0.01
MAP_K = 50  # digits around a click that judge it
LIKENESS_RULE = ("An image counts as digit-like when its pixels match some real training digit as closely as 90% of "
                 "real test digits match theirs (cosine similarity to the nearest one; no classifier involved).")


def link_lesson() -> int | None:
    """The lesson the link's `answer` belongs to: `lesson`, or lesson 1 when the link names none."""
    raw = st.query_params.get("lesson")
    if raw is None:
        return 1
    return int(raw) if raw.isdigit() and len(raw) <= 3 else None  # 5,000 digits would be a ValueError


def latent_size(name: str) -> int:
    return resources.checkpoint(name).model.config.latent_dim


def beta_of(name: str) -> float:
    return float(resources.checkpoint(name).info["model"].get("beta", 1.0))


def answer_text(number: int, value) -> str | None:
    """A prediction as it is written in the link (lesson 2: "digit@row")."""
    if value is None:
        return None
    if number == 2:
        click = st.session_state.get("lesson2_click")
        return None if click is None else f"{value}@{click}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def test_digits(name: str):
    return resources.dataset_of(name).split("test")[0]


# ------------------------------------------------------------------------------ 1: bottleneck


@st.cache_data(max_entries=16, show_spinner="Rebuilding the test digits…")
def _mse(name: str, version: int) -> float:
    return lessons.reconstruction_mse(resources.checkpoint(name).model, test_digits(name))


def bottleneck() -> dict:
    small, large = BOTTLENECK
    mse_small, mse_large = (_mse(name, resources.version(name)) for name in BOTTLENECK)
    x = test_digits(small)[:8]
    rows = [x.numpy(), *(latents.reconstruct(resources.checkpoint(name).model, x) for name in (small, large))]
    return dict(mse_small=mse_small, mse_large=mse_large, answer=lessons.bottleneck_answer(mse_small, mse_large),
                mosaic=figures.tile_images(np.concatenate(rows), ncols=8, scale=1))


# ------------------------------------------------------------------------------ 2: the map


def map_digits() -> list[str]:
    return list(resources.dataset_of(MAP_MODEL).classes)


def lesson_map() -> resources.LatentMap:
    return resources.latent_map(MAP_MODEL, "all", "umap")


def map_labels() -> np.ndarray:
    return resources.dataset_of(MAP_MODEL).split("all")[1].numpy()


def clicked_row(n: int) -> int | None:
    """The digit row clicked on the lesson's map (the newest click), else the one from the link."""
    picked = chart_selection("lesson2_map")
    if picked:
        if st.session_state.get("lesson2_click") != picked[0]:
            st.session_state["lesson2_revealed"] = False  # a new guess: predict, then look again
        st.session_state["lesson2_click"] = picked[0]
    elif "lesson2_click" not in st.session_state and link_lesson() == 2:
        raw = st.query_params.get("answer", "")
        row = raw.partition("@")[2]
        st.session_state["lesson2_click"] = int(row) if row.isdigit() and int(row) < n else None
    return st.session_state.get("lesson2_click")


def landing(digit: int, clicked: int) -> dict:
    lmap = lesson_map()
    return lessons.landing_result(lmap.xy, map_labels(), len(map_digits()), digit, clicked, MAP_K)


# ------------------------------------------------------------------------------ 3: holes in the plane


def plane_scans() -> dict | None:
    """Both planes decoded and judged (None without a digit judge), and whose has more holes."""
    scans = tuple(resources.plane_scan(name) for name in PLANES)
    if None in scans:
        return None
    return dict(scans=scans, answer=lessons.plane_answer(*scans))


# ------------------------------------------------------------------------------ 4: digit-like images


@st.cache_data(max_entries=4, show_spinner="Measuring how real digits match each other…")
def _likeness_threshold(dataset: str) -> float:
    ds = resources.dataset(dataset)
    return lessons.digit_likeness_threshold(ds.x_test, ds.x_train)


@st.cache_data(max_entries=16, show_spinner="Decoding random codes…")
def _prior(name: str, version: int) -> tuple[float, np.ndarray]:
    ds = resources.dataset_of(name)
    images = lessons.prior_images(resources.checkpoint(name).model, PAIRS, seed=0)
    return lessons.share_like_digits(images, ds.x_train, _likeness_threshold(ds.name)), images[:SHOWN]


def prior_shares() -> dict:
    (ae_share, ae_images), (vae_share, vae_images) = (_prior(n, resources.version(n)) for n in COMPARED)
    return dict(ae=ae_share, vae=vae_share, images=(ae_images, vae_images),
                answer=lessons.prior_answer(ae_share, vae_share))


def show_two_mosaics(images: tuple[np.ndarray, np.ndarray], captions: tuple[str, str]) -> None:
    for column, batch, caption in zip(st.columns(2, gap="large"), images, captions):
        pictures.show(column, figures.tile_images(batch, ncols=6, scale=1), caption=caption,  # column-wide
                      alt=f"{len(batch)} decoded random codes: {caption}")


# ------------------------------------------------------------------------------ 6: active units


@st.cache_data(max_entries=8, show_spinner="Measuring each unit's KL…")
def _kl(name: str, version: int) -> np.ndarray:
    return generate.kl_per_dimension(resources.checkpoint(name).model, test_digits(name))


def active_units() -> dict:
    kl = _kl(BETA_MODEL, resources.version(BETA_MODEL))
    return dict(active=generate.active_units(kl, ACTIVE_NATS), figure=figures.kl_bars(kl, ACTIVE_NATS),
                alt=figure_text.kl_summary(kl, ACTIVE_NATS, name=BETA_MODEL))


# ------------------------------------------------------------------------------ 7: which one denoised


@st.cache_data(max_entries=8, show_spinner="Adding noise and rebuilding…")
def _quiz(names: tuple[str, ...], versions: tuple[int, ...], seed: int) -> dict:
    x = test_digits(names[0])
    rows = np.sort(np.random.default_rng(seed).choice(len(x), size=8, replace=False))
    quiz = lessons.denoising_quiz({name: resources.checkpoint(name).model for name in names}, x[rows], "gaussian",
                                  NOISE_LEVEL, seed)
    quiz["mosaics"] = [figures.tile_images(images, ncols=8, scale=1) for images in (quiz["noisy"], *quiz["images"])]
    return quiz


def denoising_quiz() -> dict:
    return _quiz(DENOISERS, tuple(resources.version(name) for name in DENOISERS), QUIZ_SEED)


# ------------------------------------------------------------------------------ 8: threshold


def anomaly_scores() -> tuple[np.ndarray, np.ndarray]:
    """(test digits' scores, every odd input's score) under the anomaly model (cached by the Anomalies page)."""
    scores = anomaly_page.scores(ANOMALY_MODEL, resources.version(ANOMALY_MODEL))
    return scores["test"], np.concatenate(list(scores["ood"].values()))


def anomaly_options() -> list[float]:
    return anomaly.threshold_options(np.concatenate(anomaly_scores()))


def anomaly_at(threshold: float) -> dict:
    normal, odd = anomaly_scores()
    outcome = lessons.threshold_result(normal, odd, threshold, anomaly_options())
    outcome["figure"] = figures.log_score_histogram(normal, odd, threshold)
    outcome["alt"] = figure_text.score_histogram_summary(normal, odd, threshold,
                                                     subject=f"{ANOMALY_MODEL}'s anomaly scores (reconstruction error)")
    return outcome


# ------------------------------------------------------------------------------ 5: the reparameterization trick


def reparam_samples() -> dict:
    """The test digit's posterior on vae_2, seeded samples z = μ + σ·ε, and how they lie (lessons.sample_spread)."""
    from explorer import reparam

    model = resources.checkpoint(REPARAM_MODEL).model
    post = reparam.posterior(model, test_digits(REPARAM_MODEL)[REPARAM_DIGIT])
    samples = reparam.reparameterize(post, reparam.draw_epsilon(len(post.mu), REPARAM_SAMPLES, REPARAM_SEED))
    codes = resources.codes(REPARAM_MODEL, "all")
    return {"post": post, "samples": samples, "codes": codes,
            **lessons.sample_spread(post.mu, post.sigma, samples, codes)}


# ------------------------------------------------------------------------------ 9: style and content

STYLE_MODELS = ("cvae_16", "vae_32")  # the conditional VAE, and a plain VAE to compare its code with


def style_probes() -> dict:
    """Linear-probe accuracy of the cVAE's style codes, the plain VAE's codes and six handwriting measures
    (the Style page's), and chance."""
    from ui import style_page

    cvae_name, vae_name = STYLE_MODELS
    classes = len(resources.dataset_of(cvae_name).classes)
    return {"cvae": style_page._probe(cvae_name, resources.version(cvae_name)),
            "vae": style_page._probe(vae_name, resources.version(vae_name)), "chance": 1 / classes,
            "measured": style_page._measures_probe(resources.checkpoint(cvae_name).info["dataset"])}


# ------------------------------------------------------------------------------ 10: from autoencoders to diffusion

DIFFUSION_BASE = "ae_32"
DIFFUSION_SEED = 0


def diffusion_routes() -> dict:
    """The Diffusion page's two routes through the plain AE's decoder, judged: N(0, I) codes and the prior's."""
    from explorer import diffusion
    from ui import diffusion_page

    prior = diffusion_page.priors_by_base().get(DIFFUSION_BASE)
    judge_name = resources.judge_names()[0]
    dataset = resources.checkpoint(DIFFUSION_BASE).info.get("dataset", "mnist5k")
    steps = diffusion.DEFAULT_SAMPLE_STEPS
    out = {}
    for route, source in (("gaussian", None), ("prior", prior)):
        route_steps = steps if source else 0  # as the Diffusion page keys them: its caches are shared
        images = diffusion_page._route_images(DIFFUSION_BASE, resources.version(DIFFUSION_BASE), source,
                                              source and resources.version(source), DIFFUSION_SEED, route_steps)
        verdict = diffusion_page._verdict(judge_name, resources.version(judge_name), dataset, images,
                                          (DIFFUSION_BASE, source, DIFFUSION_SEED, route_steps))
        out[route] = {"images": images[:SHOWN], "share": verdict.confident_share, "frechet": verdict.frechet}
    out["answer"] = lessons.which_mostly(out["gaussian"]["share"], out["prior"]["share"], ("gaussian", "prior"))
    out["prior_name"] = prior
    return out
