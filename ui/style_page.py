"""Style: a conditional VAE keeps how a digit is written apart from which digit it is."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import cvae, figures, judge
from explorer.errors import ExplorerError
from explorer.metrics import linear_probe_accuracy
from ui import draw_page, pictures, resources, url_state

SOURCES = {"test": "A test digit", "draw": "Draw or upload"}
WRITERS = 6  # rows of the analogy grid
MAX_SEED = 2**31 - 1
SLIDER_SPAN = 3.0  # the prior is N(0, 1) along every style dimension: ±3σ holds nearly all of it
SLIDER_COLUMNS = 4
AS_READ = -1  # "its class is what the judge reads"


# ---------------------------------------------------------------- cached computations


@st.cache_data(max_entries=16, show_spinner="Fitting the linear probes…")
def _probe(name: str, version: int) -> float:
    """Linear-probe accuracy of a model's codes (style codes for a cVAE), fitted on train, scored on test."""
    model = resources.checkpoint(name).model
    ds = resources.dataset_of(name)
    if model.config.spec.conditional:
        train = cvae.style_codes(model, ds.x_train, ds.y_train)
        test = cvae.style_codes(model, ds.x_test, ds.y_test)
    else:
        train, test = resources.codes(name, "train"), resources.codes(name, "test")
    return linear_probe_accuracy(train, ds.y_train.numpy(), test, ds.y_test.numpy())


@st.cache_data(max_entries=4, show_spinner=False)
def _measures_probe(dataset: str) -> float:
    """Linear-probe accuracy of six plain handwriting measurements (cvae.handwriting_measures): no model."""
    ds = resources.dataset(dataset)
    return linear_probe_accuracy(cvae.handwriting_measures(ds.x_train), ds.y_train.numpy(),
                                 cvae.handwriting_measures(ds.x_test), ds.y_test.numpy())


def _judge():
    names = resources.judge_names()
    return resources.checkpoint(names[0]).model if names else None


def _readings(images: np.ndarray) -> list[str] | None:
    """'reads 7 · 98%' for each image, by the first shipped classifier (None without one)."""
    reader = _judge()
    if reader is None:
        return None
    reading = judge.read(reader, images)
    return [f"{c} · {p:.0%}" for c, p in zip(reading.classes, reading.confidence)]


# ---------------------------------------------------------------- controls and input


def style_controls(names: list[str], n_test: int) -> dict:
    url_state.seed_widget("style_model", "model", str, names[0], lambda v: v in names)
    url_state.seed_widget("style_source", "source", str, "test", lambda v: v in SOURCES)
    url_state.seed_widget("style_digit", "digit", int, 0, lambda v: 0 <= v < n_test)
    url_state.seed_widget("style_seed", "seed", int, 0, lambda v: 0 <= v <= MAX_SEED)
    resources.keep_chosen_model("style_model", names, names[0])
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    return dict(model=c1.selectbox("Conditional VAE", names, key="style_model"),
                source=c2.radio("Whose handwriting", list(SOURCES), format_func=SOURCES.get, key="style_source",
                                horizontal=True),
                digit=int(c3.number_input(f"Test digit (0–{n_test - 1})", 0, n_test - 1, step=1, key="style_digit")))


def chosen_digit(settings: dict, ds) -> tuple[np.ndarray | None, int | None]:
    """The digit (1, 28, 28) whose style is used and its class; (None, None) while nothing is drawn."""
    if settings["source"] == "test":
        i = settings["digit"]
        return ds.x_test[i].numpy(), int(ds.y_test[i])
    pad, side = st.columns([1, 1], gap="medium")
    with pad:
        digit, crop, _ = draw_page.input_panel("style_pad")
        if crop is not None:  # an upload: the part of the picture that was read, as on the Draw page
            pictures.show(st, crop, scale=1, caption=draw_page.CROP_CAPTION, alt=draw_page.CROP_ALT)
    if digit is None:
        side.info("**Draw a digit** on the pad (or upload a picture of one): its style will be written as every "
                  "digit.", icon=":material/draw:")
        return None, None
    image = digit[None].astype(np.float32)
    readings = _readings(image[None])
    options = [AS_READ, *range(len(ds.classes))] if readings else list(range(len(ds.classes)))
    # The reading goes in a caption, not in the option's label: a browser keeps a keyed selectbox's old labels.
    label = lambda c: "as the judge reads it" if c == AS_READ else ds.classes[c]  # noqa: E731
    with side:
        pictures.show(st, figures.tile_images(image[None], pad=0, scale=1), scale=6, caption="your digit, as MNIST was made",
                      alt=draw_page.DIGIT_ALT)
        if readings:
            st.caption(f"The judge reads it as {readings[0]}.")
        said = st.selectbox("It is a…", options, format_func=label, key="style_drawn_class",
                            help="The encoder is told the class; it keeps only what is left: the style")
    if said == AS_READ:
        said = int(judge.read(_judge(), image[None]).classes[0])
    return image, int(said)


# ---------------------------------------------------------------- sections


def ten_digits_section(model, code: np.ndarray, classes) -> None:
    images = cvae.decode_as(model, code[None], range(len(classes)))[0]  # (10, 1, 28, 28)
    readings = _readings(images)
    pictures.show(st, figures.tile_images(images, ncols=len(classes), scale=1),
                  caption="0 to 9 in this hand" + (f" · the judge reads: {', '.join(readings)}" if readings else ""),
                  alt=f"one style code written as each class in turn: {', '.join(classes)}"
                      + (f"; the judge reads them as {', '.join(readings)}" if readings else ""))


