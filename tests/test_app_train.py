"""The Train page under AppTest: renders, trains a tiny run to the end, saves it (or refuses a bad name).

AppTest cannot run a fragment's `run_every`, so the tests wait for the job to end, then rerun the page.
"""

import json

import pytest
from chart_json import array, chart, specs

from explorer import checkpoints, kinds, presets
from explorer.errors import ExplorerError
from ui import resources

PAGE = "train_page"  # the conftest fixture `app` runs this page
LADDER = ("vae_beta_0p5", "vae_beta_1", "vae_beta_4")


def finished(app, timeout=120.0):
    """Wait for the page's job to end, then rerun the page as the fragment's timer would: the save form shows."""
    from ui import train_page

    assert train_page.registry().wait(app.query_params["job"], timeout=timeout).phase == "finished"
    app.run()
    assert not app.exception, app.exception
    assert any(s.value.startswith("How good") for s in app.subheader), [e.value for e in app.error]
    return app


def ladder_jobs_ended(timeout=180.0) -> None:
    """Wait for the β ladder's training jobs (queued or running) to end: saved, or failed."""
    from ui import train_page

    registry = train_page.registry()
    for name in LADDER:
        job_id = registry.active_job_for(name)
        if job_id is not None:
            registry.wait(job_id, timeout=timeout)


def chart_title(chart) -> str | None:
    layout = json.loads(chart.proto.spec)["layout"]
    return (layout.get("title") or {}).get("text")


def start_run(app, kind: str | None = None, base: str | None = None, **sliders) -> str:
    """Start a run of `kind` (default: the page's; a prior of `base`) on the 8×8 digits with these slider values
    (by key suffix); returns the job id."""
    app.run()
    app.selectbox(key="train_dataset").set_value("digits")
    if kind:
        app.selectbox(key="train_kind").set_value(kind).run()
    if base:
        app.selectbox(key="train_base").set_value(base).run()
    for name, value in sliders.items():
        widget = app.select_slider if name in ("latent", "batch") else app.slider
        widget(key=f"train_{name}").set_value(value)
    app.button(key="train_start").click().run()
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    return app.query_params["job"]


def start_quick_run(app):
    start_run(app, latent=4, epochs=1)
    return finished(app)


def start_long_run(app) -> str:
    """50 epochs with batches of 32: long enough to look at while it trains."""
    return start_run(app, epochs=50, batch=32)


