"""Train: watch a model learn, live, keep the result, and compare VAEs across β.

Every registered kind trains here; what the live view draws follows its role in the registry (LIVE_VIEWS):
an autoencoder's reconstructions and latent map, a classifier's readings and test accuracy, a prior's
samples decoded by its base autoencoder.

Training runs in the server's job backend (explorer.jobs: child processes by default, Ray when
configured), shared by every session, so a reloaded page (or a copied link with `job=`) reattaches
to a job that is still running. Each session may have one active run (its owner id is a random id
kept in session state); identical settings join the same run. The β ladder is a class-wide request
with three fixed names, so it is submitted without an owner and does not count against the student's run.
"""

from __future__ import annotations

import math
import uuid

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import checkpoints, figure_text, figures, generate, job_state, jobs, kinds, presets
from explorer.job_queue import ActiveJobExists, refresh_seconds
from explorer.errors import ExplorerError
from explorer.serving import browser_id
from explorer.train import duration_words, evaluate_loss, time_left_words
from ui import pictures, resources, url_state
from ui.plain_text import escape
from ui.charts import FrozenFigure
from ui.latent_map import latent_map

DATASETS = {"mnist5k": "MNIST, 5,000 digits (28×28)", "digits": "digits, 1,797 (8×8, quick)"}
LATENT_SIZES = (2, 4, 8, 16, 32, 64)
BETAS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
LEARNING_RATES = (3e-4, 1e-3, 2e-3, 5e-3, 1e-2)
BATCH_SIZES = (32, 64, 128, 256)
NOISE_KINDS = {"gaussian": "Gaussian noise", "mask": "Masked pixels"}
JOB_KEY = "train_job"
OWNER_KEY = "train_owner"
HELD_KEY = "_train_held"  # the job's snapshot so far: each refresh fetches only the epochs since
CLASH_KEY = "train_active_elsewhere"  # the session's other active job, when Start was refused
RECON_WIDTH = 640  # pixels of a row of reconstructions
READING_DIGIT = 56  # pixels of each digit the classifier reads
NO_BASE = ""  # a prior's base when the dataset has no saved autoencoder: Start stays off


@st.cache_resource
def registry():
    """One job backend per server ($LATENT_LAB_JOB_BACKEND): every session sees (and queues behind) the
    same jobs. How many train at once: $LATENT_LAB_MAX_JOBS, else half the cores (1 on 2 cores)."""
    return jobs.open_jobs()


def session_owner() -> str:
    """The owner id this page gives the job backend (one active run each): the browser's, so a reload or a
    second tab is the same student (explorer.serving.browser_id, from Streamlit's XSRF cookie), else
    one random id per session."""
    if OWNER_KEY not in st.session_state:
        # Under AppTest there is no browser, so no cookie: a random id.
        st.session_state[OWNER_KEY] = browser_id(st.context.cookies.get("_streamlit_xsrf")) or uuid.uuid4().hex
    return st.session_state[OWNER_KEY]


def watched(job_id: str) -> job_state.JobSnapshot:
    """The job as this session last saw it plus what is new since: a refresh moves one epoch, not all."""
    held = st.session_state.get(HELD_KEY)
    since = len(held.reconstructions) if held is not None and held.job_id == job_id else 0
    snap = job_state.merge(held, registry().snapshot(job_id, since=since))
    st.session_state[HELD_KEY] = snap
    return snap


# ---------------------------------------------------------------- pure helpers


@st.cache_resource(max_entries=32, show_spinner=False)
def shared_loss_figure(job_id: str, epochs_seen: int, _history: list[dict]) -> go.Figure:
    """One loss figure per job and epoch for every session watching it: a class of 30 shares one run,
    and 30 copies built each epoch (70 ms for this and the map) starved the run itself. Read-only after."""
    return FrozenFigure(loss_figure(_history))


@st.cache_resource(max_entries=32, show_spinner=False)
def shared_replay_figure(job_id: str, epoch: int, settled: bool, _snap: jobs.JobSnapshot) -> go.Figure:
    """The latent replay after `epoch`, once per job for every session watching it (see shared_loss_figure)."""
    return FrozenFigure(figures.latent_replay(_snap.latent_frames[: epoch + 1], _snap.latent_labels,
                                              resources.dataset(_snap.spec.dataset).classes, animate=settled))


