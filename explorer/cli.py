"""Command line: `python -m explorer train | evaluate | list`."""

from __future__ import annotations

import argparse
import sys
import time

from . import checkpoints
from .data import DATASETS, DEFAULT_DATASET, load_dataset
from .errors import ExplorerError
from .metrics import evaluate
from .kinds import FLAGS, KINDS, get_kind
from .models import ModelConfig, parameter_count
from .runs import train_evaluate_save
from .train import Progress, TrainConfig, time_left_words

METRIC_LABELS = {
    "mse": "recon MSE/pixel",
    "bce": "recon BCE/image (nats)",
    "neg_elbo": "neg. ELBO/image (nats)",
    "psnr": "PSNR (dB)",
    "linear_probe": "linear probe acc.",
    "accuracy": "test accuracy",  # a classifier
    "ce": "cross-entropy (nats)",
    "noise_error": "noise prediction error",  # a diffusion prior: squared error summed over the code
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m explorer", description="Train, evaluate and list autoencoders.")
    commands = root.add_subparsers(dest="command", required=True)

    t = commands.add_parser("train", help="train a model and save it as a checkpoint folder")
    t.add_argument("--model", choices=list(KINDS), default="vae")
    t.add_argument("--dataset", choices=DATASETS, default=DEFAULT_DATASET)
    t.add_argument("--latent-dim", type=int, default=32)
    for name, flag in FLAGS.items():  # each kind reads only its own fields; the others keep their defaults
        users = ", ".join(k.name for k in KINDS.values() if name in k.fields)
        t.add_argument("--" + name.replace("_", "-"), type=flag.parse, choices=flag.choices,
                       default=getattr(ModelConfig, name), help=f"{flag.help} [{users}]")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--shift", type=int, default=0, help="augment: shift training images by up to N pixels")
    t.add_argument("--cosine", action="store_true", help="decay the learning rate to 0 on a cosine")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--out", required=True, help="checkpoint folder, e.g. checkpoints/my_vae")

    e = commands.add_parser("evaluate", help="print a checkpoint's test metrics")
    e.add_argument("checkpoint")

    m = commands.add_parser("map", help="compute and store the UMAP map of checkpoints (the app shows it at once)")
    m.add_argument("checkpoints", nargs="+")

    ls = commands.add_parser("list", help="list checkpoints with their metrics")
    ls.add_argument("--dir", default=None, help="checkpoints folder (default: ./checkpoints)")
    ls.add_argument("--markdown", action="store_true", help="a Markdown table with the PCA-32 baseline")
    return root


LOSS_LABELS = {"total": "total", "recon": "recon", "kl": "KL"}


def format_metrics(metrics: dict) -> str:
    return "\n".join(f"  {METRIC_LABELS.get(k, k):24s} {v:.4f}" for k, v in metrics.items())


def format_losses(terms: dict[str, float]) -> str:
    """ "total 45.11, recon 40.21, KL 4.9" for a VAE; "recon 40.21" for an AE, whose total is its recon."""
    shown = {k: v for k, v in terms.items() if not (k == "total" and set(terms) == {"total", "recon"})}
    return ", ".join(f"{LOSS_LABELS.get(k, k)} {v:.4g}" for k, v in shown.items())


def format_epoch(progress: Progress) -> str:
    """One line per finished epoch, the Train page's progress text and its loss curves' points:
    "Epoch 2 of 30 · about 41 s left · train total 46.3, recon 41.2, KL 5.1 · test total ..."."""
    line = f"Epoch {progress.epoch} of {progress.epochs} · {time_left_words(progress.seconds_left)} left · " \
           f"train {format_losses(progress.train)}"
    return line + (f" · test {format_losses(progress.test)}" if progress.test else "")


def command_train(args) -> None:
    dataset = load_dataset(args.dataset)
    model_config = ModelConfig(kind=args.model, image_shape=dataset.image_shape, latent_dim=args.latent_dim,
                               **{name: getattr(args, name) for name in get_kind(args.model).fields})
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                               device=args.device, shift=args.shift, cosine=args.cosine)

    def on_built(model) -> None:
        print(f"{args.model} ({parameter_count(model):,} parameters) on {args.dataset}: "
              f"{len(dataset.x_train)} train / {len(dataset.x_test)} test images")

    def on_progress(progress: Progress) -> None:
        if progress.epoch_done:  # one line an epoch: redrawing the terminal every few steps costs time
            print(format_epoch(progress), flush=True)

    started = time.perf_counter()
    out, metrics = train_evaluate_save(dataset, model_config, train_config, args.out, on_built=on_built,
                                       on_progress=on_progress)
    seconds = time.perf_counter() - started
    print(f"trained in {seconds:.1f} s, saved {out}\n{format_metrics(metrics)}")


