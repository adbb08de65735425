"""Figure builders: numpy arrays in, Plotly figures (or uint8 image mosaics) out.

Every function is pure and deterministic, so a Streamlit rerun with the same inputs yields
an identical figure and a chart selection survives the rerun.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sequential
from plotly.subplots import make_subplots

# Every figure starts from plotly_white as plotly's default template: assigning a template to a
# figure re-validates all of it (~12 ms a figure; the map page's detail panel draws four).
pio.templates.default = "plotly_white"

# Chosen by bench/palette.py (a max-min search over a 16-level sRGB grid, contrast with white >= 2:1,
# L* >= 25): any two differ by CIEDE2000 >= 18.2 under normal vision and simulated protanopia,
# deuteranopia and tritanopia (Tableau 10: 1.9 under protanopia). Ordered like Tableau 10, so [0] is
# still the blue of single-series charts and [3] a red (rust). Hover and colour bar name the classes too.
CLASS_COLORS = (
    "#1100cc", "#ff9900", "#448866", "#bb5500", "#8855ff",
    "#772200", "#997799", "#664466", "#44cc99", "#aaaaff",
)
CONTINUOUS_COLORSCALE = "Viridis"
INACTIVE_COLOR = "#c7c7c7"
INK_COLOR = "#222222"
# Inferno starts at "#000004", which Streamlit's Plotly component paints pink (seen in 1.67); plain black is safe.
INFERNO = ["#000000", *sequential.Inferno[1:]]
FONT_SIZE = 14


def _style(fig: go.Figure, *, height: int, title: str | None = None, legend: bool = False) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        font=dict(size=FONT_SIZE),
        showlegend=legend,
        title=dict(text=title) if title else None,
    )
    return fig


def _discrete_colorscale(n: int) -> list[list]:
    """A stepwise colorscale giving integer value i the colour CLASS_COLORS[i % 10]."""
    scale = []
    for i in range(n):
        color = CLASS_COLORS[i % len(CLASS_COLORS)]
        scale += [[i / n, color], [(i + 1) / n, color]]
    return scale


def _marker_size(n: int, dims: int) -> int:
    if dims == 3:
        return 3 if n <= 5000 else 2
    return 6 if n <= 2000 else 4 if n <= 20000 else 3


def _check_points(xy: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> None:
    if xy.ndim != 2 or xy.shape[1] not in (2, 3):
        raise ValueError(f"xy must have shape (N, 2) or (N, 3), got {xy.shape}")
    n = len(xy)
    if labels.shape != (n,) or ids.shape != (n,):
        raise ValueError(f"labels and ids must have shape ({n},), got {labels.shape} and {ids.shape}")


def _coords(xy: np.ndarray) -> dict:
    """x, y (and z) of a trace as float32: a map's positions need no more, and the browser gets half the bytes."""
    xy = np.asarray(xy, dtype=np.float32)
    return dict(zip("xyz", (np.ascontiguousarray(xy[:, i]) for i in range(xy.shape[1]))))


def _trace_type(dims: int) -> str:
    # 2-D maps use Scattergl for every trace: Plotly draws every WebGL trace above every SVG trace,
    # so an SVG highlight or path would vanish under thousands of points. All Scattergl traces of
    # one subplot share a single WebGL context.
    return "scattergl" if dims == 2 else "scatter3d"


def _small_ints(values: np.ndarray) -> np.ndarray:
    """Non-negative ints in the narrowest type plotly.js reads (ids and labels travel as typed arrays)."""
    return values.astype(np.uint16 if len(values) == 0 or values.max() < 2**16 else np.int32)


def _point_hover(class_names: Sequence[str], class_title: str) -> tuple[str, bool]:
    """The hover template of a digit (id and class), and whether its class name is read from `text`.

    Digits are named by their labels: hover then reads the label from customdata, and the trace
    skips a text array of N strings (half of its JSON encoding time for 5,000 points)."""
    labels_are_names = list(class_names) == [str(i) for i in range(len(class_names))]
    name = "%{customdata[1]}" if labels_are_names else "%{text}"
    return f"id %{{customdata[0]}}<br>{class_title} {name}", not labels_are_names


def _point_data(ids: np.ndarray, labels: np.ndarray, class_names: Sequence[str], needs_text: bool) -> dict:
    data = dict(customdata=_small_ints(np.column_stack([ids, labels])))  # numpy: plotly validates lists item by item
    if needs_text:
        data["text"] = np.asarray(class_names, dtype=object)[labels].astype(str)
    return data


def _class_marker(n_classes: int, class_names: Sequence[str], title: str) -> dict:
    return dict(
        colorscale=_discrete_colorscale(n_classes),
        cmin=-0.5,
        cmax=n_classes - 0.5,
        colorbar=dict(title=dict(text=title), tickvals=list(range(n_classes)), ticktext=list(class_names),
                      thickness=15),
    )


