"""Figures for the inside-the-model pages: the network drawn layer by layer, the reparameterization
trick on the latent plane, and the rate–distortion chart. Arrays in, Plotly figures out (and one
Graphviz DOT source for the computation graph, which Streamlit draws in the browser)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .anatomy import Anatomy, activation_grid
from .compression import BUDGETS, RatePoint, winners
from .figure_text import number_text
from .figures import CLASS_COLORS, FONT_SIZE, INFERNO, INK_COLOR, digit_points, map_figure, map_layout, overlay
from .reparam import DirectSample, Gradients, Posterior

PART_COLORS = {"input": "#9e9e9e", "encoder": CLASS_COLORS[0], "bottleneck": CLASS_COLORS[1],
               "decoder": CLASS_COLORS[2]}
MIN_BAR = 0.04  # a 32-number code beside 6,272 conv numbers would be an invisible sliver (its label says 32)


SHORT_KINDS = {"Linear": "linear", "Conv2d": "conv", "ConvTranspose2d": "deconv"}


def _stacked(shape_text: str) -> str:
    """"32×14×14" -> "32<br>14×14": channels above height × width, so narrow columns stay readable."""
    channels, _, rest = shape_text.partition("×")
    return f"{channels}<br>{rest}" if rest.count("×") == 1 else shape_text


def network_columns(result: Anatomy) -> list[dict]:
    """One column per drawn layer: the input, then every stage; label, part, size, parameters."""
    columns = [dict(label="input", part="input", shape="×".join(map(str, result.image.shape)),
                    size=result.input_size, parameters=0, layer="the digit")]
    for stage in result.stages:
        label = {"to_mu": "μ", "to_logvar": "log σ²"}.get(stage.name, stage.kind)
        columns.append(dict(label=label, part=stage.part, shape=stage.shape_text, size=stage.size,
                            parameters=stage.parameters, layer=f"{stage.kind} ({stage.name})"))
    return columns


def network_figure(result: Anatomy) -> go.Figure:
    """The encoder and decoder as a row of bars centred on one line, each as tall as the numbers its
    layer passes on (linear scale), coloured by part, with its output size above and parameters below."""
    columns = network_columns(result)
    largest = max(c["size"] for c in columns)
    heights = np.array([max(c["size"] / largest, MIN_BAR) for c in columns])
    x = [f"{i}<br>{SHORT_KINDS.get(c['label'], c['label'])}" for i, c in enumerate(columns)]
    bars = []
    for part, color in PART_COLORS.items():
        rows = [i for i, c in enumerate(columns) if c["part"] == part]
        if not rows:
            continue
        bars.append(go.Bar(
            x=[x[i] for i in rows], y=heights[rows], base=-heights[rows] / 2, name=part, marker_color=color,
            marker_line=dict(width=2 if part == "bottleneck" else 0, color=INK_COLOR),
            customdata=[[columns[i]["layer"], columns[i]["shape"], columns[i]["parameters"]] for i in rows],
            hovertemplate="%{customdata[0]}<br>output %{customdata[1]}<br>%{customdata[2]:,} parameters<extra></extra>"))
    above = [dict(x=x[i], y=heights[i] / 2, text=f"<b>{_stacked(c['shape'])}</b>", showarrow=False, yanchor="bottom",
                  font=dict(size=13)) for i, c in enumerate(columns)]
    below = [dict(x=x[i], y=-heights[i] / 2, text=f"{c['parameters']:,}" if c["parameters"] else "", showarrow=False,
                  yanchor="top", font=dict(size=11, color="#555")) for i, c in enumerate(columns)]
    return go.Figure(bars, dict(
        barmode="overlay", bargap=0.35, height=360, font=dict(size=FONT_SIZE), margin=dict(l=10, r=10, t=40, b=10),
        annotations=above + below, showlegend=True, legend=dict(orientation="h", y=1.12, x=0),
        yaxis=dict(visible=False, range=[-0.62, 0.72]), xaxis=dict(tickangle=0, tickfont=dict(size=11)),
        title=dict(text="bar height ∝ numbers the layer passes on · above: output size · below: parameters",
                   font=dict(size=13), x=1, xanchor="right", y=0.98),
    ))


def activation_figure(result: Anatomy) -> go.Figure:
    """Each stage's activation for the digit as a small heat map (conv layers: their first channels
    tiled), in running order; signed layers (the code, the output logits) on a blue–red scale around 0."""
    stages = result.stages
    titles = [_stacked(s.shape_text) for s in stages]
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=titles, horizontal_spacing=0.012)
    for i, stage in enumerate(stages, start=1):
        grid = activation_grid(stage.activation)
        signed = float(np.nanmin(grid)) < 0
        fig.add_trace(go.Heatmap(
            z=grid[::-1], colorscale="RdBu_r" if signed else INFERNO, zmid=0 if signed else None, showscale=False,
            hovertemplate=f"{stage.kind} ({stage.name})<br>value %{{z:.3f}}<extra></extra>"), row=1, col=i)
        fig.update_xaxes(visible=False, row=1, col=i)
        fig.update_yaxes(visible=False, scaleanchor=f"x{i if i > 1 else ''}", row=1, col=i)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=200, margin=dict(l=5, r=5, t=40, b=5), font=dict(size=FONT_SIZE),
                      plot_bgcolor="#ffffff")
    return fig


def posterior_figure(others_mu: np.ndarray, labels: np.ndarray, classes: Sequence[str], post: Posterior,
                     samples: np.ndarray, *, zoom: bool, radii: Sequence[float] = (1.0, 2.0)) -> go.Figure:
    """The latent-2 plane: every other digit's μ (by class), the chosen digit's q(z|x) as ellipses at
    `radii` standard deviations around its μ (★), and the samples z = μ + σ·ε (✕).
    zoom: axes span the digit's ellipse and its surroundings instead of the whole map."""
    from .reparam import ellipse

    rings = [overlay(ellipse(post.mu, post.sigma, r), f"μ ± {r:g}σ", mode="lines",
                     line=dict(color=INK_COLOR, width=2.5 if r == 1 else 1.5, dash="solid" if r == 1 else "dot"))
             for r in radii]
    star = overlay(post.mu[None], "μ", marker=dict(symbol="star", size=22, color="#ffd700",
                                                   line=dict(width=1.5, color=INK_COLOR)),
                   hovertemplate=f"μ = ({post.mu[0]:.3f}, {post.mu[1]:.3f})<extra></extra>")
    drawn = overlay(samples, "z = μ + σ·ε", marker=dict(symbol="x", size=10, color=CLASS_COLORS[3],
                                                         line=dict(width=1, color="#ffffff")),
                    customdata=np.arange(len(samples)).reshape(-1, 1),
                    hovertemplate="sample %{customdata[0]}: z = (%{x:.3f}, %{y:.3f})<extra></extra>")
    base = digit_points(others_mu, labels, np.arange(len(others_mu)), classes, opacity=0.3, colorbar=False)
    fig = map_figure([base, *rings, drawn, star], map_layout(["z₁", "z₂"], height=480, dragmode="pan"))
    if zoom:
        reach = np.maximum(2.5 * max(radii) * post.sigma, 0.02 * np.ptp(others_mu, axis=0))
        half = float(max(reach))  # the same span both ways, so the ellipse keeps its true shape
        fig.update_xaxes(range=[post.mu[0] - half, post.mu[0] + half])
        fig.update_yaxes(range=[post.mu[1] - half, post.mu[1] + half])
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def dimension_figure(post: Posterior) -> go.Figure:
    """Each latent dimension's μ ± σ for the digit against the prior N(0, 1) (the grey band is ±1),
    and below it that dimension's KL term in nats."""
    dims = np.arange(len(post.mu))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=dims, y=np.zeros_like(post.mu, dtype=float), mode="markers", name="prior N(0, 1)",
                             marker=dict(color="#9e9e9e", size=6), error_y=dict(type="constant", value=1,
                                                                                 color="#bdbdbd", thickness=6, width=0),
                             hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(x=dims, y=post.mu, mode="markers", name="this digit: μ ± σ",
                             marker=dict(color=CLASS_COLORS[1], size=8),
                             error_y=dict(type="data", array=post.sigma, color=CLASS_COLORS[1], thickness=2, width=4),
                             customdata=post.sigma,
                             hovertemplate="dim %{x}: μ %{y:.3f}, σ %{customdata:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=dims, y=post.kl, name="KL (nats)", marker_color=CLASS_COLORS[0],
                         hovertemplate="dim %{x}: KL %{y:.3f} nats<extra></extra>"), row=2, col=1)
    fig.update_yaxes(title_text="value", row=1, col=1)
    fig.update_yaxes(title_text="KL (nats)", row=2, col=1)
    fig.update_xaxes(title_text="latent dimension", dtick=1 if len(dims) <= 32 else None, row=2, col=1)
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=FONT_SIZE),
                      legend=dict(orientation="h", y=1.06, x=0))
    return fig


