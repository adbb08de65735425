import base64
import io

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


# --- latent_scatter -------------------------------------------------------------------

def test_scatter_trace0_holds_every_point_with_ids():
    xy, labels, ids = make_map()
    fig = figures.latent_scatter(xy, labels, ids, CLASSES)
    t = fig.data[0]
    assert isinstance(t, go.Scattergl)
    assert t.name == "digits"
    assert len(t.x) == len(xy)
    np.testing.assert_allclose(t.x, xy[:, 0])
    np.testing.assert_allclose(t.y, xy[:, 1])
    assert [row[0] for row in t.customdata] == ids.tolist()
    np.testing.assert_array_equal(t.marker.color, labels)
    assert "customdata[0]" in t.hovertemplate
    assert fig.layout.dragmode == "select"
    assert fig.layout.showlegend is False
    assert len(fig.data) == 1


def test_scatter_colorbar_names_the_classes():
    xy, labels, ids = make_map()
    bar = figures.latent_scatter(xy, labels, ids, CLASSES).data[0].marker.colorbar
    assert list(bar.ticktext) == CLASSES
    assert list(bar.tickvals) == list(range(10))


def test_scatter_3d_uses_scatter3d():
    xy, labels, ids = make_map(dims=3)
    fig = figures.latent_scatter(xy, labels, ids, CLASSES, axis_titles=("a", "b", "c"))
    assert isinstance(fig.data[0], go.Scatter3d)
    np.testing.assert_allclose(fig.data[0].z, xy[:, 2])
    assert fig.layout.scene.zaxis.title.text == "c"


def test_scatter_highlight_trace_has_exactly_the_highlighted_points():
    xy, labels, ids = make_map()
    wanted = [ids[5], ids[17], ids[3], 999_999]  # the last id does not exist and is skipped
    fig = figures.latent_scatter(xy, labels, ids, CLASSES, highlight_ids=wanted)
    assert len(fig.data) == 2
    h = fig.data[1]
    assert isinstance(h, go.Scattergl)
    np.testing.assert_allclose(np.column_stack([h.x, h.y]), xy[[5, 17, 3]])
    assert [row[0] for row in h.customdata] == [ids[5], ids[17], ids[3]]


def test_scatter_path_trace_has_every_step():
    xy, labels, ids = make_map()
    path = np.linspace([-1, -1], [1, 2], 9)
    fig = figures.latent_scatter(xy, labels, ids, CLASSES, path_xy=path)
    p = fig.data[-1]
    assert p.name == "path"
    assert len(p.x) == 9
    assert p.text[0] == "start" and p.text[-1] == "end"


def test_scatter_continuous_colour_and_axis_titles():
    xy, labels, ids = make_map()
    scores = np.linspace(0, 1, len(xy))
    fig = figures.latent_scatter(
        xy, labels, ids, CLASSES, color_values=scores, color_title="score",
        axis_titles=("PC1 (23.1% var)", "PC2 (10.0% var)"),
    )
    marker = fig.data[0].marker
    np.testing.assert_allclose(marker.color, scores)
    assert marker.colorbar.title.text == "score"
    assert fig.layout.xaxis.title.text == "PC1 (23.1% var)"


def test_scatter_overlays_on_top_underlays_under_the_highlights():
    xy, labels, ids = make_map()
    star = figures.overlay(np.array([[0.5, 0.5]]), "your digit", marker=dict(symbol="star", size=30))
    lines = figures.overlay(np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 2], [3, 3]]), "shift", mode="lines")
    fig = figures.latent_scatter(xy, labels, ids, CLASSES, overlays=[star], underlays=[lines], highlight_ids=[ids[2]],
                                 path_xy=xy[:3], faded=True, colorbar=False, height=400, dragmode="zoom")
    assert [t.name for t in fig.data] == ["digits", "shift", "highlighted", "path", "your digit"]
    assert all(isinstance(t, go.Scattergl) for t in fig.data)  # WebGL: drawn above the points
    assert fig.data[-1].marker.symbol == "star" and fig.data[1].hoverinfo == "skip"
    assert fig.data[0].marker.opacity < 0.5 and fig.data[0].marker.showscale is False
    assert fig.layout.height == 400 and fig.layout.dragmode == "zoom"


