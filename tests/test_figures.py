import base64
import io

import re

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from explorer import figures

CLASSES = [str(d) for d in range(10)]


def make_map(n=200, dims=2, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, dims))
    labels = rng.integers(0, 10, size=n)
    ids = np.arange(1000, 1000 + n)
    return xy, labels, ids


def four_blobs(per_blob=50, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-5, -5], [-5, 5], [5, -5], [5, 5]], dtype=float)
    return np.concatenate([c + rng.normal(scale=0.5, size=(per_blob, 2)) for c in centres])


# --- latent maps: trace builders and one layout -----------------------------------------

def test_digit_points_hold_every_point_with_its_id_and_label():
    xy, labels, ids = make_map()
    fig = figures.map_figure([figures.digit_points(xy, labels, ids, CLASSES)], figures.map_layout(("a", "b")))
    t = fig.data[0]
    assert isinstance(t, go.Scattergl)
    assert t.name == "digits"
    np.testing.assert_allclose(np.column_stack([t.x, t.y]), xy, rtol=1e-6)  # float32 on the wire
    assert [row[0] for row in t.customdata] == ids.tolist()
    assert [row[1] for row in t.customdata] == labels.tolist()
    np.testing.assert_array_equal(t.marker.color, labels)
    assert "customdata[0]" in t.hovertemplate
    assert fig.layout.dragmode == "select" and fig.layout.showlegend is False
    assert fig.layout.xaxis.title.text == "a" and fig.layout.yaxis.title.text == "b"


def test_digit_points_travel_as_compact_typed_arrays():
    xy, labels, ids = make_map()
    t = figures.digit_points(xy, labels, ids, CLASSES)
    assert t["x"].dtype == np.float32 and t["customdata"].dtype == np.uint16 and t["marker"]["color"].dtype == np.uint16
    big = figures.digit_points(np.zeros((3, 2)), np.zeros(3), np.array([0, 1, 70_000]), CLASSES)
    assert big["customdata"][:, 0].tolist() == [0, 1, 70_000]  # ids beyond 16 bits keep their value


def test_the_class_colorbar_names_the_classes_with_the_given_title():
    xy, labels, ids = make_map()
    bar = figures.map_figure([figures.digit_points(xy, labels, ids, CLASSES, class_title="digit")],
                             figures.map_layout(("a", "b"))).data[0].marker.colorbar
    assert list(bar.ticktext) == CLASSES
    assert list(bar.tickvals) == list(range(10))
    assert bar.title.text == "digit"


def test_a_3d_map_uses_scatter3d_and_a_scene():
    xy, labels, ids = make_map(dims=3)
    fig = figures.map_figure([figures.digit_points(xy, labels, ids, CLASSES), figures.path_line(xy[:4])],
                             figures.map_layout(("a", "b", "c")))
    assert isinstance(fig.data[0], go.Scatter3d) and isinstance(fig.data[1], go.Scatter3d)
    np.testing.assert_allclose(fig.data[0].z, xy[:, 2], rtol=1e-6)
    assert fig.layout.scene.zaxis.title.text == "c"


@pytest.mark.parametrize("order", ["rows in order", "shuffled"])
def test_highlights_are_exactly_the_wanted_points_in_order(order):
    xy, labels, ids = make_map()
    if order == "shuffled":
        ids = np.random.default_rng(1).permutation(ids)
    wanted = [ids[5], ids[17], ids[3], 999_999]  # the last id does not exist and is skipped
    h = figures.highlight_points(xy, labels, ids, CLASSES, wanted, name="chosen")
    np.testing.assert_allclose(np.column_stack([h["x"], h["y"]]), xy[[5, 17, 3]], rtol=1e-6)
    assert h["customdata"][:, 0].tolist() == [ids[5], ids[17], ids[3]]
    assert h["name"] == "chosen" and "chosen" in h["hovertemplate"]
    assert h["marker"]["color"] == [figures.CLASS_COLORS[labels[r]] for r in (5, 17, 3)]
    assert figures.highlight_points(xy, labels, ids, CLASSES, [999_999]) is None


def test_the_path_has_every_step_and_its_end_labels():
    path = figures.path_line(np.linspace([-1, -1], [1, 2], 9), end_labels=("#3", "#4"))
    assert path["name"] == "path" and len(path["x"]) == 9
    assert path["text"][0] == "#3" and path["text"][-1] == "#4" and set(path["text"][1:-1]) == {""}
    assert path["marker"]["size"][0] > path["marker"]["size"][1]  # the ends stand out


