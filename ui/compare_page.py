"""AE vs VAE: two models on the same digits, side by side: maps, walks between two digits,
samples from the prior and scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import compare, figure_text, figures, generate, judge, metrics
from explorer.errors import ExplorerError
from ui import pictures, resources, scaffold, url_state
from ui.selection import MAX_HIGHLIGHTS, keyboard_selection, selected_ids
from ui.latent_map import latent_map

PROJECTIONS = {"pca": "PCA (2-D)", "umap": "UMAP (2-D)"}
METHODS = ("linear", "spherical")
SIDES = ("left", "right")
CHARTS = {"left": "cmp_left_chart", "right": "cmp_right_chart"}
SPLIT = "all"  # ids are rows of all 5,000 digits, as on the latent map page
PRIOR_SAMPLES = 24
PRIOR_COLUMNS = 6
PRIOR_ON_MAPS_HELP = (
    "Each map places the random codes without being refitted. On PCA maps, an AE's bunch up in a small patch "
    "when its codes are spread far wider than N(0, I), while a VAE's spread like the digits. UMAP places a new code "
    "among the digits whose codes are nearest, however far they are, so only PCA shows codes that land nowhere."
)


def describe(name: str) -> str:
    """'ae_32 · autoencoder (AE), latent 32'."""
    config = resources.checkpoint(name).config
    return f"{name} · {config.spec.description}, latent {config.latent_dim}"


def compare_controls(names: list[str]) -> dict:
    """The two models and the projection; seeded from the URL once per session."""
    left, right = resources.DEFAULT_COMPARE
    scaffold.seed_model_choice("cmp_left", "left", names, left)
    scaffold.seed_model_choice("cmp_right", "right", names, right if right in names else names[min(1, len(names) - 1)])
    url_state.seed_widget("cmp_projection", "proj", str, "pca", lambda v: v in PROJECTIONS)
    url_state.seed_widget("cmp_steps", "steps", int, 10, lambda v: 5 <= v <= 20)
    url_state.seed_widget("cmp_method", "interp", str, "linear", lambda v: v in METHODS)
    url_state.keep_while_hidden("cmp_steps", "cmp_method")
    url_state.seed_widget("cmp_seed", "seed", int, 0, lambda v: 0 <= v <= 9999)
    url_state.seed_widget("cmp_prior_on_maps", "prior", url_state.parse_flag, False)
    c1, c2, c3 = st.columns([2, 2, 1.5])
    return dict(
        left=c1.selectbox("Left model", names, key="cmp_left"),
        right=c2.selectbox("Right model", names, key="cmp_right"),
        projection=c3.selectbox("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, key="cmp_projection",
                                help="The same method for both maps; each map is fitted to its own model's codes."),
    )


def interpolation_controls() -> dict:
    c1, c2 = st.columns(2)
    return dict(
        steps=c1.slider("Interpolation steps", 5, 20, key="cmp_steps"),
        method=c2.radio("Path", METHODS, horizontal=True, key="cmp_method",
                        help="Spherical keeps the code's length, like typical samples of a Gaussian"),
    )


@st.cache_data(max_entries=32, show_spinner="Scoring interpolations…")
def _smoothness(name: str, version: int) -> float:
    return compare.smoothness_score(resources.checkpoint(name).model, resources.dataset_of(name))


@st.cache_data(max_entries=32, show_spinner="Measuring the model on the test digits…")
def _evaluated(name: str, version: int) -> dict:
    return metrics.evaluate(resources.checkpoint(name).model, resources.dataset_of(name))


def model_metrics(name: str) -> dict:
    """Stored test metrics from the checkpoint (computed if it has none) plus the smoothness score."""
    checkpoint = resources.checkpoint(name)
    stored = dict(checkpoint.info.get("metrics") or {})
    needed = {"mse", "linear_probe"} | ({"neg_elbo"} if checkpoint.config.is_variational else set())
    if not needed <= stored.keys():
        stored = {**_evaluated(name, resources.version(name)), **stored}
    judges = resources.judge_names()
    judged = _judged(name, resources.version(name), judges[0], resources.version(judges[0])) if judges else {}
    return {**stored, "smoothness": _smoothness(name, resources.version(name)), **judged}


@st.cache_data(max_entries=32, show_spinner="Judging generated digits…")
def _judged(name: str, version: int, judge_name: str, judge_version: int) -> dict:
    return compare.judged_generation(resources.checkpoint(name).model, resources.dataset_of(name),
                                     resources.checkpoint(judge_name).model)


def selection_bar(ids: list[int], labels: np.ndarray, classes) -> None:
    if not ids:
        st.info("Select digits on either map (box or lasso tool, or click), or by id or class just above: they "
                "light up on both. Select **two** to walk between them with each model.", icon=":material/touch_app:")
        return
    shown = ", ".join(f"#{i} (class {classes[int(labels[i])]})" for i in ids[:8])
    more = f" and {len(ids) - 8} more" if len(ids) > 8 else ""
    text, button = st.columns([5, 1])
    hint = "" if len(ids) >= 2 else " Select one more to walk between two digits."
    ringed = "ringed on both maps" if len(ids) <= MAX_HIGHLIGHTS else f"the first {MAX_HIGHLIGHTS} ringed on both maps"
    text.markdown(f"**{len(ids)} selected**, {ringed}: {shown}{more}.{hint}")
    if button.button("Clear selection", key="cmp_clear"):
        st.session_state["cmp_ids"] = []
        st.rerun()


def prior_section(names: dict[str, str]) -> None:
    """Prior samples decoded by both models with the same seed. While they are not drawn on the maps
    this is a fragment, so a new seed reruns only this part (the maps above stay as they are)."""
    on_maps = st.session_state.get("cmp_prior_on_maps", False)
    (prior_view if on_maps else st.fragment(prior_view))(names, on_maps)


def prior_view(names: dict[str, str], on_maps: bool) -> None:
    st.subheader("Random codes from N(0, I)")
    text, seed_col = st.columns([5, 1])
    text.markdown(
        f"Both decoders get the **same {PRIOR_SAMPLES} random codes**. A VAE is trained so that exactly these "
        "codes decode to digits. An AE's codes are never pushed toward N(0, I), so where these draws land among "
        "its codes is an accident of training: show them on the maps to see where, and the scores below count "
        "how many the judge reads as digits and how alike the set is to the test digits."
    )
    seed = seed_col.number_input("Seed", 0, 9999, step=1, key="cmp_seed")
    text.toggle("Show these codes on the maps (×)", key="cmp_prior_on_maps", help=PRIOR_ON_MAPS_HELP)
    if st.session_state["cmp_prior_on_maps"] != on_maps:
        st.rerun()  # the whole page: the maps above change too
    columns = st.columns(2, gap="large")
    for side, column in zip(SIDES, columns):
        with column:
            try:
                _, images = generate.sample_prior(resources.checkpoint(names[side]).model, PRIOR_SAMPLES, seed=seed)
                caption = describe(names[side])
            except ExplorerError as error:
                st.error(str(error))
                continue
            pictures.show(st, figures.tile_images(images, ncols=PRIOR_COLUMNS, scale=1), caption=caption,
                          alt=f"{PRIOR_SAMPLES} random codes from N(0, I), seed {seed}, decoded by {names[side]}")
    url_state.write({"seed": seed or None, "prior": "1" if on_maps else None})


def prior_overlay(model, lmap, seed: int | None) -> list[dict]:
    """The prior section's random codes placed on a map (not refitted), or nothing when seed is None."""
    if seed is None:
        return []
    codes, _ = generate.sample_prior(model, PRIOR_SAMPLES, seed=seed)
    return [figures.overlay(lmap.projector.transform(codes), "random codes",
                            marker=dict(symbol="x", size=10, color="black", line=dict(width=1, color="white")),
                            hovertemplate="a random code from N(0, I)<extra></extra>")]


