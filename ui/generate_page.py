"""Generate: decode codes that belong to no real digit — prior samples, a 2-D grid, one edited code."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import figure_text, figures, generate
from explorer.errors import ExplorerError
from explorer.projection import PCAProjector
from ui import pictures, resources, scaffold, url_state

N_SAMPLES, SAMPLE_COLUMNS = 32, 8
MAX_SEED = 2**31 - 1
MAX_TEMPERATURE = 2.0
TOP_DIMS = 8  # sliders shown before the "all dimensions" expander
PCA_AXES = 8  # principal axes offered as slice directions
STRIP_STEPS = 9  # images per traversal strip, -3σ..+3σ
STRIP_SIGMAS = 3.0
ACTIVE_KL = 0.01  # nats: a unit with less mean KL carries (almost) nothing
SPACINGS = {"normal": "Normal quantiles (inverse CDF)", "even": "Evenly spaced"}
AXES = {"pca": "Two PCA axes of the codes", "dims": "Two latent dimensions"}
FRAME_COLOR = (214, 39, 40)  # figures.CLASS_COLORS[3], red: marks the digit's own cell in a slice


# ---------------------------------------------------------------- cached computations


@st.cache_data(max_entries=64, show_spinner=False)
def _prior_samples(name: str, version: int, seed: int, temperature: float) -> np.ndarray:
    _, images = generate.sample_prior(resources.checkpoint(name).model, N_SAMPLES, seed, temperature)
    return images  # (N_SAMPLES, C, H, W)


@st.cache_data(max_entries=16, show_spinner="Ranking the latent dimensions…")
def _dimension_stats(name: str, version: int) -> dict:
    """generate.dimension_stats of the model on its test digits."""
    return generate.dimension_stats(resources.checkpoint(name).model, resources.dataset_of(name).x_test,
                                    resources.codes(name, "test"))


@st.cache_data(max_entries=16, show_spinner=False)
def _pca_axes(name: str, version: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal axes of all codes: components (k, latent), their σ (k,) and variance ratio (k,)."""
    pca = PCAProjector(n_components=k).fit(resources.codes(name, "all"))
    return pca.components_, np.sqrt(pca.explained_variance_), pca.explained_variance_ratio_


@st.cache_data(max_entries=32, show_spinner="Decoding the grid…")
def _manifold(name: str, version: int, n: int, span: float, spacing: str, _center, _directions,
              slice_key: tuple) -> np.ndarray:
    """Images (n*n, C, H, W) of generate.manifold_grid; `slice_key` names the center and
    directions (digit id, axis kind, axes), which are arrays and so not hashed themselves."""
    _, images = generate.manifold_grid(resources.checkpoint(name).model, n, span, spacing,
                                       center=_center, directions=_directions)
    return images


# ---------------------------------------------------------------- small helpers


