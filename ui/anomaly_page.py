"""Anomalies: what a model cannot rebuild, it has not seen. Score inputs by reconstruction error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from explorer import anomaly, checkpoints, drawing, figure_text, figures, latents
from explorer.errors import ExplorerError
from explorer.train import TrainConfig
from ui import resources, scaffold, url_state
from ui.plain_text import escape, for_plotly
from ui.latent_map import latent_map

DEFAULT_MODEL = "ae_32"
N_OOD = 100  # images per out-of-distribution set
N_WORST = 8  # most anomalous inputs shown
FALSE_ALARM_RATE = 0.05  # default threshold flags this share of the test digits
ONE_CLASS_BATCH = 32


# --- cached computations --------------------------------------------------------------------------

@st.cache_resource(max_entries=4, show_spinner="Making odd inputs…")
def ood_images(dataset_name: str) -> dict:
    """The out-of-distribution sets for a dataset's test split, shared read-only (seeded, so fixed)."""
    return anomaly.ood_sets(resources.dataset(dataset_name).x_test, n=N_OOD, seed=0)


@st.cache_data(max_entries=32, show_spinner="Scoring test digits and odd inputs…")
def scores(name: str, version: int) -> dict:
    """{"test": (N,), "ood": {set: (N_OOD,)}} reconstruction scores under the model."""
    model = resources.checkpoint(name).model
    ds = resources.dataset_of(name)
    return {
        "test": anomaly.reconstruction_scores(model, ds.x_test),
        "ood": {kind: anomaly.reconstruction_scores(model, x) for kind, x in ood_images(ds.name).items()},
    }


# --- page sections ------------------------------------------------------------------------------------

def model_controls(names: list[str]) -> dict:
    url_state.seed_widget("an_ood", "odd", lambda t: [k for k in t.split(",") if k], list(anomaly.OOD_LABELS),
                          lambda v: all(k in anomaly.OOD_LABELS for k in v))
    c1, c2 = st.columns([1, 4])
    return dict(
        model=scaffold.model_picker("Model", names, "an_model", default=DEFAULT_MODEL, where=c1),
        ood=c2.multiselect("Odd inputs (the anomalies to find)", list(anomaly.OOD_LABELS),
                           format_func=anomaly.OOD_LABELS.get, key="an_ood"),
    )


def threshold_control(name: str, options: list[float], default: float) -> float:
    """Log-spaced threshold slider; a new model starts at its own default."""
    def parse(text: str) -> float:
        value = float(text)
        if not options[0] <= value <= options[-1]:
            raise ValueError("out of range")
        return anomaly.nearest_threshold(options, value)

    url_state.seed_widget("an_threshold", "thr", parse, default)
    if st.session_state.get("an_threshold_for", name) != name or st.session_state["an_threshold"] not in options:
        st.session_state["an_threshold"] = default
    st.session_state["an_threshold_for"] = name
    return st.select_slider("Threshold: flag inputs scoring above", options, key="an_threshold",
                            format_func=lambda v: f"{v:.3g}")


def metrics_section(name: str, normal: np.ndarray, odd: dict[str, np.ndarray], threshold: float) -> None:
    anomalous = np.concatenate(list(odd.values()))
    precision, recall = anomaly.precision_recall_at(normal, anomalous, threshold)
    auc = anomaly.auroc(normal, anomalous)
    false_alarms = int((normal > threshold).sum())
    caught = int((anomalous > threshold).sum())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Precision", f"{precision:.2f}", help="Of everything flagged, the share that really is odd")
    c2.metric("Recall", f"{recall:.2f}", help="Of all odd inputs, the share flagged")
    c3.metric("False alarms", f"{false_alarms} of {len(normal)}", help="Ordinary test digits flagged")
    c4.metric("ROC AUC", f"{auc:.3f}", help="Chance that an odd input scores above a test digit; "
                                            "independent of the threshold")
    st.markdown(
        f"At threshold **{threshold:.3g}** the model flags {caught} of {len(anomalous)} odd inputs "
        f"(recall {recall:.2f}) and {false_alarms} of {len(normal)} ordinary test digits; of all "
        f"{caught + false_alarms} flagged, {precision:.0%} are really odd (precision {precision:.2f})."
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(figures.log_score_histogram(normal, anomalous, threshold), key="an_hist", width="stretch",
                      config={"displayModeBar": False},
                      alt=figure_text.score_histogram_summary(normal, anomalous, threshold,
                                                          subject=f"{name}'s anomaly scores (reconstruction error)"))
    fpr, tpr = anomaly.roc_curve_points(normal, anomalous)
    right.plotly_chart(figures.roc_figure(fpr, tpr, auc), key="an_roc", width="stretch",
                       config={"displayModeBar": False},
                       alt=figure_text.roc_summary(fpr, tpr, auc, subject=f"ROC curve of {name}'s reconstruction error "
                                                                      "as an anomaly score"))
    rows = [dict(inputs=anomaly.OOD_LABELS[kind], median=float(np.median(s)), auroc=anomaly.auroc(normal, s),
                 flagged=float((s > threshold).mean())) for kind, s in odd.items()]
    rows.insert(0, dict(inputs="Test digits (normal)", median=float(np.median(normal)), auroc=None,
                        flagged=float((normal > threshold).mean())))
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="an_sets", column_config={
        "inputs": "Inputs",
        "median": st.column_config.NumberColumn("Median score", format="%.4f"),
        "auroc": st.column_config.ProgressColumn("AUROC vs test digits", min_value=0.0, max_value=1.0, format="%.3f"),
        "flagged": st.column_config.ProgressColumn("Flagged", min_value=0.0, max_value=1.0, format="percent"),
    })
    st.caption("An AUROC near 0.5 means the score cannot tell those inputs from digits; below 0.5, they are "
               "rebuilt *better* than real digits (simple, smooth shapes are easy to copy).")