def training_controls(disabled: bool) -> dict:
    """The run's settings; each model offers only what its kind uses (explorer.kinds): a latent size for
    models with codes of their own, a base autoencoder for a prior, β for VAEs, noise for the denoising AE."""
    for name, value in presets.DEFAULTS.items():
        st.session_state.setdefault(f"train_{name}", value)
    c1, c2, c3, c4 = st.columns(4)
    settings = dict(
        dataset=c1.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key="train_dataset", disabled=disabled),
        kind=c2.selectbox("Model", [k.name for k in presets.trainable_kinds()], format_func=kinds.label,
                          key="train_kind", disabled=disabled),
    )
    kind = kinds.get_kind(settings["kind"])
    if "base" in kind.fields:  # a prior: its codes are its base autoencoder's
        settings.update(base_control(c3, settings["dataset"], disabled))
    elif kind.has_code:
        settings["latent"] = c3.select_slider("Latent size", LATENT_SIZES, key="train_latent", disabled=disabled,
                                              help="How many numbers the encoder may use to describe a digit")
    else:
        c3.caption(f"A {kind.description} has no code: it reads the digits and answers which class each is.")
    if "beta" in kind.fields:
        settings["beta"] = c4.select_slider("β (KL weight)", BETAS, key="train_beta", disabled=disabled,
                                            help="Higher β pushes codes towards a plain Gaussian: smoother map, blurrier digits")
    elif "noise" in kind.fields:
        settings["noise_kind"] = c4.selectbox("Training noise", list(NOISE_KINDS), format_func=NOISE_KINDS.get,
                                              key="train_noise_kind", disabled=disabled,
                                              help="How the training inputs are corrupted before the model cleans them")
        settings["noise"] = c4.slider("Noise level", 0.0, 0.8, step=0.05, key="train_noise", disabled=disabled,
                                      help="Gaussian: the noise's standard deviation. Masked: the fraction of "
                                           "pixels set to black.")
    settings.setdefault("latent", st.session_state["train_latent"])
    c5, c6, c7, c8 = st.columns(4)
    settings.update(
        epochs=c5.slider("Epochs", 1, 50, key="train_epochs", disabled=disabled),
        lr=c6.select_slider("Learning rate", LEARNING_RATES, format_func=lambda v: f"{v:g}", key="train_lr",
                            disabled=disabled),
        batch=c7.select_slider("Batch size", BATCH_SIZES, key="train_batch", disabled=disabled),
    )
    with c8:
        st.write("")  # line the button up with the sliders
        clicked = st.button("Start training", type="primary", key="train_start", width="stretch",
                            disabled=disabled or settings.get("base") == NO_BASE)
    settings["start"] = clicked and not settings.pop("hold", False)  # a vanished base: look before starting
    return settings


def base_control(column, dataset: str, disabled: bool) -> dict:
    """A prior's base: a saved autoencoder of this dataset (ae_32 first when it fits), and its code size."""
    listings = resources.readable_checkpoints(is_plain_autoencoder=True)
    bases = presets.prior_bases(listings, dataset)
    if not bases:
        column.warning(f"No saved autoencoder was trained on {DATASETS[dataset]}: train one (AE or VAE) on it and "
                       "save it, then its prior can learn its codes.", icon=":material/warning:")
        return {"base": NO_BASE, "base_latent": None}
    chosen = st.session_state.get("train_base")
    vanished = chosen is not None and chosen not in {item.name for item in listings}
    if vanished:  # deleted since it was chosen: say so, and start nothing on this click
        resources.keep_chosen_model("train_base", bases, presets.default_base(bases))
    elif chosen not in bases:  # e.g. the dataset changed: its bases differ
        st.session_state["train_base"] = presets.default_base(bases)
    base = column.selectbox("Base autoencoder", bases, key="train_base", disabled=disabled,
                            help="The saved AE or VAE whose codes the prior learns to make from noise; its decoder "
                                 "draws the prior's samples")
    info = next(item.info for item in listings if item.name == base)
    return {"base": base, "base_latent": info["model"]["latent_dim"], "hold": vanished}