POINT_OPACITY = 0.8


def digit_points(
    xy: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    class_names: Sequence[str],
    *,
    color_values: np.ndarray | None = None,
    color_title: str = "value",
    class_title: str = "class",
    opacity: float = POINT_OPACITY,
    colorbar: bool = True,
) -> dict:
    """The base trace of a latent map (a dict): one point per example, coloured by class.

    xy (N, 2) or (N, 3); labels (N,) ints indexing class_names; ids (N,) dataset row ids, kept in
    customdata rows [id, label] so a selection comes back as ids. color_values (N,) colours by a
    continuous value (named color_title) instead of the class.
    """
    xy = np.asarray(xy, dtype=float)
    labels = np.asarray(labels).astype(int)
    ids = np.asarray(ids).astype(int)
    _check_points(xy, labels, ids)
    n, dims = xy.shape
    hover, needs_text = _point_hover(class_names, class_title)
    if color_values is None:
        marker = dict(color=_small_ints(labels), **_class_marker(len(class_names), class_names, class_title))
    else:
        if np.shape(color_values) != (n,):
            raise ValueError(f"color_values must have shape ({n},), got {np.shape(color_values)}")
        marker = dict(color=np.asarray(color_values, dtype=np.float32), colorscale=CONTINUOUS_COLORSCALE,
                      colorbar=dict(title=dict(text=color_title), thickness=15))
        hover += f"<br>{color_title} %{{marker.color:.3g}}"
    marker.update(size=_marker_size(n, dims), opacity=opacity, showscale=colorbar)
    return dict(type=_trace_type(dims), **_coords(xy), mode="markers", name="digits", marker=marker,
                **_point_data(ids, labels, class_names, needs_text), hovertemplate=hover + "<extra></extra>")


def highlight_points(
    xy: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    class_names: Sequence[str],
    wanted: Sequence[int],
    *,
    name: str = "highlighted",
    class_title: str = "class",
) -> dict | None:
    """Rings around the points of `wanted` ids (in the order given, unknown ids skipped), in their
    class colours; None when none of them is on the map. Arguments as for digit_points."""
    xy = np.asarray(xy, dtype=float)
    labels = np.asarray(labels).astype(int)
    ids = np.asarray(ids).astype(int)
    _check_points(xy, labels, ids)
    rows = _rows_of(ids, wanted)
    if not rows:
        return None
    dims = xy.shape[1]
    hover, needs_text = _point_hover(class_names, class_title)
    return dict(
        type=_trace_type(dims),
        **_coords(xy[rows]),
        mode="markers",
        name=name,
        marker=dict(size=14 if dims == 2 else 7, color=[CLASS_COLORS[labels[r] % len(CLASS_COLORS)] for r in rows],
                    line=dict(width=2.5, color=INK_COLOR)),
        **_point_data(ids[rows], labels[rows], class_names, needs_text),
        hovertemplate=f"{hover}<extra>{name}</extra>",
    )


def path_line(path_xy: np.ndarray, *, end_labels: Sequence[str] = ("start", "end"), name: str = "path") -> dict:
    """A path over a map (a dict): path_xy (S, 2) or (S, 3) joined by a line, its two ends big and
    labelled with end_labels on their outer sides."""
    path_xy = np.asarray(path_xy, dtype=float)
    if path_xy.ndim != 2 or path_xy.shape[1] not in (2, 3) or len(path_xy) == 0:
        raise ValueError(f"path_xy must have shape (S, 2) or (S, 3) with S >= 1, got {path_xy.shape}")
    s = len(path_xy)
    ends = np.zeros(s, dtype=bool)
    ends[[0, -1]] = True
    first, last = end_labels
    return dict(
        type=_trace_type(path_xy.shape[1]),
        **_coords(path_xy),
        mode="lines+markers+text",
        name=name,
        line=dict(color=INK_COLOR, width=3),
        marker=dict(size=np.where(ends, 14, 7).tolist(), color=np.where(ends, INK_COLOR, "#ffffff").tolist(),
                    line=dict(width=2, color=INK_COLOR)),
        text=[first] + [""] * (s - 2) + [last] if s > 1 else [first],
        textposition=_end_label_positions(path_xy),
        textfont=dict(color=INK_COLOR, size=FONT_SIZE + 2),
        hovertemplate=f"{name} step %{{pointNumber}}<extra></extra>",
    )


