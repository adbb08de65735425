"""Charts in words: what each figure of explorer/figures.py shows, for a screen reader (st.plotly_chart's
`alt`, the latent map's label).

Each summary is built from the same arrays as its figure and says what is plotted and the numbers a sighted
student reads off it. Plain text: no Markdown, no Plotly pseudo-HTML, no symbols a screen reader skips.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .figures import TERM_LABELS, history_terms

LISTED = 6  # items a summary names one by one before it says "and N more"
SPOKEN_TERMS = {**TERM_LABELS, "ce": "cross-entropy"}  # a loss term's name, said in full


def number_text(value: float) -> str:
    """A number as a screen reader reads it well: three significant digits, never an exponent
    ("0.0000123", not "1.23e-05"), thousands separated from 1,000 on."""
    value = float(value)
    if not math.isfinite(value):
        return "none"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    value = float(f"{value:.3g}")  # 999.6 is "1,000"
    if abs(value) >= 1000 or value == 0:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _count(n: int, thing: str) -> str:
    """"1 column", "8 columns"."""
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def _listed(items: Sequence[str], limit: int = LISTED) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _plain(value) -> dict:
    """A Plotly trace or layout object as the dict it was built from (dicts pass through)."""
    return value.to_plotly_json() if hasattr(value, "to_plotly_json") else dict(value or {})


def _title_text(title) -> str:
    if isinstance(title, Mapping):
        title = title.get("text")
    return str(title).strip() if title else ""


def _trace_points(trace: Mapping) -> np.ndarray:
    """(K, dims) x, y (and z) of a trace as floats, gaps (None) as NaN."""
    axes = [np.asarray(trace[a], dtype=float).ravel() for a in "xyz" if trace.get(a) is not None]
    return np.column_stack(axes) if axes else np.zeros((0, 2))


def _map_axis_titles(layout: Mapping, dims: int) -> list[str]:
    holder = (layout.get("scene") or {}) if dims == 3 else layout
    return [_title_text((holder.get(axis) or {}).get("title")) or axis[0]
            for axis in ("xaxis", "yaxis", "zaxis")[:dims]]


def _axes_words(titles: Sequence[str]) -> str:
    if len(titles) == 2:
        return " against ".join(titles)
    return f"{', '.join(titles[:-1])} and {titles[-1]} (a 3-D view)"


class _PointClasses:
    """The class of each point of a digit_points or highlight_points trace: labels from customdata [id, label],
    names from the colour bar (class colouring) or the hover text."""

    def __init__(self, trace: Mapping):
        custom = np.asarray(trace.get("customdata") if trace.get("customdata") is not None else [])
        self.ids = custom[:, 0].astype(int) if custom.ndim == 2 and custom.shape[1] >= 2 else None
        self.labels = custom[:, 1].astype(int) if self.ids is not None else None
        bar = (trace.get("marker") or {}).get("colorbar") or {}
        self.names: dict[int, str] = {}
        if bar.get("ticktext") is not None and bar.get("tickvals") is not None:
            self.names = {int(v): str(t) for v, t in zip(bar["tickvals"], bar["ticktext"])}
        elif self.labels is not None and trace.get("text") is not None and len(trace["text"]) == len(self.labels):
            _, first = np.unique(self.labels, return_index=True)
            self.names = {int(self.labels[i]): str(trace["text"][i]) for i in first}

    def name(self, label: int) -> str:
        return self.names.get(int(label), str(label))


def _class_list(names: Sequence[str]) -> str:
    """"10 classes, 0 to 9" for digits, else the names: "3 classes: T-shirt/top, Trouser, Pullover"."""
    if list(names) == [str(i) for i in range(len(names))] and len(names) > 2:
        return f"{len(names)} classes, 0 to {len(names) - 1}"
    return f"{len(names)} classes: {_listed(list(names), 12)}"


def _colouring(trace: Mapping) -> str:
    marker = trace.get("marker") or {}
    bar = marker.get("colorbar") or {}
    colours = marker.get("color")
    if bar.get("ticktext") is not None:
        return f"one colour per class ({_class_list([str(t) for t in bar['ticktext']])})"
    if colours is not None and np.ndim(colours) == 1 and np.asarray(colours).dtype.kind in "uif":
        values = np.asarray(colours, dtype=float)
        return (f"coloured by {_title_text(bar.get('title')) or 'value'}, from {number_text(np.nanmin(values))} "
                f"to {number_text(np.nanmax(values))}")
    return "all in one colour"


NEAREST = 10  # digits around a new point that say where it landed


def _overlay_words(trace: Mapping, base_xy: np.ndarray, classes: _PointClasses) -> str:
    name = str(trace.get("name") or "overlay")
    xy = _trace_points(trace)
    finite = np.all(np.isfinite(xy), axis=1)
    mode = str(trace.get("mode") or "markers")
    if "lines" in mode:
        pieces = int(np.sum(finite & ~np.concatenate([[False], finite[:-1]])))  # runs of points between gaps
        if pieces > 1:
            return f"{name}: {pieces} line segments"
        labels = [str(t) for t in ([] if trace.get("text") is None else trace["text"]) if t]  # path_line's ends
        ends = f" from {labels[0]} to {labels[-1]}" if len(labels) >= 2 else ""
        return f"{name}: a line through {int(finite.sum())} points{ends}"
    own = _PointClasses(trace)
    if own.ids is not None:  # highlighted digits: say which
        items = [f"#{i} (class {classes.name(c)})" for i, c in zip(own.ids, own.labels)]
        return f"{name} ({len(items)}): {_listed(items)}"
    points = xy[finite]
    words = f"{name}: {_count(len(points), 'point')}"
    if 0 < len(points) <= 3 and classes.labels is not None and points.shape[1] == base_xy.shape[1] \
            and len(base_xy) >= NEAREST:
        places = []
        for point in points:
            near = np.argpartition(((base_xy - point) ** 2).sum(axis=1), NEAREST - 1)[:NEAREST]
            counts = np.bincount(classes.labels[near])
            top = int(counts.argmax())
            places.append(f"{counts[top]} of its {NEAREST} nearest digits are class {classes.name(top)}")
        words += " where " + "; ".join(places)
    return words


def map_summary(traces: Sequence, layout, *, subject: str = "Latent map") -> str:
    """A latent map in words: how many points, the projection's axis titles, how they are coloured, and each
    overlay (the digits it rings, by id and class; where a new point lands among the digits; lines and paths).

    traces: digit_points first, then overlays (None skipped), as dicts or Plotly traces; layout: map_layout's
    dict (or a Plotly layout), whose title, if any, is said after `subject`, with thumbnails' images if any."""
    shown = [_plain(t) for t in traces if t is not None]
    base, overlays = shown[0], shown[1:]
    layout = _plain(layout)
    xy = _trace_points(base)
    classes = _PointClasses(base)
    title = _title_text(layout.get("title"))
    words = (f"{subject}{f', {title}' if title else ''}: {len(xy):,} {base.get('name') or 'points'} plotted by "
             f"{_axes_words(_map_axis_titles(layout, xy.shape[1]))}, {_colouring(base)}.")
    if overlays:
        words += " Drawn over them: " + "; ".join(_overlay_words(t, xy, classes) for t in overlays) + "."
    if pictures := layout.get("images"):  # thumbnails (figures.thumbnails)
        words += f" {len(pictures)} of them are drawn as small pictures where they lie."
    return words