GRAPH_DIMS = 3  # dimensions written on the graph's labels; the page's table has them all


def _vector(values: np.ndarray | None) -> str:
    if values is None:
        return "none"
    shown = ", ".join(f"{v:.3g}" for v in values[:GRAPH_DIMS])
    return f"({shown}{', …' if len(values) > GRAPH_DIMS else ''})"


def gradient_graph(grads: Gradients) -> str:
    """Graphviz DOT of z = μ + σ·ε → decoder → loss, each edge labelled with the gradient autograd
    sent back along it (values for every latent dimension)."""
    return "\n".join([
        "digraph reparam {", "rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];",
        'edge [fontname=Helvetica, fontsize=11];',
        f'mu [label="μ = {_vector(grads.mu)}", color="#ff7f0e", penwidth=2];',
        f'sigma [label="σ = {_vector(grads.sigma)}", color="#ff7f0e", penwidth=2];',
        f'eps [label="ε = {_vector(grads.epsilon)}\\n~ N(0, I), seeded", style="rounded,dashed"];',
        f'z [label="z = μ + σ·ε\\n= {_vector(grads.z)}"];',
        f'loss [label="reconstruction loss\\n{grads.recon:.2f} nats", shape=ellipse];',
        'z -> loss [label="decoder", dir=both, arrowtail=normal, color="#1f77b4"];',
        f'mu -> z [label="∂L/∂μ = {_vector(grads.grad_mu_recon)}", dir=both, arrowtail=normal, color="#1f77b4"];',
        f'sigma -> z [label="∂L/∂σ = {_vector(grads.grad_sigma_recon)}", dir=both, arrowtail=normal, color="#1f77b4"];',
        'eps -> z [label="no gradient needed", style=dashed];',
        f'z_grad [shape=plaintext, label="∂L/∂z = {_vector(grads.grad_z)}"]; z_grad -> z [style=invis];',
        "}",
    ])