def metrics_section(names: dict[str, str]) -> None:
    st.subheader("Scores on the test digits")
    columns = []
    for side in SIDES:
        title = names[side] if names["left"] != names["right"] else f"{names[side]} ({side})"
        try:
            columns.append((title, model_metrics(names[side])))
        except ExplorerError as error:
            st.error(str(error))
    if not columns:
        return
    st.table(pd.DataFrame(compare.metrics_table(columns)).set_index("metric"))
    st.caption(
        f"↓ lower is better, ↑ higher is better. Negative ELBO exists only for VAEs. Linear probe: how well a "
        f"straight-line classifier reads the digit's class off its code. Interpolation distance: for "
        f"{compare.SMOOTHNESS_PAIRS} fixed random pairs of test digits, each model walks the straight line between "
        f"their codes in {compare.SMOOTHNESS_STEPS} steps, and every in-between image is compared with its nearest "
        "real training digit (RMSE per pixel). **Lower is smoother**: the walk stays among digit-like images instead "
        "of passing through blends that look like no digit. The last three rows are the judgement of a digit "
        f"classifier (a small CNN trained on these digits): of {compare.JUDGED_SAMPLES} random codes from N(0, I) "
        f"and of the midpoints of {compare.JUDGED_PAIRS} walks, how many it reads as some digit with at least "
        f"{judge.CONFIDENT:.0%} confidence, and the Fréchet distance of the samples to the test digits in its features (not Inception's)."
    )


