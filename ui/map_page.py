"""Latent map: where each digit lands, what the model keeps of it, and the path between two."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from explorer import figures, generate, latents
from explorer.errors import ExplorerError
from ui import pictures, resources, scaffold, url_state
from ui.selection import MAX_HIGHLIGHTS, keyboard_selection, selected_ids
from ui.latent_map import latent_map

PROJECTIONS = {"pca": "PCA (2-D)", "pca3": "PCA (3-D)", "umap": "UMAP (2-D)"}
SPLITS = {"all": "all 5,000", "test": "test", "train": "train"}
METHODS = ("linear", "spherical")
PANEL_SIZE = 4  # digits shown in the detail panel
STRIP_COLUMNS = 6  # at most, interpolation images per row in the panel
PAIR_SCALE = 3  # a digit and its reconstruction, 84 px wide: four fit beside each other in the panel


def map_controls(names: list[str]) -> dict:
    """Model, split, projection and view; seeded from the URL once per session."""
    url_state.seed_widget("map_split", "split", str, "all", lambda v: v in SPLITS)
    url_state.seed_widget("map_projection", "proj", str, resources.opening_projection(st.query_params.get("model"), names),
                          lambda v: v in PROJECTIONS)
    url_state.seed_widget("map_thumbnails", "thumbs", url_state.parse_flag, False)
    url_state.seed_widget("map_steps", "steps", int, 10, lambda v: 5 <= v <= 20)
    url_state.seed_widget("map_method", "interp", str, "linear", lambda v: v in METHODS)
    url_state.keep_while_hidden("map_steps", "map_method")
    c1, c2, c3, c4 = st.columns([2, 1.2, 1.2, 1])
    return dict(
        model=scaffold.model_picker("Model", names, "map_model", default=resources.DEFAULT_MODEL, where=c1),
        split=c2.selectbox("Digits", list(SPLITS), format_func=SPLITS.get, key="map_split"),
        projection=c3.selectbox("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, key="map_projection"),
        thumbnails=c4.toggle("Thumbnails", key="map_thumbnails", help="Draw a few hundred digits at their places"),
    )


def interpolation_controls() -> dict:
    c1, c2 = st.columns([3, 2])
    return dict(
        steps=c1.slider("Interpolation steps", 5, 20, key="map_steps"),
        method=c2.radio("Path", METHODS, key="map_method",
                        help="Spherical keeps the code's length, like typical samples of a Gaussian"),
    )


def interpolation_strip(first: int, last: int, method: str, images: np.ndarray) -> None:
    """The decoded path in rows of equal length, at most STRIP_COLUMNS each, so every digit stays big
    enough to read on a projector."""
    st.subheader(f"Interpolation #{first} → #{last} ({method})")
    rows = math.ceil(len(images) / STRIP_COLUMNS)
    pictures.show(st, figures.tile_images(images, ncols=math.ceil(len(images) / rows), scale=1),
                  caption="Decoded codes along the path, read row by row; the path is drawn on the map.",
                  alt=f"{len(images)} decoded steps of the {method} path from digit #{first} to digit #{last}")


def digit_pictures(name: str, x: np.ndarray, ids: list[int], labels, classes) -> np.ndarray:
    """Each selected digit above its reconstruction, with the error, in one row of pictures (one element, not a
    column each: every element a rerun sends costs the browser a few milliseconds to draw); returns the shown
    digits' codes."""
    model = resources.checkpoint(name).model
    shown = ids[:PANEL_SIZE]
    batch = x[shown]
    recon, errors = latents.reconstruct(model, batch), latents.reconstruction_errors(model, batch)
    st.subheader(f"{len(ids)} selected")
    pictures.show(st, [figures.tile_images(np.stack([digit.numpy(), again]), ncols=1, scale=1)
                       for digit, again in zip(batch, recon)], scale=PAIR_SCALE,
                  caption=[f"#{row} · {classes[int(labels[row])]} · MSE {error:.4f}" for row, error in zip(shown, errors)],
                  alt=[f"digit #{row}, a {classes[int(labels[row])]}, above its reconstruction by {name} "
                       f"(error {error:.4f} per pixel)" for row, error in zip(shown, errors)])
    return latents.encode_dataset(model, batch)