def direct_graph(direct: DirectSample) -> str:
    """Graphviz DOT of z drawn straight from N(μ, σ²): the edge from μ and σ to z is cut, and the
    gradients autograd returns for μ and σ are written as found."""
    return "\n".join([
        "digraph direct {", "rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];",
        'edge [fontname=Helvetica, fontsize=11];',
        'mu [label="μ", color="#ff7f0e", penwidth=2]; sigma [label="σ", color="#ff7f0e", penwidth=2];',
        f'draw [label="draw z ~ N(μ, σ²)\\nz = {_vector(direct.z)}\\ngrad_fn: {direct.grad_fn or "none"}"];',
        'loss [label="reconstruction loss", shape=ellipse];',
        'mu -> draw; sigma -> draw; draw -> loss [label="decoder"];',
        f'loss -> mu [label="∂L/∂μ: {_vector(direct.grad_mu)}", style=dashed, color="#d62728", constraint=false];',
        f'loss -> sigma [label="∂L/∂σ: {_vector(direct.grad_sigma)}", style=dashed, color="#d62728", constraint=false];',
        "}",
    ])


METHOD_STYLES = {"PCA": dict(color="#7f7f7f", dash="dot", symbol="square"),
                 "JPEG (whole file)": dict(color="#8c564b", dash="dash", symbol="diamond"),
                 "JPEG (no headers)": dict(color="#d62728", dash="dash", symbol="diamond-open")}


