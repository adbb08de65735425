"""Cached, shared, read-only resources for every page: datasets, models, codes and maps.

Models are shared between sessions (`st.cache_resource`), kept in eval mode and only used
under `torch.inference_mode()`. Caches are keyed by checkpoint name *and* version (the
config's modification time), so a model re-saved under the same name is reloaded.

Only checkpoints that pass `checkpoints.list_checkpoints`' checks are offered as models, and
only by bare name inside the checkpoints folder; `show_checkpoint_problems` tells the user
which others were left out and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, compare, data, kinds, latents, maps, serving
from explorer.errors import CheckpointError
from ui.plain_text import escape

serving.limit_threads_for_serving()


def one_torch_thread() -> None:
    """Keep torch to one thread in the calling thread too. OpenMP keeps the thread count per thread
    and Streamlit runs every rerun and fragment in a new thread, where it was back to all cores:
    under load a 0.3 ms decode then took 3-20 ms, waiting for the second core to wake up."""
    torch.set_num_threads(1)

DEFAULT_MODEL = "vae_32"
DEFAULT_COMPARE = ("ae_2", "vae_2")  # two-number codes: their maps are the code planes, no projection


@st.cache_resource(show_spinner="Loading the dataset…")
def dataset(name: str) -> data.Dataset:
    return data.load_dataset(name)


def readable_checkpoints(**flags) -> list[checkpoints.Listing]:
    """Checkpoints in the checkpoints folder that passed every check, in name order; with flags, only those
    of the kinds whose registry attributes match them (explorer.kinds.kinds), e.g. role="classifier"."""
    wanted = {kind.name for kind in kinds.kinds(**flags)}
    return [item for item in checkpoints.list_checkpoints()
            if item.info is not None and item.info["model"].get("kind") in wanted]


def checkpoint_names(**flags) -> list[str]:
    """Readable checkpoints in the checkpoints folder of the kinds matching `flags`, in name order."""
    return [item.name for item in readable_checkpoints(**flags)]


def judge_names() -> list[str]:
    """The classifiers that can judge the pages' MNIST digits, the best test accuracy first (the shipped judge on a
    tie, by name): a classifier a student trained on the 8×8 digits cannot read 28×28 ones, and a weaker one
    saved from the Train page must not become every page's judge."""
    fit = [item for item in readable_checkpoints(role="classifier")
           if item.info.get("dataset", data.DEFAULT_DATASET) == data.DEFAULT_DATASET]
    return [item.name for item in sorted(fit, key=lambda item: -(item.info.get("metrics") or {}).get("accuracy", 0.0))]


def autoencoder_listings() -> list[checkpoints.Listing]:
    """The readable checkpoints the exploring pages can use: autoencoders that encode and decode without
    labels (explorer.kinds), not classifiers, priors or conditional models."""
    return readable_checkpoints(is_plain_autoencoder=True)


def autoencoder_names() -> list[str]:
    return [item.name for item in autoencoder_listings()]


def checkpoint_problems() -> list[tuple[str, str]]:
    """(name, why) for every file or folder in the checkpoints folder that is not offered as a model."""
    problems = []
    for item in checkpoints.list_checkpoints():
        if item.info is None:
            problem = str(item.problem or "unreadable").replace(str(item.path), item.name)
            problems.append((item.name, problem.removeprefix(f"{item.name}: ")))
    return problems


def show_checkpoint_problems() -> None:
    """A sidebar expander naming the checkpoints that could not be loaded, and why (nothing if all are fine)."""
    problems = checkpoint_problems()
    if not problems:
        return
    count = f"{len(problems)} checkpoint{'s' if len(problems) > 1 else ''}"
    with st.sidebar.expander(f":material/warning: {count} could not be loaded"):
        for name, problem in problems:
            st.text(f"{name}: {problem}")  # plain text: names and messages come from files
        st.caption("They are left out of the model lists. Retrain them, or restore them from a backup.")


