"""A small generic trainer: Adam over in-memory tensors, reporting through a callback.

Batches are slices of one shuffled index tensor, so there is no per-sample Python work
(a DataLoader over a TensorDataset indexes and collates sample by sample).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch

from .errors import ExplorerError, TrainingDiverged
from .latents import model_device, run_batches

MAX_EPOCHS = 1000


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    report_every: int = 0  # also call on_progress every k steps (0: once per epoch only)
    shift: int = 0  # augmentation: move each training image by up to this many pixels
    cosine: bool = False  # decay the learning rate to 0 along a half cosine over all steps

    def validate(self, n_train: int) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ExplorerError(f"Epochs must be a whole number from 1 to {MAX_EPOCHS}, got {self.epochs!r}.")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= n_train:
            raise ExplorerError(
                f"Batch size must be between 1 and the training set size ({n_train}), got {self.batch_size!r}."
            )
        if not isinstance(self.shift, int) or not 0 <= self.shift <= 4:
            raise ExplorerError(f"Shift augmentation must be 0-4 pixels, got {self.shift!r}.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 1):
            raise ExplorerError(f"Learning rate must be in (0, 1], got {self.lr!r}; 1e-3 is a good start.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """What the trainer reports: after each epoch (`epoch_done`) and every `report_every` steps."""

    epoch: int  # 1-based epoch in progress or just finished
    epochs: int
    step: int  # steps done in this epoch
    steps_per_epoch: int
    train: dict[str, float]  # mean loss terms so far in this epoch
    test: dict[str, float] | None  # filled when an epoch is done and test data was given
    elapsed: float  # seconds since training started
    epoch_done: bool

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) * self.steps_per_epoch + self.step) / (self.epochs * self.steps_per_epoch)

    @property
    def seconds_left(self) -> float:
        return self.elapsed / max(self.fraction, 1e-9) * (1 - self.fraction)


def duration_words(seconds: float) -> str:
    """A measured time, as the Train page says how long a run took: "4.2 s", "42 s", "1.5 min"."""
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def time_left_words(seconds: float | None) -> str:
    """An estimate of the time left, as the CLI and the Train page word it: "about 12 s", "about 3 min",
    "0 s" after the last epoch, "" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds <= 0:
        return "0 s"
    return f"about {max(1, round(seconds))} s" if seconds < 90 else f"about {round(seconds / 60)} min"


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)  # {"epoch", "train": {...}, "test": {...}, "seconds"}
    stopped_early: bool = False

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" picks CUDA, then Apple's MPS, then the CPU."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def evaluate_loss(model, x: torch.Tensor, batch_size: int = 1000, seed: int = 0,
                  y: torch.Tensor | None = None) -> dict[str, float]:
    """Mean loss terms over x in eval mode (a VAE's sampling is seeded, so this repeats exactly);
    labels y (N,) go to models that need them."""
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=model_device(model)).manual_seed(seed)

    def summed_terms(batch: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
        terms = model.loss(batch, labels=labels, generator=generator)
        return {name: value.item() * len(batch) for name, value in terms.items()}

    sums: dict[str, float] = {}
    for terms in run_batches(model, summed_terms, x, y, batch_size=batch_size):
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + value
    model.train(was_training)
    return {name: total / len(x) for name, total in sums.items()}


def train(
    model,
    x_train: torch.Tensor,
    config: TrainConfig,
    x_test: torch.Tensor | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    y_train: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
) -> History:
    """Train `model` in place on x_train (N, C, H, W) (labels y_train (N,) for the kinds that need
    them); returns the per-epoch history.

    Seeded: the same model init, data and config give the same weights. Setting `stop`
    (from any thread) ends training after the current step; the history says so.
    Raises TrainingDiverged as soon as a loss is NaN or infinite.
    """
    config.validate(len(x_train))
    run = _start_run(model, x_train, y_train, config)
    history = History()
    for epoch in range(1, config.epochs + 1):
        sums, seen, step = _train_epoch(run, epoch, on_progress, stop)
        record = {"epoch": epoch, "train": _means(sums, seen), "test": None}
        if x_test is not None:
            record["test"] = evaluate_loss(model, x_test, y=y_test)
        record["seconds"] = round(time.perf_counter() - run.started, 3)
        history.epochs.append(record)
        if on_progress:
            on_progress(Progress(epoch, config.epochs, step, run.steps, record["train"], record["test"],
                                 time.perf_counter() - run.started, True))
        if stop is not None and stop.is_set():
            history.stopped_early = epoch < config.epochs or step < run.steps
            break

    model.eval()
    return history


@dataclass
class _Run:
    """Everything one training run keeps from step to step."""

    model: torch.nn.Module
    config: TrainConfig
    x_train: torch.Tensor  # (N, C, H, W) on the training device
    y_train: torch.Tensor | None  # (N,) on the training device
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler | None
    noise: torch.Generator  # DAE corruption, VAE sampling
    shuffle: torch.Generator  # the order of the images, random shifts
    steps: int  # per epoch
    started: float  # time.perf_counter() when the first epoch began


def _start_run(model, x_train: torch.Tensor, y_train: torch.Tensor | None, config: TrainConfig) -> _Run:
    """Move the model and data to the training device and set up the optimizer and generators."""
    device = resolve_device(config.device)
    # Private generators, not torch's global one: jobs training side by side in one process would
    # otherwise draw each other's random numbers. (Same seed, same stream as torch.manual_seed gave.)
    noise = torch.Generator(device=device).manual_seed(config.seed)
    shuffle = torch.Generator().manual_seed(config.seed)
    model.to(device).train()
    x_train = x_train.to(device)
    y_train = None if y_train is None else y_train.to(device)
    # The fused kernel updates all parameters in one pass instead of a Python loop over tensors.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=device.type in ("cpu", "cuda"))
    steps = math.ceil(len(x_train) / config.batch_size)
    # Small steps at the end settle the weights into a minimum instead of bouncing around it.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs * steps) if config.cosine else None
    return _Run(model, config, x_train, y_train, optimizer, schedule, noise, shuffle, steps, time.perf_counter())


def _train_epoch(run: _Run, epoch: int, on_progress: Callable[[Progress], None] | None,
                 stop: threading.Event | None) -> tuple[dict[str, torch.Tensor], int, int]:
    """One pass over the shuffled training images -> (loss terms summed over images, images seen, last step).
    The last step is below run.steps when `stop` was set mid-epoch."""
    # Locals, not attributes, in the step loop: it runs thousands of times a second.
    model, config, x_train, y_train = run.model, run.config, run.x_train, run.y_train
    optimizer, schedule, noise, shuffle, steps, started = (run.optimizer, run.schedule, run.noise, run.shuffle,
                                                           run.steps, run.started)
    order = torch.randperm(len(x_train), generator=shuffle).to(x_train.device)
    sums: dict[str, torch.Tensor] = {}
    seen = 0
    for step in range(1, steps + 1):
        # index_select copies rows in one pass; x[idx] takes 5x longer (62 vs 12 µs per batch of 128).
        rows = order[(step - 1) * config.batch_size: step * config.batch_size]
        batch = x_train.index_select(0, rows)
        labels = None if y_train is None else y_train.index_select(0, rows)
        if config.shift:
            batch = random_shift(batch, config.shift, shuffle)
        terms = model.loss(batch, labels=labels, generator=noise)
        loss = terms["total"]
        value = loss.item()  # one number read back; cheaper than a torch.isfinite kernel every step
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"The loss became {value} at epoch {epoch}, step {step}: training diverged. "
                f"Lower the learning rate (now {config.lr:g}) and try again."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule:
            schedule.step()
        # Accumulate on-device; a .item() per term per step would sync for nothing.
        for name, value in terms.items():
            sums[name] = sums.get(name, 0) + value.detach() * len(batch)
        seen += len(batch)
        stopping = stop is not None and stop.is_set()
        if on_progress and config.report_every and step % config.report_every == 0 and step < steps:
            on_progress(Progress(epoch, config.epochs, step, steps, _means(sums, seen), None,
                                 time.perf_counter() - started, False))
        if stopping:
            break
    return sums, seen, step


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image (B, C, H, W) by its own random offset of up to ±max_shift pixels, zero-filled.

    4,500 digits are few: a 784-input MLP memorises them. Small shifts are the cheapest way to
    show it more digits, and one gather does the whole batch.
    """
    b, c, h, w = x.shape
    offsets = torch.randint(0, 2 * max_shift + 1, (2, b, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device) + offsets[0]  # (B, H) rows of the padded image
    cols = torch.arange(w, device=x.device) + offsets[1]  # (B, W)
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    batch_index = torch.arange(b, device=x.device)[:, None, None]
    # (B, H, W, C) after advanced indexing, back to (B, C, H, W)
    return padded.permute(0, 2, 3, 1)[batch_index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _means(sums: dict[str, torch.Tensor], count: int) -> dict[str, float]:
    return {name: float(total) / count for name, total in sums.items()}