def rate_distortion_figure(curves: Mapping[str, list[RatePoint]], lossless: Mapping[str, float]) -> go.Figure:
    """Bytes per digit (log axis) → mean PSNR, one line per method through its frontier settings.
    Every point has customdata [key] (RatePoint.key), so a selection names its setting; lossless
    references are vertical lines. Built the same for the same numbers, so a selection survives reruns."""
    traces = []
    model_colors = iter([c for i, c in enumerate(CLASS_COLORS) if i not in (3, 5, 7)])
    for method, points in curves.items():
        style = METHOD_STYLES.get(method) or dict(color=next(model_colors), dash="solid", symbol="circle")
        traces.append(go.Scatter(
            x=[p.bytes_per_digit for p in points], y=[p.psnr for p in points], mode="lines+markers", name=method,
            line=dict(color=style["color"], dash=style["dash"], width=2.5),
            marker=dict(size=10, symbol=style["symbol"], color=style["color"]),
            customdata=[[p.key, p.setting] for p in points],
            hovertemplate=f"<b>{method}</b><br>%{{customdata[1]}}<br>%{{x:.1f}} bytes per digit<br>"
                          "%{y:.1f} dB<extra></extra>"))
    shapes, notes = [], []
    for name, size in lossless.items():
        shapes.append(dict(type="line", x0=size, x1=size, y0=0, y1=1, yref="paper",
                           line=dict(color=INK_COLOR, width=1.5, dash="longdash")))
        notes.append(dict(x=np.log10(size), y=0.02, yref="paper", text=f"{name}<br>{size:.0f} B", showarrow=False,
                          xanchor="right", yanchor="bottom", font=dict(size=12), bgcolor="rgba(255,255,255,0.8)"))
    return go.Figure(traces, dict(
        height=520, font=dict(size=FONT_SIZE), margin=dict(l=10, r=10, t=10, b=10), shapes=shapes,
        # Drag zooms and a click selects: Streamlit turns click-selection off while the drag mode is "select".
        annotations=notes, clickmode="event+select", dragmode="zoom", hovermode="closest",
        xaxis=dict(type="log", title=dict(text="bytes per digit (log scale)")),
        yaxis=dict(title=dict(text="mean PSNR (dB), higher is sharper")),
        legend=dict(orientation="v", x=0.01, y=0.99, bgcolor="rgba(255,255,255,0.85)"),
    ))


# --- the same figures in words, for a screen reader (st.plotly_chart's `alt`; see figure_text.map_summary) -------


def _column_words(column: dict) -> str:
    return f"{SHORT_KINDS.get(column['label'], column['label'])} {column['shape']}"


def network_summary(result: Anatomy, *, name: str) -> str:
    """network_figure in words: every layer's output size in running order, the code's size and the parameters."""
    columns = network_columns(result)
    biggest = max(columns[1:], key=lambda c: c["parameters"])
    code = [_column_words(c) for c in columns if c["part"] == "bottleneck"]
    return (f"Bar chart of {name}'s layers in running order, each bar as tall as the numbers its layer passes on: "
            + ", then ".join(_column_words(c) for c in columns)
            + f". The code ({' and '.join(code)}) holds {result.latent_dim} numbers, {result.compression_ratio:.1f} "
              f"times fewer than the {result.input_size} of the input. {result.total_parameters:,} parameters in "
              f"all, the most in the layer {biggest['layer']}: {biggest['parameters']:,}.")