def test_continuous_colour_names_its_value():
    xy, labels, ids = make_map()
    scores = np.linspace(0, 1, len(xy))
    t = figures.digit_points(xy, labels, ids, CLASSES, color_values=scores, color_title="score", opacity=0.3,
                             colorbar=False)
    np.testing.assert_allclose(t["marker"]["color"], scores, rtol=1e-6)
    assert t["marker"]["colorbar"]["title"]["text"] == "score" and "score" in t["hovertemplate"]
    assert t["marker"]["opacity"] == 0.3 and t["marker"]["showscale"] is False


def test_overlays_are_webgl_traces_drawn_in_the_order_given():
    xy, labels, ids = make_map()
    star = figures.overlay(np.array([[0.5, 0.5]]), "your digit", marker=dict(symbol="star", size=30))
    lines = figures.overlay(np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 2], [3, 3]]), "shift", mode="lines")
    fig = figures.map_figure([figures.digit_points(xy, labels, ids, CLASSES), lines,
                              figures.highlight_points(xy, labels, ids, CLASSES, [ids[2]]), figures.path_line(xy[:3]),
                              star], figures.map_layout(("a", "b"), height=400, dragmode="zoom", title="t"))
    assert [t.name for t in fig.data] == ["digits", "shift", "highlighted", "path", "your digit"]
    assert all(isinstance(t, go.Scattergl) for t in fig.data)  # WebGL: drawn above the points
    assert fig.data[-1].marker.symbol == "star" and fig.data[1].hoverinfo == "skip"
    assert fig.layout.height == 400 and fig.layout.dragmode == "zoom" and fig.layout.title.text == "t"


def test_a_map_layout_needs_two_or_three_axes():
    with pytest.raises(ValueError, match="2 or 3 axes"):
        figures.map_layout(("a",))


def test_hover_names_the_class_without_a_text_array_for_digits():
    xy, labels, ids = make_map()
    digits = figures.digit_points(xy, labels, ids, CLASSES)
    assert "text" not in digits and "customdata[1]" in digits["hovertemplate"]
    named = [f"class-{c}" for c in CLASSES]  # e.g. Fashion-MNIST's "T-shirt", "Trouser", ...
    clothes = figures.digit_points(xy, labels, ids, named)
    assert list(clothes["text"]) == [named[label] for label in labels] and "%{text}" in clothes["hovertemplate"]


def test_map_traces_are_deterministic():
    xy, labels, ids = make_map()

    def build(xy, labels, ids):
        return figures.map_figure([figures.digit_points(xy, labels, ids, CLASSES),
                                   figures.highlight_points(xy, labels, ids, CLASSES, [ids[1]]),
                                   figures.path_line(xy[:4])], figures.map_layout(("a", "b"), title="map"))
    assert build(xy, labels, ids).to_json() == build(xy.copy(), labels.copy(), ids.copy()).to_json()


def test_map_builders_reject_mismatched_lengths():
    xy, labels, ids = make_map()
    with pytest.raises(ValueError, match="labels and ids"):
        figures.digit_points(xy, labels[:-1], ids, CLASSES)
    with pytest.raises(ValueError, match="color_values"):
        figures.digit_points(xy, labels, ids, CLASSES, color_values=np.zeros(3))
    with pytest.raises(ValueError, match="path_xy"):
        figures.path_line(np.zeros((3, 4)))


# --- thumbnails ---------------------------------------------------------------------------

def thumbnail_points(xy, k):
    """The rows of xy (N, 2) whose digit images `thumbnails` draws, from the images' positions."""
    extra = figures.thumbnails(xy, np.zeros((len(xy), 1, 4, 4)), k=k)
    drawn = [(image["x"], image["y"]) for image in extra.get("images", [])]
    return [int(np.flatnonzero((xy[:, 0] == x) & (xy[:, 1] == y))[0]) for x, y in drawn]


def test_thumbnails_cover_every_blob():
    xy = four_blobs()
    rows = thumbnail_points(xy, 16)
    assert len(rows) <= 16 and len(set(rows)) == len(rows)
    assert {(x > 0, y > 0) for x, y in xy[rows]} == {(False, False), (False, True), (True, False), (True, True)}


@pytest.mark.parametrize("k", [1, 5, 50, 1000])
def test_thumbnails_are_at_most_k_distinct_points_and_seeded(k):
    xy, _, _ = make_map(n=300)
    rows = thumbnail_points(xy, k)
    assert 1 <= len(rows) <= min(k, len(xy)) and len(set(rows)) == len(rows)
    assert rows == thumbnail_points(xy, k)


def test_no_thumbnails_for_k_0_and_one_for_points_all_in_one_place():
    assert thumbnail_points(np.ones((5, 2)), 0) == []
    assert len(thumbnail_points(np.ones((5, 2)), 10)) == 1


