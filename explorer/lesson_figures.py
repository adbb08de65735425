"""The lessons' own maps: one to predict on (no classes shown) and one that reveals the answer."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer import figures

BLANK_COLOUR = "#8a8f98"


def blank_map(xy: np.ndarray, ids: np.ndarray, axis_titles, height: int = 520) -> go.Figure:
    """Every digit as a grey dot with no class (not even on hover): the student clicks where a digit
    will land. One Scattergl trace, customdata [id] rows, so a click comes back as the row's index."""
    xy = np.asarray(xy, dtype=float)
    trace = go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", name="digits",
                         customdata=np.asarray(ids).reshape(-1, 1),
                         marker=dict(size=5, color=BLANK_COLOUR, opacity=0.6),
                         hovertemplate="click here<extra></extra>")
    layout = go.Layout(height=height, margin=dict(l=10, r=10, t=10, b=10), font=dict(size=figures.FONT_SIZE),
                       showlegend=False, clickmode="event+select", dragmode="pan", hovermode="closest",
                       xaxis=dict(title=axis_titles[0], showticklabels=False),
                       yaxis=dict(title=axis_titles[1], showticklabels=False))
    return go.Figure(data=[trace], layout=layout)


def landing_map(xy: np.ndarray, labels: np.ndarray, class_names, clicked: int, centre: np.ndarray,
                digit_name: str, axis_titles) -> go.Figure:
    """The same map coloured by class, with the clicked digit ringed and the chosen class's centre starred."""
    star = figures.overlay(np.asarray(centre)[None], f"where the {digit_name}s are",
                           marker=dict(symbol="star", size=26, color="#111", line=dict(color="#fff", width=2)))
    ids = np.arange(len(xy))
    traces = [figures.digit_points(xy, labels, ids, class_names),
              figures.highlight_points(xy, labels, ids, class_names, [clicked]), star]
    return figures.map_figure(traces, figures.map_layout(axis_titles, height=520, dragmode="pan"))


def blank_map_summary(xy: np.ndarray, axis_titles, *, name: str) -> str:
    """blank_map in words, for a screen reader."""
    return (f"Map of all {len(xy):,} digits placed by {name}'s codes ({axis_titles[0]} against {axis_titles[1]}), "
            "every digit a grey dot with its class hidden: click the dot where you think your digit's examples sit.")


def landing_summary(labels: np.ndarray, class_names, clicked: int, digit: int, result: dict, axis_titles) -> str:
    """landing_map in words, with the numbers of the lesson's verdict (`result`: lessons.landing_result)."""
    name = class_names.__getitem__
    return (f"The same map ({axis_titles[0]} against {axis_titles[1]}), one colour per class: your dot, digit "
            f"#{clicked} (class {name(int(labels[clicked]))}), is ringed, and a star marks where the {name(digit)}s "
            f"sit (their median position). {result['share']:.0%} of the {result['k']} digits nearest your dot are "
            f"{name(digit)}s; most there are {name(result['majority'])}s. The {name(digit)}s' closest neighbours on "
            f"this map are the {name(result['neighbour'])}s.")