def kl_summary(kl_per_dim: np.ndarray, threshold: float = 0.01, *, name: str | None = None) -> str:
    """kl_bars in words: how many units are active (KL > threshold), and the active units' KL, largest first."""
    kl = np.asarray(kl_per_dim, dtype=float).ravel()
    order = np.argsort(-kl, kind="stable")
    active = [i for i in order if kl[i] > threshold]
    words = (f"Bar chart of the mean KL per latent unit{f' of {name}' if name else ''}, sorted from largest to "
             f"smallest: {len(active)} of {len(kl)} units above {threshold:g} nats (active), "
             f"{number_text(kl.sum())} nats in all")
    if active:
        words += "; the active ones, in nats: " + _listed([f"z{i} {number_text(kl[i])}" for i in active])
    return words + "."


def code_bars_summary(values: np.ndarray, *, subject: str) -> str:
    """code_bars in words: one bar per latent unit, the smallest and largest values and the median."""
    values = np.asarray(values, dtype=float).ravel()
    low, high = int(np.argmin(values)), int(np.argmax(values))
    negative = int((values < 0).sum())
    return (f"{subject}: {len(values)} bars, one per latent unit, from {number_text(values[low])} (unit {low}) to "
            f"{number_text(values[high])} (unit {high}), median {number_text(np.median(values))}"
            + (f"; {negative} of them negative." if negative else "."))