def test_thumbnails_draw_one_image_per_spread_point():
    xy = four_blobs()
    n = len(xy)
    images = np.zeros((n, 1, 8, 8))
    images[:, :, 2:6, 3:5] = 1.0
    extra = figures.thumbnails(xy, images, k=16)
    assert len(extra["images"]) == len(figures._spread(xy, 16)[0])
    assert extra["xaxis"]["range"][0] < xy[:, 0].min() and extra["yaxis"]["range"][1] > xy[:, 1].max()
    first = extra["images"][0]
    assert first["source"].startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(first["source"].split(",", 1)[1])))
    pixels = np.asarray(png)  # (H, W, 2): ink level, alpha
    assert pixels[0, 0, 1] == 0  # black background became transparent
    assert pixels[3, 3, 1] == 255 and pixels[3, 3, 0] < 64  # white stroke became dark ink
    assert figures.thumbnails(xy, images, k=16) == extra
    with pytest.raises(ValueError, match="one image per point"):
        figures.thumbnails(xy, images[:-1], k=16)


# --- tile_images ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "n, ncols, pad, scale, shape",
    [
        (10, 5, 2, 3, (2 * 12 * 3, 5 * 12 * 3)),
        (10, None, 0, 1, (3 * 8, 4 * 8)),  # default ncols = ceil(sqrt(10)) = 4
        (3, 8, 1, 2, (1 * 10 * 2, 3 * 10 * 2)),  # ncols clamped to N
        (1, None, 2, 1, (12, 12)),
    ],
)
def test_tile_images_shape(n, ncols, pad, scale, shape):
    out = figures.tile_images(np.zeros((n, 8, 8)), ncols=ncols, pad=pad, scale=scale)
    assert out.dtype == np.uint8
    assert out.shape == shape


def test_tile_images_pixel_values():
    images = np.zeros((2, 1, 4, 4))
    images[0, 0, 1, 2] = 1.0  # one white pixel in the first digit
    out = figures.tile_images(images, ncols=2, pad=1, scale=2, pad_value=0.5)
    # pixel (1, 2) of tile 0 sits at (pad + 1, pad + 2) = (2, 3) before the 2x upscale
    assert (out[4:6, 6:8] == 255).all()
    assert out[2, 2] == 0
    assert out[0, 0] == 128


def test_tile_images_rejects_empty():
    with pytest.raises(ValueError, match="no images"):
        figures.tile_images(np.zeros((0, 8, 8)))


# --- small charts -----------------------------------------------------------------------

def test_code_bars():
    fig = figures.code_bars(np.arange(8.0), title="z")
    assert len(fig.data[0].y) == 8
    assert fig.layout.height <= 200


def test_code_bars_svg_draws_one_bar_per_unit_and_row_on_one_shared_scale():
    codes = np.array([[1.0, -2.0, 0.5], [0.1, 0.2, 4.0]])
    svg = figures.code_bars_svg(codes, titles=["#7", "<b>#9</b>"])
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 6  # 2 codes x 3 units
    assert heights[5] == max(heights) and heights[1] == pytest.approx(heights[5] / 2, rel=0.02)  # one scale
    assert "<b>" not in svg and "&lt;b&gt;#9" in svg  # a title is text, never markup
    assert svg.index(">#7<") < svg.index("#9")  # the first code on top


def history(vae: bool, epochs=3, with_test=True):
    rows = []
    for e in range(1, epochs + 1):
        train = {"total": 1.0 / e, "recon": 0.8 / e, "kl": 0.2 / e if vae else None}
        if not vae:
            train = {"total": 1.0 / e, "recon": 1.0 / e}
        test = dict(train) if with_test and e % 2 else None  # test only on odd epochs
        rows.append({"epoch": e, "train": train, "test": test, "seconds": 0.1})
    return rows


def test_loss_curves_vae_has_kl_panel():
    fig = figures.loss_curves(history(vae=True))
    names = [t.name for t in fig.data]
    assert sorted(names) == sorted(
        f"{s} {t}" for s in ("train", "test") for t in ("total", "recon", "kl")
    )
    kl = next(t for t in fig.data if t.name == "train kl")
    recon = next(t for t in fig.data if t.name == "train recon")
    assert kl.yaxis != recon.yaxis
    assert list(kl.x) == [1, 2, 3]
    assert list(next(t for t in fig.data if t.name == "test kl").x) == [1, 3]


def test_loss_curves_ae_shows_reconstruction_only():
    fig = figures.loss_curves(history(vae=False))
    assert [t.name for t in fig.data] == ["train recon", "test recon"]
    no_test = figures.loss_curves(history(vae=False, with_test=False))
    assert [t.name for t in no_test.data] == ["train recon"]