def code_chart(codes: np.ndarray, ids: list[int]) -> None:
    """The shown digits' codes in one picture, one row of bars each."""
    more = (f" …and {len(ids) - PANEL_SIZE} more selected (the panel shows the first {PANEL_SIZE})."
            if len(ids) > PANEL_SIZE else "")
    st.image(figures.code_bars_svg(codes, titles=[f"#{row}" for row in ids[:PANEL_SIZE]]), width="stretch",
             alt="bar charts of the codes of digits " + ", ".join(f"#{row}" for row in ids[:PANEL_SIZE]),
             caption="Above: each digit over the model's reconstruction of it. Here: their codes, one row of bars "
                     "each (the numbers the decoder gets)." + more)


def render() -> None:
    st.title("Latent map")
    st.markdown(
        "Each dot is one digit, placed by the code the encoder gives it. **Look for**: do the digits of "
        "one class cluster together? Box-select or click digits to see what the model keeps of them; "
        "select **two** to walk the straight line between their codes."
    )
    names = scaffold.offered_models()
    if names is None:
        return
    map_view(map_controls(names))


@st.fragment
def map_view(settings: dict) -> None:
    """The map, the selected digits and the interpolation; a fragment, so a selection (or the path's
    controls) reruns only this part: the title and the controls above are neither rerun nor redrawn."""
    try:
        map_body(settings)
    except ExplorerError as error:  # e.g. the checkpoint was deleted or damaged while the page was open
        url_state.show_notices()
        st.error(str(error))


def map_body(settings: dict) -> None:
    """The map is written before the panel beside it: its message (the rings and the path) is small and
    reaches the browser, which draws it, while the server is still making the panel's pictures."""
    name = settings["model"]
    ds = resources.dataset_of(name)
    lmap = resources.latent_map(name, settings["split"], settings["projection"])
    x, labels = ds.split(settings["split"])
    labels = labels.numpy()
    ids = selected_ids(("map_chart",), "map_ids", "ids", len(x), scope=(ds.name, settings["split"]))
    url_state.show_notices()

    scaffold.map_status({name: lmap})
    map_col, panel_col = st.columns([3, 2])
    interp = path = None
    if len(ids) >= 2:
        with panel_col:
            interp = interpolation_controls()
        path = generate.interpolate(resources.checkpoint(name).model, x[ids[0]], x[ids[1]],
                                    interp["steps"], interp["method"])
    url_state.write({"model": name, "split": settings["split"], "proj": settings["projection"],
                     "thumbs": "1" if settings["thumbnails"] else None, "ids": ids[:url_state.MAX_LINK_IDS],
                     "steps": interp["steps"] if interp else None, "interp": interp["method"] if interp else None})
    with map_col:
        map_chart(lmap, x, labels, ds.classes, ids, None if path is None else path[0], settings["thumbnails"])
        keyboard_selection("map_ids", len(x), labels, ds.classes)
    with panel_col:
        if path is not None:
            interpolation_strip(ids[0], ids[1], interp["method"], path[1])
        if not ids:
            st.info("Select digits on the map (box or lasso tool, or click), or by id or class under it, to inspect "
                    "them; select **two** to see the path between them.", icon=":material/touch_app:")
            return
        code_chart(digit_pictures(name, x, ids, labels, ds.classes), ids)
        if st.button("Clear selection"):
            st.session_state["map_ids"] = []
            st.rerun()


def map_chart(lmap, x, labels: np.ndarray, classes, ids: list[int], path_codes: np.ndarray | None,
              thumbnails: bool) -> None:
    """The digits on the map, the selected ones ringed and the interpolation path (codes) drawn through them."""
    flat = lmap.xy.shape[1] == 2
    rows = np.arange(len(x))
    base = figures.digit_points(lmap.xy, labels, rows, classes,
                                opacity=figures.THUMBNAIL_OPACITY if thumbnails and flat else figures.POINT_OPACITY)
    if thumbnails and flat:  # the thumbnail view shows neither highlights nor a path
        latent_map(base, figures.map_layout(lmap.axis_titles), key="map_chart",
                   base_layout=figures.thumbnails(lmap.xy, x[:, 0].numpy()))
    else:
        latent_map(base, figures.map_layout(lmap.axis_titles), [
            figures.highlight_points(lmap.xy, labels, rows, classes, ids[:MAX_HIGHLIGHTS]),
            None if path_codes is None else figures.path_line(lmap.projector.transform(path_codes)),
        ], key="map_chart")
    if thumbnails and not flat:
        st.caption("Thumbnails are drawn on 2-D maps only: pick PCA (2-D) or UMAP to see them.")
    if lmap.method.startswith("pca"):
        ratios = lmap.projector.explained_variance_ratio_
        st.caption("Explained variance: " + ", ".join(f"PC{i + 1} {r:.1%}" for i, r in enumerate(ratios))
                   + f" (together {ratios.sum():.1%} of the codes' variance).")
