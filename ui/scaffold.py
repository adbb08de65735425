"""What every model page needs before its own content: the "no checkpoints" state, model pickers
seeded from the link, and the map's status (a UMAP still being computed)."""

from __future__ import annotations

import streamlit as st

from ui import resources, url_state

NO_CHECKPOINTS = ("No checkpoints found in the checkpoints folder. Train one on the Train page or with "
                  "`python -m explorer train`.")


def offered_models() -> list[str] | None:
    """The autoencoder checkpoints a page can offer, or None after saying there are none (the page stops)."""
    names = resources.autoencoder_names()
    if not names:
        st.error(NO_CHECKPOINTS)
        return None
    return names


def seed_model_choice(key: str, param: str, names: list[str], default: str) -> str:
    """Seed a model picker from the link's `param` once per session, and fall back to `default` (with a
    warning) when the remembered model was deleted or broken since. Returns the default it settled on.
    Call before the widget with that key."""
    default = default if default in names else names[0]
    url_state.seed_widget(key, param, str, default, lambda v: v in names)
    resources.keep_chosen_model(key, names, default)
    return default


def model_picker(label: str, names: list[str], key: str, param: str = "model", default: str | None = None,
                 where=st, **widget_args) -> str:
    """A selectbox of models, seeded from the link's `param`, falling back to `default` (else the first)."""
    seed_model_choice(key, param, names, default or names[0])
    return where.selectbox(label, names, key=key, **widget_args)


def models_picker(label: str, names: list[str], key: str, param: str, default: list[str], valid=lambda v: True,
                  where=st, **widget_args) -> list[str]:
    """A multiselect of models, seeded from the link's comma-separated `param`; models deleted since they
    were chosen leave the selection with a warning."""
    url_state.seed_widget(key, param, lambda text: [n for n in text.split(",") if n], default,
                          lambda v: valid(v) and all(n in names for n in v))
    resources.keep_chosen_models(key, names)
    return where.multiselect(label, names, key=key, **widget_args)


def map_note(lmap: "resources.LatentMap") -> None:
    """A map's note, e.g. "UMAP is being computed; showing PCA for now"."""
    if lmap.note:
        st.info(lmap.note, icon=":material/hourglass_top:")


def map_status(maps: dict[str, "resources.LatentMap"]) -> None:
    """Each map's note, and one rerun once every pending UMAP is ready, so the maps replace themselves
    with no click. (Pages that show notes apart call map_note, then this with no notes left to show.)"""
    for lmap in maps.values():
        map_note(lmap)
    pending = [name for name, lmap in maps.items() if lmap.pending]
    if pending:
        resources.rerun_when_umap_ready(pending)