def job_spec(settings: dict, *, kind: str | None = None, beta: float | None = None, name: str | None = None,
             autosave: bool = False) -> jobs.JobSpec:
    dataset = resources.dataset(settings["dataset"])
    model, training = presets.page_configs(settings, dataset.image_shape, kind=kind, beta=beta,
                                           classes=len(dataset.classes))
    taken = {item.name for item in checkpoints.list_checkpoints()} | registry().reserved_names()
    default = presets.free_name(presets.default_name(model), taken)
    return jobs.JobSpec(settings["dataset"], model, training, name or default, autosave)


def current_job() -> str | None:
    """The session's job: from session state, else (once) from the link's `job=`."""
    reg = registry()
    if JOB_KEY not in st.session_state:
        raw = st.query_params.get("job")
        st.session_state[JOB_KEY] = raw if raw in reg else None
        if raw and raw not in reg:
            st.info("The training run in this link is no longer on the server (it finished long ago or the "
                    "server restarted). Start a new one below.", icon=":material/link:")
    job_id = st.session_state[JOB_KEY]
    if job_id is not None and job_id not in reg:
        st.session_state[JOB_KEY] = job_id = None
    return job_id


# ---------------------------------------------------------------- the job's live view


def progress_line(snap: jobs.JobSnapshot) -> None:
    bar, stop = st.columns([6, 1], vertical_alignment="bottom")
    if snap.status == "queued":
        ahead, at_once = snap.queue_position or 1, registry().max_running
        wait = f"about {duration_words(snap.wait_seconds)} to wait" if snap.wait_seconds else "estimating the wait"
        bar.progress(0.0, text=f"Waiting in line: {ahead} job{'s' if ahead > 1 else ''} to go before yours, "
                               f"{wait} ({'one trains' if at_once == 1 else f'{at_once} train'} at a time).")
    elif snap.status == "running" and snap.phase == "training":
        bar.progress(min(snap.fraction, 1.0), text=f"Epoch {min(snap.epoch + 1, snap.epochs)} of {snap.epochs} · "
                                                   f"{time_left_words(snap.seconds_left) or 'estimating time'} left")
    elif snap.phase != "finished":
        bar.progress(1.0, text="Training finished · measuring the model on the test digits…")
    elif snap.status == "done":
        bar.progress(1.0, text=f"Done: {snap.epochs} epoch{'s' if snap.epochs > 1 else ''} in {duration_words(snap.elapsed)}")
    elif snap.status == "stopped":
        bar.progress(min(snap.fraction, 1.0), text=f"Stopped after {snap.epoch} of {snap.epochs} epochs")
    else:
        bar.progress(min(snap.fraction, 1.0), text=f"Failed during epoch {snap.epoch + 1} of {snap.epochs}")
    stoppable = snap.status == "queued" or snap.phase == "training"
    if stop.button("Stop", key="train_stop", disabled=not stoppable, width="stretch"):
        if not registry().stop(snap.job_id, owner=session_owner()):  # others share it: only this session leaves
            st.session_state[JOB_KEY] = None
            st.session_state["train_left_shared"] = True
        st.rerun()


