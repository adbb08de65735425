"""The reparameterization trick: a VAE's q(z|x) for one digit, seeded samples z = μ + σ·ε, and the gradients."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import bottleneck_figures, figures, reparam
from explorer.errors import ExplorerError
from explorer.latents import decode_codes
from ui import pictures, resources, scaffold, url_state
from ui.network_page import digit_choice

DEFAULT_MODEL = "vae_2"  # latent 2: q(z|x) can be drawn exactly on the plane
SAMPLES = 8
MAX_SEED = 9999
DECODE_MU, DECODE_SAMPLES = "μ (the mean)", "the samples z"
THUMB_SCALE = 3


def _next_seed() -> None:
    st.session_state["rp_seed"] = (st.session_state["rp_seed"] + 1) % (MAX_SEED + 1)


def sample_controls() -> dict:
    """Seed (a button draws again), how many samples, what to decode, and the zoom of the plane."""
    url_state.seed_widget("rp_seed", "seed", int, 0, lambda v: 0 <= v <= MAX_SEED)
    url_state.seed_widget("rp_count", "samples", int, SAMPLES, lambda v: 1 <= v <= 16)
    url_state.seed_widget("rp_decode", "decode", str, DECODE_SAMPLES, lambda v: v in (DECODE_MU, DECODE_SAMPLES))
    c1, c2, c3, c4 = st.columns([1, 1, 1.2, 1.4], vertical_alignment="bottom")
    seed = c1.number_input("Seed of ε", 0, MAX_SEED, step=1, key="rp_seed",
                           help="ε ~ N(0, I) is drawn from a generator with this seed: the same seed, the same draws")
    c2.button("Draw again", key="rp_again", icon=":material/casino:", on_click=_next_seed, width="stretch")
    count = c3.slider("Samples", 1, 16, key="rp_count")
    decode = c4.radio("Decode", (DECODE_MU, DECODE_SAMPLES), key="rp_decode", horizontal=True)
    return dict(seed=int(seed), count=int(count), decode=decode)


def agreement_sentence(grads: reparam.Gradients, direct: reparam.DirectSample) -> str:
    """What autograd found, checked against the chain rule through z = μ + σ·ε, in words with numbers."""
    mu_gap = float(np.max(np.abs(grads.grad_mu_recon - grads.grad_z)))
    sigma_gap = float(np.max(np.abs(grads.grad_sigma_recon - grads.grad_z * grads.epsilon)))
    text = (f"Autograd's ∂L/∂μ equals ∂L/∂z in every dimension (largest difference {mu_gap:.1e}) and its ∂L/∂σ "
            f"equals ∂L/∂z · ε (largest difference {sigma_gap:.1e}): the chain rule through z = μ + σ·ε, with "
            "∂z/∂μ = 1 and ∂z/∂σ = ε. So the encoder learns from every sample. ")
    if direct.grad_mu is None and direct.grad_sigma is None:
        text += (f"Drawn directly from N(μ, σ²), z is a new tensor (requires_grad = {direct.requires_grad}, grad_fn = "
                 f"{direct.grad_fn or 'none'}): autograd finds **no path** from the loss back to μ and σ.")
    else:
        text += "Drawn directly, z still reached μ and σ here, which is not what sampling should do."
    return text


def render() -> None:
    st.title("Reparameterization")
    st.markdown(
        "A VAE's encoder does not give one code per digit but a small cloud: a mean **μ** and a spread **σ** in each "
        "dimension. Training draws a code from that cloud, decodes it, and needs the loss's gradient to reach μ and "
        "σ. Drawing z = μ + σ·ε, with the randomness ε drawn on the side, makes that possible. **Look for** where "
        "the samples fall around μ, and how alike their pictures are."
    )
    names = scaffold.offered_models()
    if names is None:
        return
    top = st.columns([1, 2])
    with top[0]:
        name = scaffold.model_picker("Model", names, "rp_model", default=DEFAULT_MODEL,
                                     help="A VAE; vae_2 has a 2-D code drawn exactly")
    try:
        loaded = resources.checkpoint(name)
        if not loaded.model.is_variational:
            st.info(reparam.NOT_VARIATIONAL + " The Network and Compression lab pages work with it.",
                    icon=":material/info:")
            url_state.write({"model": name})
            return
        with top[1]:
            image, caption = digit_choice("rp", name)
        settings = sample_controls()
        post = reparam.posterior(loaded.model, image)
    except ExplorerError as error:
        st.error(str(error))
        return
    url_state.show_notices()
    url_state.write({"model": name, "digit": st.session_state["rp_digit"], "source": st.session_state["rp_source"],
                     "seed": settings["seed"], "samples": settings["count"], "decode": settings["decode"]})
    epsilon = reparam.draw_epsilon(len(post.mu), settings["count"], settings["seed"])
    samples = reparam.reparameterize(post, epsilon)
    sampling_section(name, loaded.model, image, caption, post, samples, settings)
    gradient_section(loaded.model, image, settings["seed"])


def sampling_section(name, model, image, caption, post, samples, settings) -> None:
    st.subheader("Sampling the digit's code")
    if len(post.mu) == 2:
        plane(name, post, samples)
    else:
        st.caption(f"{name} has a {len(post.mu)}-D code, so there is no plane to draw it on (vae_2 has one). "
                   "Below: each dimension's μ ± σ beside the prior N(0, 1).")
    shown = post.mu[None] if settings["decode"] == DECODE_MU else samples
    pictures_row = decode_codes(model, shown)
    left, right = st.columns([1, 5])
    pictures.show(left, figures.tile_images(image[None], pad=0, scale=1), scale=THUMB_SCALE, caption=caption,
                  alt=f"the digit whose code is sampled: {caption}")
    thumbs = [figures.tile_images(p[None], pad=0, scale=1) for p in pictures_row]
    labels = ["decoded μ"] if settings["decode"] == DECODE_MU else [f"z{i}" for i in range(len(thumbs))]
    pictures.show(right, thumbs, scale=THUMB_SCALE, caption=labels,
                  alt=[f"{name} decodes the mean μ of the digit's code" if label == "decoded μ" else
                       f"{name} decodes sample {label} = μ + σ·ε of the digit's code" for label in labels])
    st.markdown("**Per dimension**: the digit's μ ± σ (orange) beside the prior N(0, 1) (grey, ±1), and below it the "
                "KL term each dimension pays for being different from the prior.")
    st.plotly_chart(bottleneck_figures.dimension_figure(post), key="rp_dims", width="stretch",
                    config={"displayModeBar": False}, alt=bottleneck_figures.dimension_summary(post, name=name))
    st.caption(f"KL of this digit: {post.kl.sum():.2f} nats in total, "
               f"{int(np.sum(post.kl > 0.01))} of {len(post.kl)} dimensions above 0.01 nats.")


def plane(name: str, post, samples) -> None:
    zoom = st.toggle("Zoom to the digit", value=True, key="rp_zoom",
                     help="Off: the whole map of codes; the digit's cloud is then a speck")
    codes = resources.codes(name, "all")
    _, labels = resources.dataset_of(name).split("all")
    fig = bottleneck_figures.posterior_figure(codes, labels.numpy(), resources.dataset_of(name).classes, post,
                                              samples, zoom=zoom)
    st.plotly_chart(fig, key="rp_plane", width="stretch",
                    alt=bottleneck_figures.posterior_summary(post, samples, len(codes), name=name, zoom=zoom))
    st.caption(f"Dots: μ of every digit of the dataset. ★ μ = ({post.mu[0]:.3f}, {post.mu[1]:.3f}); the solid ellipse "
               f"is μ ± 1σ with σ = ({post.sigma[0]:.3f}, {post.sigma[1]:.3f}), the dotted one ±2σ; ✕ are the samples.")


def gradient_section(model, image, seed: int) -> None:
    st.subheader("Why the trick: the gradient has to reach μ and σ")
    grads = reparam.reparameterized_gradients(model, image, seed)
    direct = reparam.direct_sample_gradients(model, image, seed)
    st.markdown("**z = μ + σ·ε**: the randomness ε is an input on the side, z a sum; arrows back are the gradients")
    st.graphviz_chart(bottleneck_figures.gradient_graph(grads), width="stretch")
    st.markdown("**z drawn straight from N(μ, σ²)**: the red dashed arrows are the gradients autograd found")
    st.graphviz_chart(bottleneck_figures.direct_graph(direct), width="stretch")
    st.markdown(agreement_sentence(grads, direct))
    rows = {"ε": grads.epsilon, "z": grads.z, "∂L/∂z": grads.grad_z, "∂L/∂μ (via z)": grads.grad_mu_recon,
            "∂L/∂σ (via z)": grads.grad_sigma_recon, "∂KL/∂μ": grads.grad_mu_kl, "∂KL/∂σ": grads.grad_sigma_kl,
            f"∂(L + {grads.beta:g}·KL)/∂μ": grads.grad_mu, f"∂(L + {grads.beta:g}·KL)/∂σ": grads.grad_sigma}
    st.dataframe({"dimension": np.arange(len(grads.mu)), **rows}, hide_index=True, width="stretch")
    st.caption(f"L is the reconstruction loss of the digit decoded from this z: {grads.recon:.2f} nats; "
               f"KL = {grads.kl:.2f} nats. All values from one seeded ε (seed {seed}), computed by torch.autograd.")