def command_evaluate(args) -> None:
    checkpoint = checkpoints.load(checkpoints.resolve(args.checkpoint))
    dataset = load_dataset(checkpoint.info.get("dataset", DEFAULT_DATASET))
    print(f"{checkpoint.name}: {checkpoint.config.kind}, latent {checkpoint.config.latent_dim}, "
          f"test split of {dataset.name}\n{format_metrics(evaluate(checkpoint.model, dataset))}")


def command_map(args) -> None:
    from .latents import encode_dataset
    from .maps import compute_umap

    for name in args.checkpoints:
        checkpoint = checkpoints.load(checkpoints.resolve(name))
        dataset_name = checkpoint.info.get("dataset", DEFAULT_DATASET)
        x, _ = load_dataset(dataset_name).split("all")
        started = time.perf_counter()
        compute_umap(checkpoint.path, dataset_name, encode_dataset(checkpoint.model, x))
        print(f"{checkpoint.name}: UMAP of {len(x)} codes stored in {time.perf_counter() - started:.1f} s")


def markdown_table(listings) -> str:
    """The README's table: every readable checkpoint's test metrics, and PCA with 32 axes as the linear baseline."""
    from .metrics import pca_baseline_mse

    lines = ["| checkpoint | model | latent | recon MSE/pixel | neg. ELBO (nats) | PSNR (dB) | linear probe |",
             "|---|---|---|---|---|---|---|"]
    for item in listings:
        if item.info is None:
            continue
        model, metrics = item.info["model"], item.info.get("metrics", {})
        elbo = f"{metrics['neg_elbo']:.1f}" if "neg_elbo" in metrics else "—"
        lines.append(f"| {item.name} | {model['kind']} | {model['latent_dim']} | {metrics.get('mse', float('nan')):.4f} | "
                     f"{elbo} | {metrics.get('psnr', float('nan')):.1f} | {metrics.get('linear_probe', float('nan')):.1%} |")
    data = load_dataset(DEFAULT_DATASET)
    lines.append(f"| PCA-32 (baseline) | linear | 32 | {pca_baseline_mse(data.x_train, data.x_test):.4f} | — | — | — |")
    return "\n".join(lines)


def command_list(args) -> None:
    listings = checkpoints.list_checkpoints(args.dir)
    if args.markdown:
        print(markdown_table(listings))
        return
    if not listings:
        print("no checkpoints found")
    for item in listings:
        if item.info is None:
            print(f"{item.name:20s} UNREADABLE: {item.problem}")
            continue
        model, metrics = item.info["model"], item.info.get("metrics", {})
        shown = "  ".join(f"{k}={metrics[k]:.4g}" for k in METRIC_LABELS if k in metrics)
        print(f"{item.name:20s} {model['kind']:9s} latent={model['latent_dim']:<3d} {item.info.get('dataset', '?'):8s} {shown}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        {"train": command_train, "evaluate": command_evaluate, "map": command_map, "list": command_list}[args.command](args)
    except ExplorerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
