"""Training speed: the project's trainer against the plain textbook VAE loop, same model, same data.

(a) the reference: a VAE 784-256-128-(μ, log σ²) 32 and back, BCE + KL, Adam 1e-3, batch 128,
    trained with a torch.utils.data.DataLoader loop written here, as the PyTorch example does;
(b) the same architecture trained by explorer.train.train.
Both on the mnist5k train split for the same epochs, evaluated on the test split the same way.
Both are warmed up first (one untimed epoch each: the first torch call in a process pays for
kernel setup), then trained from scratch `--rounds` times, alternating, and the medians compared.

    python bench/train_speed.py [--epochs 20] [--rounds 3] [--threads 2]

Prints a table and writes it to bench/results_train_speed.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer.data import load_dataset  # noqa: E402
from explorer.models import ModelConfig, build_model  # noqa: E402
from explorer.train import TrainConfig, train  # noqa: E402

TARGET_SPEEDUP = 1.2
TARGET_LOSS_GAP = 0.02


class ReferenceVAE(nn.Module):
    """The textbook VAE (as in pytorch/examples vae/main.py), widths 784-256-128-32."""

    def __init__(self, latent: int = 32):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 256), nn.Linear(256, 128)
        self.fc_mu, self.fc_logvar = nn.Linear(128, latent), nn.Linear(128, latent)
        self.fc3, self.fc4, self.fc5 = nn.Linear(latent, 128), nn.Linear(128, 256), nn.Linear(256, 784)

    def encode_distribution(self, x):
        h = F.relu(self.fc2(F.relu(self.fc1(x.view(-1, 784)))))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z):
        return self.fc5(F.relu(self.fc4(F.relu(self.fc3(z))))).view(-1, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode_distribution(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode_logits(z), mu, logvar


def reference_loss(logits, x, mu, logvar):
    # BCE summed over pixels + KL (Kingma & Welling 2014, appendix B), per batch, as in the example.
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kl


def train_reference(x_train, epochs: int, seed: int = 0) -> tuple[ReferenceVAE, float]:
    torch.manual_seed(seed)
    model = ReferenceVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x_train), batch_size=128, shuffle=True)
    started = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for (batch,) in loader:
            optimizer.zero_grad()
            logits, mu, logvar = model(batch)
            loss = reference_loss(logits, batch, mu, logvar)
            loss.backward()
            optimizer.step()
    return model.eval(), time.perf_counter() - started


@torch.inference_mode()
def test_neg_elbo(encode_distribution, decode_logits, x_test, seed: int = 0) -> float:
    """Negative ELBO per image (nats), one seeded sample of z: the same evaluation for both models."""
    generator = torch.Generator().manual_seed(seed)
    mu, logvar = encode_distribution(x_test)
    z = mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)
    bce = F.binary_cross_entropy_with_logits(decode_logits(z), x_test, reduction="none").flatten(1).sum(1)
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1)
    return float((bce + kl).mean())


def train_ours(x_train, epochs: int, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(kind="vae", latent_dim=32, hidden=(256, 128)))
    started = time.perf_counter()
    train(model, x_train, TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=seed, device="cpu"))
    return model, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_train_speed.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist5k")
    n = len(data.x_train) * args.epochs

    train_reference(data.x_train, 1)  # warm-ups, untimed
    train_ours(data.x_train, 1)
    ref_times, our_times = [], []
    for _ in range(args.rounds):
        reference, seconds = train_reference(data.x_train, args.epochs)
        ref_times.append(seconds)
        model, seconds = train_ours(data.x_train, args.epochs)
        our_times.append(seconds)
    ref_seconds, ours_seconds = statistics.median(ref_times), statistics.median(our_times)
    ref_loss = test_neg_elbo(reference.encode_distribution, reference.decode_logits, data.x_test)
    ours_loss = test_neg_elbo(model.encode_distribution, model.decode_logits, data.x_test)

    speedup = ref_seconds / ours_seconds
    gap = (ours_loss - ref_loss) / ref_loss
    rows = [
        ("reference DataLoader loop: samples/s (median of the rounds)", f"{n / ref_seconds:,.0f}",
         "rounds: " + ", ".join(f"{n / t:,.0f}" for t in ref_times)),
        ("explorer.train: samples/s (median of the rounds)", f"{n / ours_seconds:,.0f}",
         "rounds: " + ", ".join(f"{n / t:,.0f}" for t in our_times)),
        ("speed-up (explorer / reference), ratio of the medians", f"{speedup:.2f}x",
         f">= {TARGET_SPEEDUP}x  {'MET' if speedup >= TARGET_SPEEDUP else 'MISSED'}"),
        ("speed-up of each round (reference then explorer, back to back)",
         ", ".join(f"{r / o:.2f}x" for r, o in zip(ref_times, our_times)),
         f"median {statistics.median(r / o for r, o in zip(ref_times, our_times)):.2f}x: rounds vary with the machine's load"),
        ("reference test neg. ELBO (nats/image)", f"{ref_loss:.2f}", ""),
        ("explorer test neg. ELBO (nats/image)", f"{ours_loss:.2f}", ""),
        ("test loss gap (explorer vs reference)", f"{gap:+.2%}",
         f"within ±{TARGET_LOSS_GAP:.0%}  {'MET' if abs(gap) <= TARGET_LOSS_GAP else 'MISSED'}"),
    ]
    header = (f"## Training speed: VAE 784-256-128-32, mnist5k ({len(data.x_train)} train images), "
              f"{args.epochs} epochs × {args.rounds} rounds each, batch 128, {args.threads} threads\n\n")
    table = "| measure | measured | target |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    print(header + table)
    Path(args.out).write_text(header + table + "\n")


if __name__ == "__main__":
    main()