def keep_chosen_model(key: str, names: list[str], default: str) -> None:
    """If the model remembered under `key` is no longer offered (deleted, renamed or broken since it
    was chosen), say so and fall back to `default`. Call before the widget with that key."""
    chosen = st.session_state.get(key)
    if chosen is None or chosen in names:
        return
    reason = dict(checkpoint_problems()).get(chosen, "it was deleted or renamed")
    st.warning(f"Checkpoint {escape(repr(chosen))} can no longer be used ({escape(reason)}); showing "
               f"{escape(repr(default))} instead.",
               icon=":material/error:")
    st.session_state[key] = default


def keep_chosen_models(key: str, names: list[str]) -> None:
    """keep_chosen_model for a multiselect: models no longer offered leave the selection, with a warning."""
    chosen = st.session_state.get(key) or []
    gone = [name for name in chosen if name not in names]
    if not gone:
        return
    problems = dict(checkpoint_problems())
    reasons = "; ".join(escape(f"{name!r}: {problems.get(name, 'deleted or renamed')}") for name in gone)
    st.warning(f"No longer usable, so left out: {reasons}.", icon=":material/error:")
    st.session_state[key] = [name for name in chosen if name in names]


def _path(name: str) -> Path:
    """The folder of a checkpoint by bare name: always inside the checkpoints folder."""
    return checkpoints.DEFAULT_DIR / checkpoints.check_name(name)


def version(name: str) -> int:
    """Changes whenever the checkpoint is re-saved; raises CheckpointError if it is gone."""
    try:
        return (_path(name) / checkpoints.CONFIG_FILE).stat().st_mtime_ns
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"Checkpoint {name!r} is gone (deleted or renamed). Pick another model.") from None


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def _load(name: str, version: int) -> checkpoints.Checkpoint:
    return checkpoints.load(_path(name))


def checkpoint(name: str) -> checkpoints.Checkpoint:
    """The loaded checkpoint (shared by all sessions, read-only). Every page reaches its models
    through here before running them, so this is where the calling thread is set to one thread."""
    one_torch_thread()
    return _load(name, version(name))


def dataset_of(name: str) -> data.Dataset:
    """The dataset the checkpoint was trained on; CheckpointError if its images don't fit the model."""
    loaded = checkpoint(name)
    return dataset(checkpoints.check_dataset(loaded.info, name))


@st.cache_data(max_entries=32, show_spinner="Encoding the dataset…")
def _codes(name: str, version: int, split: str) -> np.ndarray:
    x, _ = dataset_of(name).split(split)
    return latents.encode_dataset(_load(name, version).model, x)


def codes(name: str, split: str = "all") -> np.ndarray:
    """(N, latent) codes of a dataset split (VAEs: μ)."""
    return _codes(name, version(name), split)


@st.cache_data(max_entries=16, show_spinner="Decoding and judging every point of the plane…")
def _plane_scan(name: str, version: int, judge_name: str, judge_version: int) -> compare.PlaneScan:
    return compare.scan_plane(_load(name, version).model, codes(name), _load(judge_name, judge_version).model)


def plane_scan(name: str) -> compare.PlaneScan | None:
    """A 2-D model's whole code plane decoded and judged (compare.scan_plane), or None without a digit judge."""
    judges = judge_names()
    if not judges:
        return None
    return _plane_scan(name, version(name), judges[0], version(judges[0]))


@st.cache_resource(show_spinner=False)
def umap_service() -> maps.UMAPService:
    return maps.UMAPService(fit=maps.fit_umap_in_subprocess)  # looked up here, so a test can swap it


@st.cache_resource(show_spinner=False)
def warm_up_umap() -> None:
    """Once per server: make sure numba's disk cache holds UMAP's compiled code (a low-priority
    child process, only when it is not there yet), so a new model's first map takes seconds."""
    maps.warm_up_umap()