def plane_heat_map_summary(xs: np.ndarray, ys: np.ndarray, confidence: np.ndarray, drift: np.ndarray, *,
                           confident: float, name: str | None = None, drift_steps: float = 1.0) -> str:
    """plane_heat_map in words: the grid, the share of it the judge reads as a digit with at least `confident`
    probability (the rest are holes), and how many cells come back elsewhere when encoded again."""
    confidence, drift = np.asarray(confidence, dtype=float), np.asarray(drift, dtype=float)
    sure = float((confidence >= confident).mean())
    away = int((drift > drift_steps).sum())
    whose = f"{name}'s" if name else "a"
    return (f"Heat map of {whose} 2-D code plane, z0 from {number_text(xs[0])} to {number_text(xs[-1])} and z1 from "
            f"{number_text(ys[0])} to {number_text(ys[-1])}, on a {len(xs)} by {len(ys)} grid, "
            "coloured by how sure the digit judge is of the digit decoded at each point: "
            f"{sure:.0%} of the plane is read as a digit with at least {confident:.0%} confidence, {1 - sure:.0%} "
            f"is not. Crosses mark the {away} of {confidence.size} points whose decode, encoded again, lands more "
            f"than {drift_steps:g} grid step{'s' if drift_steps != 1 else ''} away.")


def score_histogram_summary(normal: np.ndarray, anomalous: np.ndarray, threshold: float,
                            names: tuple[str, str] = ("test digits", "odd inputs"), *, subject: str) -> str:
    """log_score_histogram in words: each group's size and median score, and what the threshold flags (a score
    above it), with the precision and recall that makes (anomaly.precision_recall_at)."""
    normal, anomalous = np.asarray(normal, dtype=float).ravel(), np.asarray(anomalous, dtype=float).ravel()
    caught, false_alarms = int((anomalous > threshold).sum()), int((normal > threshold).sum())
    precision = caught / (caught + false_alarms) if caught + false_alarms else 1.0

    def group(scores, name):
        return f"{len(scores):,} {name} (median {number_text(np.median(scores))})"

    return (f"{subject}: histograms on a log scale of {group(normal, names[0])} and {group(anomalous, names[1])}. "
            f"The dashed threshold at {number_text(threshold)} flags {caught:,} of the {len(anomalous):,} {names[1]} "
            f"and {false_alarms:,} of the {len(normal):,} {names[0]}: recall {caught / max(len(anomalous), 1):.0%}, "
            f"precision {precision:.0%}.")


def roc_summary(fpr: np.ndarray, tpr: np.ndarray, auc: float, *, subject: str, at_fpr: float = 0.05) -> str:
    """roc_figure in words: the area under the curve, and the share of odd inputs caught at a false
    positive rate of `at_fpr`."""
    fpr, tpr = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    caught = float(tpr[fpr <= at_fpr].max()) if (fpr <= at_fpr).any() else 0.0
    return (f"{subject}: true positive rate against false positive rate, area under the curve {auc:.3f} "
            f"(0.5 is chance, the dashed diagonal). At a false positive rate of {at_fpr:.0%} it catches "
            f"{caught:.0%} of the odd inputs.")


def error_mosaic_summary(maps: np.ndarray, names: Sequence[str], *, subject: str) -> str:
    """error_mosaic in words: one column per input (input, reconstruction, squared error per pixel), and each
    input's mean error per pixel. `names` (K,) say which input each column is, in plain words."""
    maps = np.asarray(maps, dtype=float)
    errors = maps.reshape(len(maps), -1).mean(axis=1)
    return (f"{subject}: {_count(len(maps), 'column')}, each an input above its reconstruction and its squared error per "
            "pixel, bright where the reconstruction misses. Mean error per pixel: "
            + _listed([f"{n} {number_text(e)}" for n, e in zip(names, errors)], limit=12)
            + f". The largest error of one pixel is {number_text(maps.max())}.")


