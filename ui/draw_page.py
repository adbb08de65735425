"""Draw a digit: what each model makes of your own handwriting, and where it lands on the map."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import drawing, figure_text, figures
from explorer.errors import ExplorerError
from ui import pictures, resources, scaffold, url_state
from ui.latent_map import latent_map

PROJECTIONS = {"pca": "PCA", "umap": "UMAP"}
DEFAULT_MODELS = ("ae_32", "vae_32", "dae_32")
MAX_MODELS = 3  # one WebGL map each; browsers give a page only a handful of WebGL contexts
NEIGHBOURS = 5
RECONSTRUCTION_SCALE = 6  # 168 CSS px: readable from the back of a room
PAD = 280  # drawing pad side in CSS pixels; the model input is shown at the same size
DRAW_TAB, UPLOAD_TAB = ":material/draw: Draw", ":material/upload: Upload"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
STAR_COLOR = "#ffd700"
DRAWN_DIGIT = "drawn_digit"  # session state: the last digit drawn or uploaded (28, 28), read by "Inside the model"
HINT = "**Draw a digit** on the black pad (or upload a picture of one) to see what each model makes of it."
PAD_EMPTY = "The drawing is empty — draw a digit first."
CROP_CAPTION = "The part of your picture that was read (gold box)"
CROP_ALT = "your uploaded picture, with the part that was read outlined in a gold box"
DIGIT_ALT = "your digit as MNIST was made: cropped, scaled to 20 pixels and centred in a 28×28 square"


def digit_models() -> list[str]:
    """Checkpoints that read 1×28×28 images: the shape a drawing becomes."""
    return [item.name for item in resources.autoencoder_listings()
            if list(item.info["model"].get("image_shape", ())) == [1, drawing.SIZE, drawing.SIZE]]


def draw_controls(names: list[str]) -> dict:
    """Models and map projection; seeded from the URL once per session."""
    default = [n for n in DEFAULT_MODELS if n in names] or names[:MAX_MODELS]
    url_state.seed_widget("draw_projection", "proj", str, "pca", lambda v: v in PROJECTIONS)
    return dict(
        models=scaffold.models_picker("Models", names, "draw_models", "models", default,
                                      valid=lambda v: 1 <= len(v) <= MAX_MODELS, max_selections=MAX_MODELS,
                                      help=f"Up to {MAX_MODELS} models side by side"),
        projection=st.radio("Map", list(PROJECTIONS), format_func=PROJECTIONS.get, key="draw_projection",
                            horizontal=True, help="How each model's codes are flattened to 2-D for the map"),
    )


def digit_from_canvas(rgba: np.ndarray | None) -> np.ndarray | None:
    """The pad's RGBA pixels (H, W, 4) -> an MNIST-style digit (28, 28), or None for an untouched pad.

    Raises ExplorerError when the pad holds strokes but no visible ink.
    """
    if rgba is None:
        return None
    try:
        return drawing.to_mnist(drawing.canvas_to_gray(rgba))
    except drawing.NoDigitFound:  # its message speaks of a picture; the pad has its own
        raise ExplorerError(PAD_EMPTY) from None


def digit_from_upload(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Image file bytes -> (an MNIST-style digit (28, 28), the picture with the part read outlined (h, w, 3)).

    ExplorerError says what is wrong with the file, or that no digit was found in the picture.
    """
    gray = drawing.load_image(data)
    found = drawing.find_digit(gray)
    return found.digit, drawing.crop_preview(gray, found.box, side=PAD)


def input_panel(prefix: str = "draw") -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """The pad and the uploader, each in its own tab; the open tab is the input. `prefix` starts the
    widgets' keys, so another page (Style) has its own pad.

    Returns (digit (28, 28) or None, an uploaded picture with the part read outlined or None, whether a
    problem with the input was shown). The pad stays mounted in the hidden tab, so switching to Upload
    and back keeps the drawing.
    """
    from streamlit_drawable_canvas import st_canvas  # registers a component: only inside a running app

    draw_tab, upload_tab = st.tabs([DRAW_TAB, UPLOAD_TAB], key=f"{prefix}_source", on_change="rerun")
    with draw_tab:
        canvas = st_canvas(width=PAD, height=PAD, stroke_width=18, stroke_color="#fff", background_color="#000",
                           return_image_data=True, key=f"{prefix}_canvas", drawing_mode="freedraw", update_streamlit=True)
        st.caption("Draw with the mouse or a finger; the toolbar's bin clears the pad.")
    with upload_tab:
        upload = st.file_uploader("A picture of one digit", type=UPLOAD_TYPES, key=f"{prefix}_upload",
                                  max_upload_size=drawing.MAX_BYTES // 1_000_000,
                                  help="A photo or scan of one handwritten digit; any size and colours.")
        st.caption("A phone photo works: dark or coloured ink on light paper (lined is fine) or light on dark, "
                   "even under a desk lamp. Crop it to the paper; the digit nearest the middle is read.")
    if upload_tab.open:
        if upload is None:
            return None, None, False
        try:
            return *digit_from_upload(upload.getvalue()), False
        except ExplorerError as error:
            upload_tab.error(str(error), icon=":material/warning:")
            return None, None, True
    if not (canvas.json_data or {}).get("objects"):  # untouched, or cleared with the toolbar
        return None, None, False
    try:
        return digit_from_canvas(canvas.image_data), None, False
    except ExplorerError as error:
        draw_tab.warning(str(error), icon=":material/draw:")
        return None, None, True