def worst_section(name: str, ds, pool: str, test_scores: np.ndarray, ood: dict) -> None:
    """The N_WORST highest-scoring inputs of one pool ("test" or an OOD set) with their error maps."""
    if pool == "test":
        x, values = ds.x_test, test_scores
        captions = [f"digit {ds.classes[int(c)]} #{i}" for i, c in enumerate(ds.y_test.numpy())]
    else:
        x, values = ood_images(ds.name)[pool], ood[pool]
        captions = [f"{anomaly.OOD_LABELS[pool].split(' (')[0]} #{i}" for i in range(len(values))]
    top = np.argsort(-values, kind="stable")[:N_WORST]
    batch = x[top]  # (K, 1, H, W)
    model = resources.checkpoint(name).model
    recon = latents.reconstruct(model, batch)[:, 0]
    maps = anomaly.error_maps(model, batch)
    labels = [f"{captions[i]}<br>score {values[i]:.3g}" for i in top]
    among = "test digits" if pool == "test" else f"odd inputs of the kind {anomaly.OOD_LABELS[pool]} that"
    st.plotly_chart(figures.error_mosaic(batch[:, 0].numpy(), recon, maps, labels), key="an_worst", width="stretch",
                    config={"displayModeBar": False},
                    alt=figure_text.error_mosaic_summary(maps, [captions[i] for i in top],
                                                     subject=f"The {len(top)} {among} {name} rebuilds worst"))


def map_section(name: str, ds, test_scores: np.ndarray, odd_kinds: list[str]) -> None:
    lmap = resources.latent_map(name, "test", "pca")
    labels = ds.y_test.numpy()
    worst = np.argsort(-test_scores, kind="stable")[:N_WORST]
    underlays = []
    if odd_kinds:
        model = resources.checkpoint(name).model
        odd = np.concatenate([ood_images(ds.name)[k].numpy() for k in odd_kinds])
        xy = lmap.projector.transform(latents.encode_dataset(model, odd))
        names = [anomaly.OOD_LABELS[k] for k in odd_kinds for _ in range(N_OOD)]
        # Under the ringed most-anomalous digits, which would otherwise vanish in a crowd of ✕.
        underlays.append(figures.overlay(xy, "odd inputs", text=names, hovertemplate="%{text}<extra></extra>",
                                        marker=dict(symbol="x", size=7, color="#d62728", opacity=0.6)))
    rows = np.arange(len(labels))
    base = figures.digit_points(lmap.xy, labels, rows, ds.classes, color_values=np.log10(test_scores),
                                color_title="log10 score")
    layout = figures.map_layout(lmap.axis_titles, height=520, dragmode="zoom")
    overlays = [*underlays, figures.highlight_points(lmap.xy, labels, rows, ds.classes, worst.tolist())]
    latent_map(base, layout, overlays, key="an_map", selectable=False,
               alt=figure_text.map_summary([base, *overlays], layout, subject=f"PCA map of {name}'s codes of the test "
                                       f"digits, the {len(worst)} most anomalous highlighted"))