def test_renders_without_exception_with_defaults(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Train"
    assert app.selectbox(key="train_dataset").value == "mnist5k"
    assert app.selectbox(key="train_kind").value == "vae"
    assert app.select_slider(key="train_beta").value == 1.0
    assert not app.button(key="train_start").disabled
    assert "job" not in app.query_params


def test_a_dae_is_trained_on_the_chosen_noise(app):
    from ui import train_page

    app.run()
    assert "train_noise_kind" not in [s.key for s in app.selectbox]  # a VAE has no training noise
    app.selectbox(key="train_kind").set_value("dae").run()
    app.selectbox(key="train_noise_kind").set_value("mask").run()
    app.slider(key="train_noise").set_value(0.5).run()
    settings = {**presets.DEFAULTS, "kind": "dae", "noise_kind": "mask", "noise": 0.5}
    model, _ = presets.page_configs(settings, (1, 28, 28))
    assert (model.kind, model.noise, model.noise_level) == ("dae", "mask", 0.5)
    start_run(app, epochs=1)  # on the digits: the job's model is built from what the page shows
    snap = train_page.registry().snapshot(app.query_params["job"])
    assert (snap.spec.model.noise, snap.spec.model.noise_level) == ("mask", 0.5)


def test_a_quick_run_shows_metrics_and_a_save_form_and_keeps_the_job_in_the_url(app):
    start_quick_run(app)
    assert [m.label for m in app.metric] == [m.header for m in kinds.ROLE_METRICS["autoencoder"]]
    assert app.text_input(key="train_save_name").value == "my_vae_4"
    assert len(app.query_params["job"]) == 12
    assert not app.button(key="train_start").disabled  # the controls unlock when the job is done


def first_epoch_done(job_id: str, timeout: float = 120.0) -> None:
    """Wait until the job has completed an epoch: a run stopped before any has nothing to save."""
    import time

    from ui import train_page

    deadline = time.monotonic() + timeout
    while train_page.registry().snapshot(job_id).epoch < 1:
        assert time.monotonic() < deadline, "the job completed no epoch in time"
        time.sleep(0.1)


def test_stop_ends_the_run_early_and_it_can_still_be_saved(app):
    start_long_run(app)
    assert app.button(key="train_start").disabled and not app.button(key="train_stop").disabled
    first_epoch_done(app.query_params["job"])
    app.button(key="train_stop").click().run()
    finished(app)
    assert not app.exception
    assert app.get("progress")[0].proto.text.startswith("Stopped after")
    assert app.text_input(key="train_save_name").value.startswith("my_vae_16")


def checkpoint_folders(root) -> list[str]:
    """The folders a listing can show: not the hidden ones, such as a running job's staging area (.jobs), which
    comes and goes with the runs of this and earlier tests."""
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("bad", ["../x", "a/b", "my model"])
def test_saving_under_a_bad_name_shows_an_error_and_writes_nothing(app, app_env, bad):
    before = checkpoint_folders(app_env)
    start_quick_run(app)
    app.text_input(key="train_save_name").set_value(bad)
    app.button(key="train_save").click().run()
    assert not app.exception
    assert any("not a valid checkpoint name" in e.value for e in app.error)
    assert checkpoint_folders(app_env) == before
    assert not (app_env.parent / "x").exists()


def test_saving_under_a_good_name_creates_a_listed_checkpoint(app, app_env):
    start_quick_run(app)
    app.text_input(key="train_save_name").set_value("apptest_model")
    app.button(key="train_save").click().run()
    assert not app.exception and not app.error
    assert (app_env / "apptest_model" / checkpoints.CONFIG_FILE).is_file()
    assert "apptest_model" in [item.name for item in checkpoints.list_checkpoints()]
    assert any("Saved as **apptest_model**" in s.value for s in app.success)

    # The same name again (from a new run) is refused.
    app.button(key="train_start").click().run()
    finished(app)
    app.text_input(key="train_save_name").set_value("apptest_model")
    app.button(key="train_save").click().run()
    assert any("already exists" in e.value for e in app.error)


def test_a_link_to_a_vanished_job_says_so(app):
    app.query_params["job"] = "0123456789ab"
    app.run()
    assert not app.exception
    assert any("no longer on the server" in i.value for i in app.info)
    assert "job" not in app.query_params


@pytest.fixture
def one_job_at_a_time(monkeypatch):
    """A fresh server-wide registry that trains one job at a time, whatever this machine's cores."""
    from ui import train_page

    monkeypatch.setenv("LATENT_LAB_MAX_JOBS", "1")
    train_page.registry.clear()
    yield train_page.registry()
    for job_id in train_page.registry().job_ids():
        train_page.registry().stop(job_id)
    train_page.registry.clear()


def test_a_second_run_waits_in_line_and_says_where(page_app, one_job_at_a_time):
    first, second = page_app("train_page"), page_app("train_page")
    start_long_run(first)
    start_run(second, epochs=49, batch=32)  # other settings: its own run
    [bar] = second.get("progress")
    assert bar.proto.text.startswith("Waiting in line: 1 job to go before yours, ")
    assert "(one trains at a time)" in bar.proto.text
    assert not any("students started exactly" in i.value for i in second.info)  # not shared
    assert not second.button(key="train_stop").disabled  # a queued job can be withdrawn
    second.button(key="train_stop").click().run()
    assert not second.exception


def test_identical_settings_share_one_run_and_each_student_saves_it(page_app, app_env, one_job_at_a_time):
    alice, bob = page_app("train_page"), page_app("train_page")
    first = start_run(alice, latent=4, epochs=2)
    assert start_run(bob, latent=4, epochs=2) == first  # the page's settings always seed: same model
    assert any("2 students started exactly these settings" in i.value for i in bob.info)
    finished(alice)
    finished(bob)
    for app, name in ((alice, "alice_model"), (bob, "bob_model")):
        app.text_input(key="train_save_name").set_value(name)
        app.button(key="train_save").click().run()
        assert not app.error and (app_env / name / checkpoints.CONFIG_FILE).is_file()


def test_a_second_start_by_the_same_student_offers_to_stop_the_first(page_app, one_job_at_a_time):
    first_tab, second_tab = page_app("train_page"), page_app("train_page")
    for tab in (first_tab, second_tab):  # one browser: the page reads the same owner id from its cookie
        tab.session_state["train_owner"] = "one-student"
    running = start_long_run(first_tab)
    with pytest.raises(KeyError):  # refused: no job in its link
        start_run(second_tab, epochs=3)
    assert any("You already have a training run going" in w.value for w in second_tab.warning)
    assert "job" not in second_tab.query_params
    second_tab.button(key="train_stop_other").click().run()
    assert one_job_at_a_time.wait(running, timeout=120).status == "stopped"
    second_tab.button(key="train_start").click().run()
    assert second_tab.query_params["job"] not in (None, running) and not second_tab.warning


def test_reloading_the_page_reattaches_to_a_running_job(app, page_app, one_job_at_a_time):
    job_id = start_long_run(app)
    reloaded = page_app("train_page")  # a new session with the same link, as after a reload
    reloaded.query_params["job"] = job_id
    reloaded.run()
    assert not reloaded.exception
    [bar] = reloaded.get("progress")
    assert bar.proto.text.startswith(("Epoch", "Waiting"))
    assert reloaded.button(key="train_start").disabled  # the controls stay locked while it trains
    reloaded.button(key="train_stop").click().run()  # and it can be stopped from there
    assert one_job_at_a_time.wait(job_id, timeout=60).status == "stopped"


def test_a_link_with_the_job_reattaches_to_it(app, page_app):
    start_quick_run(app)
    job_id = app.query_params["job"]
    reloaded = page_app("train_page")  # a new session, as after a reload or on another computer
    reloaded.query_params["job"] = job_id
    reloaded.run()
    assert not reloaded.exception
    assert any(s.value.startswith("How good") for s in reloaded.subheader)
    assert reloaded.query_params["job"] == job_id




def test_the_shipped_beta_ladder_shows_at_once_with_the_kl_falling_as_beta_rises(app):
    from test_app_webgl import MAX_WEBGL_CHARTS, webgl_charts

    from explorer import checkpoints as ckpts
    from explorer import data
    from explorer.train import evaluate_loss

    app.run()
    assert not app.exception
    assert "train_ladder" not in [button.key for button in app.button]
    titles = [(spec["layout"].get("title") or {}).get("text") for spec in specs(app)]  # charts and maps
    assert sorted(t for t in titles if t and t.startswith("β")) == ["β = 0.5", "β = 1", "β = 4"]
    assert not app.warning  # trained alike: nothing but β differs
    [tradeoff] = [json.loads(c.proto.spec) for c in app.get("plotly_chart") if chart_title(c) == "Rate–distortion trade-off"]
    x_test = data.load_dataset("mnist5k").x_test
    kl = [evaluate_loss(ckpts.load(ckpts.DEFAULT_DIR / name).model, x_test)["kl"] for name in LADDER]
    assert kl[0] > kl[1] > kl[2] > 1.0  # more β, less information in the code; none collapsed
    plotted = sorted(v for trace in tradeoff["data"] for v in (trace.get("x") or []) if isinstance(v, float))
    assert plotted == pytest.approx(sorted(kl), rel=1e-4)
    assert webgl_charts(app) <= MAX_WEBGL_CHARTS
    units = [int(c.value.split(" of ")[0].split("· ")[1]) for c in app.caption if "latent units in use" in c.value]
    assert len(units) == 3 and units[0] > units[2]  # a higher β switches dimensions off


def test_the_page_does_not_ask_the_job_backend_about_saved_ladder_models(app, monkeypatch):
    """On Ray each question is a call to the coordinator actor: a Train page asked six per rerun while a class
    watched its runs. A saved model is not being trained by the ladder (it trains only missing ones)."""
    from ui import train_page

    registry = train_page.registry()
    asked = []
    original = type(registry).active_job_for
    monkeypatch.setattr(type(registry), "active_job_for", lambda self, name: asked.append(name) or original(self, name))
    app.run()
    assert not app.exception
    assert sorted(t for t in (chart_title(c) for c in app.get("plotly_chart")) if t) == ["Rate–distortion trade-off"]
    assert not set(asked) & set(LADDER), asked


@pytest.fixture
def shipped_ladder_back(app_env):
    """The test may delete or retrain the ladder's checkpoints; put the shipped ones back after it,
    for the pages (and screenshots) of later tests."""
    import shutil

    from conftest import ROOT

    yield
    for name in LADDER:
        shutil.rmtree(app_env / name, ignore_errors=True)
        shutil.copytree(ROOT / "checkpoints" / name, app_env / name)


def test_a_failed_ladder_model_says_why(app, app_env, monkeypatch, shipped_ladder_back):
    import shutil

    from explorer import job_worker

    monkeypatch.setenv(job_worker.TEST_HOOK_ENV, "raise")  # the job's worker raises after its first epoch
    shutil.rmtree(app_env / "vae_beta_4")
    app.run()
    assert app.button(key="train_ladder").label == "Train the 1 missing β model"
    app.button(key="train_ladder").click().run()
    ladder_jobs_ended()
    app.run()
    assert any("vae_beta_4" in e.value and "out of memory" in e.value for e in app.error), [e.value for e in app.error]
    assert not app.exception
    assert app.button(key="train_ladder").label == "Train the 1 missing β model"  # the slot is free again


def test_the_beta_ladder_trains_missing_models_and_compares_them(app, app_env, shipped_ladder_back):
    import shutil

    for name in LADDER:
        if (app_env / name).exists():
            shutil.rmtree(app_env / name)
    app.run()
    app.selectbox(key="train_dataset").set_value("digits")
    app.slider(key="train_epochs").set_value(1)
    assert app.button(key="train_ladder").label == "Train the 3 missing β models"
    app.button(key="train_ladder").click().run()
    assert not app.exception
    ladder_jobs_ended()
    assert all((app_env / name).is_dir() for name in LADDER)  # saved before their jobs counted as ended
    app.run()
    assert not app.exception
    assert "train_ladder" not in [button.key for button in app.button]  # nothing left to train
    titles = [(spec["layout"].get("title") or {}).get("text") for spec in specs(app)]  # charts and maps
    assert sorted(t for t in titles if t and t.startswith("β")) == ["β = 0.5", "β = 1", "β = 4"]
    assert "Rate–distortion trade-off" in titles
    assert not app.warning  # the three were trained together, alike


# ---------------------------------------------------------------- every kind, with the live view of its role


@pytest.fixture
def saved(app_env):
    """Names saved by the test, removed after it: a classifier of the 8×8 digits or a prior of a test base would
    otherwise stay in the checkpoints folder that later test files share."""
    import shutil

    names = []
    yield names
    for name in names:
        shutil.rmtree(app_env / name, ignore_errors=True)


def saved_as(app, app_env, saved: list, name: str) -> dict:
    """Save the finished run under `name`; the checkpoint's config.json, as the Models page reads it."""
    saved.append(name)
    app.text_input(key="train_save_name").set_value(name)
    app.button(key="train_save").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert name in [item.name for item in checkpoints.list_checkpoints()]
    return json.loads((app_env / name / checkpoints.CONFIG_FILE).read_text())


def picture_row_names(app) -> list[str]:
    return [m.value.strip("*") for m in app.markdown if m.value.startswith("**") and m.value.endswith("**")]


def test_the_page_offers_every_registered_kind(app):
    app.run()
    assert app.selectbox(key="train_kind").options == [kinds.label(name) for name in kinds.KINDS]


def test_a_conditional_vae_trains_with_reconstructions_and_its_latent_map(app, app_env, saved):
    from ui import train_page

    start_run(app, kind="cvae", latent=4, epochs=2)
    finished(app)
    snap = train_page.registry().snapshot(app.query_params["job"])
    assert len(snap.reconstructions) == len(snap.latent_frames) == 3 and not snap.readings and not snap.samples
    assert "Latent space" in [s.value for s in app.subheader]
    replay = chart(app, "train_latent_map")
    assert sum(len(array(trace["x"])) for trace in replay["data"]) == len(snap.latent_labels)
    assert picture_row_names(app) == ["original", "epoch 1", "epoch 2"]
    assert any("decoded with its own class" in c.value for c in app.caption)
    assert any("The decoder is told each digit's class" in c.value for c in app.caption)
    assert [m.label for m in app.metric] == [m.header for m in kinds.ROLE_METRICS["autoencoder"]]
    config = saved_as(app, app_env, saved, "apptest_cvae")
    assert (config["model"]["kind"], config["model"]["latent_dim"], config["model"]["num_classes"]) == ("cvae", 4, 10)
    assert any("[Style](./style?model=apptest_cvae)" in s.value for s in app.success)


def test_a_classifier_trains_with_its_readings_and_test_accuracy_and_no_code(app, app_env, saved):
    from ui import train_page

    app.run()
    app.selectbox(key="train_kind").set_value("classifier").run()
    assert "train_latent" not in [s.key for s in app.select_slider]  # it has no code to size
    start_run(app, kind="classifier", epochs=2)
    finished(app)
    snap = train_page.registry().snapshot(app.query_params["job"])
    assert not snap.latent_frames and all(r is None for r in snap.reconstructions)
    titles = [s.value for s in app.subheader]
    assert "Test accuracy" in titles and "What it reads" in titles and "Latent space" not in titles
    [accuracy] = [json.loads(c.proto.spec) for c in app.get("plotly_chart")
                  if json.loads(c.proto.spec)["layout"]["yaxis"].get("title", {}).get("text") == "test accuracy"]
    assert accuracy["data"][0]["y"] == pytest.approx([r["accuracy"] for r in snap.readings])
    assert len(accuracy["data"][0]["y"]) == 3  # untrained, epoch 1, epoch 2
    assert picture_row_names(app) == ["untrained", "epoch 1", "epoch 2"]
    cells = [m.value for m in app.markdown if "%" in m.value and m.value.startswith(("**", ":red["))]
    latest = snap.readings[-1]
    assert len(cells) == 3 * 8 and cells[-8:] == [f"**{c}** · {p:.0%}" if c == t else f":red[**{c}** · {p:.0%} ✗]"
                                                  for c, p, t in zip(latest["classes"], latest["confidence"],
                                                                     snap.shown_labels)]
    assert [m.label for m in app.metric] == ["accuracy ↑", "cross-entropy ↓"]
    assert app.metric[0].value == f"{snap.metrics['accuracy']:.1%}"
    assert app.text_input(key="train_save_name").value == "my_classifier"
    config = saved_as(app, app_env, saved, "apptest_judge")
    assert config["model"]["kind"] == "classifier" and config["metrics"] == snap.metrics
    assert "apptest_judge" not in resources.judge_names()  # it reads 8×8 digits: no page judges MNIST with it
    assert any("[Models](./models)" in s.value for s in app.success)


@pytest.fixture
def shipped_only(app_env, tmp_path, monkeypatch):
    """A checkpoints folder with the shipped models alone (none of the digits models other tests saved), for
    this process only: the environment stays, so a job process started meanwhile still finds app_env's folder."""
    import shutil

    from conftest import ROOT

    root = tmp_path / "checkpoints"
    shutil.copytree(ROOT / "checkpoints", root, ignore=shutil.ignore_patterns(".*", "*.sh"))
    monkeypatch.setattr(checkpoints, "DEFAULT_DIR", root)
    return root


def test_a_prior_needs_a_saved_autoencoder_of_its_dataset(app, shipped_only):
    app.run()
    app.selectbox(key="train_kind").set_value("latent_diffusion").run()
    base = app.selectbox(key="train_base")
    assert base.value == "ae_32"  # the default, on MNIST
    assert "vae_32" in base.options and not {"cvae_16", "digit_judge", "diffusion_ae_32"} & set(base.options)
    app.selectbox(key="train_dataset").set_value("digits").run()  # no shipped model was trained on the digits
    assert not app.exception
    assert "train_base" not in [s.key for s in app.selectbox]
    assert any("No saved autoencoder was trained on digits" in w.value for w in app.warning)
    assert app.button(key="train_start").disabled


def test_a_prior_trains_on_its_base_codes_and_shows_samples_from_untrained_to_trained(app, app_env, digits_model,
                                                                                      saved):
    from ui import train_page

    start_run(app, kind="latent_diffusion", base=digits_model, epochs=2)
    finished(app)
    snap = train_page.registry().snapshot(app.query_params["job"])
    assert (snap.spec.model.base, snap.spec.model.latent_dim) == (digits_model, 2)  # the base's code size
    assert len(snap.samples) == 3 and snap.samples[0].shape == (8, 1, 8, 8) and not snap.latent_frames
    assert picture_row_names(app) == ["untrained", "epoch 1", "epoch 2"]
    assert f"Samples, drawn by {digits_model}'s decoder" in [s.value for s in app.subheader]
    assert [m.label for m in app.metric] == ["noise error ↓"]
    assert app.text_input(key="train_save_name").value == f"my_latent_diffusion_{digits_model}"
    config = saved_as(app, app_env, saved, "apptest_prior")
    assert (config["model"]["kind"], config["model"]["base"]) == ("latent_diffusion", digits_model)


def test_a_prior_whose_base_vanished_before_start_says_so(app, app_env, digits_model):
    import shutil

    app.run()
    app.selectbox(key="train_dataset").set_value("digits")
    app.selectbox(key="train_kind").set_value("latent_diffusion").run()
    shutil.copytree(app_env / digits_model, app_env / "gone_base")
    app.run()
    app.selectbox(key="train_base").set_value("gone_base").run()
    shutil.rmtree(app_env / "gone_base")  # deleted by someone else before Start
    app.button(key="train_start").click().run()
    assert not app.exception
    assert "job" not in app.query_params
    assert any("'gone_base' can no longer be used" in w.value for w in app.warning)
    assert app.selectbox(key="train_base").value != "gone_base"  # another base is offered for the next click
    assert not app.button(key="train_start").disabled


def test_a_total_that_repeats_one_term_is_not_drawn_twice():
    from ui.train_page import without_repeated_total

    ae = [{"epoch": e, "train": {"total": v, "recon": v}, "test": {"total": v, "recon": v}} for e, v in ((1, 9.0), (2, 8.0))]
    assert [sorted(r["train"]) + sorted(r["test"]) for r in without_repeated_total(ae)] == [["recon", "recon"]] * 2
    vae = [{"epoch": 1, "train": {"total": 9.0, "recon": 8.0, "kl": 1.0}, "test": None}]
    assert without_repeated_total(vae) == vae
    prior = [{"epoch": 1, "train": {"total": 9.0}, "test": {"total": 8.5}}]  # the only term stays
    assert without_repeated_total(prior) == prior


def test_a_weaker_judge_or_prior_saved_from_this_page_does_not_replace_the_shipped_ones(app_env, saved):
    """The pages judge with the best classifier and sample each base's best prior, whatever their names."""
    import shutil

    from ui import diffusion_page

    for source, name, metric, value in (("digit_judge", "a_weak_judge", "accuracy", 0.5),
                                        ("diffusion_ae_32", "a_weak_prior", "noise_error", 99.0),
                                        ("diffusion_ae_32", "z_weak_prior", "noise_error", 99.0)):
        shutil.copytree(app_env / source, app_env / name)
        saved.append(name)
        path = app_env / name / checkpoints.CONFIG_FILE
        config = json.loads(path.read_text())
        config["metrics"][metric] = value
        path.write_text(json.dumps(config))
    assert resources.judge_names() == ["digit_judge", "a_weak_judge"]
    assert diffusion_page.priors_by_base()["ae_32"] == "diffusion_ae_32"


def test_a_job_backend_that_cannot_start_says_why_instead_of_a_traceback(app, monkeypatch):
    from explorer import jobs
    from ui import train_page

    message = "Training is unavailable: this server could not start or join the Ray cluster at 127.0.0.1:1 (refused)."

    def unreachable():
        raise ExplorerError(message)

    monkeypatch.setattr(jobs, "open_jobs", unreachable)
    train_page.registry.clear()
    try:
        app.run()
        assert not app.exception
        assert [e.value for e in app.error] == [message]
        assert not app.button  # nothing to press that would need jobs
    finally:
        train_page.registry.clear()


def test_the_live_view_refreshes_less_often_as_a_class_shares_the_run(page_app, one_job_at_a_time, monkeypatch):
    from ui import train_page

    paces = []  # the live view's refresh interval at each whole-page run
    real = train_page.st.fragment

    def recording(run_every=None):
        def decorate(view):
            if view.__name__ == "job_view":
                paces.append(run_every)
            return real(run_every=run_every)(view)
        return decorate

    monkeypatch.setattr(train_page.st, "fragment", recording)
    tabs = [page_app("train_page") for _ in range(11)]
    job_id = start_long_run(tabs[0])
    assert paces[-1] == 1.0  # one student: every second
    assert {start_long_run(tab) for tab in tabs[1:]} == {job_id}  # the same settings: one shared run
    tabs[0].run()
    assert paces[-1] == 2.0  # eleven: every 2 s, about ten looks a second in all
    one_job_at_a_time.stop(job_id)