def model_column(name: str, reading: drawing.DigitReading, projection: str) -> None:
    """One model: its reconstruction and error, its map with the new digit starred, and the
    training digits whose codes are nearest."""
    st.subheader(name)
    try:
        ds = resources.dataset_of(name)
        lmap = resources.latent_map(name, "all", projection)
    except ExplorerError as error:
        st.error(str(error))
        return
    # A row that wraps: the numbers sit beside the picture where the column has room (one or two
    # models) and move below it where it has not (three), so the picture never covers them.
    row = st.container(horizontal=True, gap="small")
    pictures.show(row, figures.tile_images(reading.reconstruction[None], pad=0, scale=1), scale=RECONSTRUCTION_SCALE,
                  caption="reconstruction", alt=f"your digit as {name} rebuilds it")
    numbers = row.container(horizontal=True, width="content", gap="medium")
    numbers.metric("Error (MSE)", f"{reading.error:.4f}", width="content", help="Mean squared error per pixel "
                   "between your digit and the reconstruction: lower means the model rebuilt it more faithfully.")
    votes = [ds.classes[int(ds.y_train[i])] for i in reading.neighbours]
    top = max(dict.fromkeys(votes), key=votes.count)  # ties go to the nearer neighbour's class
    agree = votes.count(top)
    numbers.metric("Nearest digits say", top if agree > 1 else "unsure",
                   f"{agree} of {len(votes)} agree" if agree > 1 else "no two agree", delta_color="off",
                   delta_arrow="off", width="content",
                   help=f"The most common class among the {len(votes)} training digits with the closest codes")

    scaffold.map_status({name: lmap})
    _, labels = ds.split("all")
    labels = labels.numpy()
    # Train rows come first in the "all" ordering, so a train row is also its map row.
    star = figures.overlay(lmap.projector.transform(reading.code[None]), "your digit", marker=dict(
        symbol="star", size=30, color=STAR_COLOR, line=dict(width=2, color=figures.INK_COLOR)))
    rows = np.arange(len(labels))
    base = figures.digit_points(lmap.xy, labels, rows, ds.classes)
    layout = figures.map_layout(lmap.axis_titles, height=430, dragmode="zoom")
    overlays = [figures.highlight_points(lmap.xy, labels, rows, ds.classes, reading.neighbours.tolist()), star]
    latent_map(base, layout, overlays, key=f"draw_map_{name}", selectable=False, modebar=False,
               alt=figure_text.map_summary([base, *overlays], layout, subject=f"Map of {name}'s codes, your digit "
                                       f"starred and the {len(reading.neighbours)} training digits nearest in code "
                                       "highlighted"))
    st.markdown("**Nearest training digits**, closest code first")
    for column, row, label in zip(st.columns(len(votes), gap="xsmall"), reading.neighbours, votes):
        pictures.show(column, figures.tile_images(ds.x_train[row].numpy()[None], pad=0, scale=1), caption=label,
                      alt=f"training digit #{row}, a {label}, one of the nearest codes to yours")


def render() -> None:
    st.title("Draw a digit")
    st.markdown(
        "Each model squeezes your digit into a code and rebuilds it from that code: the **reconstruction** "
        "shows what the model *thinks* you drew. **Look for** where the ★ lands on each map: a clear 4 "
        "sits among the 4s, a sloppy one between the 4s and the 9s."
    )
    names = digit_models()
    if not names:
        st.error("No model for 28×28 images found in the checkpoints folder. Train one on the Train page or "
                 "with `python -m explorer train`.")
        return

    # The pad's column is wider than the 280 px pad on a laptop's screen: a narrower one scrolls it sideways,
    # a scrolling area that the keyboard cannot reach (inside the component, where no tabindex can be set).
    pad_col, input_col, controls_col = st.columns([1.35, 1, 1.2], gap="medium")
    with controls_col:
        settings = draw_controls(names)
        url_state.show_notices()
    with pad_col:
        digit, crop, problem_shown = input_panel()
    if digit is not None:
        st.session_state[DRAWN_DIGIT] = digit
    with input_col:
        st.markdown("**What the models get**")
        if digit is None and not problem_shown:
            st.info(HINT, icon=":material/draw:")
        elif digit is not None:
            pictures.show(st, figures.tile_images(digit[None], pad=0, scale=1), scale=PAD // drawing.SIZE,
                          caption="Your digit as MNIST was made: cropped, scaled to 20 px, centred in 28×28.", alt=DIGIT_ALT)
        if crop is not None:
            pictures.show(st, crop, scale=1, caption=CROP_CAPTION, alt=CROP_ALT)
    chosen = settings["models"]
    if not chosen:
        controls_col.info("Pick at least one model.", icon=":material/touch_app:")

    if digit is not None and chosen:
        readings = {}
        for name in chosen:
            try:
                readings[name] = drawing.read_digit(resources.checkpoint(name).model, digit,
                                                    resources.codes(name, "train"), NEIGHBOURS)
            except ExplorerError as error:
                st.error(f"{name}: {error}")
        if readings:
            st.divider()
            with controls_col:
                st.markdown(
                    f"**On the maps** ({PROJECTIONS[settings['projection']]} of every dataset digit's code) the ★ "
                    f"is your digit; ringed dots are its {NEIGHBOURS} nearest training digits in the full code "
                    "space, so on a flat map they can sit a little apart from the ★."
                )
            for column, (name, reading) in zip(st.columns(len(readings), gap="medium"), readings.items()):
                with column:
                    model_column(name, reading, settings["projection"])

    url_state.write({"models": chosen, "proj": settings["projection"]})