def psnr_summary(psnr_by_model: Mapping[str, float], noisy_psnr: float, *, digits: int | None = None) -> str:
    """psnr_bars in words: each model's PSNR, the noisy input's, and the best model's gain over it."""
    values = {m: float(v) for m, v in psnr_by_model.items()}
    over = f" over the {digits:,} test digits" if digits else ""
    words = (f"Bar chart of mean PSNR in dB{over}, higher is better: "
             + ", ".join(f"{m} {v:.1f}" for m, v in values.items())
             + f"; a dashed line marks the noisy input at {noisy_psnr:.1f} dB.")
    if values:
        best = max(values, key=values.get)
        gain = values[best] - noisy_psnr
        words += f" Best: {best}, {abs(gain):.1f} dB {'above' if gain >= 0 else 'below'} the noisy input."
    return words


def loss_summary(history: Sequence[Mapping]) -> str:
    """loss_curves in words: for each curve (split and term), its first and last value and their epochs."""
    curves = []
    for split in ("train", "test"):
        for term in history_terms(history):
            points = [(row["epoch"], row[split][term]) for row in history
                      if row.get(split) and row[split].get(term) is not None]
            if points:
                (e0, v0), (e1, v1) = points[0], points[-1]
                curve = f"{split} {SPOKEN_TERMS.get(term, term)}"
                curves.append(f"{curve} from {number_text(v0)} at epoch {e0} to {number_text(v1)} at epoch {e1}"
                              if len(points) > 1 else f"{curve} {number_text(v1)} at epoch {e1}")
    epochs = len({row["epoch"] for row in history})
    return (f"Line chart of the loss per epoch over {_count(epochs, 'epoch')} (solid: train, "
            "dashed: test" + ("; KL in nats in a lower panel" if "kl" in history_terms(history) else "") + "): "
            + "; ".join(curves) + ".")


def accuracy_summary(accuracies: Sequence[float]) -> str:
    """A test-accuracy curve (one value per epoch, epoch 0 the untrained model) in words."""
    values = [float(a) for a in accuracies]
    best = int(np.argmax(values))
    return (f"Line chart of the test accuracy after each epoch: {values[0]:.1%} untrained (epoch 0), "
            f"{values[-1]:.1%} after epoch {len(values) - 1}; the best {values[best]:.1%} after epoch {best}.")


def replay_summary(frames: Sequence[np.ndarray], labels: np.ndarray, class_names: Sequence[str], *,
                   animate: bool) -> str:
    """latent_replay in words: the digits, the epoch shown, the classes, and whether it replays."""
    labels = np.asarray(labels).astype(int)
    shown = [str(class_names[c]) for c in range(len(class_names)) if (labels == c).any()]
    epoch = len(frames) - 1
    words = (f"Latent map of {len(labels):,} test digits after epoch {epoch}, plotted by the two main axes (PCA) of "
             f"their codes, one colour per class ({_class_list(shown)}).")
    if animate and len(frames) > 1:
        words += f" Play replays all {len(frames)} epochs from the untrained model (epoch 0)."
    return words


def tradeoff_summary(points: Sequence[Mapping]) -> str:
    """tradeoff_figure in words: each β's KL and reconstruction loss, in β order."""
    pts = sorted(points, key=lambda p: p["beta"])
    items = [f"β {p['beta']:g}" + (f" ({p['name']})" if p.get("name") else "")
             + f": KL {number_text(p['kl'])} nats, reconstruction loss {number_text(p['recon'])}" for p in pts]
    words = f"Reconstruction loss against KL, one point per β, joined in β order: {'; '.join(items)}."
    if len(pts) > 1:
        first, last = pts[0], pts[-1]
        words += (f" From β {first['beta']:g} to {last['beta']:g} the KL goes from {number_text(first['kl'])} to "
                  f"{number_text(last['kl'])} nats and the reconstruction loss from {number_text(first['recon'])} to "
                  f"{number_text(last['recon'])}.")
    return words


def class_histogram_summary(counts: Sequence[int], class_names: Sequence[str], *, subject: str) -> str:
    """class_histogram in words: how many images were read as each class, and the most common class."""
    counts = [int(c) for c in counts]
    top = int(np.argmax(counts))
    return (f"{subject}: bars of how many of the {sum(counts):,} images are read as each class: "
            + ", ".join(f"{name} {c}" for name, c in zip(class_names, counts))
            + f". Most often {class_names[top]} ({counts[top]}).")