def _keep_valid(key: str, options: list, default) -> None:
    """Options that depend on the model can drop a remembered choice; fall back before the widget exists."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def _framed(mosaic: np.ndarray, index: int, ncols: int, tile: int, border: int) -> np.ndarray:
    """Grey mosaic (H, W) -> RGB with a coloured frame around tile `index` (tiles `tile` px square)."""
    rgb = np.repeat(mosaic[:, :, None], 3, axis=2)
    r, c = divmod(index, ncols)
    box = rgb[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
    box[:border], box[-border:], box[:, :border], box[:, -border:] = (FRAME_COLOR,) * 4
    return rgb


def _show(where, images: np.ndarray, *, alt: str, ncols: int | None = None, caption: str | None = None) -> None:
    """Images (N, C, H, W) as one mosaic filling `where`."""
    pictures.show(where, figures.tile_images(images, ncols=ncols, scale=1), caption=caption, alt=alt)


def _dim_label(d: int, stats: dict) -> str:
    if stats["kl"] is not None:
        return f"z{d} · KL {stats['kl'][d]:.2f}"
    return f"z{d} · var {stats['variance'][d]:.2g}"


# ---------------------------------------------------------------- controls


def page_controls(names: list[str]) -> dict:
    """Model, digit, seed and temperature; seeded from the URL once per session."""
    url_state.seed_widget("gen_seed", "seed", int, 0, lambda v: 0 <= v <= MAX_SEED)
    url_state.seed_widget("gen_temp", "temp", lambda t: round(float(t), 2), 1.0,
                          lambda v: 0.0 <= v <= MAX_TEMPERATURE)
    c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    name = scaffold.model_picker("Model", names, "gen_model", default=resources.DEFAULT_MODEL, where=c1)
    n_test = len(resources.dataset_of(name).x_test)
    url_state.seed_widget("gen_digit", "digit", int, 0, lambda v: 0 <= v < n_test)
    if st.session_state["gen_digit"] >= n_test:  # the last model's dataset may have been larger
        st.session_state["gen_digit"] = n_test - 1
    digit = c2.number_input(f"Digit (test id 0–{n_test - 1})", 0, n_test - 1, step=1, key="gen_digit",
                            help="The digit whose code the slice and the sliders start from")
    config = resources.checkpoint(name).config
    kind = "variational autoencoder (VAE)" if config.is_variational else "plain autoencoder (no prior)"
    c3.caption(f"**{name}**: {kind}, {config.latent_dim}-number codes.")
    return dict(model=name, digit=int(digit))


def _next_seed() -> None:
    st.session_state["gen_seed"] = (st.session_state["gen_seed"] + 1) % (MAX_SEED + 1)


# ---------------------------------------------------------------- sections


@st.fragment
def samples_section(name: str) -> None:
    """Prior samples; a fragment, so a new seed or temperature reruns only this part."""
    try:
        _samples(name)
    except ExplorerError as error:  # a fragment rerun does not pass through render()'s handlers
        st.error(str(error))


def _samples(name: str) -> None:
    st.subheader("Samples from the prior")
    st.markdown("Each image is the decoder's answer to a random code *z* drawn from N(0, T²·I). "
                "**Look for**: does the model make digits out of pure noise? Low temperature gives "
                "'average' digits; high temperature leaves the region the decoder has learned.")
    if not resources.checkpoint(name).model.is_variational:
        st.info(f"**{name}** is a plain autoencoder: nothing made its codes look like N(0, I), so random "
                "codes mostly decode to blots. Pick a VAE to compare.", icon=":material/lightbulb:")
    controls, picture = st.columns([1, 3], gap="large")
    with controls:
        seed = st.number_input("Seed", 0, MAX_SEED, step=1, key="gen_seed")
        st.button("New samples", key="gen_new", icon=":material/casino:", on_click=_next_seed, width="stretch")
        temperature = st.slider("Temperature T (scale of z)", 0.0, MAX_TEMPERATURE, step=0.1, format="%.1f",
                                key="gen_temp")
    images = _prior_samples(name, resources.version(name), int(seed), float(temperature))
    _show(picture, images, ncols=SAMPLE_COLUMNS,
          caption=f"{N_SAMPLES} samples · seed {seed} · T = {temperature:.1f}",
          alt=f"{N_SAMPLES} random codes from N(0, T²I), T = {temperature:.1f}, seed {seed}, decoded by {name}")
    url_state.write({"seed": int(seed), "temp": float(temperature)})


def slice_controls(name: str, digit: int, code: np.ndarray, stats: dict) -> dict:
    """The plane to decode: the whole plane for a 2-D latent, else a slice through the digit's code
    along two PCA axes or two latent dimensions. σ is the prior's (1) for a VAE, the codes' for an AE."""
    latent = code.shape[0]
    if latent == 2:
        return dict(center=stats["centre"], directions=None, sigma=float(stats["sigma"].mean()),
                    key=("plane",), names=("z0", "z1"))
    axes = st.radio("Slice directions", list(AXES), format_func=AXES.get, key="gen_axes")
    if axes == "pca":
        components, pc_sigma, ratio = _pca_axes(name, resources.version(name), min(PCA_AXES, latent))
        options = list(range(len(components)))
        _keep_valid("gen_pc_a", options, 0)
        _keep_valid("gen_pc_b", options, 1)
        label = lambda i: f"PC{i + 1} ({ratio[i]:.1%} of variance)"  # noqa: E731
        a = st.selectbox("Right →", options, format_func=label, key="gen_pc_a")
        b = st.selectbox("Up ↑", options, format_func=label, key="gen_pc_b")
        directions, sigmas, names = (components[a], components[b]), pc_sigma[[a, b]], (f"PC{a + 1}", f"PC{b + 1}")
    else:
        order = [int(d) for d in stats["order"]]
        _keep_valid("gen_dim_a", order, order[0])
        _keep_valid("gen_dim_b", order, order[1])
        label = lambda d: _dim_label(d, stats)  # noqa: E731
        a = st.selectbox("Right →", order, format_func=label, key="gen_dim_a")
        b = st.selectbox("Up ↑", order, format_func=label, key="gen_dim_b")
        directions, sigmas, names = (np.eye(latent)[a], np.eye(latent)[b]), stats["sigma"][[a, b]], (f"z{a}", f"z{b}")
    # A VAE's prior is N(0, I): σ = 1 along every direction.
    sigma = 1.0 if stats["kl"] is not None else float(np.mean(sigmas))
    return dict(center=code, directions=directions, sigma=sigma, key=(digit, axes, a, b), names=names)


def manifold_section(name: str, digit: int, code: np.ndarray, stats: dict) -> None:
    st.subheader("The 2-D manifold")
    latent = code.shape[0]
    controls, picture = st.columns([1, 3], gap="large")
    with controls:
        n = st.slider("Points per side", 5, 21, 15, step=2, key="gen_grid_n")
        span_sigma = st.slider("Span (± σ)", 0.5, 4.0, 2.0, step=0.25, key="gen_span",
                               help="How far the grid reaches, in standard deviations: the prior's for a "
                                    "VAE, the codes' spread for a plain AE")
        spacing = st.radio("Spacing", list(SPACINGS), format_func=SPACINGS.get, key="gen_spacing",
                           help="Normal quantiles put the points where a VAE's prior puts its mass: dense "
                                "near 0, wider apart at the edges. Even spacing treats the whole range alike.")
        plane = slice_controls(name, digit, code, stats)
    right, up = plane["names"]
    span = span_sigma * plane["sigma"]
    if latent == 2:
        picture.markdown(f"Each cell decodes one point of the whole 2-D latent plane ({right} grows to the right, "
                         f"{up} upwards): **look for** digits morphing smoothly into each other, each region of "
                         "the plane having become one kind of digit.")
    else:
        picture.markdown(f"A flat 2-D slice through the {latent}-D latent space: the **red-framed** middle cell is "
                         f"digit #{digit}'s own code, and each step right or up adds a step along {right} or {up} "
                         "while the other numbers of the code stay the digit's.")
    try:
        images = _manifold(name, resources.version(name), n, span, spacing, plane["center"], plane["directions"],
                           plane["key"])
    except ExplorerError as error:
        picture.error(str(error))
        return
    pad = 1
    mosaic = figures.tile_images(images, ncols=n, pad=pad, scale=1)
    if latent > 2:
        mosaic = _framed(mosaic, n * n // 2, n, images.shape[-1] + 2 * pad, 2)
    around = "the centre" if latent == 2 else f"digit #{digit}"
    pictures.show(picture, mosaic, alt=f"a {n}×{n} grid of decoded codes around {around}, {right} growing to "
                                       f"the right and {up} upwards",
                  caption=f"{n}×{n} grid, {right} → and {up} ↑ from −{span:.2f} to +{span:.2f} (code units) "
                          f"around {around}, spacing: {SPACINGS[spacing]}.")


def _reset_sliders(values: dict[str, float]) -> None:
    for key, value in values.items():
        st.session_state[key] = value


@st.fragment
def traversal_section(name: str, digit: int, image: np.ndarray, code: np.ndarray, stats: dict) -> None:
    """Sliders for every number of the digit's code; only this part reruns when one moves."""
    try:
        _traversal(name, digit, image, code, stats)
    except ExplorerError as error:  # a fragment rerun does not pass through render()'s handlers
        st.error(str(error))