@st.cache_resource(max_entries=32, show_spinner=False)
def _pca(name: str, version: int, dims: int):
    return maps.fit_pca(_codes(name, version, "all"), dims)


@dataclass
class LatentMap:
    """A projection of a split's codes: positions, and how to place new codes on it."""

    xy: np.ndarray  # (N, 2 or 3) positions of the split's rows
    projector: object  # has .transform(codes) -> positions and .axis_titles()
    method: str  # what is shown: "pca", "pca3" or "umap"
    note: str | None = None  # e.g. "UMAP is being computed; showing PCA meanwhile"
    pending: bool = False  # the asked-for UMAP is still being computed

    @property
    def axis_titles(self) -> list[str]:
        return self.projector.axis_titles()


def split_rows(ds: data.Dataset, split: str) -> slice:
    """Where a split's rows sit inside the "all" ordering (train rows, then test rows)."""
    n_train = len(ds.x_train)
    return {"train": slice(0, n_train), "test": slice(n_train, None), "all": slice(None)}[split]


def latent_map(name: str, split: str, method: str) -> LatentMap:
    """The map of `split` under `method` ("pca", "pca3", "umap"). Maps are fitted on all rows,
    so a digit sits in the same place whichever split is shown."""
    v = version(name)
    rows = split_rows(dataset_of(name), split)
    if method == "umap":
        try:  # reads the weights file to key the stored map
            projector = umap_service().get(_path(name), checkpoint(name).info.get("dataset", data.DEFAULT_DATASET),
                                           _codes(name, v, "all"))
        except OSError:
            raise CheckpointError(f"Checkpoint {name!r} is gone or unreadable. Pick another model.") from None
        if projector is not None:
            return LatentMap(projector.embedding_[rows], projector, "umap")
        problem = umap_service().problem(_path(name), checkpoint(name).info.get("dataset", data.DEFAULT_DATASET))
        note = (f"UMAP failed ({problem}); showing PCA." if problem
                else "UMAP for this model is being computed in the background; showing PCA until it is ready.")
        pca = _pca(name, v, 2)
        return LatentMap(pca.transform(_codes(name, v, split)), pca, "pca", note, pending=not problem)
    pca = _pca(name, v, 3 if method == "pca3" else 2)
    return LatentMap(pca.transform(_codes(name, v, split)), pca, method)


def opening_projection(name: str | None, names: list[str]) -> str:
    """The projection a map opens on: "umap" when the model (else the default one) has a UMAP map stored
    beside its checkpoint, else "pca"; both show at once. (PCA of a VAE's codes is often one round cloud.)"""
    name = name if name in names else (DEFAULT_MODEL if DEFAULT_MODEL in names else names[0])
    # From the listing, not the loaded model: the choice of a default must not load (or fail on) a checkpoint.
    listing = next((item for item in readable_checkpoints() if item.name == name), None)
    if listing is None:
        return "pca"
    dataset = listing.info.get("dataset", data.DEFAULT_DATASET)
    return "umap" if maps.umap_path(listing.path, dataset).exists() else "pca"


def umap_pending(name: str) -> bool:
    """True while the checkpoint's UMAP map is being computed in the background."""
    return not umap_service().wait(_path(name), checkpoint(name).info.get("dataset", data.DEFAULT_DATASET), timeout=0)


def rerun_when_umap_ready(names: list[str]) -> None:
    """Look every second whether the pending UMAP maps of `names` are done, and rerun the page when
    they are: the map replaces its PCA stand-in without the user having to click anything."""
    st.fragment(run_every=UMAP_POLL_S)(_rerun_if_ready)(tuple(names))


UMAP_POLL_S = 1.0


def _rerun_if_ready(names: tuple[str, ...]) -> None:
    try:
        if any(umap_pending(name) for name in names):
            return
    except (CheckpointError, OSError):
        pass  # deleted or half-copied meanwhile: the full rerun says so
    st.rerun()