@pytest.mark.parametrize(
    "kl, threshold, active",
    [([0.5, 0.0, 0.02, 0.005], 0.01, 2), ([0.0, 0.0], 0.01, 0), ([1.0, 2.0, 3.0], 0.5, 3)],
)
def test_kl_bars_counts_active_units(kl, threshold, active):
    fig = figures.kl_bars(np.array(kl), threshold=threshold)
    assert fig.layout.title.text.startswith(f"{active} of {len(kl)} units active")
    assert f"KL > {threshold:g} nats" in fig.layout.title.text
    y = list(fig.data[0].y)
    assert y == sorted(kl, reverse=True)
    assert sum(c != figures.INACTIVE_COLOR for c in fig.data[0].marker.color) == active


def test_score_histogram():
    rng = np.random.default_rng(0)
    fig = figures.score_histogram(rng.normal(size=100), rng.normal(3, size=20), threshold=1.5)
    assert [t.name for t in fig.data] == ["normal", "anomalous"]
    assert fig.data[0].xbins.size == fig.data[1].xbins.size
    assert any(s.x0 == 1.5 and s.x1 == 1.5 for s in fig.layout.shapes)


def test_roc_figure():
    fig = figures.roc_figure(np.array([0, 0.1, 1]), np.array([0, 0.8, 1]), auc=0.9)
    assert list(fig.data[0].x) == [0, 1]  # chance diagonal
    assert "0.900" in fig.data[1].name


def test_tradeoff_figure_orders_by_beta():
    points = [
        {"beta": 4.0, "recon": 0.05, "kl": 5.0, "name": "b4"},
        {"beta": 0.5, "recon": 0.02, "kl": 20.0, "name": "b05"},
        {"beta": 1.0, "recon": 0.03, "kl": 12.0, "name": "b1"},
    ]
    t = figures.tradeoff_figure(points).data[0]
    assert list(t.x) == [20.0, 12.0, 5.0]
    assert list(t.text) == ["β=0.5", "β=1", "β=4"]


def test_psnr_bars():
    fig = figures.psnr_bars({"AE": 18.0, "DAE": 22.5}, noisy_psnr=14.0)
    assert list(fig.data[0].x) == ["AE", "DAE"]
    assert any(s.y0 == 14.0 for s in fig.layout.shapes)


def test_figures_module_does_not_import_streamlit():
    import pathlib
    import subprocess
    import sys

    code = "import sys, explorer.figures; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).parents[1])


def test_latent_replay_has_a_frame_per_epoch_and_a_trace_per_class():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 0, 1, 2])
    frames = [rng.normal(size=(6, 2)) for _ in range(4)]
    fig = figures.latent_replay(frames, labels, list("abc"), animate=True)
    assert len(fig.frames) == 4 and [t.name for t in fig.data] == ["a", "b", "c"]
    assert np.allclose(fig.frames[2].data[0].x, frames[2][labels == 0, 0])
    assert len(fig.layout.sliders[0].steps) == 4
    still = figures.latent_replay(frames, labels, list("abc"), animate=False)
    assert not still.frames and np.allclose(still.data[1].y, frames[-1][labels == 1, 1])


def test_log_score_histogram_labels_ticks_in_score_units():
    rng = np.random.default_rng(0)
    normal, odd = rng.uniform(0.01, 0.05, 50), rng.uniform(0.1, 0.5, 20)
    fig = figures.log_score_histogram(normal, odd, 0.08, names=("digits", "odd"))
    assert [t.name for t in fig.data] == ["digits", "odd"]
    assert np.allclose(fig.data[0].x, np.log10(normal)) and np.allclose(fig.data[1].x, np.log10(odd))
    assert "0.1" in fig.layout.xaxis.ticktext and fig.layout.annotations[0].text == "threshold 0.08"


def test_error_mosaic_has_three_rows_and_a_caption_per_input():
    images = np.random.default_rng(0).uniform(size=(4, 28, 28))
    fig = figures.error_mosaic(images, images * 0.5, (images * 0.5) ** 2, ["a", "b", "c", "d"])
    assert len(fig.data) == 3 and all(t.type == "heatmap" for t in fig.data)
    assert fig.data[0].z.shape == (28, 4 * 28 + 3 * 3)
    assert list(fig.layout.xaxis3.ticktext) == ["a", "b", "c", "d"]


def test_png_is_lossless_at_the_image_own_size():
    from PIL import Image

    image = (np.arange(12 * 20) % 256).astype(np.uint8).reshape(12, 20)
    decoded = np.asarray(Image.open(io.BytesIO(figures.png(image))))
    np.testing.assert_array_equal(decoded, image)


def test_the_paths_end_labels_sit_on_its_outer_sides():
    rightwards = np.array([[0.0, 0.0], [0.5, 0.1], [1.0, 0.0]])
    assert figures.path_line(rightwards)["textposition"] == ["middle left", "top center", "middle right"]
    assert figures.path_line(rightwards[::-1])["textposition"] == ["middle right", "top center", "middle left"]