def activation_summary(result: Anatomy) -> str:
    """activation_figure in words: each stage's output for the digit, in running order: its range when it
    has signs (the code, the output), else the share of its numbers above zero and the largest."""
    parts = []
    for column, stage in zip(network_columns(result)[1:], result.stages):
        values = np.asarray(stage.activation, dtype=float)
        if values.min() < 0:
            parts.append(f"{_column_words(column)} from {number_text(values.min())} to {number_text(values.max())}")
        else:
            parts.append(f"{_column_words(column)} {float((values > 0).mean()):.0%} above zero, largest "
                         f"{number_text(values.max())}")
    return (f"Heat maps of what each of the {len(parts)} layers outputs for this digit, in running order: "
            + "; ".join(parts) + ".")


def dimension_summary(post: Posterior, threshold: float = 0.01, *, name: str, listed: int = 4) -> str:
    """dimension_figure in words: the digit's KL in total and per dimension above `threshold`, and μ, σ and
    KL of each dimension (all of them for a code of up to `listed` numbers, else the largest KL's)."""
    kl = np.asarray(post.kl, dtype=float)
    dims = range(len(kl)) if len(kl) <= listed else [int(np.argmax(kl))]
    each = "; ".join(f"dimension {d}: μ {number_text(post.mu[d])}, σ {number_text(post.sigma[d])}, KL "
                     f"{number_text(kl[d])} nats" for d in dims)
    return (f"For each of the {len(kl)} latent dimensions of {name}: this digit's μ plus and minus σ beside the "
            f"prior N(0, 1), and below it the KL that dimension pays: {number_text(kl.sum())} nats in total, "
            f"{int((kl > threshold).sum())} of {len(kl)} dimensions above {threshold:g} nats. "
            + ("The largest KL: " if len(kl) > listed else "By dimension: ") + each + ".")


def posterior_summary(post: Posterior, samples: np.ndarray, digits: int, *, name: str, zoom: bool,
                      radii: Sequence[float] = (1.0, 2.0)) -> str:
    """posterior_figure in words: the digits, the digit's μ and σ, the ellipses, and the share of the samples
    within each radius of μ (Mahalanobis distance)."""
    samples = np.asarray(samples, dtype=float)
    radius = np.sqrt((((samples - post.mu) / post.sigma) ** 2).sum(axis=1))  # (S,)
    within = ", ".join(f"{float((radius <= r).mean()):.0%} within {r:g}σ" for r in radii)
    pair = lambda v: f"({number_text(v[0])}, {number_text(v[1])})"  # noqa: E731
    return (f"The latent plane of {name}{', zoomed to the digit' if zoom else ''}: the μ of {digits:,} digits as "
            f"faint dots; this digit's μ = {pair(post.mu)} as a star, with ellipses at "
            + " and ".join(f"{r:g}σ" for r in radii) + f" around it (σ = {pair(post.sigma)}); and {len(samples)} "
            f"samples z = μ + σ·ε as crosses: {within}.")


def rate_distortion_summary(curves: Mapping[str, list[RatePoint]], lossless: Mapping[str, float],
                            budgets: Sequence[float] = BUDGETS) -> str:
    """rate_distortion_figure in words: each method's line from its smallest to its largest setting, the
    lossless references, and the sharpest method within each budget (compression.winners)."""
    lines = []
    for method, points in curves.items():
        small, large = (min(points, key=lambda p: p.bytes_per_digit), max(points, key=lambda p: p.bytes_per_digit))
        lines.append(f"{method} from {number_text(small.bytes_per_digit)} bytes at {small.psnr:.1f} dB to "
                     f"{number_text(large.bytes_per_digit)} bytes at {large.psnr:.1f} dB")
    best = [f"within {b:g} bytes {p.method} ({p.psnr:.1f} dB)" if p else f"nothing within {b:g} bytes"
            for b, p in winners(dict(curves), budgets)]
    words = ("Line chart of mean PSNR in dB (higher is sharper) against bytes per digit on a log scale, one line per "
             f"method: {'; '.join(lines)}.")
    if lossless:
        words += " Dashed lines: lossless " + ", ".join(f"{n} {size:.0f} bytes" for n, size in lossless.items()) + "."
    return words + " Sharpest: " + "; ".join(best) + "."
