"""The training loop behind every experiment in the notebooks: seeded, interruptible, plotly-free.

`train(make_model, x_train, y_train, x_val, y_val, ...)` builds the model from a factory after
seeding, trains it on mini-batches drawn in a seeded order, evaluates it every `eval_every` steps
and returns a `History`. On CPU the same seed gives the same history, number for number (only
the wall times differ), on the same number of torch threads: a different number of threads sums in
a different order, and a recurrent net's training amplifies that rounding. Interrupting the kernel
stops the loop and returns the history so far, flagged `interrupted`. Live figures attach through
`callback` (a panel's redraw), so that this module never imports plotly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from lnviz.validation import positive_int

__all__ = ["History", "LOSSES", "OPTIMIZERS", "TOLERANCE", "evaluate", "train"]

#: "cross_entropy" for classification (logits and int64 class labels), "mse" for regression.
LOSSES: tuple[str, ...] = ("cross_entropy", "mse")

OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")

#: A regression prediction counts as correct when it is this close to its target: Hochreiter and
#: Schmidhuber (1997) scored the adding problem this way.
TOLERANCE = 0.04

#: The validation subset is drawn with this seed, not the run's, so that runs with different seeds
#: are scored on the same examples.
VAL_SUBSET_SEED = 0

#: Validation runs in chunks of this many examples, which bounds memory for long sequences.
EVAL_CHUNK = 1000

#: The per-record lists of a History, all of the same length.
_SERIES = ("step", "examples", "train_loss", "val_loss", "val_accuracy", "wall_time", "grad_norm")

#: The series a run can be read against: optimizer steps, training examples seen, seconds.
_X_SERIES = ("step", "examples", "wall_time")


@dataclass
class History:
    """What a training run recorded, one entry per evaluation (every `eval_every` steps and the last).

    step: the number of optimizer steps taken; examples: training examples seen, step * batch_size
    (the x-axis that compares runs of different batch sizes fairly); train_loss: the mean training
    loss over the steps since the previous record (a smoothed curve); val_loss, val_accuracy: on the
    fixed validation subset, in eval mode (accuracy: the fraction of correct classes, or for "mse"
    the fraction of predictions within `TOLERANCE` of their target); wall_time: seconds since the
    start of training; grad_norm: the total 2-norm of all parameter gradients before clipping,
    averaged over the steps since the previous record.

    `interrupted` says the run was stopped by KeyboardInterrupt: the lists then hold every complete
    record made before that. `diverged_at` is the first step whose training loss was not finite (NaN
    or inf), None if there was none: the run stopped at the record after it, and the lists hold the
    records before that one, all finite. `model` is the trained model (not part of `to_dict` or equality).
    """

    batch_size: int
    loss: str
    step: list[int] = field(default_factory=list)
    examples: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    interrupted: bool = False
    diverged_at: int | None = None
    model: nn.Module | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.step)

    @property
    def diverged(self) -> bool:
        """Whether a training loss was NaN or inf, which stopped the run (see `diverged_at`)."""
        return self.diverged_at is not None

    def reach(self, loss: float, x: str = "step") -> float | None:
        """Where the smoothed training loss first gets to `loss` or below, read on the series `x`
        ("step", "examples" or "wall_time"); None if it never does.

        Exact to within one evaluation interval, since train_loss is recorded once per interval.
        Counted in examples it compares batch sizes fairly; in seconds, methods of different cost.
        """
        if x not in _X_SERIES:
            raise ValueError(f"History.reach expected x to be one of {_X_SERIES}, got {x!r}")
        index = next((i for i, value in enumerate(self.train_loss) if value <= loss), None)
        return None if index is None else getattr(self, x)[index]

    def to_dict(self) -> dict:
        """Plain lists and numbers (JSON-serializable), without the model."""
        record = {}
        for f in fields(self):
            if f.name != "model":
                value = getattr(self, f.name)
                record[f.name] = list(value) if isinstance(value, list) else value
        return record

    def _append(self, **record: float) -> None:
        for name in _SERIES:
            getattr(self, name).append(record[name])

    def _drop_incomplete(self) -> None:
        """Cut every list to the shortest: an interrupt may land in the middle of `_append`."""
        complete = min(len(getattr(self, name)) for name in _SERIES)
        for name in _SERIES:
            del getattr(self, name)[complete:]


def train(
    make_model: Callable[[], nn.Module],
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
    *,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    clip_grad_norm: float | None = None,
    eval_every: int = 100,
    val_size: int | None = 2000,
    loss: str | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool = True,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train the model `make_model()` builds and return its History (the model is `history.model`).

    x_train: (N, *features), y_train: (N,) int64 class labels for "cross_entropy", or (N,) float
    targets for "mse"; x_val, y_val likewise (M cases). `loss` defaults to "cross_entropy" for
    integer targets and "mse" for floating ones. The model maps (batch, *features) to logits
    (batch, classes), or to predictions (batch,) or (batch, 1) for "mse".

    Determinism: the run seeds torch with `seed` before calling `make_model()` (so the
    initialization, and dropout if any, are seeded) and restores the caller's random state after.
    Mini-batches come from a separate generator seeded with `seed`: each epoch is a fresh
    permutation of the training set cut into full batches (the remainder is skipped), so models
    trained with the same seed see the same batches in the same order.

    `optimizer` is "adam" or "sgd" (plain, no momentum), with `lr` and `weight_decay`. With
    `clip_grad_norm`, gradients are rescaled to at most that total 2-norm before each step.
    Every `eval_every` steps, and after the last, the model is evaluated on at most `val_size`
    validation cases (a fixed random subset, the same for every run) and `callback(history)` is
    called. `progress` shows a tqdm progress bar.

    KeyboardInterrupt (the kernel's stop button, or raised by the callback) ends the loop: the
    progress bar is closed and the history so far is returned with `interrupted=True`; the callback
    is not called again.

    Divergence: a training loss that is NaN or inf (a learning rate too high) ends the loop at the
    next record, which is not made: the history holds the finite records before it, with
    `diverged_at` the first bad step; the callback is not called again.
    """
    loss = _check_arguments(
        x_train,
        y_train,
        x_val,
        y_val,
        steps,
        batch_size,
        lr,
        optimizer,
        weight_decay,
        clip_grad_norm,
        eval_every,
        val_size,
        loss,
    )
    device = torch.device(device)
    x_train, y_train = x_train.to(device), y_train.to(device)
    x_val, y_val = _subset(x_val, y_val, val_size)
    x_val, y_val = x_val.to(device), y_val.to(device)
    history = History(batch_size=batch_size, loss=loss)

    with _forked_rng(device):
        torch.manual_seed(seed)
        model = make_model().to(device)
        history.model = model
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
        opt = optimizers[optimizer](parameters, lr=lr, weight_decay=weight_decay)
        batches = _batches(len(x_train), batch_size, seed)
        bar = tqdm(total=steps, disable=not progress, unit="step", desc=type(model).__name__)
        # Sums stay on the device: reading them only at each record avoids a sync every step.
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        norm_sum = torch.zeros((), dtype=torch.float64, device=device)
        # The first step with a non-finite loss, 0 while there is none: kept on the device and read at
        # each record, like the sums. Once NaN is in the weights it stays, so a few steps more are lost
        # time, not a wrong record.
        first_bad = torch.zeros((), dtype=torch.int64, device=device)
        since_record = 0
        start = time.perf_counter()
        try:
            model.train()
            for step in range(1, steps + 1):
                index = next(batches).to(device)
                batch_loss = _loss(model(x_train[index]), y_train[index], loss)
                opt.zero_grad(set_to_none=True)
                batch_loss.backward()
                norm = _grad_norm(parameters, clip_grad_norm)
                opt.step()
                loss_sum += batch_loss.detach()
                norm_sum += norm.detach()
                bad = (first_bad == 0) & ~torch.isfinite(batch_loss.detach())
                first_bad = torch.where(bad, step, first_bad)
                since_record += 1
                bar.update()
                if step % eval_every == 0 or step == steps:
                    if first_bad.item():
                        history.diverged_at = int(first_bad.item())
                        bar.set_postfix(diverged_at=history.diverged_at, refresh=False)
                        break
                    val_loss, val_accuracy = evaluate(model, x_val, y_val, loss)
                    history._append(
                        step=step,
                        examples=step * batch_size,
                        train_loss=loss_sum.item() / since_record,
                        val_loss=val_loss,
                        val_accuracy=val_accuracy,
                        wall_time=time.perf_counter() - start,
                        grad_norm=norm_sum.item() / since_record,
                    )
                    loss_sum.zero_()
                    norm_sum.zero_()
                    since_record = 0
                    bar.set_postfix(
                        train_loss=f"{history.train_loss[-1]:.3f}", val_loss=f"{val_loss:.3f}", refresh=False
                    )
                    if callback is not None:
                        callback(history)
        except KeyboardInterrupt:
            history.interrupted = True
            history._drop_incomplete()
        finally:
            bar.close()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, loss: str, tolerance: float = TOLERANCE) -> tuple[float, float]:
    """Mean loss and accuracy of `model` on (x, y), in eval mode; the model's mode is restored after.

    x: (M, *features), y: (M,). Accuracy is the fraction of correct classes for "cross_entropy",
    and for "mse" the fraction of predictions within `tolerance` of their target.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    was_training = model.training
    model.eval()
    try:
        total_loss, correct = 0.0, 0.0
        for xs, ys in zip(torch.split(x, EVAL_CHUNK), torch.split(y, EVAL_CHUNK)):
            out = model(xs)
            total_loss += _loss(out, ys, loss, reduction="sum").item()
            if loss == "cross_entropy":
                correct += (out.argmax(dim=1) == ys).sum().item()
            else:
                correct += ((out.reshape(ys.shape) - ys).abs() < tolerance).sum().item()
    finally:
        model.train(was_training)
    return total_loss / len(y), correct / len(y)


def _loss(out: Tensor, y: Tensor, loss: str, reduction: str = "mean") -> Tensor:
    """out: (batch, classes) logits or (batch,) / (batch, 1) predictions; y: (batch,)."""
    if loss == "cross_entropy":
        if out.dim() != 2 or out.shape[0] != y.shape[0]:
            raise ValueError(
                f"cross_entropy expected model output of shape ({y.shape[0]}, classes), got {tuple(out.shape)}"
            )
        return F.cross_entropy(out, y, reduction=reduction)
    if out.numel() != y.numel() or out.shape[0] != y.shape[0]:
        raise ValueError(
            f"mse expected model output of shape ({y.shape[0]},) or ({y.shape[0]}, 1), got {tuple(out.shape)}"
        )
    return F.mse_loss(out.reshape(y.shape), y, reduction=reduction)


def _grad_norm(parameters: list[nn.Parameter], clip: float | None) -> Tensor:
    """The total 2-norm of the gradients, measured before clipping them to `clip` (if given)."""
    if clip is not None:
        return nn.utils.clip_grad_norm_(parameters, clip)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        raise ValueError("expected the loss to give the model's parameters gradients, got none")
    return nn.utils.get_total_norm(grads)


def _batches(n: int, batch_size: int, seed: int) -> Iterator[Tensor]:
    """Endless (batch_size,) int64 index batches: a fresh seeded permutation of range(n) per epoch."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        yield from order[: n - n % batch_size].split(batch_size)