def uploads_section(name: str, test_scores: np.ndarray, threshold: float) -> None:
    files = st.file_uploader("Score your own digit pictures (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                             accept_multiple_files=True, key="an_upload")
    images, names, problems = anomaly.read_uploads([(file.name, file.getvalue()) for file in files or []])
    for file_name, problem in problems:
        st.error(f"**{escape(file_name)}**: {escape(problem)}", icon=":material/broken_image:")
    if not images:
        return
    model = resources.checkpoint(name).model
    batch = torch.from_numpy(np.stack(images)).unsqueeze(1)  # (K, 1, 28, 28)
    values = anomaly.reconstruction_scores(model, batch)
    recon = latents.reconstruct(model, batch)[:, 0]
    maps = anomaly.error_maps(model, batch)
    captions, spoken = [], []  # spoken: the alt text's names, without the file names (typed by whoever uploads)
    for number, (file_name, value) in enumerate(zip(names, values), start=1):
        rank = float((test_scores < value).mean())
        verdict = "flagged" if value > threshold else "looks normal"
        captions.append(f"{for_plotly(file_name[:18])}<br>{value:.3g}: {verdict}<br>above {rank:.0%} of digits")
        spoken.append(f"picture {number} ({verdict}, above {rank:.0%} of the test digits)")
    st.plotly_chart(figures.error_mosaic(batch[:, 0].numpy(), recon, maps, captions), key="an_upload_mosaic",
                    width="stretch", config={"displayModeBar": False},
                    alt=figure_text.error_mosaic_summary(maps, spoken, subject=f"Your {len(spoken)} picture{'s' * (len(spoken) != 1)} as {name} "
                                                     "rebuilds them, flagged above the threshold "
                                                     f"{figure_text.number_text(threshold)}"))


def epoch_count(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def one_class_section(ds) -> None:
    st.markdown(
        "Pick the digits that count as **normal**, train a small autoencoder on those training digits alone, "
        "then score every test digit. **Look for**: which held-out digits get a high AUROC (easy to tell "
        "apart) and which get a low one: those look like the normal digits to the model, in ink if not in meaning."
    )
    st.caption(f"This detector is a new model of its own, trained on **{ds.name}**: the model chosen on the "
               "first tab only decides the dataset.")
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    classes = list(range(len(ds.classes)))
    st.session_state.setdefault("an_normal", [1])
    normal = c1.multiselect("Normal digits", classes, format_func=lambda c: ds.classes[c], key="an_normal")
    epochs = c2.slider("Epochs", 1, 60, 15, key="an_epochs",
                       help="More epochs: slower, and usually a sharper detector. The benchmark (bench/anomaly.py) "
                            "trains 120.")
    clicked = c3.button("Train", key="an_train", type="primary", disabled=not normal or checkpoints.read_only())
    if clicked and not checkpoints.read_only():
        bar = st.progress(0.0, text="Training…")
        config = TrainConfig(epochs=epochs, batch_size=ONE_CLASS_BATCH, report_every=5)
        try:
            model = anomaly.train_one_class(
                ds, normal, train_config=config,
                on_progress=lambda p: bar.progress(min(p.fraction, 1.0), text=f"Epoch {p.epoch} of {p.epochs}"),
            )
            # Kept with the inputs it was made from, so a later change of any of them shows.
            st.session_state["an_one_class"] = dict(report=anomaly.one_class_report(model, ds, normal),
                                                    dataset=ds.name, epochs=int(epochs))
        except ExplorerError as error:
            st.error(str(error))
        finally:
            bar.empty()
    result = st.session_state.get("an_one_class")
    if result is None:
        return
    if result["dataset"] != ds.name:
        # Its classes, scores and test split belong to another dataset: nothing of it applies here.
        del st.session_state["an_one_class"]
        st.info(f"The detector trained before was for **{result['dataset']}**; the model now chosen uses "
                f"**{ds.name}**, so those results were cleared. Press **Train** for a detector on {ds.name}.",
                icon=":material/restart_alt:")
        return
    report = result["report"]
    trained_on = ", ".join(ds.classes[c] for c in report.normal_classes)
    changed = []
    if sorted(normal) != list(report.normal_classes):
        changed.append(f"normal digits {', '.join(ds.classes[c] for c in sorted(normal)) or '(none)'}")
    if int(epochs) != result["epochs"]:
        changed.append(epoch_count(epochs))
    stale = bool(changed)
    if stale:
        st.warning(f"**Out of date**: these results are for normal digits {trained_on} after "
                   f"{epoch_count(result['epochs'])}, but you now chose {' and '.join(changed)}. "
                   "Press **Train** for the new choice.",
                   icon=":material/history:")
    st.metric(f"ROC AUC, normal digits {trained_on} vs all others" + (" (out of date)" if stale else ""),
              f"{report.auroc:.3f}", help=f"Trained on {result['dataset']} for {epoch_count(result['epochs'])}")
    left, right = st.columns([2, 3])
    table = pd.DataFrame([dict(digit=ds.classes[c], auroc=v) for c, v in report.auroc_per_class.items()])
    left.dataframe(table, hide_index=True, key="an_one_class_table", column_config={
        "digit": "Held-out digit",
        "auroc": st.column_config.ProgressColumn("AUROC vs normal", min_value=0.0, max_value=1.0, format="%.3f"),
    })
    normal_scores = report.scores[report.is_normal]
    threshold = float(np.quantile(normal_scores, 1 - FALSE_ALARM_RATE))
    hist_names = (f"normal digits ({trained_on})", "other digits")
    right.plotly_chart(figures.log_score_histogram(normal_scores, report.scores[~report.is_normal], threshold,
                                     names=hist_names),
                       key="an_one_class_hist", width="stretch", config={"displayModeBar": False},
                       alt=figure_text.score_histogram_summary(normal_scores, report.scores[~report.is_normal], threshold,
                                                           hist_names, subject="The one-class detector's anomaly "
                                                           "scores of the test digits (reconstruction error)"))
    right.caption(f"The dashed line flags {FALSE_ALARM_RATE:.0%} of the normal test digits.")


def detect_sections(name: str, ds, settings: dict, result: dict) -> None:
    """The first tab below the model choice: threshold, metrics, most anomalous inputs, map, uploads."""
    test_scores = result["test"]
    options = anomaly.threshold_options(np.concatenate([test_scores, *result["ood"].values()]))
    default = anomaly.nearest_threshold(options, float(np.quantile(test_scores, 1 - FALSE_ALARM_RATE)))
    threshold = threshold_control(name, options, default)
    url_state.show_notices()
    url_state.write({"model": name, "thr": threshold, "odd": settings["ood"]})

    if settings["ood"]:
        metrics_section(name, test_scores, {k: result["ood"][k] for k in settings["ood"]}, threshold)
    else:
        st.info("Pick at least one kind of odd input to measure how well the score finds them.", icon=":material/touch_app:")

    st.subheader("The most anomalous inputs")
    pools = ["test", *settings["ood"]]
    if st.session_state.get("an_pool") not in pools:
        st.session_state["an_pool"] = "test"
    pool = st.radio("Among", pools, format_func=lambda p: "test digits" if p == "test" else anomaly.OOD_LABELS[p],
                    horizontal=True, key="an_pool")
    st.markdown("Bright spots in the error map are where the reconstruction misses. **Look for**: "
                "is the error spread everywhere (a foreign kind of picture) or on one stroke (an odd digit)?")
    worst_section(name, ds, pool, test_scores, result["ood"])

    st.subheader("Scores on the latent map")
    st.markdown("Test digits coloured by score (log scale); the ringed dots are the most anomalous digits and "
                "the red ✕ the odd inputs placed by their codes. **Look for**: do odd inputs land among "
                "the digits? Then the encoder alone could not tell them apart.")
    map_section(name, ds, test_scores, settings["ood"])

    st.subheader("Your own pictures")
    uploads_section(name, test_scores, threshold)


def render() -> None:
    st.title("Anomalies")
    st.markdown(
        "An autoencoder rebuilds well only what looks like its training data, so its **reconstruction error** "
        "(mean squared error per pixel) is an anomaly score: high means unusual. **Look for**: which odd inputs "
        "land right of the threshold, and which ones the model rebuilds so well that they pass as digits."
    )
    names = scaffold.offered_models()
    if names is None:
        return
    detect, one_class = st.tabs(["Score odd inputs", "One-class: train your own detector"])
    ds = None
    with detect:
        settings = model_controls(names)
        name = settings["model"]
        try:
            ds = resources.dataset_of(name)
            result = scores(name, resources.version(name))
        except ExplorerError as error:
            url_state.show_notices()
            st.error(str(error))
        else:
            detect_sections(name, ds, settings, result)
    with one_class:
        if ds is None:
            st.info("Pick a model that loads on the first tab: its dataset is the one the detector trains on.")
        else:
            # The odd-input sets need 28×28 digits; a one-class detector trains on any dataset.
            one_class_section(ds)
