"""The one list of pages: title, icon, URL path, navigation section and link parameters of each.
app.py builds the navigation from it; the tests and bench/load.py read paths and parameters here.
A new page is its module in ui/ (with a `render()` function), one entry here, and its test."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    module: str  # ui.<module>.render() draws the page
    title: str
    icon: str
    url_path: str  # "" for the start page
    section: str  # the navigation heading it stands under
    params: tuple[str, ...] = ()  # the link parameters it reads and writes (?model=...&ids=...)

    def render(self) -> None:
        importlib.import_module(f"ui.{self.module}").render()


PAGES: tuple[PageInfo, ...] = (
    PageInfo("map_page", "Latent map", ":material/scatter_plot:", "", "Explore",
             ("model", "split", "proj", "thumbs", "ids", "steps", "interp")),
    PageInfo("lessons_page", "Lessons", ":material/school:", "lessons", "Learn", ("lesson", "answer", "reveal")),
    PageInfo("compare_page", "AE vs VAE", ":material/compare:", "compare", "Explore",
             ("left", "right", "proj", "ids", "steps", "interp", "seed", "prior")),
    PageInfo("generate_page", "Generate", ":material/casino:", "generate", "Explore", ("model", "seed", "temp", "digit")),
    PageInfo("style_page", "Style", ":material/brush:", "style", "Explore", ("model", "source", "digit", "seed")),
    PageInfo("diffusion_page", "Diffusion", ":material/blur_on:", "diffusion", "Explore", ("ae", "vae", "seed", "steps")),
    PageInfo("denoise_page", "Denoise", ":material/blur_off:", "denoise", "Use", ("noise", "level", "seed", "models")),
    PageInfo("anomaly_page", "Anomalies", ":material/report:", "anomaly", "Use", ("model", "odd", "thr")),
    PageInfo("draw_page", "Draw a digit", ":material/draw:", "draw", "Use", ("models", "proj")),
    PageInfo("train_page", "Train", ":material/model_training:", "train", "Learn", ("job",)),
    PageInfo("models_page", "Models", ":material/inventory_2:", "models", "Learn"),
    PageInfo("network_page", "Network", ":material/account_tree:", "network", "Inside the model",
             ("model", "digit", "source")),
    PageInfo("reparam_page", "Reparameterization", ":material/shuffle:", "reparam", "Inside the model",
             ("model", "digit", "source", "seed", "samples", "decode")),
    PageInfo("compression_page", "Compression lab", ":material/compress:", "compression", "Inside the model",
             ("dataset", "models", "point")),
)


def page(module: str) -> PageInfo:
    return next(p for p in PAGES if p.module == module)


SECTIONS_FIRST = ("Learn",)  # shown above the start page's section: the lessons lead


def sections() -> dict[str, list[PageInfo]]:
    """Pages grouped under their navigation headings, in order (SECTIONS_FIRST on top)."""
    grouped: dict[str, list[PageInfo]] = {name: [] for name in SECTIONS_FIRST}
    for info in PAGES:
        grouped.setdefault(info.section, []).append(info)
    return grouped
