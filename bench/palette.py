"""Class colours every student can tell apart: the search that chose `figures.CLASS_COLORS`, and its table.

    python bench/palette.py                     # ~3 s; writes bench/results_palette.md
    python bench/palette.py --min-contrast 3    # the same search under WCAG's 3:1 for graphical objects

Candidates: every colour of a 16-level sRGB grid (each channel a multiple of 0x11: 4,096 colours) with a
contrast of at least --min-contrast against white (a dot must stand out from the page on a washed-out
projector) and a lightness L* of at least --min-lightness (a projector in a lit room shows dark colours
alike, and near-black dots would hide the ink of the map's paths and rings).

Search: a palette's score is its smallest CIEDE2000 difference over every pair of its colours, under
normal vision and simulated protanopia, deuteranopia and tritanopia (`explorer.palette`), and between
each colour and white or the ink. From each of --starts seeded random first colours, a greedy pass adds
the candidate farthest from those already chosen; then each colour in turn is replaced by the best
candidate while the others stay, until none improves. Many palettes share the best smallest difference,
so "best" compares the sorted differences (smallest first, then the next, ...). The result is ordered
like Tableau 10 (the nearest of its colours, one each) so that CLASS_COLORS[0] is still the blue of
single-series charts and CLASS_COLORS[3] the red.

Also measured, not searched for: the map's dots (drawn at opacity 0.8 over white) and a projector in a lit
room, modelled as 10% of white added to every colour (an assumed 11:1 contrast).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer import palette  # noqa: E402
from explorer.figures import CLASS_COLORS, INK_COLOR, POINT_OPACITY  # noqa: E402

RESULTS = Path(__file__).resolve().with_name("results_palette.md")
TABLEAU_10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
OKABE_ITO = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#000000")
VISION_NAMES = {None: "normal", "protan": "protanopia", "deutan": "deuteranopia", "tritan": "tritanopia"}
PROJECTOR_FLARE = 0.10


def candidate_grid(min_contrast: float, min_lightness: float) -> list[str]:
    """The 16-level sRGB grid's colours that pass both limits, as hex strings."""
    levels = range(0, 256, 0x11)
    grid = [f"#{r:02x}{g:02x}{b:02x}" for r in levels for g in levels for b in levels]
    keep = (palette.contrast_with_white(grid) >= min_contrast) & (palette.lab(grid)[:, 0] >= min_lightness)
    return [c for c, k in zip(grid, keep) if k]


def _seen(colors) -> np.ndarray:
    """L*a*b* (V, N, 3) of the colours under each of the V = 4 visions."""
    return np.stack([palette.lab(colors, v) for v in palette.VISIONS])


def max_min_palette(candidates: list[str], k: int = 10, reserved=("#ffffff", INK_COLOR), starts: int = 30,
                    seed: int = 0, compared: int = 12) -> list[str]:
    """k candidates whose smallest difference (under every vision, to each other and to `reserved`) is
    largest; ties broken by the next-smallest, up to the `compared` smallest."""
    seen = _seen(candidates)  # (V, N, 3)
    n = len(candidates)
    # Each candidate's smallest difference, over visions, from the reserved colours: (N,)
    floor = palette.ciede2000(seen[:, :, None], _seen(reserved)[:, None]).min(axis=(0, 2))
    rows: dict[int, np.ndarray] = {}

    def apart(i: int) -> np.ndarray:  # (N,) every candidate's smallest difference from candidate i
        if i not in rows:
            rows[i] = palette.ciede2000(seen, seen[:, i][:, None]).min(axis=0)
        return rows[i]

    def sorted_gaps(chosen: list[int]) -> np.ndarray:
        pairs = [apart(a)[b] for x, a in enumerate(chosen) for b in chosen[x + 1:]]
        return np.sort(np.concatenate([pairs, floor[chosen]]))[:compared]

    def better(a: np.ndarray, b: np.ndarray) -> bool:  # lexicographic, ignoring float noise
        return tuple(np.round(a, 6)) > tuple(np.round(b, 6))

    rng = np.random.default_rng(seed)
    best, best_gaps = None, None
    for _ in range(starts):
        chosen = [int(rng.integers(n))]
        while len(chosen) < k:
            gap = np.min([apart(c) for c in chosen] + [floor], axis=0)
            gap[chosen] = -1
            chosen.append(int(np.argmax(gap)))
        improved = True
        while improved:
            improved = False
            for slot in range(k):
                others = chosen[:slot] + chosen[slot + 1:]
                fixed = [apart(a)[b] for x, a in enumerate(others) for b in others[x + 1:]] + list(floor[others])
                # (N, compared): the sorted smallest gaps of the palette with candidate c in this slot
                gaps = np.sort(np.hstack([np.column_stack([apart(c) for c in others] + [floor]),
                                          np.broadcast_to(fixed, (n, len(fixed)))]), axis=1)[:, :compared]
                gaps[others] = -1
                pick = int(np.lexsort(np.round(gaps, 6).T[::-1])[-1])
                if better(gaps[pick], gaps[chosen[slot]]):
                    chosen[slot], improved = pick, True
        gaps = sorted_gaps(chosen)
        if best is None or better(gaps, best_gaps):
            best, best_gaps = chosen, gaps
    return [candidates[i] for i in best]