def shown_epochs(count: int, untrained: bool) -> list[int]:
    """Which of `count` recorded epochs (0: untrained) a row of pictures shows: the first, a middle one and
    the latest; the untrained model too when `untrained` (a prior's samples start as noise worth seeing)."""
    latest = count - 1
    first = 0 if untrained else 1
    return sorted({e for e in (first, 1, (latest + 1) // 2, latest) if first <= e <= latest}) or [latest]


def epoch_row_name(snap: jobs.JobSnapshot, e: int, latest: int) -> str:
    if e == 0:
        return "untrained"
    stopped_mid_epoch = bool(snap.history) and snap.history[-1].get("partial", False)
    return f"stopped in epoch {e}" if e == latest and stopped_mid_epoch else f"epoch {e}"


def picture_rows(snap: jobs.JobSnapshot, per_epoch: list[np.ndarray], first_row: tuple | None, untrained: bool) -> None:
    """Rows of digit pictures, each headed by its name: `first_row` (name, images), then `per_epoch`'s."""
    if not per_epoch:
        return
    latest = len(per_epoch) - 1
    rows = [first_row] if first_row else []
    rows += [(epoch_row_name(snap, e, latest), per_epoch[e]) for e in shown_epochs(len(per_epoch), untrained)]
    width = per_epoch[-1].shape[-1] + 4
    scale = max(1, round(RECON_WIDTH / (len(per_epoch[-1]) * width)))
    for label, images in rows:
        name_col, image_col = st.columns([1.3, 5], vertical_alignment="center")
        name_col.markdown(f"**{label}**")
        pictures.show(image_col, figures.tile_images(images, ncols=len(images), scale=1), scale=scale,
                      alt=f"{label}: a row of {len(images)} digits")


def reading_rows(snap: jobs.JobSnapshot, classes: list[str]) -> None:
    """The fixed test digits in a row, and under each the class the classifier reads in it and how sure it
    is, after the untrained model, the first, a middle and the latest epoch. A wrong reading is red, with ✗."""
    if snap.originals is None or not snap.readings:
        return
    widths = [1.3] + [1] * len(snap.originals)
    cells = st.columns(widths, vertical_alignment="center")[1:]
    scale = max(1, round(READING_DIGIT / snap.originals.shape[-1]))
    for k, (cell, image) in enumerate(zip(cells, snap.originals), 1):
        pictures.show(cell, figures.tile_images(image[None], ncols=1, pad=0, scale=1), scale=scale,
                      alt=f"test digit {k} of the {len(snap.originals)} the classifier reads below")
    latest = len(snap.readings) - 1
    for e in shown_epochs(len(snap.readings), untrained=True):
        reading = snap.readings[e]
        name_col, *cells = st.columns(widths, vertical_alignment="center")
        name_col.markdown(f"**{epoch_row_name(snap, e, latest)}**")
        for cell, read, sure, true in zip(cells, reading["classes"], reading["confidence"], snap.shown_labels):
            cell.markdown(reading_words(classes[read], float(sure), bool(read == true)))


def reading_words(name: str, sure: float, right: bool) -> str:
    """One reading under a digit: "**7** · 98%", red with ✗ when it is not the digit's class."""
    words = f"**{escape(name)}** · {sure:.0%}"
    return words if right else f":red[{words} ✗]"


def accuracy_figure(readings: list[dict]) -> go.Figure:
    """Test accuracy after each epoch (0: the untrained model, about chance)."""
    epochs = list(range(len(readings)))
    fig = go.Figure(go.Scatter(x=epochs, y=[r["accuracy"] for r in readings], mode="lines+markers",
                               name="test accuracy", line=dict(width=3), marker=dict(size=6),
                               hovertemplate="epoch %{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch",
                      yaxis=dict(title="test accuracy", tickformat=".0%", range=[0, 1.02]))
    fig.update_xaxes(tick0=0, dtick=max(1, math.ceil(len(readings) / 10)), range=[-0.5, len(readings) - 0.5])
    return fig


def metrics_row(metrics: dict, role: str) -> None:
    """The test metrics the registry scores this role by (kinds.ROLE_METRICS), as the Models page shows them."""
    shown = [m for m in kinds.ROLE_METRICS[role] if m.key in metrics]
    for col, metric in zip(st.columns(max(1, len(shown))), shown):
        col.metric(metric.header, metric.format.format(metrics[metric.key]))


def where_to_see(kind: kinds.ModelKind, name: str) -> str:
    """Where a saved model can be looked at: the exploring pages take plain autoencoders, the Style page
    conditional ones, and the Models page lists every kind with its test metrics."""
    if kind.is_plain_autoencoder:
        return f"It is now in the model list of every page. Open it on the [Latent map](./?model={name}) page."
    if kind.conditional:
        return f"Open it on the [Style](./style?model={name}) page."
    return "The [Models](./models) page lists it with its test metrics."


def save_form(snap: jobs.JobSnapshot) -> None:
    """Save under a name. A shared run is saved by each of its students: this session's names only."""
    mine = st.session_state.setdefault("train_saved", {}).setdefault(snap.job_id, [])
    for name in mine:
        st.success(f"Saved as **{name}**. {where_to_see(snap.spec.model.spec, name)}", icon=":material/save:")
    if mine or checkpoints.read_only():
        return
    with st.form("train_save_form", border=False):
        name_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
        name = name_col.text_input("Save as", value=snap.spec.checkpoint_name, key="train_save_name", max_chars=64,
                                   help="Letters, digits, '-' and '_' only")
        submitted = button_col.form_submit_button("Save", type="primary", key="train_save", width="stretch")
    if submitted:
        try:
            registry().save(snap.job_id, name.strip())
        except ExplorerError as error:
            st.error(str(error))
            return
        mine.append(name.strip())
        # resources.checkpoint_names() reads the folder on every call: nothing cached to clear.
        st.rerun()


def without_repeated_total(history: list[dict]) -> list[dict]:
    """The history without the "total" term where it always equals another term (an AE's total is its
    reconstruction loss, a classifier's its cross-entropy): two curves drawn on top of each other read as one."""
    def repeated(split: str) -> bool:
        rows = [row[split] for row in history if row.get(split)]
        return bool(rows) and any(all(r.get(term) == r.get("total") for r in rows)
                                  for term in rows[0] if term != "total")

    drop = {split for split in ("train", "test") if repeated(split)}
    return [{**row, **{split: {k: v for k, v in row[split].items() if k != "total"}
                       for split in drop if row.get(split)}} for row in history]


def loss_figure(history: list[dict]) -> go.Figure:
    fig = figures.loss_curves(without_repeated_total(history))
    fig.update_xaxes(tick0=1, dtick=max(1, math.ceil(len(history) / 10)))  # whole epochs only
    return fig


def loss_chart(snap: jobs.JobSnapshot) -> None:
    if snap.history:
        fig = shared_loss_figure(snap.job_id, len(snap.history), snap.history)
        st.plotly_chart(fig, key="train_loss", width="stretch", config={"displayModeBar": False},
                        alt=figure_text.loss_summary(without_repeated_total(snap.history)))
    else:
        st.info("The loss curves start after the first epoch.", icon=":material/hourglass_top:")


def autoencoder_view(snap: jobs.JobSnapshot, left, right) -> None:
    """Reconstructions of the fixed test digits and the latent map of the subset's codes, every epoch."""
    conditional = snap.spec.model.spec.conditional
    with left:
        st.subheader("Loss")
        loss_chart(snap)
        st.subheader("Reconstructions")
        st.caption("Test digits the model never trains on, and what it makes of them"
                   + (", each decoded with its own class." if conditional else "."))
        picture_rows(snap, snap.reconstructions, ("original", snap.originals), untrained=False)
    with right:
        st.subheader("Latent space")
        if snap.latent_frames:
            settled = snap.phase == "finished"
            epoch = len(snap.latent_frames) - 1
            fig = shared_replay_figure(snap.job_id, epoch, settled, snap)
            st.plotly_chart(fig, key="train_latent_map", width="stretch", config={"displayModeBar": False},
                            alt=figure_text.replay_summary(snap.latent_frames[: epoch + 1], snap.latent_labels,
                                                       resources.dataset(snap.spec.dataset).classes, animate=settled))
            st.caption(f"{len(snap.latent_labels)} test digits. "
                       + ("Press ▶ Play to replay training from the untrained model (epoch 0), or drag the slider."
                          if settled and epoch > 0 else f"After epoch {epoch}; updates every epoch.")
                       + " Each epoch is projected on its own two main axes, turned to line up with the last one.")
            if conditional:
                st.caption("The decoder is told each digit's class, so the code need not hold it: expect the "
                           "classes to mix more than in a plain VAE's map. What the code keeps is the style.")


def classifier_view(snap: jobs.JobSnapshot, left, right) -> None:
    """The cross-entropy, the test accuracy per epoch, and what it reads in the fixed test digits."""
    with left:
        st.subheader("Loss (cross-entropy)")
        loss_chart(snap)
    with right:
        st.subheader("Test accuracy")
        if snap.readings:
            st.plotly_chart(accuracy_figure(snap.readings), key="train_accuracy", width="stretch",
                            config={"displayModeBar": False},
                            alt=figure_text.accuracy_summary([r["accuracy"] for r in snap.readings]))
            st.caption(f"Share of the {len(resources.dataset(snap.spec.dataset).x_test)} test digits read as their "
                       "own class. Epoch 0 is the untrained model: about one in ten, chance.")
    st.subheader("What it reads")
    st.caption("Test digits it never trains on; under each, the class it reads and how sure it is (red ✗: wrong).")
    reading_rows(snap, resources.dataset(snap.spec.dataset).classes)


def prior_view(snap: jobs.JobSnapshot, left, right) -> None:
    """The noise-prediction error, and seeded samples drawn through the base's decoder every epoch."""
    base = escape(snap.spec.model.base)  # a checkpoint name: shown as it is, never as Markdown
    with left:
        st.subheader("Loss (noise-prediction error)")
        loss_chart(snap)
        st.caption(f"How far the noise the prior predicts is from the noise that was added to {base}'s codes "
                   f"(squared error summed over the {snap.spec.model.latent_dim} numbers of a code). Lower is better.")
    with right:
        st.subheader(f"Samples, drawn by {base}'s decoder")
        st.caption("The same random noise every epoch, turned into codes by the prior and decoded by the base: "
                   "watch blobs become digits.")
        picture_rows(snap, snap.samples, None, untrained=True)


LIVE_VIEWS = {"autoencoder": autoencoder_view, "classifier": classifier_view, "prior": prior_view}


def job_view(job_id: str, refresh: float | None) -> None:
    """Everything about one job; run as a fragment that refreshes itself every `refresh` seconds while the
    job is active (None: it is not)."""
    snap = watched(job_id)
    if refresh is not None and snap.phase == "finished":
        st.rerun()  # the whole page: stops the refresh timer, unlocks the controls, shows the save form
    if refresh is not None and refresh != refresh_seconds(snap.status, snap.sharers):
        st.rerun()  # queued -> training, or more students joined: the whole page restarts the timer at its new pace
    progress_line(snap)
    if snap.sharers > 1:
        st.info(f"{snap.sharers} students started exactly these settings, so you share one training run: the "
                "same seed gives the same model. Each of you saves it under your own name.", icon=":material/group:")
    if snap.status == "failed":
        st.error(snap.error, icon=":material/error:")
    role = snap.spec.model.spec.role
    LIVE_VIEWS[role](snap, *st.columns(2, gap="large"))
    if snap.savable:
        st.subheader("How good is it? (test digits)")
        metrics_row(snap.metrics or {}, role)
        kl = (snap.history[-1].get("test") or {}).get("kl")
        if kl is not None and kl < 0.5:
            st.info(f"The KL term ended near zero ({kl:.2f} nats): the codes carry almost no information about "
                    "the digit (*posterior collapse*), so every reconstruction looks alike. Try a lower β, "
                    "more epochs or the MNIST dataset.", icon=":material/lightbulb:")
        save_form(snap)


# ---------------------------------------------------------------- β ladder


@st.cache_data(max_entries=16, show_spinner=False)
def _loss_terms(name: str, version: int) -> dict:
    """Test reconstruction loss and KL of a checkpoint (seeded one-sample estimate)."""
    return evaluate_loss(resources.checkpoint(name).model, resources.dataset_of(name).x_test)


@st.cache_data(max_entries=16, show_spinner=False)
def _active_units(name: str, version: int) -> int:
    model = resources.checkpoint(name).model
    return generate.active_units(generate.kl_per_dimension(model, resources.dataset_of(name).x_test))


def ladder_section(settings: dict) -> None:
    st.subheader("β ladder: what the KL weight does")
    st.markdown(
        "Three VAEs, identical except for β, the weight of the KL term. **Look for**: as β rises, the KL "
        "falls (each code keeps less information about its digit) and the reconstruction loss rises, so the "
        "digits come out blurrier. The model also switches latent dimensions off, so the map's two axes "
        "explain more of what is left: compare their % of variance."
    )
    reg, names = registry(), set(resources.checkpoint_names())
    rungs = [(beta, presets.ladder_name(beta)) for beta in presets.LADDER_BETAS]
    ladder_jobs = st.session_state.setdefault("train_ladder_jobs", {})  # name -> the job this session started
    training = ladder_training(reg, rungs, names)
    missing = [(beta, name) for beta, name in rungs if name not in names and name not in training]
    active = list(training.values())
    if missing and not checkpoints.read_only():
        if st.button(f"Train the {len(missing)} missing β model{'s' if len(missing) != 1 else ''}", key="train_ladder"):
            try:
                for beta, name in missing:
                    ladder_jobs[name] = reg.submit(job_spec(settings, kind=presets.LADDER_KIND, beta=beta, name=name,
                                                            autosave=True))
            except ExplorerError as error:
                st.error(str(error))
            else:
                st.rerun()
        st.caption("They use your settings above with an MLP VAE, queue behind other training runs, and are saved as "
                   + ", ".join(name for _, name in rungs) + " when done.")  # code in a caption is too faint to read
    elif active:
        st.caption("Training the missing models (they queue behind other runs); each appears here when it is saved.")
    else:
        st.caption("Colours are digit classes. The models are the checkpoints "
                   + ", ".join(name for _, name in rungs)
                   + "; to retrain one, delete its folder from the checkpoints folder and press the button that appears.")
    mine = [job_id for job_id in ladder_jobs.values() if job_id in active]
    if mine and st.button("Stop training the β ladder", key="train_ladder_stop"):  # only this session's runs
        for job_id in mine:
            reg.stop(job_id)
        st.rerun()
    for name, job_id in list(ladder_jobs.items()):
        if name in names or job_id not in reg:
            del ladder_jobs[name]  # saved (by this run or another), or long gone: nothing left to report
            continue
        snap = reg.snapshot(job_id, since=job_state.STATUS_ONLY)
        if snap.status == "failed" or (snap.phase == "finished" and snap.error):  # e.g. the autosave failed
            st.error(f"`{name}`: {snap.error}", icon=":material/error:")
    st.fragment(run_every=2.0 if active else None)(ladder_view)(rungs, bool(active))


def ladder_training(reg, rungs: list[tuple[float, str]], names: set[str]) -> dict[str, str]:
    """The ladder's models being trained: name -> job. Only a missing model is trained (the button offers only
    those), so a saved one is not asked about: on Ray each question is a call to the coordinator, and a
    Train page asked six per rerun while a class watched its runs."""
    return {name: job for _, name in rungs if name not in names and (job := reg.active_job_for(name))}


def ladder_view(rungs: list[tuple[float, str]], watching: bool) -> None:
    reg, names = registry(), set(resources.checkpoint_names())
    active = ladder_training(reg, rungs, names)
    if watching and not active:
        st.rerun()
    columns = st.columns(len(rungs))
    points, configs = [], []
    for (beta, name), col in zip(rungs, columns):
        with col:
            if name in names:
                try:
                    ckpt = resources.checkpoint(name)
                    ds = resources.dataset_of(name)
                    lmap = resources.latent_map(name, "test", "pca")
                except ExplorerError as error:
                    st.error(str(error))
                    continue
                labels = ds.y_test.numpy()
                base = figures.digit_points(lmap.xy, labels, np.arange(len(labels)), ds.classes, colorbar=False)
                layout = figures.map_layout(lmap.axis_titles, title=f"β = {ckpt.config.beta:g}", height=380,
                                            dragmode="zoom")
                latent_map(base, layout, key=f"train_ladder_{name}", selectable=False, modebar=False,
                           alt=figure_text.map_summary([base], layout, subject=f"PCA map of {name}'s codes of the test "
                                                   "digits"))
                configs.append(ckpt.info)
                if ckpt.config.is_variational:
                    terms = _loss_terms(name, resources.version(name))
                    active_units = _active_units(name, resources.version(name))
                    st.caption(f"KL {terms['kl']:.1f} nats · {active_units} of {ckpt.config.latent_dim} "
                               "latent units in use")
                    points.append({"beta": ckpt.config.beta, "recon": terms["recon"], "kl": terms["kl"], "name": name})
                else:
                    st.warning(f"`{name}` is not a VAE, so it has no KL term.")
            elif name in active:
                snap = reg.snapshot(active[name], since=job_state.STATUS_ONLY)
                text = (f"waiting in line ({snap.queue_position})" if snap.status == "queued"
                        else f"epoch {min(snap.epoch + 1, snap.epochs)} of {snap.epochs}")
                st.progress(min(snap.fraction, 1.0), text=f"β = {beta:g}: {text}")
            else:
                st.info(f"β = {beta:g}: not trained yet (`{name}`).")
    if differences := presets.ladder_differences(configs):
        st.warning("These models differ in more than β (" + escape(", ".join(differences)) + "), so not every difference "
                   "below is β's doing. Retrain them together to compare like with like.", icon=":material/warning:")
    if points:
        fig = shared_tradeoff_figure(tuple(tuple(sorted(p.items())) for p in points))
        st.plotly_chart(fig, key="train_tradeoff", width="stretch", config={"displayModeBar": False},
                        alt=figure_text.tradeoff_summary(points))


@st.cache_resource(max_entries=8, show_spinner=False)
def shared_tradeoff_figure(points: tuple[tuple, ...]) -> go.Figure:
    """The β ladder's trade-off, built once for every session (50 ms a rerun otherwise): `points` as
    sorted item tuples, so the same models give the same key."""
    fig = figures.tradeoff_figure([dict(p) for p in points])
    fig.update_layout(yaxis_title="reconstruction loss (nats per image)")
    return FrozenFigure(fig)


# ---------------------------------------------------------------- page


def active_elsewhere(reg) -> None:
    """Start was refused because this session already has a run (e.g. started before a reload, from a
    link): offer to stop that one, or to watch it."""
    other = st.session_state.get(CLASH_KEY)
    if other is None or other not in reg or not reg.snapshot(other, since=job_state.STATUS_ONLY).active:
        st.session_state.pop(CLASH_KEY, None)
        return
    st.warning("You already have a training run going: one at a time per student. Stop it to start this one, or "
               "watch it.", icon=":material/warning:")
    stop_col, watch_col, _ = st.columns([1, 1, 3])
    if stop_col.button("Stop my other run", key="train_stop_other"):
        reg.stop(other, owner=session_owner())
        st.session_state.pop(CLASH_KEY)
        st.rerun()
    if watch_col.button("Watch it", key="train_watch_other"):
        st.session_state[JOB_KEY] = st.session_state.pop(CLASH_KEY)
        st.rerun()


def render() -> None:
    st.title("Train")
    st.markdown(
        "Pick a model and press **Start training**. **Look for**: on the latent map, digits of one class "
        "gathering into clusters epoch by epoch; in the reconstructions, grey blobs turning into digits. "
        "The digit classifier shows what it reads instead, and a diffusion prior the digits it dreams up "
        "through its base autoencoder's decoder."
    )
    try:
        reg = registry()
    except ExplorerError as error:  # e.g. the Ray cluster cannot be joined: nothing here works without jobs
        st.error(str(error), icon=":material/error:")
        return
    job_id = current_job()
    snap = reg.snapshot(job_id, since=job_state.STATUS_ONLY) if job_id else None  # the view fetches the epochs
    busy = snap is not None and snap.phase != "finished"
    if st.session_state.pop("train_left_shared", False):
        st.info("You left the shared run; it goes on for the others.", icon=":material/logout:")
    if checkpoints.read_only():
        st.info("This server is read-only (`LATENT_LAB_READ_ONLY`): training and saving are turned off. The β "
                "ladder below shows the models it has.", icon=":material/lock:")
    settings = training_controls(disabled=busy or checkpoints.read_only())
    if settings["start"] and not checkpoints.read_only():
        try:
            job_id = reg.submit(job_spec(settings), owner=session_owner())
        except ActiveJobExists as clash:
            st.session_state[CLASH_KEY] = clash.job_id
        except ExplorerError as error:
            st.error(str(error))
        else:
            st.session_state[JOB_KEY] = job_id
            for key in ("train_save_name",):
                st.session_state.pop(key, None)
            url_state.write({"job": job_id})
            st.rerun()  # lock the controls while the job runs
    active_elsewhere(reg)
    url_state.write({"job": job_id})
    if job_id:
        refresh = refresh_seconds(snap.status, snap.sharers) if busy else None
        st.fragment(run_every=refresh)(job_view)(job_id, refresh)
    st.divider()
    ladder_section(settings)
