"""Command line: `python -m explorer train | evaluate | map | list | jobs`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import checkpoints, job_state, jobs
from .data import DATASETS, DEFAULT_DATASET, load_dataset
from .errors import ExplorerError
from .metrics import evaluate
from .job_state import JobSnapshot, JobSpec, merge
from .jobs import BACKEND_ENV
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
    t.add_argument("--job", action="store_true",
                   help=f"train through the app's job backend (${BACKEND_ENV}: process, threads or ray), as the "
                        "Train page does: the same queue, the same shared runs; waits, prints each epoch, saves")
    t.add_argument("--detach", action="store_true",
                   help="with --job on Ray: print the job's id and return; the job trains on "
                        "(`jobs watch ID`, `jobs save ID NAME`)")

    j = commands.add_parser("jobs", help="the app's training jobs: list, watch, stop or save one by its id")
    actions = j.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every job the backend knows, with its status")
    for action, what in (("watch", "print its epochs until it ends"), ("stop", "stop it (it keeps what it learned)")):
        actions.add_parser(action, help=what).add_argument("job_id")
    save = actions.add_parser("save", help="save a finished job's model under a name in the checkpoints folder")
    save.add_argument("job_id")
    save.add_argument("name")

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

    if args.job:
        submit_and_watch(JobSpec(args.dataset, model_config, train_config, Path(args.out).name), Path(args.out),
                         args.detach)
        return
    if args.detach:
        raise ExplorerError("--detach goes with --job (a job on Ray trains on after this command returns).")
    started = time.perf_counter()
    out, metrics = train_evaluate_save(dataset, model_config, train_config, args.out, on_built=on_built,
                                       on_progress=on_progress)
    seconds = time.perf_counter() - started
    print(f"trained in {seconds:.1f} s, saved {out}\n{format_metrics(metrics)}")


def format_record(record: dict) -> str:
    """A job's epoch record as one line: "Epoch 2 of 30 · train recon 41.2 · test recon 40.9"."""
    line = f"train {format_losses(record['train'])}"
    return line + (f" · test {format_losses(record['test'])}" if record.get("test") else "")


def watch_job(backend, job_id: str, poll: float = 0.5) -> JobSnapshot:
    """Print a job's epochs as they come (what is new since the last look, as the Train page asks), until it ends."""
    held, printed, place = None, 0, None
    while True:
        held = merge(held, backend.snapshot(job_id, since=0 if held is None else len(held.reconstructions)))
        if held.status == "queued" and held.queue_position != place:
            place = held.queue_position
            print(f"waiting in line: {place} job{'s' * (place != 1)} to go before this one", flush=True)
        for record in held.history[printed:]:
            print(f"Epoch {record['epoch']:g} of {held.epochs} · {format_record(record)}", flush=True)
        printed = len(held.history)
        if held.phase == "finished":
            return held
        time.sleep(poll)


def submit_and_watch(spec: JobSpec, out: Path, detach: bool) -> None:
    """`train --job`: submit to the configured backend, watch it, save it to `out` once done. A local
    backend's jobs live in this process, so it always waits; Ctrl-C stops the job."""
    if detach and jobs.backend_name() != "ray":
        raise ExplorerError("--detach needs LATENT_LAB_JOB_BACKEND=ray: a local backend's job ends with this command.")
    backend = jobs.open_jobs()
    started = time.perf_counter()
    job_id = backend.submit(spec)
    print(f"job {job_id} submitted ({jobs.backend_name()} backend)", flush=True)
    if detach:
        print(f"it trains on: python -m explorer jobs watch {job_id}; then jobs save {job_id} {out.name}")
        return
    try:
        snap = watch_job(backend, job_id)
    except KeyboardInterrupt:
        backend.stop(job_id)
        snap = backend.wait(job_id, timeout=60)
        print("stopped", flush=True)
    if not snap.savable:
        raise ExplorerError(f"job {job_id} ended {snap.status}" + (f": {snap.error}" if snap.error else "") + ".")
    path = backend.save(job_id, out.name, root=out.parent)
    print(f"{snap.status} in {time.perf_counter() - started:.1f} s, saved {path}\n{format_metrics(snap.metrics or {})}")


def command_jobs(args) -> None:
    backend = jobs.open_jobs()
    if args.action == "list":
        shown = [backend.snapshot(job_id, since=job_state.STATUS_ONLY) for job_id in backend.job_ids()]
        if not shown:
            print(f"no jobs ({jobs.backend_name()} backend)")
        for snap in shown:
            where = f"place {snap.queue_position}" if snap.status == "queued" else f"epoch {snap.epoch} of {snap.epochs}"
            print(f"{snap.job_id}  {snap.status:8s} {where:18s} {snap.spec.checkpoint_name}  "
                  f"({snap.spec.model.kind} on {snap.spec.dataset}, {snap.sharers} sharing)")
    elif args.action == "watch":
        snap = watch_job(backend, args.job_id)
        print(f"{snap.status}" + (f": {snap.error}" if snap.error else ""))
    elif args.action == "stop":
        backend.stop(args.job_id)
        print(f"stopping {args.job_id}")
    else:
        print(f"saved {backend.save(args.job_id, args.name)}")


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
        {"train": command_train, "evaluate": command_evaluate, "map": command_map, "list": command_list,
         "jobs": command_jobs}[args.command](args)
    except ExplorerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
