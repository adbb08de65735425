"""Models: every checkpoint with its test metrics, each downloadable as one zip; upload one made elsewhere.

Everything an upload brings (its file name, its config's fields) is shown through plain_text.escape.
The checks themselves live in explorer.archive; this page only shows their verdict.
"""

from __future__ import annotations

import functools
import math

import streamlit as st

from explorer import archive, checkpoints, kinds
from explorer.errors import ExplorerError
from ui import resources
from ui.plain_text import escape

METRIC_SLOTS = max(len(metrics) for metrics in kinds.ROLE_METRICS.values())
COLUMNS = [2.2, 1.6, *[1.1] * METRIC_SLOTS, 1.3]  # one grid for every table, so their columns line up
ROLE_TITLES = {"autoencoder": "Autoencoders", "classifier": "Judges: classifiers that read generated digits",
               "prior": "Priors: where an autoencoder's codes lie"}
SHOWN_TRAINING = 8  # training settings shown for an upload


def role_of(info: dict) -> str:
    """The registry role of a checkpoint's kind; an unregistered kind is listed with the autoencoders."""
    kind = (info.get("model") or {}).get("kind")
    return kinds.KINDS[kind].role if kind in kinds.KINDS else "autoencoder"


def metric_cells(metrics: dict, role: str = "autoencoder") -> list[str]:
    """The role's metric cells, '—' where the checkpoint has none (a plain AE has no ELBO)."""
    def cell(metric: kinds.Metric) -> str:
        value = metrics.get(metric.key)
        return metric.format.format(value) if isinstance(value, (int, float)) and math.isfinite(value) else "—"

    return [cell(metric) for metric in kinds.ROLE_METRICS[role]]


def describe_model(info: dict) -> str:
    """'VAE · latent 32 · mnist5k' from a config.json; a prior names its autoencoder, a classifier has no code."""
    model = info.get("model", {})
    parts = [kinds.label(model.get("kind"))]
    if model.get("base"):
        parts.append(f"over {model['base']}")
    kind = kinds.KINDS.get(model.get("kind"))
    if kind is None or kind.has_code:
        parts.append(f"latent {model.get('latent_dim')}")
    return " · ".join(parts + [str(info.get("dataset", "mnist5k"))])


def checkpoint_row(item: checkpoints.Listing, role: str) -> None:
    """One checkpoint: name, model, metrics and its download button (the zip is made only when clicked)."""
    cells = st.columns(COLUMNS, vertical_alignment="center")
    maps = [path.name for path in archive.checkpoint_files(item.path)[2:]]
    cells[0].markdown(f"**{escape(item.name)}**")
    cells[1].caption(escape(describe_model(item.info)) + ("  \nwith its UMAP map" if maps else ""))
    for cell, text in zip(cells[2:-1], metric_cells(item.info.get("metrics") or {}, role)):
        cell.markdown(text)
    cells[-1].download_button("Download", data=functools.partial(archive.export_archive, item.path),
                              file_name=archive.archive_name(item.name), mime="application/zip",
                              key=f"models_download_{item.name}", on_click="ignore", icon=":material/download:",
                              help=escape(f"{archive.archive_name(item.name)}: model.safetensors, config.json"
                                          + (" and its stored map" if maps else "")))


def models_table(listings: list[checkpoints.Listing]) -> None:
    """One table per role (autoencoders first), each headed by the metrics that role is scored by."""
    for role in kinds.ROLES:
        rows = [item for item in listings if role_of(item.info) == role]
        if not rows:
            continue
        st.markdown(f"##### {ROLE_TITLES[role]}")
        header = st.columns(COLUMNS)
        titles = ["checkpoint", "model", *(metric.header for metric in kinds.ROLE_METRICS[role])]
        for cell, title in zip(header, titles):
            cell.markdown(f"**{title}**")
        for item in rows:
            checkpoint_row(item, role)
    st.caption("Metrics on the test digits, as stored with each checkpoint (a prior's noise error is its "
               "denoising loss on the test digits' codes). Each download is one zip: the weights (safetensors), "
               "the config with its training history, and the stored map if any. The README shows how to open it "
               "in a notebook.")