def _traversal(name: str, digit: int, image: np.ndarray, code: np.ndarray, stats: dict) -> None:
    model = resources.checkpoint(name).model
    latent = code.shape[0]
    order = [int(d) for d in stats["order"]]
    defaults = {f"gen_z{d}": float(round(code[d], 3)) for d in range(latent)}
    # A new model or digit starts from that digit's own code (set before the sliders exist).
    if st.session_state.get("gen_code_of") != (name, digit) or any(k not in st.session_state for k in defaults):
        _reset_sliders(defaults)
        st.session_state["gen_code_of"] = (name, digit)

    pictures, sliders = st.columns([2, 3], gap="large")

    def slider(d: int):
        lo, hi = generate.slider_range(stats, d, defaults[f"gen_z{d}"], STRIP_SIGMAS)
        return st.slider(_dim_label(d, stats), lo, hi, step=round((hi - lo) / 120, 3) or 0.001, format="%.2f",
                         key=f"gen_z{d}")

    with sliders:
        top, rest = order[:TOP_DIMS], order[TOP_DIMS:]
        columns = st.columns(2)
        values = {}
        for i, d in enumerate(top):
            with columns[i % 2]:
                values[d] = slider(d)
        if rest:
            with st.expander(f"All dimensions ({len(rest)} more, less informative)"):
                columns = st.columns(4)
                for i, d in enumerate(rest):
                    with columns[i % 4]:
                        values[d] = slider(d)
        st.button("Reset to the digit's code", key="gen_reset", icon=":material/restart_alt:",
                  on_click=_reset_sliders, args=(defaults,))
    edited = generate.edit_code(model, code, values)  # (C, H, W)
    reconstruction = generate.edit_code(model, code, {})
    changed = [d for d in order if abs(values[d] - defaults[f"gen_z{d}"]) > 1e-6]

    edits = ", ".join(f"z{d} = {values[d]:.2f}" for d in changed[:4]) + (" …" if len(changed) > 4 else "")
    with pictures:
        small = st.columns(2)
        _show(small[0], image[None], caption=f"digit #{digit}", alt=f"test digit #{digit}")
        _show(small[1], reconstruction[None], caption="its reconstruction",
              alt=f"test digit #{digit} as the model rebuilds it from its code")
        # Keyed so a browser test can find the one image a slider changes.
        _show(st.container(key="gen_edited"), edited[None],
              caption="edited code, decoded: " + (edits or "no number changed yet"),
              alt=f"digit #{digit}'s code, edited ({edits or 'no number changed yet'}), decoded")

    st.markdown("**Traversal strips**: each row sweeps one number of the current code from −3σ to +3σ "
                "(left to right) while the others stay put.")
    chosen = st.session_state.get("gen_strip_dims")
    if chosen is None or not all(d in order for d in chosen):
        st.session_state["gen_strip_dims"] = order[:min(4, latent)]
    strip_dims = st.multiselect("Dimensions to sweep", order, format_func=lambda d: _dim_label(d, stats),
                                key="gen_strip_dims", max_selections=8)
    current = np.array([values[d] for d in range(latent)], dtype=np.float32)
    for d in strip_dims:
        sweep = np.linspace(-STRIP_SIGMAS, STRIP_SIGMAS, STRIP_STEPS) * stats["sigma"][d] + stats["centre"][d]
        label, strip = st.columns([1, 8], vertical_alignment="center")
        label.markdown(f"**z{d}**  \n{sweep[0]:.1f} → {sweep[-1]:.1f}")
        _show(strip, generate.traverse(model, current, d, sweep), ncols=STRIP_STEPS,
              alt=f"{STRIP_STEPS} decodes of the code with z{d} swept from {sweep[0]:.1f} to {sweep[-1]:.1f}")