def test_scatter_refuses_2d_overlays_on_a_3d_map():
    xy, labels, ids = make_map(dims=3)
    with pytest.raises(ValueError, match="3-D"):
        figures.latent_scatter(xy, labels, ids, CLASSES, overlays=[figures.overlay(np.zeros((1, 2)), "x")])


def test_scatter_hover_names_the_class_without_a_text_array_for_digits():
    xy, labels, ids = make_map()
    digits = figures.latent_scatter(xy, labels, ids, CLASSES).data[0]
    assert digits.text is None and "customdata[1]" in digits.hovertemplate
    assert [row[1] for row in digits.customdata] == labels.tolist()
    named = [f"class-{c}" for c in CLASSES]  # e.g. Fashion-MNIST's "T-shirt", "Trouser", ...
    clothes = figures.latent_scatter(xy, labels, ids, named).data[0]
    assert list(clothes.text) == [named[label] for label in labels] and "%{text}" in clothes.hovertemplate


def test_scatter_is_deterministic():
    xy, labels, ids = make_map()
    kwargs = dict(highlight_ids=[ids[1]], path_xy=xy[:4], title="map")
    a = figures.latent_scatter(xy, labels, ids, CLASSES, **kwargs)
    b = figures.latent_scatter(xy.copy(), labels.copy(), ids.copy(), CLASSES, **kwargs)
    assert a.to_json() == b.to_json()


def test_scatter_rejects_mismatched_lengths():
    xy, labels, ids = make_map()
    with pytest.raises(ValueError, match="labels and ids"):
        figures.latent_scatter(xy, labels[:-1], ids, CLASSES)


# --- thumbnail_map ----------------------------------------------------------------------

def thumbnail_points(xy, k):
    """The rows of xy (N, 2) whose digit images thumbnail_map draws, from the images' positions."""
    n = len(xy)
    fig = figures.thumbnail_map(xy, np.zeros((n, 1, 4, 4)), np.arange(n) % 10, np.arange(n), CLASSES, k=k)
    drawn = [(image.x, image.y) for image in fig.layout.images]
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


def test_thumbnail_map_draws_one_image_per_spread_point():
    xy = four_blobs()
    n = len(xy)
    images = np.zeros((n, 1, 8, 8))
    images[:, :, 2:6, 3:5] = 1.0
    labels, ids = np.arange(n) % 10, np.arange(n)
    fig = figures.thumbnail_map(xy, images, labels, ids, CLASSES, k=16)
    assert 4 <= len(fig.layout.images) <= 16
    assert len(fig.data[0].x) == n
    first = fig.layout.images[0]
    assert first.source.startswith("data:image/png;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(first.source.split(",", 1)[1])))
    pixels = np.asarray(png)  # (H, W, 2): ink level, alpha
    assert pixels[0, 0, 1] == 0  # black background became transparent
    assert pixels[3, 3, 1] == 255 and pixels[3, 3, 0] < 64  # white stroke became dark ink
    a = figures.thumbnail_map(xy, images, labels, ids, CLASSES, k=16)
    assert a.to_json() == fig.to_json()


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


def test_code_bars_stacks_codes_in_one_figure_on_shared_axes():
    codes = np.array([[1.0, -2.0, 0.5], [0.1, 0.2, 3.0]])
    fig = figures.code_bars(codes, titles=["#7", "#9"])
    assert [t.name for t in fig.data] == ["#7", "#9"]
    assert [t.yaxis for t in fig.data] == ["y", "y2"] and {t.xaxis for t in fig.data} == {"x"}
    assert fig.layout.yaxis.range == fig.layout.yaxis2.range and fig.layout.yaxis.range[1] >= 3.0
    top, bottom = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert bottom[1] < top[0]  # the first code on top, rows not overlapping
    assert fig.layout.xaxis.anchor == "y2"  # the unit axis under the last row


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
    xy = np.random.default_rng(0).normal(size=(50, 2))
    rightwards = np.array([[0.0, 0.0], [0.5, 0.1], [1.0, 0.0]])
    path = next(t for t in figures.latent_scatter(xy, np.zeros(50), np.arange(50), ["0"], path_xy=rightwards).data
                if t.name == "path")
    assert list(path.textposition) == ["middle left", "top center", "middle right"]
    path = next(t for t in figures.latent_scatter(xy, np.zeros(50), np.arange(50), ["0"], path_xy=rightwards[::-1]).data
                if t.name == "path")
    assert list(path.textposition) == ["middle right", "top center", "middle left"]