def training_summary(info: dict) -> str:
    """'epochs 30, lr 0.001, ...' from a config's training section (text from the file: escape it to show it)."""
    training = info.get("training") or {}
    shown = [f"{key} {value}" for key, value in list(training.items())[:SHOWN_TRAINING]]
    return ", ".join(shown) + (" …" if len(training) > SHOWN_TRAINING else "")


def _checked(file) -> archive.CheckedArchive | str:
    """The upload checked once per file (it stays in the uploader across reruns): the result or the message."""
    memo = st.session_state.setdefault("_models_checked", {})
    if file.file_id not in memo:
        memo.clear()
        try:
            memo[file.file_id] = archive.check_archive(file.getvalue(), file.name)
        except ExplorerError as error:
            memo[file.file_id] = str(error)
    return memo[file.file_id]


def upload_form(file, checked: archive.CheckedArchive) -> None:
    """What the upload holds, a name for it (cleaned and unique by default), and the button that adds it."""
    added = st.session_state.setdefault("_models_added", {})
    if file.file_id in added:
        st.success(f"Added as **{escape(added[file.file_id])}**: it is now in the model list of every page.",
                   icon=":material/check_circle:")
        return
    st.markdown(f"**{escape(file.name)}** passed every check: {escape(describe_model(checked.info))}.")
    if summary := training_summary(checked.info):
        st.caption("Trained with " + escape(summary))
    with st.form("models_add_form", border=False):
        name_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
        name = name_col.text_input("Add as", value=archive.suggested_name(file.name, checked.contents), max_chars=64,
                                   key=f"models_name_{file.file_id}", help="Letters, digits, '-' and '_' only")
        submitted = button_col.form_submit_button("Add", type="primary", key="models_add", width="stretch")
    if submitted:
        try:
            path = archive.add_archive(checked, name.strip())
        except ExplorerError as error:
            st.error(escape(error), icon=":material/error:")
            return
        added[file.file_id] = path.name
        st.rerun()


def upload_section() -> None:
    st.subheader("Bring your own model")
    if checkpoints.read_only():
        st.info("This server is read-only (`LATENT_LAB_READ_ONLY`): models can be downloaded, not added.",
                icon=":material/lock:")
        return
    if not archive.uploads_allowed():
        st.info("Uploading models is turned off on this server (`LATENT_LAB_UPLOADS=0`).", icon=":material/lock:")
        return
    limit_mb = archive.max_upload_bytes() / 1e6
    st.markdown("Upload a checkpoint zip downloaded from Latent Lab (here or on another computer). It is checked "
                "completely before it is listed: only the expected files, safetensors weights (never a pickle), a "
                "valid config, and every weight's shape against the model that config describes.")
    file = st.file_uploader(f"A checkpoint .zip (at most {limit_mb:g} MB)", type=["zip"], key="models_upload",
                            max_upload_size=max(1, math.ceil(limit_mb)))
    if file is None:
        return
    checked = _checked(file)
    if isinstance(checked, str):
        st.error(escape(checked) + "  \nNothing was added.", icon=":material/block:")
        return
    upload_form(file, checked)


def render() -> None:
    st.title("Models")
    st.markdown("Every model the app offers, with its scores on the test digits. **Take one home**: download it "
                "as one zip and open it in a notebook (see the README). **Bring your own**: upload a zip made "
                "by Latent Lab elsewhere, and it joins every page's model list.")
    listings = resources.readable_checkpoints()
    if listings:
        models_table(listings)
    else:
        st.info("No checkpoints in the checkpoints folder yet.", icon=":material/inventory_2:")
    st.divider()
    upload_section()
