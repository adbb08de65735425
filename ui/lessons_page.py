"""Lessons: predict, then reveal. One lesson per idea of the guide: a few sentences, one prediction made
with a real widget, a Reveal button showing what the shipped models really do, and a link to the full page.

Progress lives in the link (?lesson=3&answer=vae&reveal=1), so a teacher hands out "lesson 3" as a URL.
A lesson is one entry in LESSONS: its number, title, the page that explores it, and the function that draws it.
Every revealed number is computed (explorer/lessons.py), never written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from explorer import bottleneck_figures, compare, cvae, figure_text, figures, judge, lesson_figures, lessons
from explorer.errors import ExplorerError
from ui import lesson_results as results
from ui import pages, pictures, resources, scaffold, url_state


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    page: str  # the module (ui/pages.py) of the page that explores it further
    show: Callable[[], None]  # draws the lesson: its text, the prediction, the reveal


def answer_key(number: int) -> str:
    return f"lesson{number}_answer"


def revealed_key(number: int) -> str:
    return f"lesson{number}_revealed"


def explore_link(module: str, params: dict) -> None:
    """"Explore this yourself": the full page with the lesson's models and state, in the same tab.
    Only parameters the target page reads (ui/pages.py) go in the link."""
    info = pages.page(module)
    query = urlencode({k: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else v
                       for k, v in params.items() if k in info.params})
    st.markdown(f"[:material/open_in_new: **Explore this yourself** on the {info.title} page]"
                f"(./{info.url_path}?{query})")


def explanation(text: str) -> None:
    st.info(text, icon=":material/lightbulb:")


def verdict(correct: bool, text: str) -> None:
    (st.success if correct else st.warning)(text, icon=":material/check_circle:" if correct else ":material/info:")


def seed_answer(number: int, parse: Callable[[str], object], default, valid: Callable = lambda v: True) -> None:
    """The prediction widget's first value: the link's `answer` when the link is at this lesson, else `default`."""
    if results.link_lesson() == number:
        url_state.seed_widget(answer_key(number), "answer", parse, default, valid)
    else:
        st.session_state.setdefault(answer_key(number), default)


def choice(number: int, label: str, options: dict[str, str]) -> str | None:
    """A one-click prediction among `options` (key -> wording); None until the student picks."""
    seed_answer(number, str, None, lambda v: v in options)
    return st.radio(label, list(options), format_func=options.get, key=answer_key(number),
                    on_change=hide_reveal, args=(number,))


def hide_reveal(number: int) -> None:
    """A new prediction hides the old reveal: the student predicts again, then looks again."""
    st.session_state[revealed_key(number)] = False


def reveal_button(number: int, ready: bool) -> bool:
    """The Reveal button (disabled until a prediction is made); True once revealed."""
    if st.button("Reveal", type="primary", icon=":material/visibility:", disabled=not ready, key=f"lesson{number}_go"):
        st.session_state[revealed_key(number)] = True
    if not ready:
        st.caption("Make your prediction first.")
    return ready and st.session_state.get(revealed_key(number), False)


# ------------------------------------------------------------------------------------------ the lessons


def bottleneck() -> None:
    small, large = results.BOTTLENECK
    st.markdown(f"An autoencoder squeezes each 784-pixel digit through a few numbers and rebuilds it. "
                f"`{small}` keeps **{results.latent_size(small)}** numbers per digit, "
                f"`{large}` keeps **{results.latent_size(large)}**.")
    answer = choice(1, f"How will digits rebuilt from {results.latent_size(small)} numbers compare?",
                    {"worse": "Clearly worse (blurrier, details lost)", "same": "About the same",
                     "better": "Better"})
    if not reveal_button(1, answer is not None):
        return
    outcome = results.bottleneck()
    correct = answer == outcome["answer"]
    verdict(correct, f"Reconstruction error per pixel over the test digits: {outcome['mse_small']:.4f} with "
                     f"{results.latent_size(small)} numbers against {outcome['mse_large']:.4f} with "
                     f"{results.latent_size(large)} ({outcome['mse_small'] / outcome['mse_large']:.1f}×). "
                     + ("You predicted it." if correct else "Not what you predicted."))
    pictures.show(st, outcome["mosaic"], scale=2, caption=f"Rows: the digits, rebuilt by {small}, rebuilt by {large}.",
                  alt=f"three rows: test digits, the same digits rebuilt by {small} from "
                      f"{results.latent_size(small)} numbers, and by {large} from {results.latent_size(large)}")
    explanation("A bottleneck forces the model to keep only what matters most for rebuilding: with 2 numbers it "
                "keeps the rough shape and class, and loses the strokes' details. More numbers keep more detail.")
    explore_link("compare_page", {"left": small, "right": large})


def where_it_lands() -> None:
    name, digits = results.MAP_MODEL, results.map_digits()
    st.markdown(f"The latent map places every digit by its code (`{name}`, UMAP). Digits the model finds "
                "alike sit together. Below, all 5,000 digits are grey: **pick a digit, then click a dot where "
                "you think that digit's examples sit.**")
    seed_answer(2, lambda t: int(t.split("@")[0]), 7, lambda v: v in range(len(digits)))
    digit = st.selectbox("Digit to place", range(len(digits)), format_func=digits.__getitem__, key=answer_key(2),
                         on_change=hide_reveal, args=(2,))
    lmap = results.lesson_map()
    st.plotly_chart(lesson_figures.blank_map(lmap.xy, np.arange(len(lmap.xy)), lmap.axis_titles),
                    key="lesson2_map", on_select="rerun", selection_mode=("points",), width="stretch",
                    alt=lesson_figures.blank_map_summary(lmap.xy, lmap.axis_titles, name=name))
    clicked = results.clicked_row(len(lmap.xy))
    if clicked is not None:
        st.caption(f"Your guess: the dot at #{clicked}.")
    if not reveal_button(2, clicked is not None):
        return
    outcome = results.landing(digit, clicked)
    name_of = digits.__getitem__
    verdict(outcome["share"] >= 0.5,
            f"{outcome['share']:.0%} of the {outcome['k']} digits nearest to your dot are {name_of(digit)}s "
            f"(most there are {name_of(outcome['majority'])}s). The {name_of(digit)}s' closest neighbours on this "
            f"map are the {name_of(outcome['neighbour'])}s.")
    st.plotly_chart(lesson_figures.landing_map(lmap.xy, results.map_labels(), digits, clicked, outcome["centre"],
                                               name_of(digit), lmap.axis_titles), key="lesson2_reveal",
                    width="stretch", alt=lesson_figures.landing_summary(results.map_labels(), digits, clicked, digit,
                                                                         outcome, lmap.axis_titles))
    explanation("The encoder was never told the classes, yet digits of one class land together, because "
                "rebuilding them needs similar codes. Classes that are drawn alike end up neighbours.")
    explore_link("map_page", {"model": name, "proj": "umap", "ids": [clicked]})


def holes_in_the_plane() -> None:
    ae, vae = results.PLANES
    st.markdown(f"`{ae}` (an AE) and `{vae}` (a VAE) write each digit as two numbers, so each code space is a "
                f"plane. Decode every point of a {compare.PLANE_CELLS}×{compare.PLANE_CELLS} grid over the part of "
                "each plane the digits use, and ask the digit judge what it sees at each point.")
    answer = choice(3, "Whose plane has more holes: points the judge does not read as a digit?",
                    {"ae": "The AE's", "vae": "The VAE's", "same": "About the same"})
    if not reveal_button(3, answer is not None):
        return
    outcome = results.plane_scans()
    if outcome is None:
        st.info("This lesson needs a digit judge (a classifier checkpoint such as `digit_judge`); there is none here.")
        return
    scans = outcome["scans"]
    correct = answer == outcome["answer"]
    holes = [1 - scan.confident_share() for scan in scans]
    verdict(correct, f"Points the judge does not read as a digit: {holes[0]:.0%} of the AE's plane, "
                     f"{holes[1]:.0%} of the VAE's (within {compare.PLANE_GAP:.0%} counts as about the same). "
                     + ("You predicted it." if correct else "Not what you predicted."))
    for column, name, scan in zip(st.columns(2, gap="large"), results.PLANES, scans):
        column.plotly_chart(figures.plane_heat_map(scan.xs, scan.ys, scan.confidence, scan.drift, title=name),
                            key=f"lesson3_plane_{name}", config={"displayModeBar": False},
                            alt=figure_text.plane_heat_map_summary(scan.xs, scan.ys, scan.confidence, scan.drift,
                                                               confident=judge.CONFIDENT, name=name))
    st.markdown(compare.plane_verdict(*zip(results.PLANES, scans)))
    explanation("A decoder draws something at every code, so a hole need not look like nonsense: where no digit "
                "was ever encoded it may carry on its neighbours' strokes. Encoding each drawing again tells the two "
                "apart: a point whose digit the encoder puts elsewhere is a hole filled with a borrowed digit. The KL "
                "term pulls a VAE's codes into one region around the origin; an AE's codes may go anywhere.")
    explore_link("compare_page", {"left": ae, "right": vae})


def sampling_prior() -> None:
    ae, vae = results.COMPARED
    st.markdown(f"Draw random codes from N(0, I), the VAE's prior, and decode them with both `{ae}` and `{vae}`.")
    answer = choice(4, "Which model turns random codes into digits?",
                    {"both": "Both", "vae": "Only the VAE", "ae": "Only the AE", "neither": "Neither"})
    if not reveal_button(4, answer is not None):
        return
    outcome = results.prior_shares()
    correct = answer == outcome["answer"]
    verdict(correct, f"Random codes that decode to a digit-like image: {outcome['ae']:.0%} for the AE, "
                     f"{outcome['vae']:.0%} for the VAE (a model counts when at least half do). "
                     + ("You predicted it." if correct else "Not what you predicted."))
    st.caption(results.LIKENESS_RULE)
    results.show_two_mosaics(outcome["images"], (f"AE ({ae})", f"VAE ({vae})"))
    explanation("A VAE is trained so that its codes look like draws from N(0, I): its decoder has seen codes all "
                "over that cloud. An AE's codes live wherever training put them, so most random draws miss them.")
    explore_link("compare_page", {"left": ae, "right": vae, "prior": "1"})


def reparameterization() -> None:
    name = results.REPARAM_MODEL
    st.markdown(f"A VAE's encoder gives each digit a mean μ and a spread σ; in training the decoder gets "
                f"z = μ + σ·ε with ε drawn from N(0, I). Take test digit #{results.REPARAM_DIGIT} on `{name}`, whose "
                f"code has 2 numbers, and draw {results.REPARAM_SAMPLES} values of ε.")
    answer = choice(5, "Where will the samples of z fall?",
                    {"at_mu": "All exactly at μ", "near_mu": "In a small cloud around μ, most within 2σ",
                     "anywhere": "Anywhere on the map, like random codes"})
    if not reveal_button(5, answer is not None):
        return
    outcome = results.reparam_samples()
    correct = answer == outcome["answer"]
    verdict(correct, f"{outcome['within_1']:.0%} of the samples lie within 1σ of μ and {outcome['within_2']:.0%} "
                     f"within 2σ; their cloud spreads {outcome['spread']:.2f} from μ, the map's digits "
                     f"{outcome['map_spread']:.2f} from their centre. "
                     + ("You predicted it." if correct else "Not what you predicted."))
    labels = resources.dataset_of(name).split("all")[1].numpy()
    fig = bottleneck_figures.posterior_figure(outcome["codes"], labels, resources.dataset_of(name).classes,
                                              outcome["post"], outcome["samples"], zoom=True)
    st.plotly_chart(fig, key="lesson5_plane", config={"displayModeBar": False},
                    alt=bottleneck_figures.posterior_summary(outcome["post"], outcome["samples"], len(outcome["codes"]),
                                                             name=name, zoom=True))
    explanation("Sampling through z = μ + σ·ε keeps the randomness in ε, so the loss's gradient flows back to μ and "
                "σ. The samples stay near μ: they teach the decoder that nearby codes mean the same digit.")
    explore_link("reparam_page", {"model": name, "digit": results.REPARAM_DIGIT, "seed": results.REPARAM_SEED})


def beta_units() -> None:
    name = results.BETA_MODEL
    size = results.latent_size(name)
    st.markdown(f"A VAE's loss is **reconstruction + β·KL**. The KL term charges for every latent unit that "
                f"carries information. `{name}` was trained with β = {results.beta_of(name):g} and has {size} units.")
    seed_answer(6, int, size // 2, lambda v: 0 <= v <= size)
    answer = st.slider("How many units will stay in use?", 0, size, key=answer_key(6), on_change=hide_reveal,
                       args=(6,))
    if not reveal_button(6, True):
        return
    outcome = results.active_units()
    off = abs(answer - outcome["active"])
    verdict(off <= 1, f"{outcome['active']} of {size} units carry information (mean KL above "
                      f"{results.ACTIVE_NATS} nats); you said {answer}, "
                      + ("spot on." if off == 0 else f"{off} off."))
    st.plotly_chart(outcome["figure"], key="lesson6_kl", config={"displayModeBar": False}, alt=outcome["alt"])
    explanation("Every used unit costs KL, and a large β makes that cost high, so the model switches off the units "
                "it can spare. What is left is a few units that matter most for rebuilding the digits.")
    explore_link("generate_page", {"model": name})


def style_and_content() -> None:
    cvae_name, vae_name = results.STYLE_MODELS
    st.markdown(f"A conditional VAE (`{cvae_name}`) is told which digit it is looking at: the class goes into its "
                f"encoder and decoder beside the image. Its code only has to hold the rest: the handwriting. A plain "
                f"VAE (`{vae_name}`) is told nothing, so its code must say which digit it is.")
    seed_answer(9, lambda t: round(float(t), 2), 0.5, lambda v: 0.0 <= v <= 1.0)
    answer = st.slider("A linear probe reads the class from each model's codes. How often will it be right on "
                       "the conditional VAE's codes?", 0.0, 1.0, step=0.05, format="percent", key=answer_key(9),
                       on_change=hide_reveal, args=(9,))
    if not reveal_button(9, True):
        return
    outcome = results.style_probes()
    correct = lessons.probe_prediction_right(answer, outcome["cvae"])
    verdict(correct, f"The probe reads the class from {outcome['cvae']:.0%} of the conditional VAE's codes, against "
                     f"{outcome['vae']:.0%} of the plain VAE's (chance: {outcome['chance']:.0%}); you said "
                     f"{answer:.0%}. " + ("Close enough." if correct else "Not what you predicted."))
    st.markdown(cvae.probe_verdict(outcome["cvae"], outcome["vae"], outcome["measured"], outcome["chance"]))
    explanation("Most of what tells one digit from another has moved out of the code into the label the decoder "
                "is given, so the code keeps the style: slant, width, thickness. Give it another label and the same "
                "style writes another digit.")
    explore_link("style_page", {"model": cvae_name})


def autoencoders_to_diffusion() -> None:
    base = results.DIFFUSION_BASE
    st.markdown(f"`{base}` is a plain autoencoder: its codes were never pushed towards N(0, I). A small diffusion "
                "model, trained on its codes, learns to turn noise into codes that look like them, step by step "
                "(the recipe of latent diffusion). Both kinds of codes go through the same decoder.")
    answer = choice(10, f"Which codes does {base}'s decoder turn into digits?",
                    {"gaussian": "Codes drawn from N(0, I)", "prior": "Codes from the diffusion prior",
                     "both": "Both", "neither": "Neither"})
    if not reveal_button(10, answer is not None):
        return
    outcome = results.diffusion_routes()
    correct = answer == outcome["answer"]
    g, p = outcome["gaussian"], outcome["prior"]
    verdict(correct, f"The digit judge reads {g['share']:.0%} of the N(0, I) route's images confidently as a digit "
                     f"(Fréchet distance to the test digits {g['frechet']:.1f}) and {p['share']:.0%} of the prior's "
                     f"({p['frechet']:.1f}; lower is closer). "
                     + ("You predicted it." if correct else "Not what you predicted."))
    results.show_two_mosaics((g["images"], p["images"]), ("N(0, I) → decoder", "diffusion prior → decoder"))
    explanation("An autoencoder's decoder only knows the codes it was trained on; the diffusion prior learns where "
                "those codes are and samples there. That is the idea behind latent diffusion models.")
    explore_link("diffusion_page", {"ae": base, "seed": results.DIFFUSION_SEED})


def denoising() -> None:
    quiz = results.denoising_quiz()
    st.markdown(f"These digits got Gaussian noise (σ = {results.NOISE_LEVEL}). Two autoencoders rebuilt them; one "
                "was trained to remove noise (a **denoising AE**), the other only on clean digits.")
    pictures.show(st, quiz["mosaics"][0], scale=2, caption="Noisy inputs",
                  alt=f"test digits with Gaussian noise of σ = {results.NOISE_LEVEL}")
    for letter, mosaic in zip("AB", quiz["mosaics"][1:]):  # rows, not columns: each as wide as the noisy one
        pictures.show(st, mosaic, scale=2, caption=f"Reconstruction {letter}",
                      alt=f"reconstruction {letter}: the noisy digits as one of the two autoencoders rebuilds them")
    answer = choice(7, "Which came from the denoising AE?", {"A": "A", "B": "B"})
    if not reveal_button(7, answer is not None):
        return
    dae_letter = "AB"[quiz["order"].index(results.DAE)]
    correct = answer == dae_letter
    psnr = ", ".join(f"{letter} ({name}) {quiz['psnr'][name]:.1f} dB" for letter, name in zip("AB", quiz["order"]))
    verdict(correct, f"{dae_letter} came from the denoising AE. Peak signal-to-noise against the clean digits: {psnr} "
                     f"(higher is cleaner). " + ("You spotted it." if correct else "Not what you picked."))
    explanation("A denoising AE sees noisy digits and is scored against the clean ones, so it learns what noise is "
                "and drops it. A plain AE learned to copy whatever it is given, noise included.")
    explore_link("denoise_page", {"models": list(results.DENOISERS), "noise": "gaussian",
                                  "level": results.NOISE_LEVEL, "seed": results.QUIZ_SEED})


def anomalies() -> None:
    name = results.ANOMALY_MODEL
    st.markdown(f"`{name}` scores every input by how badly it rebuilds it: things unlike its training digits should "
                "score high. **Set the threshold** above which an input is flagged as odd (inverted, rotated, "
                "noisy or scribbled images are mixed with real test digits).")
    options = results.anomaly_options()
    start = options[len(options) // 4]  # low on purpose: the student moves it
    seed_answer(8, lambda t: lessons_threshold(options, t), start)
    threshold = st.select_slider("Flag inputs scoring above", options, key=answer_key(8), format_func=lambda v: f"{v:.3g}",
                                 on_change=hide_reveal, args=(8,))
    if not reveal_button(8, True):
        return
    outcome = results.anomaly_at(threshold)
    verdict(outcome["f1"] >= outcome["best_f1"] - 0.05,
            f"At {threshold:.3g}: precision {outcome['precision']:.0%} (of the flagged inputs, how many are odd), "
            f"recall {outcome['recall']:.0%} (of the odd inputs, how many are flagged). The best threshold here, "
            f"{outcome['best']:.3g}, reaches F1 {outcome['best_f1']:.2f}; yours {outcome['f1']:.2f}.")
    st.plotly_chart(outcome["figure"], key="lesson8_hist", config={"displayModeBar": False}, alt=outcome["alt"])
    explanation("A low threshold catches every odd input but also flags many real digits (recall up, precision down); "
                "a high one does the opposite. Where to put it depends on which mistake costs more.")
    explore_link("anomaly_page", {"model": name, "thr": threshold})


def lessons_threshold(options: list[float], text: str) -> float:
    value = float(text)
    if not options[0] <= value <= options[-1]:
        raise ValueError("out of range")
    return min(options, key=lambda o: abs(o - value))


LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "Compression through a bottleneck", "compare_page", bottleneck),
    Lesson(2, "What the latent map shows", "map_page", where_it_lands),
    Lesson(3, "Holes in the plane: AE vs VAE", "compare_page", holes_in_the_plane),
    Lesson(4, "Sampling from the prior", "compare_page", sampling_prior),
    Lesson(5, "The reparameterization trick", "reparam_page", reparameterization),
    Lesson(6, "Reconstruction + KL, and β weighs them", "generate_page", beta_units),
    Lesson(7, "Denoising", "denoise_page", denoising),
    Lesson(8, "Anomaly detection", "anomaly_page", anomalies),
    Lesson(9, "Style and content: the conditional VAE", "style_page", style_and_content),
    Lesson(10, "From autoencoders to diffusion", "diffusion_page", autoencoders_to_diffusion),
)
BY_NUMBER = {lesson.number: lesson for lesson in LESSONS}


def menu_label(number: int) -> str:
    lesson = BY_NUMBER[number]
    return f"{number}. {lesson.title}"


def render() -> None:
    st.title("Lessons")
    st.markdown("**Predict, then reveal.** Each lesson asks you one question about the models; make your guess, "
                "then see what the trained models really do. Copy the link to hand out a lesson.")
    url_state.seed_widget("lesson_menu", "lesson", int, 1, lambda v: v in BY_NUMBER)
    menu, body = st.columns([1.3, 3], gap="large")
    number = menu.radio("Lesson", list(BY_NUMBER), format_func=menu_label, key="lesson_menu")
    lesson = BY_NUMBER[number]
    with body:
        st.header(f"{number}. {lesson.title}")
        if results.link_lesson() == number:
            url_state.seed_widget(revealed_key(number), "reveal", url_state.parse_flag, False)
        elif results.link_lesson() not in BY_NUMBER:  # the link's lesson is not a lesson: its answer has nowhere to go
            for param in ("answer", "reveal"):
                url_state.ignore_unless_valid(param, "it belongs to the link's lesson, which is not one")
        if scaffold.offered_models() is None:
            return
        try:
            lesson.show()
        except ExplorerError as error:  # e.g. a lesson's checkpoint was deleted or damaged
            st.error(str(error))
        url_state.show_notices()
    answer = results.answer_text(number, st.session_state.get(answer_key(number)))
    url_state.write({"lesson": number, "answer": answer,
                     "reveal": "1" if answer is not None and st.session_state.get(revealed_key(number)) else None})