def map_layout(axis_titles: Sequence[str], *, title: str | None = None, height: int = 560,
               dragmode: str = "select") -> dict:
    """The layout of a latent map (a dict) with one axis title per dimension (2 or 3 of them)."""
    if len(axis_titles) not in (2, 3):
        raise ValueError(f"a map has 2 or 3 axes, got titles {list(axis_titles)}")
    layout = dict(
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        font=dict(size=FONT_SIZE),
        showlegend=False,
        title=dict(text=title, font=dict(size=15)) if title else None,
        dragmode=dragmode,
        hovermode="closest",
    )
    axes = {name: dict(title=dict(text=text)) for name, text in zip(("xaxis", "yaxis", "zaxis"), axis_titles)}
    if len(axis_titles) == 2:
        # automargin: room for the tick labels (plotly_white gives it to a go.Figure, not to plain dicts)
        layout.update({name: dict(axis, zeroline=False, automargin=True) for name, axis in axes.items()})
    else:
        layout["scene"] = axes
    return layout


def map_figure(traces: Sequence[dict | None], layout: dict) -> go.Figure:
    """A latent map as a Plotly figure: the traces (None skipped) in drawing order, base first.

    Built in one constructor call from plain dicts: Plotly validates a figure on every
    add_trace/update_layout."""
    return go.Figure(data=[t for t in traces if t is not None], layout=layout)


