"""How far apart colours look, to people with normal vision and with each kind of colour blindness.

numpy only. Colours are "#rrggbb" sRGB strings; arrays of colours are (N, 3), channels last.
    lab(colors, deficiency)        CIE L*a*b* (D65) of the colours as someone with that deficiency sees them
    ciede2000(lab1, lab2)          the CIEDE2000 colour difference ΔE00 (about 1 = just noticeable)
    smallest_difference(colors)    the closest pair of a palette: (ΔE00, i, j)
    contrast_with_white(colors)    WCAG 2 contrast ratio of each colour against a white page
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

DEFICIENCIES = ("protan", "deutan", "tritan")
VISIONS = (None, *DEFICIENCIES)  # None: normal vision

# Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for Simulation of Color Vision
# Deficiency", IEEE TVCG 15(6): the severity-1.0 matrices (protanopia, deuteranopia, tritanopia) of the
# paper's supplementary table, applied to linear RGB. Each row sums to 1, so greys stay grey.
MACHADO_2009 = {
    "protan": np.array([[0.152286, 1.052583, -0.204868],
                        [0.114503, 0.786281, 0.099216],
                        [-0.003882, -0.048116, 1.051998]]),
    "deutan": np.array([[0.367322, 0.860646, -0.227968],
                        [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]]),
    "tritan": np.array([[1.255528, -0.076749, -0.178779],
                        [-0.078411, 0.930809, 0.147602],
                        [0.004733, 0.691367, 0.303900]]),
}

# Linear sRGB -> CIE XYZ and the D65 white point (IEC 61966-2-1, to 7 digits as Lindbloom gives them).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def hex_to_srgb(colors: Sequence[str]) -> np.ndarray:
    """"#rrggbb" strings (N,) -> sRGB (N, 3) in [0, 1]."""
    bad = [c for c in colors if not isinstance(c, str) or not _HEX.fullmatch(c)]
    if bad:
        raise ValueError(f"colours must be '#rrggbb' hex strings, got {bad}")
    return np.array([[int(c[k:k + 2], 16) for k in (1, 3, 5)] for c in colors], dtype=float).reshape(-1, 3) / 255


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> linear RGB (..., 3): undo the display's gamma curve."""
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def simulate(linear: np.ndarray, deficiency: str | None) -> np.ndarray:
    """Linear RGB (..., 3) as seen with `deficiency` ("protan", "deutan", "tritan"; None: unchanged).

    Not clipped: a colour a dichromat perceives may lie outside the display's gamut, and its Lab
    coordinates (hence ΔE) are still defined."""
    if deficiency is None:
        return np.asarray(linear, dtype=float)
    if deficiency not in MACHADO_2009:
        raise ValueError(f"deficiency must be one of {DEFICIENCIES} or None, got {deficiency!r}")
    return np.asarray(linear, dtype=float) @ MACHADO_2009[deficiency].T


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear RGB (..., 3) -> CIE L*a*b* (..., 3) under D65, L* in [0, 100]."""
    t = (np.asarray(linear, dtype=float) @ _RGB_TO_XYZ.T) / _D65
    delta = 6 / 29
    f = np.where(t > delta ** 3, np.cbrt(t), t / (3 * delta ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab(colors: Sequence[str], deficiency: str | None = None) -> np.ndarray:
    """Hex colours (N,) -> L*a*b* (N, 3) of what a viewer with `deficiency` sees."""
    return linear_to_lab(simulate(srgb_to_linear(hex_to_srgb(colors)), deficiency))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 difference ΔE00 of L*a*b* colours (..., 3) and (..., 3) (broadcast), with kL = kC = kH = 1.

    Follows Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
    supplementary test data, and mathematical observations", Color Res. Appl. 30(1), eqs. 1-17."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=float), -1, 0)
    c_mean7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_mean7 / (c_mean7 + 25.0 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    achromatic = c1 * c2 == 0  # a grey has no hue: its hue difference is 0 and the mean hue is the sum
    dh = h2 - h1
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(achromatic, 0.0, dh)
    d_hue = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh) / 2)
    h_sum = h1 + h2
    h_mean = np.where(np.abs(h1 - h2) > 180, np.where(h_sum < 360, h_sum + 360, h_sum - 360), h_sum) / 2
    h_mean = np.where(achromatic, h_sum, h_mean)
    l_mean, c_mean = (L1 + L2) / 2, (c1 + c2) / 2
    rad = np.radians
    t = (1 - 0.17 * np.cos(rad(h_mean - 30)) + 0.24 * np.cos(rad(2 * h_mean))
         + 0.32 * np.cos(rad(3 * h_mean + 6)) - 0.20 * np.cos(rad(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    r_t = (-np.sin(rad(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
           * 2 * np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25.0 ** 7)))
    dl, dc, dhh = (L2 - L1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return np.sqrt(dl ** 2 + dc ** 2 + dhh ** 2 + r_t * dc * dhh)


def pairwise_differences(colors: Sequence[str], deficiency: str | None = None) -> np.ndarray:
    """ΔE00 (N, N) between every two colours as seen with `deficiency`; the diagonal is 0."""
    points = lab(colors, deficiency)
    return ciede2000(points[:, None, :], points[None, :, :])


def smallest_difference(colors: Sequence[str], deficiency: str | None = None) -> tuple[float, int, int]:
    """The closest pair of a palette of N >= 2 colours: (ΔE00, i, j) with i < j."""
    if len(colors) < 2:
        raise ValueError(f"a palette needs at least 2 colours to compare, got {len(colors)}")
    d = pairwise_differences(colors, deficiency)
    i, j = np.triu_indices(len(colors), k=1)
    k = int(np.argmin(d[i, j]))
    return float(d[i[k], j[k]]), int(i[k]), int(j[k])


def relative_luminance(colors: Sequence[str]) -> np.ndarray:
    """WCAG 2 relative luminance (N,) in [0, 1] of hex colours."""
    return srgb_to_linear(hex_to_srgb(colors)) @ np.array([0.2126, 0.7152, 0.0722])


def contrast_with_white(colors: Sequence[str]) -> np.ndarray:
    """WCAG 2 contrast ratio (N,) of each colour against white, from 1 (white) to 21 (black)."""
    return 1.05 / (relative_luminance(colors) + 0.05)