def style_sliders(code: np.ndarray, identity: tuple) -> np.ndarray:
    """One slider per style dimension, starting at the digit's code (and reset when the digit changes)."""
    if st.session_state.get("style_slider_owner") != identity:
        st.session_state["style_slider_owner"] = identity
        for d, value in enumerate(code):
            st.session_state[f"style_z{d}"] = float(np.clip(value, -SLIDER_SPAN, SLIDER_SPAN))
    columns = st.columns(SLIDER_COLUMNS)
    return np.array([columns[d % SLIDER_COLUMNS].slider(f"z{d}", -SLIDER_SPAN, SLIDER_SPAN, step=0.1,
                                                        key=f"style_z{d}") for d in range(len(code))], np.float32)


def analogy_section(model, ds) -> None:
    st.subheader("Analogies: several writers, every digit")
    seed = st.number_input("Writers (seed)", 0, MAX_SEED, step=1, key="style_seed",
                           help="Which test digits give the rows")
    rows = np.random.default_rng(int(seed)).choice(len(ds.x_test), WRITERS, replace=False)
    x, y = ds.x_test[rows], ds.y_test[rows].numpy()
    grid = cvae.all_classes_grid(model, x, y)  # (W, 10, 1, 28, 28)
    with_originals = np.concatenate([x.numpy()[:, None], grid], axis=1).reshape(-1, *grid.shape[2:])
    pictures.show(st, figures.tile_images(with_originals, ncols=grid.shape[1] + 1, scale=1),
                  caption="First column: the writer's own digit (test ids " + ", ".join(map(str, rows)) +
                  "); then its style code decoded as 0, 1, …, 9.",
                  alt=f"{len(rows)} rows, one per writer: test digits " + ", ".join(map(str, rows)) +
                      f" each followed by its style decoded as {', '.join(ds.classes)}")
    return int(seed)


def evidence_section(name: str) -> None:
    st.subheader("The evidence: how much of the class is left in the code")
    plain = resources.checkpoint_names(variational=True, conditional=False, role="autoencoder")
    default = "vae_32" if "vae_32" in plain else (plain[0] if plain else None)
    if default is None:
        st.info("Train a plain VAE to compare its codes with the conditional VAE's.")
        return
    other = st.selectbox("Plain VAE to compare", plain, index=plain.index(default), key="style_plain")
    ds = resources.dataset_of(name)
    chance = 1 / len(ds.classes)
    style, plain_code = _probe(name, resources.version(name)), _probe(other, resources.version(other))
    measured = _measures_probe(resources.checkpoint(name).info["dataset"])
    st.markdown("**How often a linear probe reads the class from…**")
    a, b, c, d = st.columns(4)
    a.metric(f"{name}'s style code", f"{style:.1%}")
    b.metric(f"{other}'s code", f"{plain_code:.1%}")
    c.metric("6 handwriting measures", f"{measured:.1%}",
             help="No model: ink, width and height of the inked box, spread across and down, and slant "
                  "(explorer.cvae.handwriting_measures)")
    d.metric("Chance", f"{chance:.0%}", help="Always guessing one class")
    st.caption(f"A logistic regression learns to tell the class from the codes of the {len(ds.x_train):,} training "
               "digits and is scored on the test digits. The plain VAE's code must say which digit it is, so the "
               "probe reads it; the conditional VAE is told the class, so its code keeps only what the class "
               "does not say.")
    st.markdown(cvae.probe_verdict(style, plain_code, measured, chance))


def render() -> None:
    st.title("Style")
    st.markdown("A **conditional VAE** is given the class twice: beside the image when it encodes, beside the code "
                "when it decodes. The code no longer needs to say *which* digit it is, so it keeps *how* it is "
                "written: slant, width, thickness. **Look for** the same hand writing every digit.")
    names = resources.checkpoint_names(conditional=True)
    if not names:
        st.error("No conditional VAE in the checkpoints folder. Train one with "
                 "`python -m explorer train --model cvae --latent-dim 16`.")
        return
    try:
        style_view(names)
    except ExplorerError as error:
        url_state.show_notices()
        st.error(str(error))


def style_view(names: list[str]) -> None:
    ds = resources.dataset(resources.checkpoint(names[0]).info.get("dataset", "mnist5k"))
    settings = style_controls(names, len(ds.x_test))
    url_state.show_notices()
    name = settings["model"]
    model, ds = resources.checkpoint(name).model, resources.dataset_of(name)
    image, label = chosen_digit(settings, ds)
    if image is not None:
        code = cvae.style_codes(model, image[None], [label])[0]
        st.subheader(f"This {ds.classes[label]}'s style, written as every digit")
        identity = (name, settings["source"], settings["digit"] if settings["source"] == "test" else code.tobytes())
        row = st.container()  # above the sliders, drawn after them: it shows the edited code
        with st.expander("Turn the style dimensions (what does each change: slant, width, thickness?)"):
            edited = style_sliders(code, identity)
        with row:
            ten_digits_section(model, edited, ds.classes)
    seed = analogy_section(model, ds)
    evidence_section(name)
    url_state.write({"model": name, "source": settings["source"], "digit": settings["digit"], "seed": seed})
