"""Inside the network: the chosen model drawn layer by layer, one digit's numbers flowing through it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import anatomy, bottleneck_figures, figure_text, figures
from explorer.errors import ExplorerError
from ui import draw_page, pictures, resources, scaffold, url_state

TEST_DIGIT, DRAWN = "test digit", "your drawing"
DIGIT_SCALE = 5  # a 28 px digit shown 140 px wide


def drawn_digit(image_shape) -> np.ndarray | None:
    """The digit last drawn on the Draw page, (1, 28, 28), if there is one and the model reads 28×28 digits."""
    digit = st.session_state.get(draw_page.DRAWN_DIGIT)
    if digit is None or tuple(image_shape) != (1, *np.shape(digit)):
        return None
    return np.asarray(digit, dtype=np.float32)[None]


def digit_choice(prefix: str, name: str) -> tuple[np.ndarray, str]:
    """A test digit by id, or the Draw page's digit when there is one: (image (C, H, W), caption).
    The id lives in the link as `digit`; the source as `source` (drawing or test)."""
    ds = resources.dataset_of(name)
    x, y = ds.split("test")
    n = len(x)
    drawn = drawn_digit(ds.image_shape)
    url_state.seed_widget(f"{prefix}_digit", "digit", int, 0, lambda v: 0 <= v < n)
    url_state.seed_widget(f"{prefix}_source", "source", str, TEST_DIGIT, lambda v: v in (TEST_DIGIT, DRAWN))
    if st.session_state[f"{prefix}_digit"] >= n:  # a model of a smaller dataset was chosen since
        st.session_state[f"{prefix}_digit"] = 0
    sources = [TEST_DIGIT, DRAWN] if drawn is not None else [TEST_DIGIT]
    if st.session_state[f"{prefix}_source"] not in sources:
        st.session_state[f"{prefix}_source"] = TEST_DIGIT
    left, right = st.columns([1, 1])
    source = left.radio("Digit", sources, key=f"{prefix}_source", horizontal=True,
                        help="Draw a digit on the Draw page to use it here too" if drawn is None else None)
    index = right.number_input(f"Test digit id (0–{n - 1})", 0, n - 1, step=1, key=f"{prefix}_digit",
                               disabled=source == DRAWN)
    if source == DRAWN:
        return drawn, "your drawing"
    return x[int(index)].numpy(), f"test digit #{int(index)} · a {ds.classes[int(y[int(index)])]}"


def loss_metrics(terms: dict[str, float], beta: float) -> None:
    """The digit's loss terms as the trainer computes them (nats)."""
    row = st.container(horizontal=True)
    row.metric("Reconstruction (nats)", f"{terms['recon']:.1f}", width="content",
               help="Bernoulli negative log-likelihood of the digit's pixels under the decoder's output, summed")
    if "kl" in terms:
        row.metric("KL (nats)", f"{terms['kl']:.1f}", width="content",
                   help="KL(q(z|x) ‖ N(0, I)): how far the digit's code distribution is from the prior")
        row.metric(f"Total = recon + {beta:g}·KL", f"{terms['total']:.1f}", width="content",
                   help="The negative ELBO (β = 1) the VAE's trainer minimises; z sampled once, seeded")


def render() -> None:
    st.title("Network")
    st.markdown(
        "A digit of 784 numbers is squeezed, layer by layer, into a short **code** (the bottleneck) and "
        "expanded back into a picture; training makes the picture match the digit. **Look for** how few numbers "
        "the code keeps, and how the pattern of activity changes from layer to layer."
    )
    names = scaffold.offered_models()
    if names is None:
        return
    top = st.columns([1, 2])
    with top[0]:
        name = scaffold.model_picker("Model", names, "net_model", default=resources.DEFAULT_MODEL)
    try:
        loaded = resources.checkpoint(name)
        with top[1]:
            image, caption = digit_choice("net", name)
        result = anatomy.anatomy(loaded.model, image)
        terms = anatomy.digit_loss(loaded.model, image)
    except ExplorerError as error:
        st.error(str(error))
        return
    url_state.show_notices()
    url_state.write({"model": name, "digit": st.session_state["net_digit"], "source": st.session_state["net_source"]})
    network_section(name, result)
    flow_section(result, caption, terms, loaded.config.beta)


def network_section(name: str, result: anatomy.Anatomy) -> None:
    st.subheader(f"{name}, layer by layer")
    row = st.container(horizontal=True)
    row.metric("Parameters", f"{result.total_parameters:,}", width="content",
               help="Every weight and bias of the model, counted from the model itself")
    row.metric("Compression", f"{result.compression_ratio:.1f}×", width="content",
               help=f"{result.input_size} input numbers ÷ {result.latent_dim} code numbers")
    row.metric("Code", f"{result.latent_dim} numbers", width="content")
    st.plotly_chart(bottleneck_figures.network_figure(result), key="net_layers", width="stretch",
                    config={"displayModeBar": False}, alt=bottleneck_figures.network_summary(result, name=name))
    with st.expander("Every layer: output size and parameters"):
        st.dataframe(anatomy.layer_table(result), hide_index=True, width="stretch")


def flow_section(result: anatomy.Anatomy, caption: str, terms: dict[str, float], beta: float) -> None:
    st.subheader("One digit flowing through it")
    st.caption("Each heat map is one layer's output for this digit (after its ReLU), left to right in the order they "
               "run; bright is large. Conv layers show their first channels side by side. Hover for the numbers.")
    st.plotly_chart(bottleneck_figures.activation_figure(result), key="net_activations", width="stretch",
                    config={"displayModeBar": False}, alt=bottleneck_figures.activation_summary(result))
    left, middle, right = st.columns([1, 3, 1])
    pictures.show(left, figures.tile_images(result.image[None], pad=0, scale=1), scale=DIGIT_SCALE, caption=caption,
                  alt=f"the input: {caption}")
    with middle:
        code = result.code_stage.activation
        st.plotly_chart(figures.code_bars(code, title=f"the code: {len(code)} numbers"), key="net_code",
                        width="stretch", config={"displayModeBar": False},
                        alt=figure_text.code_bars_summary(code, subject=f"Bar chart of the code of {caption}"))
    pictures.show(right, figures.tile_images(result.reconstruction[None], pad=0, scale=1), scale=DIGIT_SCALE,
                  caption="reconstruction", alt=f"the model's reconstruction of {caption}, from its {result.latent_dim}-number code")
    st.markdown("**This digit's loss**, the numbers the trainer minimises (in nats, natural-log units of information):")
    loss_metrics(terms, beta)