def look_for(names: dict[str, str], offered: list[str]) -> str:
    """The page's "look for" text, written for the two chosen models from their codes."""
    sizes = {side: resources.checkpoint(names[side]).config.latent_dim for side in SIDES}
    if sizes == {"left": 2, "right": 2}:
        widths = {side: float(np.max(np.subtract(*compare.code_extent(resources.codes(names[side]))[::-1])))
                  for side in SIDES}
        return (f"Both models write a digit as two numbers, so each map is the code plane itself (PCA only turns "
                f"it). **Look for** how far the codes spread: `{names['left']}`'s are {widths['left']:.1f} units "
                f"across, `{names['right']}`'s {widths['right']:.1f}. A VAE's codes are pulled toward N(0, I); an "
                "AE's may go anywhere and leave space empty between groups of digits. Below the maps, every point "
                "of both planes is decoded: see what each decoder makes of the empty space.")
    text = (f"**Look for** empty space between groups of digits, but each map squeezes `{names['left']}`'s "
            f"{sizes['left']} numbers and `{names['right']}`'s {sizes['right']} into two: a projection can show "
            "one round cloud even where the codes leave space empty.")
    pair = resources.DEFAULT_COMPARE
    if set(pair) <= set(offered):
        text += f" [Compare `{pair[0]}` and `{pair[1]}`](?left={pair[0]}&right={pair[1]}) to see two code planes with no projection."
    return text


def plane_section(names: dict[str, str]) -> None:
    """Both 2-D planes decoded at every grid point, judged and encoded again (compare.scan_plane)."""
    st.subheader("Every point of the plane, decoded")
    scans = {side: resources.plane_scan(names[side]) for side in SIDES}
    if None in scans.values():
        st.info("A digit judge (a classifier checkpoint such as `digit_judge`) reads each decode; there is none here.")
        return
    st.markdown(compare.plane_verdict(*((names[side], scans[side]) for side in SIDES)))
    for side, column in zip(SIDES, st.columns(2, gap="large")):
        scan = scans[side]
        with column:
            st.plotly_chart(figures.plane_heat_map(scan.xs, scan.ys, scan.confidence, scan.drift,
                                                   title=describe(names[side])),
                            key=f"cmp_plane_{side}", config={"displayModeBar": False},
                            alt=figure_text.plane_heat_map_summary(scan.xs, scan.ys, scan.confidence, scan.drift,
                                                                   confident=judge.CONFIDENT, name=names[side]))
            pictures.show(st, figures.tile_images(scan.images, ncols=len(scan.xs), pad=0, scale=1),
                          caption=f"{names[side]}'s decoder at each point of the same grid",
                          alt=f"{names[side]}'s decodes of a {len(scan.xs)}×{len(scan.xs)} grid over its code plane, "
                              f"{scan.confident_share():.0%} of them read as a digit")
    st.caption(f"A {compare.PLANE_CELLS}×{compare.PLANE_CELLS} grid over the middle 98% of each model's codes of "
               f"all {len(resources.codes(names['left'])):,} images, in each model's own units.")