def order_like(colors: list[str], reference=TABLEAU_10) -> list[str]:
    """`colors` reordered so that colour i is the one nearest (ΔE00, one each) to reference[i]."""
    cost = palette.ciede2000(palette.lab(reference)[:, None], palette.lab(colors)[None])
    _, columns = linear_sum_assignment(cost)
    return [colors[j] for j in columns]


def _hex(srgb: np.ndarray) -> list[str]:
    return ["#" + "".join(f"{round(float(v) * 255):02x}" for v in np.clip(rgb, 0, 1)) for rgb in srgb]


def dots_over_white(colors, opacity: float = POINT_OPACITY) -> list[str]:
    """What a dot at `opacity` shows over white: browsers blend in sRGB, not in linear light."""
    return _hex(opacity * palette.hex_to_srgb(colors) + (1 - opacity))


def on_projector(colors, flare: float = PROJECTOR_FLARE) -> list[str]:
    """The colours with `flare` of white added (ambient light on the screen), rescaled so white stays white."""
    linear = (palette.srgb_to_linear(palette.hex_to_srgb(colors)) + flare) / (1 + flare)
    return _hex(np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055))


def closest_pairs(colors) -> dict:
    """{vision: (ΔE00, i, j)} for every vision."""
    return {v: palette.smallest_difference(list(colors), v) for v in palette.VISIONS}


def report(palettes: dict[str, tuple], min_contrast: float, min_lightness: float, searched: list[str]) -> str:
    names = list(palettes)

    def cell(pair) -> str:
        value, i, j = pair
        return f"{value:.1f} ({i}–{j})"

    lines = ["# Class colours every student can tell apart (`bench/palette.py`)", "",
             "Smallest CIEDE2000 difference ΔE00 between any two of a palette's colours (and which two classes), "
             "as seen with normal vision and with the three dichromacies simulated by Machado, Oliveira & "
             "Fernandes (2009) at severity 1.0. About 1 is just noticeable; below ~5 two dots of a map are easy "
             "to confuse.", "",
             "| vision | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    found = {name: closest_pairs(colors) for name, colors in palettes.items()}
    for v in palette.VISIONS:
        lines.append(f"| {VISION_NAMES[v]} | " + " | ".join(cell(found[n][v]) for n in names) + " |")
    lines.append("| **worst of the four** | " + " | ".join(
        f"**{min(p[0] for p in found[n].values()):.1f}**" for n in names) + " |")
    for label, view in ((f"map dots (opacity {POINT_OPACITY} over white), worst", dots_over_white),
                        (f"projector with {PROJECTOR_FLARE:.0%} ambient light (assumed), worst", on_projector)):
        lines.append(f"| {label} | " + " | ".join(
            f"{min(p[0] for p in closest_pairs(view(palettes[n])).values()):.1f}" for n in names) + " |")
    lines.append("| lowest contrast with white | " + " | ".join(
        f"{palette.contrast_with_white(list(palettes[n])).min():.2f}:1" for n in names) + " |")
    shipped = list(palettes["shipped CLASS_COLORS"])
    lines += ["", f"Search: {len(candidate_grid(min_contrast, min_lightness))} candidates (contrast with white "
              f"≥ {min_contrast}:1, L* ≥ {min_lightness}); result `{' '.join(searched)}`, which "
              + ("is" if searched == shipped else "is **not**") + " the shipped `CLASS_COLORS`.", "",
              "| class | shipped colour | contrast with white | L* | Tableau 10 colour it replaces |",
              "|---|---|---|---|---|"]
    contrast, lightness = palette.contrast_with_white(shipped), palette.lab(shipped)[:, 0]
    for i, c in enumerate(shipped):
        lines.append(f"| {i} | `{c}` | {contrast[i]:.2f}:1 | {lightness[i]:.0f} | `{TABLEAU_10[i]}` |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-contrast", type=float, default=2.0)
    parser.add_argument("--min-lightness", type=float, default=25.0)
    parser.add_argument("--starts", type=int, default=30)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    searched = order_like(max_min_palette(candidate_grid(args.min_contrast, args.min_lightness),
                                          starts=args.starts))
    palettes = {"Tableau 10 (old)": TABLEAU_10, "Okabe–Ito (8 only)": OKABE_ITO,
                "shipped CLASS_COLORS": tuple(CLASS_COLORS)}
    if searched != list(CLASS_COLORS):
        palettes["this search"] = tuple(searched)
    text = report(palettes, args.min_contrast, args.min_lightness, searched)
    print(text)
    print("CLASS_COLORS = (" + ", ".join(f'"{c}"' for c in searched) + ")")
    Path(args.out).write_text(text)
    return text


if __name__ == "__main__":
    main()