def traversal_intro(stats: dict, digit: int) -> None:
    st.subheader("Latent traversal: change one number of a code")
    collapse = " For a VAE those are collapsed units: the KL chart below shows them near zero." \
        if stats["kl"] is not None else ""
    st.markdown(f"Each slider is one number of digit #{digit}'s code, the most informative first. **Look for**: "
                "which sliders change the stroke, slant or identity of the digit, and which change nothing at all."
                + collapse)


def kl_section(name: str, stats: dict) -> None:
    st.subheader("Which dimensions carry information?")
    if stats["kl"] is None:
        st.caption(f"KL per dimension needs a VAE: **{name}** is a plain autoencoder, whose codes have no prior to "
                   "compare with. Shown instead: how much each code number varies over the test digits; "
                   "numbers that barely vary carry little information.")
        fig = figures.code_bars(stats["variance"], title="Variance of each code number over the test digits")
        latent = len(stats["variance"])
        fig.update_layout(height=320, yaxis_title="variance")
        fig.update_xaxes(tickvals=list(range(latent)), ticktext=[f"z{d}" for d in range(latent)])
        st.plotly_chart(fig, key="gen_variance_chart", config={"displayModeBar": False},
                        alt=figure_text.code_bars_summary(stats["variance"], subject=f"Bar chart of the variance of each "
                                                      f"of {name}'s code numbers over the test digits"))
        return
    kl = stats["kl"]
    active = generate.active_units(kl, ACTIVE_KL)
    st.markdown(f"**{active} of {len(kl)} units active** (KL > {ACTIVE_KL:g} nats). Each bar is the average "
                "KL divergence (in nats) between a unit's posterior and the N(0, 1) prior over the test digits: "
                "how much it tells the decoder about the image. **Look for** grey bars near zero: those units "
                "collapsed to the prior (posterior collapse), and their sliders above do nothing.")
    fig = figures.kl_bars(kl, ACTIVE_KL)
    fig.update_layout(title_text="Mean KL per latent unit over the test digits (grey: inactive)")
    st.plotly_chart(fig, key="gen_kl_chart", config={"displayModeBar": False},
                    alt=figure_text.kl_summary(kl, ACTIVE_KL, name=name))


# ---------------------------------------------------------------- the page


def render() -> None:
    st.title("Generate")
    st.markdown("A decoder turns *any* code into an image. Here it gets codes that belong to no real digit: "
                "random draws, a grid of points, and one digit's code with a single number changed.")
    names = scaffold.offered_models()
    if names is None:
        return
    try:
        settings = page_controls(names)
    except ExplorerError as error:
        st.error(str(error))
        return
    url_state.show_notices()
    name, digit = settings["model"], settings["digit"]

    samples_section(name)

    try:
        stats = _dimension_stats(name, resources.version(name))
        image = resources.dataset_of(name).x_test[digit].numpy()  # (C, H, W)
        code = resources.codes(name, "test")[digit]  # (latent,)
    except ExplorerError as error:
        st.error(str(error))
    else:
        st.divider()
        try:
            manifold_section(name, digit, code, stats)
        except ExplorerError as error:
            st.error(str(error))
        st.divider()
        traversal_intro(stats, digit)
        traversal_section(name, digit, image, code, stats)
        st.divider()
        kl_section(name, stats)

    url_state.write({"model": name, "digit": digit})  # seed and temperature: written by samples_section