def render() -> None:
    st.title("AE vs VAE")
    names = scaffold.offered_models()
    if names is None:
        return
    settings = compare_controls(names)
    try:
        st.markdown(look_for({side: settings[side] for side in SIDES}, names))
        compare_view(settings)
    except ExplorerError as error:  # e.g. a checkpoint was deleted or damaged while the page was open
        url_state.show_notices()
        st.error(str(error))


def compare_view(settings: dict) -> None:
    """Maps, walks, prior samples and scores of the two chosen models."""
    chosen = {side: settings[side] for side in SIDES}
    datasets = {side: resources.dataset_of(chosen[side]) for side in SIDES}
    if datasets["left"].name != datasets["right"].name:
        url_state.show_notices()
        st.error(f"{chosen['left']} was trained on {datasets['left'].name} and {chosen['right']} on "
                 f"{datasets['right'].name}: pick two models trained on the same dataset to compare them.")
        return
    ds = datasets["left"]
    x, labels = ds.split(SPLIT)
    labels = labels.numpy()
    n = len(x)
    ids = selected_ids(tuple(CHARTS.values()), "cmp_ids", "ids", n, scope=(ds.name, SPLIT))
    url_state.show_notices()

    # The maps go above the selection bar, the path controls and the strips, but are drawn after
    # them: the paths on the maps depend on those controls, and the strips should arrive first.
    map_columns = st.columns(2, gap="large")
    keyboard_selection("cmp_ids", n, labels, ds.classes)
    selection_bar(ids, labels, ds.classes)
    interp = None
    if len(ids) >= 2:
        st.subheader(f"Interpolation #{ids[0]} → #{ids[1]}")
        st.caption("Each model decodes evenly spaced steps between its own codes of the two digits; the path is "
                   "drawn on its map. Look for steps that stop looking like a digit.")
        interp = interpolation_controls()
    url_state.write({"left": chosen["left"], "right": chosen["right"], "proj": settings["projection"],
                     "ids": ids[:url_state.MAX_LINK_IDS], "steps": interp["steps"] if interp else None,
                     "interp": interp["method"] if interp else None})  # the seed: written by prior_section
    models = {side: resources.checkpoint(chosen[side]).model for side in SIDES}
    paths = {}  # side -> (codes, images) of the walk
    if interp:
        for side in SIDES:
            paths[side] = generate.interpolate(models[side], x[ids[0]], x[ids[1]], interp["steps"], interp["method"])
            st.markdown(f"**{describe(chosen[side])}**")
            pictures.show(st, figures.tile_images(paths[side][1], ncols=len(paths[side][1]), scale=1),
                          alt=f"{len(paths[side][1])} steps of the {interp['method']} walk from digit #{ids[0]} to "
                              f"#{ids[1]}, decoded by {chosen[side]}")
    prior_seed = st.session_state.get("cmp_seed", 0) if st.session_state.get("cmp_prior_on_maps") else None
    pending = []
    for side, column in zip(SIDES, map_columns):
        with column:
            try:
                lmap = resources.latent_map(chosen[side], SPLIT, settings["projection"])
                overlays = [figures.highlight_points(lmap.xy, labels, np.arange(n), ds.classes, ids[:MAX_HIGHLIGHTS]),
                            figures.path_line(lmap.projector.transform(paths[side][0])) if paths else None,
                            *prior_overlay(models[side], lmap, prior_seed)]
            except ExplorerError as error:
                st.error(str(error))
                continue
            scaffold.map_note(lmap)
            if lmap.pending:
                pending.append(chosen[side])
            latent_map(figures.digit_points(lmap.xy, labels, np.arange(n), ds.classes),
                       figures.map_layout(lmap.axis_titles, title=describe(chosen[side])), overlays, key=CHARTS[side])
    if pending:
        resources.rerun_when_umap_ready(pending)

    if all(models[side].config.latent_dim == 2 for side in SIDES):
        plane_section(chosen)
    prior_section(chosen)
    metrics_section(chosen)
