"""explorer.palette against published data, and the shipped class colours against the README's promise."""

import re
from pathlib import Path

import numpy as np
import pytest

from explorer import figures, palette

README = Path(__file__).resolve().parent.parent / "README.md"
TABLEAU_10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

# Sharma, Wu & Dalal (2005), Table 1: all 34 pairs (L1, a1, b1, L2, a2, b2, ΔE00). Pairs 7-16 sit where
# the hue angle wraps around or a colour is nearly grey, where implementations usually go wrong.
SHARMA_2005 = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def readme_promise() -> tuple[float, float]:
    """(smallest ΔE00, lowest contrast with white) that the README's colour paragraph promises."""
    text = README.read_text()
    section = text[text.index("### Colours every student can tell apart"):text.index("## Settings")]
    section = " ".join(section.split())  # the paragraph may be wrapped anywhere
    delta_e = re.search(r"ΔE00 ≥ (\d+(?:\.\d+)?) under normal vision and every simulated", section)
    contrast = re.search(r"contrast of at least (\d+(?:\.\d+)?):1 against white", section)
    assert delta_e and contrast, "the README's colour paragraph no longer states its two thresholds"
    return float(delta_e.group(1)), float(contrast.group(1))


# --- CIEDE2000 and CIE Lab ------------------------------------------------------------------

@pytest.mark.parametrize("pair", range(len(SHARMA_2005)), ids=lambda i: f"pair{i + 1}")
def test_ciede2000_matches_sharma_table_1_both_ways(pair):
    *lab, expected = SHARMA_2005[pair]
    first, second = np.array(lab[:3]), np.array(lab[3:])
    assert palette.ciede2000(first, second) == pytest.approx(expected, abs=5e-5)
    assert palette.ciede2000(second, first) == pytest.approx(expected, abs=5e-5)


def test_ciede2000_broadcasts_over_arrays_of_pairs():
    data = np.array(SHARMA_2005)
    np.testing.assert_allclose(palette.ciede2000(data[:, :3], data[:, 3:6]), data[:, 6], atol=5e-5)


@pytest.mark.parametrize("color, expected", [
    ("#ffffff", (100.0, 0.0, 0.0)),
    ("#000000", (0.0, 0.0, 0.0)),
    ("#ff0000", (53.2408, 80.0925, 67.2032)),  # Lindbloom's calculator, sRGB, D65
    ("#808080", (53.5850, 0.0, 0.0)),
])
def test_lab_of_known_colours(color, expected):
    np.testing.assert_allclose(palette.lab([color])[0], expected, atol=2e-3)


@pytest.mark.parametrize("bad", ["1f77b4", "#1f77b", "#1f77bz", "red", 0x1F77B4])
def test_hex_colours_are_checked(bad):
    with pytest.raises(ValueError, match="#rrggbb"):
        palette.hex_to_srgb(["#ffffff", bad])


# --- simulated colour blindness --------------------------------------------------------------

@pytest.mark.parametrize("deficiency", palette.DEFICIENCIES)
@pytest.mark.parametrize("grey", ["#000000", "#404040", "#808080", "#c7c7c7", "#ffffff"])
def test_simulation_leaves_greys_grey(deficiency, grey):
    np.testing.assert_allclose(palette.lab([grey], deficiency), palette.lab([grey]), atol=1e-3)


# The paper's severity-1.0 matrices, read from its table (a column is where a pure primary goes).
@pytest.mark.parametrize("deficiency, color, expected_linear", [
    ("protan", "#ff0000", (0.152286, 0.114503, -0.003882)),
    ("deutan", "#00ff00", (0.860646, 0.672501, 0.042940)),
    ("tritan", "#0000ff", (-0.178779, 0.147602, 0.303900)),
])
def test_simulation_maps_a_primary_as_machado_2009_says(deficiency, color, expected_linear):
    linear = palette.srgb_to_linear(palette.hex_to_srgb([color]))
    np.testing.assert_allclose(palette.simulate(linear, deficiency)[0], expected_linear, atol=1e-6)


def test_protanopia_and_deuteranopia_confuse_red_and_green_but_normal_vision_does_not():
    red_green = ["#d62728", "#2ca02c"]
    assert palette.smallest_difference(red_green)[0] > 60
    for deficiency in ("protan", "deutan"):
        assert palette.smallest_difference(red_green, deficiency)[0] < 25


def test_an_unknown_deficiency_is_refused():
    with pytest.raises(ValueError, match="protan"):
        palette.lab(["#ffffff"], "achromat")


# --- smallest_difference and contrast --------------------------------------------------------

def test_smallest_difference_finds_the_closest_pair():
    colors = ["#000000", "#ff0000", "#00ff00", "#fe0000", "#0000ff"]
    value, i, j = palette.smallest_difference(colors)
    assert (i, j) == (1, 3)
    assert 0 < value < 1
    assert palette.smallest_difference(["#123456", "#abcdef", "#123456"]) == (0.0, 0, 2)


def test_smallest_difference_needs_two_colours():
    with pytest.raises(ValueError, match="at least 2"):
        palette.smallest_difference(["#123456"])


def test_contrast_with_white_follows_wcag():
    np.testing.assert_allclose(palette.contrast_with_white(["#ffffff", "#000000", "#777777"]),
                               [1.0, 21.0, 4.48], atol=5e-3)


# --- the shipped class colours ---------------------------------------------------------------

def test_class_colours_are_ten_distinct_hex_colours():
    colors = figures.CLASS_COLORS
    assert len(colors) == 10
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors)
    assert len({c.lower() for c in colors}) == 10


@pytest.mark.parametrize("vision", palette.VISIONS, ids=lambda v: v or "normal")
def test_class_colours_keep_the_readme_promise_and_beat_tableau_10(vision):
    promised, _ = readme_promise()
    shipped = palette.smallest_difference(list(figures.CLASS_COLORS), vision)[0]
    assert shipped >= promised
    assert shipped > palette.smallest_difference(list(TABLEAU_10), vision)[0]


def test_class_colours_stand_out_from_a_white_page():
    _, promised = readme_promise()
    assert palette.contrast_with_white(list(figures.CLASS_COLORS)).min() >= promised