def _subset(x: Tensor, y: Tensor, size: int | None) -> tuple[Tensor, Tensor]:
    """At most `size` cases of (x, y), the same ones whatever the run's seed."""
    if size is None or size >= len(y):
        return x, y
    generator = torch.Generator().manual_seed(VAL_SUBSET_SEED)
    index = torch.randperm(len(y), generator=generator)[:size]
    return x[index], y[index]


def _forked_rng(device: torch.device) -> contextlib.AbstractContextManager:
    """Fork torch's global random state (CPU, and `device`'s), restored when the run ends."""
    if device.type == "cpu":
        return torch.random.fork_rng(devices=[])
    index = device.index if device.index is not None else torch.get_device_module(device.type).current_device()
    return torch.random.fork_rng(devices=[index], device_type=device.type)


def _check_arguments(
    x_train: Tensor,
    y_train: Tensor,
    x_val: Tensor,
    y_val: Tensor,
    steps: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    weight_decay: float,
    clip_grad_norm: float | None,
    eval_every: int,
    val_size: int | None,
    loss: str | None,
) -> str:
    """Raise ValueError for bad arguments; return the loss to use."""
    for name, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
        if y.dim() != 1 or len(x) != len(y) or len(y) == 0:
            raise ValueError(
                f"expected x_{name} (N, ...) and y_{name} (N,) with the same N >= 1, got shapes "
                f"{tuple(x.shape)} and {tuple(y.shape)}"
            )
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        positive_int(value, name, "train")
    if batch_size > len(y_train):
        raise ValueError(f"batch_size must be at most the {len(y_train)} training cases, got {batch_size}")
    positive_int(val_size, "val_size", "train", allow_none=True)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be positive or None, got {clip_grad_norm!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if loss is None:
        loss = "mse" if y_train.is_floating_point() else "cross_entropy"
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    for name, y in (("y_train", y_train), ("y_val", y_val)):
        if loss == "cross_entropy" and y.dtype != torch.int64:
            raise ValueError(f"cross_entropy expected int64 class labels in {name}, got {y.dtype}")
        if loss == "mse" and not y.is_floating_point():
            raise ValueError(f"mse expected floating-point targets in {name}, got {y.dtype}")
    return loss