def overlay(xy: np.ndarray, name: str, *, mode: str = "markers", marker: dict | None = None, line: dict | None = None,
            hovertemplate: str | None = None, text: Sequence[str] | None = None,
            customdata: np.ndarray | None = None) -> dict:
    """A 2-D trace (as a dict) to lay over a latent map: new points (xy (K, 2)) or, with
    mode="lines" and NaN rows between pieces, line segments. WebGL like the map, so it is drawn on top."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    trace = dict(type="scattergl", x=xy[:, 0], y=xy[:, 1], mode=mode, name=name)
    if mode == "lines" and hovertemplate is None:
        trace["hoverinfo"] = "skip"  # a line's points are not things to point at
    else:
        trace["hovertemplate"] = hovertemplate or f"{name}<extra></extra>"
    for key, value in (("marker", marker), ("line", line), ("text", text), ("customdata", customdata)):
        if value is not None:
            trace[key] = value
    return trace


def _end_label_positions(path_xy: np.ndarray) -> list[str]:
    """Labels beside the path's two ends, each on its outer side, so they never cover each other
    when the two digits sit close together on the map."""
    s = len(path_xy)
    if s == 1:
        return ["top center"]
    start, end = ("middle left", "middle right") if path_xy[-1, 0] >= path_xy[0, 0] else ("middle right", "middle left")
    return [start] + ["top center"] * (s - 2) + [end]


def _rows_of(ids: np.ndarray, wanted: Sequence[int]) -> list[int]:
    """Rows of `ids` holding each wanted id, in the order wanted (ids not present are skipped)."""
    if len(wanted) == 0 or len(ids) == 0:
        return []
    wanted = np.asarray(wanted, dtype=int)
    if np.all(ids[1:] > ids[:-1]):  # a map's ids are its rows, in order: no sort (4 ms for 70,000 on every click)
        rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    else:
        order = np.argsort(ids, kind="stable")
        rows = order[np.minimum(np.searchsorted(ids, wanted, sorter=order), len(ids) - 1)]
    return [int(r) for r, w in zip(rows, wanted) if ids[r] == w]


def _grid(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Lower corner (2,), cell size (2,) and (nx, ny) of a grid of at most k cells over xy."""
    lo = xy.min(axis=0)
    span = xy.max(axis=0) - lo
    span = np.where(span > 0, span, 1.0)
    # Cells roughly square in data units, so a stretched map still gets even coverage.
    nx = int(np.clip(round(math.sqrt(k * span[0] / span[1])), 1, k))
    ny = max(1, k // nx)
    return lo, span / np.array([nx, ny]), (nx, ny)


def _pick_per_cell(xy: np.ndarray, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """For a grid of about `cells` cells over xy: the point nearest each non-empty cell's centre, and the cell size."""
    lo, cell, (nx, ny) = _grid(xy, cells)
    ij = np.minimum(((xy - lo) // cell).astype(int), [nx - 1, ny - 1])
    cell_id = ij[:, 0] * ny + ij[:, 1]
    dist = np.linalg.norm(xy - (lo + (ij + 0.5) * cell), axis=1)
    order = np.lexsort((np.arange(len(xy)), dist, cell_id))
    _, first = np.unique(cell_id[order], return_index=True)
    return np.sort(order[first]), cell


def _spread(xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (≤k,) of points spread evenly over a 2-D map xy (N, 2), ascending, and the grid's cell size (2,).

    Bins xy into a grid and keeps, for every non-empty cell, the point closest to the cell centre
    (ties go to the lower index). Maps are mostly empty space between clusters, so the grid is
    refined until about k cells are occupied, not k cells in all.
    """
    if k <= 0 or len(xy) == 0:
        return np.zeros(0, dtype=int), np.ones(2)
    cells = k
    rows, cell = _pick_per_cell(xy, cells)
    for _ in range(4):  # occupancy grows with finer grids; a few refinements get close to k
        if len(rows) >= 0.9 * k or len(rows) == len(xy):
            break
        cells = int(min(cells * k / max(len(rows), 1), 50 * k))
        finer, finer_cell = _pick_per_cell(xy, cells)
        if len(finer) > k:
            break
        rows, cell = finer, finer_cell
    return rows, cell


def _gray_stack(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=float)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {images.shape}")
    return np.clip(images, 0.0, 1.0)


def _ink_png_uri(image: np.ndarray) -> str:
    """Data URI of a PNG of a light-on-black image (H, W) as dark ink on a transparent background."""
    from PIL import Image

    ink = int(INK_COLOR[1:3], 16)
    alpha = np.round(image * 255).astype(np.uint8)
    rgba = np.stack([np.full_like(alpha, ink), alpha], axis=-1)  # (H, W, 2): L, A
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


THUMBNAIL_OPACITY = 0.25  # the digits' dots under their thumbnails: there, but out of the way


def thumbnails(xy: np.ndarray, images: np.ndarray, k: int = 300) -> dict:
    """Layout entries that draw digit images at about k points spread evenly over a 2-D map (_spread): `images`, and
    axis ranges widened so edge thumbnails are not cut. Merge them into map_layout's dict.

    xy (N, 2); images (N, H, W) or (N, 1, H, W) in [0, 1], light digit on black, drawn dark
    on a transparent background, each sized to about one grid cell.
    """
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"thumbnails need a 2-D map, xy of shape (N, 2); got {xy.shape}")
    images = _gray_stack(images)
    if len(images) != len(xy):
        raise ValueError(f"need one image per point: {len(images)} images for {len(xy)} points")
    rows, cell = _spread(xy, k)
    if len(rows) == 0:
        return {}
    size = 1.4 * cell  # a little larger than a cell: neighbours may touch, but each digit stays readable
    return dict(
        images=[
            dict(source=_ink_png_uri(images[r]), xref="x", yref="y", x=float(xy[r, 0]), y=float(xy[r, 1]),
                 sizex=float(size[0]), sizey=float(size[1]), xanchor="center", yanchor="middle",
                 sizing="contain", layer="above")
            for r in rows
        ],
        # Autorange ignores layout images.
        xaxis=dict(range=[float(xy[:, 0].min() - size[0]), float(xy[:, 0].max() + size[0])]),
        yaxis=dict(range=[float(xy[:, 1].min() - size[1]), float(xy[:, 1].max() + size[1])]),
    )


def png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 image (H, W) or (H, W, 3), at its own size.

    Fast compression (level 1): pages send many small mosaics per rerun, and level 6 took 2-3x
    as long for ~20% fewer bytes. JPEG would smear pixel-sharp digits.
    """
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def tile_images(
    images: np.ndarray,
    ncols: int | None = None,
    pad: int = 2,
    scale: int = 3,
    pad_value: float = 1.0,
) -> np.ndarray:
    """Grayscale uint8 mosaic of images (N, H, W) or (N, 1, H, W) with values in [0, 1].

    Each image gets a border of `pad` pixels of pad_value (empty slots are filled with it too),
    then the whole mosaic is upscaled by nearest neighbour, giving shape
    (rows * (H + 2*pad) * scale, cols * (W + 2*pad) * scale) with cols = min(ncols, N)
    (default ceil(sqrt(N))) and rows = ceil(N / cols). Raises ValueError when N == 0.
    """
    images = _gray_stack(images)
    n, h, w = images.shape
    if n == 0:
        raise ValueError("tile_images got no images; check for an empty selection before calling it")
    cols = min(ncols or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    th, tw = h + 2 * pad, w + 2 * pad
    mosaic = np.full((rows * th, cols * tw), pad_value, dtype=float)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        mosaic[r * th + pad : r * th + pad + h, c * tw + pad : c * tw + pad + w] = image
    mosaic = np.round(np.clip(mosaic, 0.0, 1.0) * 255).astype(np.uint8)
    return np.kron(mosaic, np.ones((scale, scale), dtype=np.uint8))


def code_bars_svg(codes: np.ndarray, titles: Sequence[str]) -> str:
    """The same stacked bars as code_bars, as one small SVG picture (a row of bars per code, one shared
    value range). For a chart redrawn on every click: a Plotly chart of a few subplots costs the browser
    0.1-0.3 s to draw on 2 cores, a picture a few milliseconds. `titles` are the rows' own labels."""
    codes = np.atleast_2d(np.asarray(codes, dtype=float))
    k, latent = codes.shape
    top = max(float(np.abs(codes).max()) * 1.1, 1e-6)
    left, right, row_height, gap, axis = 44, 6, 64, 12, 40
    width = 400  # about the panel's width in pixels, so the text keeps its size
    plot_width = width - left - right
    step = plot_width / latent
    height = k * row_height + (k - 1) * gap + axis
    tick_every = 1 if latent <= 16 else 4 if latent <= 64 else 16
    font = f'font-family="sans-serif" font-size="{FONT_SIZE - 1}" fill="#444"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}">']
    for row, (code, name) in enumerate(zip(codes, titles)):
        y0 = row * (row_height + gap)
        zero = y0 + row_height / 2
        scale = (row_height / 2) / top
        label = _svg_text(name)
        parts.append(f'<text x="{left - 8}" y="{zero:.1f}" text-anchor="end" dominant-baseline="central" {font}>'
                     f'{label}</text>')
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999" '
                     'stroke-width="1"/>')
        for unit, value in enumerate(code):
            bar = abs(value) * scale
            y = zero - bar if value >= 0 else zero
            parts.append(f'<rect x="{left + unit * step + step * 0.08:.1f}" y="{y:.1f}" width="{step * 0.84:.1f}" '
                         f'height="{max(bar, 0.5):.1f}" fill="{CLASS_COLORS[0]}"/>')
    base = height - axis + 15
    for unit in range(0, latent, tick_every):
        parts.append(f'<text x="{left + (unit + 0.5) * step:.1f}" y="{base}" text-anchor="middle" {font}>{unit}</text>')
    parts.append(f'<text x="{left + plot_width / 2:.1f}" y="{height - 2}" text-anchor="middle" {font}>'
                 f'latent unit (one scale for all: ±{top:.2f})</text></svg>')
    return "".join(parts)


def _svg_text(text: str) -> str:
    """Text for an SVG element, as plain text (never markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_bars(code: np.ndarray, title: str | None = None) -> go.Figure:
    """One latent code as a bar chart, with a value on hover (several codes, redrawn on every click:
    code_bars_svg)."""
    code = np.asarray(code, dtype=float).ravel()
    latent = len(code)
    return go.Figure(go.Bar(x=np.arange(latent), y=code, marker_color=CLASS_COLORS[0],
                            hovertemplate="unit %{x}: %{y:.3f}<extra></extra>"), dict(
        xaxis=dict(title=dict(text="latent unit"), dtick=1 if latent <= 16 else 4 if latent <= 64 else None),
        yaxis=dict(title=dict(text="value", font=dict(size=12)), zeroline=True),
        height=120 + (80 if title else 50),
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        font=dict(size=FONT_SIZE),
        showlegend=False,
        title=dict(text=title) if title else None,
        bargap=0.15,
    ))


_TERM_ORDER = ("total", "recon", "kl")
TERM_LABELS = {"total": "total", "recon": "reconstruction", "kl": "KL"}
_SPLIT_DASH = {"train": "solid", "test": "dash"}


def history_terms(history: Sequence[Mapping]) -> list[str]:
    present = {
        term
        for row in history
        for split in ("train", "test")
        for term, value in (row.get(split) or {}).items()
        if value is not None
    }
    terms = [t for t in _TERM_ORDER if t in present] + sorted(present - set(_TERM_ORDER))
    # For a plain AE the total *is* the reconstruction loss; one line says it.
    if set(terms) == {"total", "recon"}:
        terms.remove("total")
    return terms


def loss_curves(history: Sequence[Mapping]) -> go.Figure:
    """Loss per epoch, one line per (split, term), named e.g. "train recon".

    history: list of {"epoch": int, "train": {term: float}, "test": {term: float} | None, ...}.
    When a KL term is present it gets its own lower panel (in nats), so its scale does not
    flatten the reconstruction curves. Colour = term, solid = train, dashed = test.
    """
    terms = history_terms(history)
    has_kl = "kl" in terms
    if has_kl:
        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
        )
    else:
        fig = go.Figure()
    for split in ("train", "test"):
        for t, term in enumerate(terms):
            points = [
                (row["epoch"], row[split][term])
                for row in history
                if row.get(split) and row[split].get(term) is not None
            ]
            if not points:
                continue
            epochs, values = zip(*points)
            trace = go.Scatter(
                x=list(epochs),
                y=list(values),
                mode="lines+markers",
                name=f"{split} {term}",
                line=dict(color=CLASS_COLORS[t], dash=_SPLIT_DASH[split], width=3),
                marker=dict(size=6),
                hovertemplate=f"{split} {TERM_LABELS.get(term, term)}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
            )
            if has_kl:
                fig.add_trace(trace, row=2 if term == "kl" else 1, col=1)
            else:
                fig.add_trace(trace)
    _style(fig, height=420 if has_kl else 320, legend=True)
    fig.update_layout(
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(t=40),
        hovermode="x unified",
    )
    if has_kl:
        fig.update_yaxes(title_text="loss", row=1, col=1)
        fig.update_yaxes(title_text="KL (nats)", row=2, col=1)
        fig.update_xaxes(title_text="epoch", row=2, col=1)
    else:
        fig.update_layout(xaxis_title="epoch", yaxis_title="loss")
    return fig


def kl_bars(kl_per_dim: np.ndarray, threshold: float = 0.01) -> go.Figure:
    """KL per latent unit (latent,), sorted descending; units at or under threshold greyed."""
    kl = np.asarray(kl_per_dim, dtype=float).ravel()
    order = np.argsort(-kl, kind="stable")
    active = kl[order] > threshold
    fig = go.Figure(
        go.Bar(
            x=[f"z{i}" for i in order],
            y=kl[order],
            marker_color=np.where(active, CLASS_COLORS[0], INACTIVE_COLOR).tolist(),
            hovertemplate="%{x}: %{y:.3g} nats<extra></extra>",
        )
    )
    title = f"{int(active.sum())} of {len(kl)} units active (KL > {threshold:g} nats)"
    _style(fig, height=300, title=title)
    fig.update_layout(
        xaxis=dict(title=dict(text="latent unit (sorted by KL)"), type="category"),
        yaxis=dict(title=dict(text="KL (nats)")),
        bargap=0.15,
    )
    return fig


def plane_heat_map(xs: np.ndarray, ys: np.ndarray, confidence: np.ndarray, drift: np.ndarray, *,
                   title: str | None = None, drift_steps: float = 1.0) -> go.Figure:
    """Where a 2-D code plane decodes to digits: the judge's confidence (n, n) over the grid xs (n,) × ys (n,)
    as a heat map (row 0 at the lowest y), and a × on every cell whose decode the encoder puts back more than
    `drift_steps` grid steps away (drift (n, n)): a digit drawn there that lives elsewhere in the plane."""
    confidence, drift = np.asarray(confidence, dtype=float), np.asarray(drift, dtype=float)
    rows, cols = np.nonzero(drift > drift_steps)
    fig = go.Figure([
        go.Heatmap(x=xs, y=ys, z=confidence, zmin=0, zmax=1, colorscale=INFERNO, name="judge's confidence",
                   colorbar=dict(title=dict(text="judge's confidence", side="right"), thickness=12, tickformat=".0%"),
                   hovertemplate="code (%{x:.2f}, %{y:.2f})<br>read as a digit with %{z:.0%} confidence<extra></extra>"),
        go.Scatter(x=np.asarray(xs)[cols], y=np.asarray(ys)[rows], mode="markers", name="comes back elsewhere",
                   marker=dict(symbol="x-thin", size=6, line=dict(width=1.5, color="#4fc3f7")),
                   customdata=drift[rows, cols],
                   hovertemplate="code (%{x:.2f}, %{y:.2f})<br>encoded again, it lands %{customdata:.1f} grid steps "
                                 "away<extra></extra>"),
    ])
    _style(fig, height=420, title=title, legend=True)
    fig.update_layout(xaxis=dict(title=dict(text="z0")), yaxis=dict(title=dict(text="z1")),
                      legend=dict(orientation="h", y=-0.18, x=0))
    return fig


def score_histogram(
    normal_scores: np.ndarray, anomalous_scores: np.ndarray, threshold: float
) -> go.Figure:
    """Overlaid histograms of anomaly scores (each (n,)), as % of its group, with the threshold."""
    normal = np.asarray(normal_scores, dtype=float).ravel()
    anomalous = np.asarray(anomalous_scores, dtype=float).ravel()
    both = np.concatenate([normal, anomalous, [threshold]])
    lo, hi = float(both.min()), float(both.max())
    # Shared bins, or the two groups' bars would not line up.
    bins = dict(start=lo, end=hi, size=(hi - lo) / 40 if hi > lo else 1.0)
    fig = go.Figure()
    for name, scores, color in (("normal", normal, CLASS_COLORS[0]), ("anomalous", anomalous, CLASS_COLORS[1])):
        fig.add_trace(
            go.Histogram(
                x=scores, name=name, xbins=bins, histnorm="percent",
                marker_color=color, opacity=0.6,
            )
        )
    fig.add_vline(
        x=threshold, line=dict(color=INK_COLOR, dash="dash", width=2),
        annotation_text=f"threshold {threshold:.3g}", annotation_position="top right",
    )
    _style(fig, height=320, legend=True)
    fig.update_layout(
        barmode="overlay",
        xaxis_title="anomaly score",
        yaxis_title="% of group",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(t=40),
    )
    return fig


def log_score_histogram(normal: np.ndarray, anomalous: np.ndarray, threshold: float,
                  names: tuple[str, str] = ("test digits", "odd inputs")) -> go.Figure:
    """score_histogram on a log10 axis, labelled in score units.

    Odd inputs such as inverted digits score ten times higher than digits; on a linear axis all the
    digits would fall into one or two bins.
    """
    fig = score_histogram(np.log10(normal), np.log10(anomalous), np.log10(threshold))
    lo = np.floor(np.log10(min(normal.min(), anomalous.min(), threshold)))
    hi = np.ceil(np.log10(max(normal.max(), anomalous.max(), threshold)))
    ticks = [d + np.log10(m) for d in np.arange(lo, hi + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo <= t <= hi]
    fig.update_layout(
        xaxis=dict(title=dict(text="anomaly score: reconstruction error (log scale)"), tickvals=ticks,
                   ticktext=[f"{10 ** t:.2g}" for t in ticks]),
        legend=dict(title=dict(text="")),
    )
    fig.update_traces(selector=dict(name="normal"), name=names[0])
    fig.update_traces(selector=dict(name="anomalous"), name=names[1])
    fig.layout.annotations[0].text = f"threshold {threshold:.3g}"
    return fig


def error_mosaic(images: np.ndarray, recons: np.ndarray, maps: np.ndarray, captions: list[str]) -> go.Figure:
    """Three rows, one column per input: the input, its reconstruction, and the per-pixel error.

    images, recons, maps (K, H, W). Each row is one heatmap of the K tiles side by side.
    """
    k, h, w = images.shape
    gap = 3

    def strip(tiles: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((h, k * (w + gap) - gap), fill)
        for i, tile in enumerate(tiles):
            out[:, i * (w + gap): i * (w + gap) + w] = tile
        return out

    fig = make_subplots(rows=3, cols=1, vertical_spacing=0.08,
                        subplot_titles=("input", "reconstruction", "squared error per pixel"))
    gray = [[0, "#000000"], [1, "#ffffff"]]
    heat = [[i / (len(INFERNO) - 1), c] for i, c in enumerate(INFERNO)]
    zmax = max(float(maps.max()), 1e-6)
    # Mid-grey gaps keep the tiles apart even when an input is bright all over (an inverted digit).
    for row, tiles in ((1, images), (2, recons)):
        fig.add_trace(go.Heatmap(z=strip(tiles, 0.5), colorscale=gray, zmin=0, zmax=1, showscale=False,
                                 hovertemplate="%{z:.2f}<extra></extra>"), row=row, col=1)
    fig.add_trace(go.Heatmap(z=strip(maps, np.nan), colorscale=heat, zmin=0, zmax=zmax,
                             hovertemplate="error %{z:.3f}<extra></extra>",
                             colorbar=dict(title=dict(text="error"), thickness=12, len=0.3, y=0.14, nticks=4,
                                           tickformat=".2f")), row=3, col=1)
    centres = [i * (w + gap) + (w - 1) / 2 for i in range(k)]
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=True, tickvals=centres, ticktext=captions, tickfont=dict(size=12), row=3, col=1)
    for row in (1, 2, 3):  # square pixels: each row's y axis scaled to its own x axis
        fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False,
                         scaleanchor="x" if row == 1 else f"x{row}", constrain="domain", row=row, col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=60),
                      font=dict(size=13))
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float) -> go.Figure:
    """ROC curve from fpr (T,), tpr (T,), with the chance diagonal."""
    fig = go.Figure(
        [
            go.Scatter(
                x=[0, 1], y=[0, 1], mode="lines", name="chance",
                line=dict(color=INACTIVE_COLOR, dash="dash", width=2), hoverinfo="skip",
            ),
            go.Scatter(
                x=np.asarray(fpr, dtype=float), y=np.asarray(tpr, dtype=float),
                mode="lines", name=f"ROC (AUC = {auc:.3f})",
                line=dict(color=CLASS_COLORS[0], width=3),
                hovertemplate="FPR %{x:.3f}<br>TPR %{y:.3f}<extra></extra>",
            ),
        ]
    )
    _style(fig, height=360, title=f"ROC curve, AUC = {auc:.3f}")
    fig.update_layout(
        xaxis=dict(title=dict(text="false positive rate"), range=[0, 1], constrain="domain"),
        yaxis=dict(title=dict(text="true positive rate"), range=[0, 1], scaleanchor="x"),
    )
    return fig


def tradeoff_figure(points: Sequence[Mapping]) -> go.Figure:
    """Reconstruction loss (y) against KL (x), one labelled point per β, joined in β order.

    points: list of {"beta": float, "recon": float, "kl": float, "name": str}.
    """
    pts = sorted(points, key=lambda p: p["beta"])
    fig = go.Figure(
        go.Scatter(
            x=[p["kl"] for p in pts],
            y=[p["recon"] for p in pts],
            mode="lines+markers+text",
            name="β sweep",
            text=[f"β={p['beta']:g}" for p in pts],
            textposition="top right",
            customdata=[[p.get("name", "")] for p in pts],
            line=dict(color=INACTIVE_COLOR, width=2),
            marker=dict(size=12, color=CLASS_COLORS[0]),
            hovertemplate="%{customdata[0]} (%{text})<br>KL %{x:.3g} nats<br>recon %{y:.4g}<extra></extra>",
        )
    )
    _style(fig, height=360, title="Rate–distortion trade-off")
    fig.update_layout(xaxis_title="KL (nats): information kept", yaxis_title="reconstruction loss")
    return fig


def psnr_bars(psnr_by_model: Mapping[str, float], noisy_psnr: float) -> go.Figure:
    """PSNR (dB) bar per model, in dict order, with a dashed line at the noisy input's PSNR."""
    names = list(psnr_by_model)
    values = [float(psnr_by_model[m]) for m in names]
    fig = go.Figure(
        go.Bar(
            x=names, y=values, name="denoised",
            marker_color=CLASS_COLORS[0],
            text=[f"{v:.1f} dB" for v in values], textposition="outside",
            hovertemplate="%{x}: %{y:.2f} dB<extra></extra>",
        )
    )
    fig.add_hline(
        y=noisy_psnr, line=dict(color=CLASS_COLORS[3], dash="dash", width=2),
        annotation_text=f"noisy input {noisy_psnr:.1f} dB", annotation_position="top left",
        annotation_bgcolor="rgba(255,255,255,0.85)",
    )
    _style(fig, height=320, title="Denoising quality (higher is better)")
    top = max(values + [noisy_psnr]) if values else noisy_psnr
    fig.update_layout(yaxis=dict(title=dict(text="PSNR (dB)"), range=[0, top * 1.15]))
    return fig


def latent_replay(frames: list[np.ndarray], labels: np.ndarray, class_names, *, animate: bool) -> go.Figure:
    """Latent map of the same digits after each epoch: frames[e] (P, 2) after epoch e (0 = untrained).

    One go.Scatter trace per class (SVG, so it does not use one of the page's few WebGL contexts).
    animate: all epochs as Plotly frames with a play button and an epoch slider, axes fixed over
    all epochs; otherwise just the last frame.
    """
    labels = np.asarray(labels).astype(int)
    classes = [c for c in range(len(class_names)) if (labels == c).any()]

    def traces(xy: np.ndarray) -> list[go.Scatter]:
        return [go.Scatter(x=xy[labels == c, 0], y=xy[labels == c, 1], mode="markers", name=str(class_names[c]),
                           marker=dict(size=7, opacity=0.8, color=CLASS_COLORS[c % len(CLASS_COLORS)]),
                           hovertemplate=f"class {class_names[c]}<extra></extra>") for c in classes]

    last = len(frames) - 1
    fig = go.Figure(traces(frames[-1]))
    fig.update_layout(
        height=560, font=dict(size=FONT_SIZE),
        margin=dict(l=10, r=10, t=10, b=10), hovermode="closest",
        legend=dict(title=dict(text="class"), itemsizing="constant"),
        xaxis=dict(title=dict(text="PC1 of the latest epoch"), zeroline=False),
        yaxis=dict(title=dict(text="PC2"), zeroline=False),
    )
    if not animate or len(frames) < 2:
        return fig
    points = np.concatenate(frames)
    low, high = points.min(0), points.max(0)
    pad = 0.05 * (high - low) + 1e-6
    fig.frames = [go.Frame(data=traces(xy), name=str(e), traces=list(range(len(classes)))) for e, xy in enumerate(frames)]
    step = dict(mode="immediate", frame=dict(duration=500, redraw=False), transition=dict(duration=350, easing="cubic-in-out"))
    fig.update_layout(
        margin=dict(b=130),
        xaxis=dict(range=[low[0] - pad[0], high[0] + pad[0]], autorange=False),
        yaxis=dict(range=[low[1] - pad[1], high[1] + pad[1]], autorange=False),
        updatemenus=[dict(
            type="buttons", direction="down", x=1.02, xanchor="left", y=0, yanchor="bottom", pad=dict(l=10),
            buttons=[dict(label="▶ Play", method="animate", args=[None, {**step, "fromcurrent": False}]),
                     dict(label="❚❚ Pause", method="animate",
                          args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                             transition=dict(duration=0))])],
        )],
        sliders=[dict(
            active=last, x=0, len=1, y=-0.16, yanchor="top", pad=dict(t=10),
            currentvalue=dict(prefix="epoch ", font=dict(size=FONT_SIZE)),
            steps=[dict(label=str(e), method="animate", args=[[str(e)], step]) for e in range(len(frames))],
        )],
    )
    return fig


def class_histogram(counts: Sequence[int], class_names: Sequence[str], *, title: str | None = None,
                    height: int = 180) -> go.Figure:
    """Bars of how many images a classifier read as each class (counts (K,)), coloured like the map's classes."""
    colors = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(len(class_names))]
    fig = go.Figure(go.Bar(x=list(class_names), y=list(counts), marker=dict(color=colors),
                           hovertemplate="read as %{x}: %{y}<extra></extra>"))
    fig.update_layout(xaxis=dict(type="category", title=None), yaxis=dict(title=None), bargap=0.15)
    return _style(fig, height=height, title=title)
