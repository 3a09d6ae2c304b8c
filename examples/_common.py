"""Shared pieces of the examples: arguments, data, the training loop's progress report,
evaluation and the loss/accuracy plot.

Progress: tqdm bars on a terminal; when the output is redirected (CI logs, ``nohup``, a
notebook's captured output) one plain line per epoch instead, since a bar redrawn into a file
leaves one line per refresh; nothing but the result with ``--quiet``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Callable

import numpy as np

import neuronika as nk


def arguments(description: str, epochs: int, batch_size: int, lr: float) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N, array_api_strict (default: the default device)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use only this many training samples (smoke tests)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"),
                        help="folder for the plot and the checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars: one line per epoch")
    add_quiet(parser)
    args = parser.parse_args()
    check_device(parser, args.device)
    return args


def sequence_parser(description: str, epochs: int, steps: int, batch_size: int, lr: float) -> argparse.ArgumentParser:
    """The arguments the sequence examples share (on synthetic or streamed batches: ``--steps``
    batches per epoch instead of passes over a fixed set); each adds its own and calls
    :func:`parse`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N, array_api_strict (default: the default device)")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--steps", type=int, default=steps, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"),
                        help="folder for the plot and the checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars: one line per epoch")
    add_quiet(parser)
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    check_device(parser, args.device)
    return args


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only the final result")


def show_bars(args: argparse.Namespace) -> bool:
    """Progress bars only when both output streams are a terminal and they are wanted."""
    wanted = not args.quiet and not getattr(args, "no_progress", False)
    return wanted and sys.stdout.isatty() and sys.stderr.isatty()


def log_epoch(args: argparse.Namespace, epoch: int, epochs: int, every: int = 1, **values: str) -> None:
    """One line for epoch ``epoch`` (0-based) of ``epochs``: every ``every`` epochs and the last,
    unless ``--quiet`` or progress bars show the same numbers."""
    if args.quiet or show_bars(args) or ((epoch + 1) % every and epoch + 1 != epochs):
        return
    details = "".join(f"  {name.replace('_', ' ')} {value}" for name, value in values.items())
    print(f"epoch {epoch + 1}/{epochs}{details}", flush=True)


def check_device(parser: argparse.ArgumentParser, device: str | None) -> None:
    """Exit with one clear line (and the install hint) when the device cannot be used here."""
    try:
        nk.backends.get(device)
    except (nk.backends.BackendUnavailableError, ValueError) as error:
        parser.exit(2, f"{parser.prog}: {error}\n")


def load_digits(seed: int, limit: int | None, image_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 handwritten digits (1797 images, shipped with the package), scaled to
    [0, 1] and split 80/20 into train and test sets with a fixed permutation."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.data / 16.0).astype(np.float32).reshape((-1, *image_shape))
    labels = digits.target.astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(labels))
    split = int(0.8 * len(labels))
    train, test = order[:split], order[split:]
    if limit is not None:
        train = train[:limit]
    return images[train], labels[train], images[test], labels[test]


def progress(iterable, total: int, description: str, disabled: bool, unit: str = "batch"):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=description, leave=False, disable=disabled, unit=unit)


def accuracy(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose highest-scoring class is the label."""
    scores = predict(images)
    return float((scores.argmax(axis=1) == labels).mean())


def save_plot(history: dict[str, list[float]], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    loss_axis.plot(epochs, history["loss"], marker="o")
    loss_axis.set(title="training loss", xlabel="epoch", ylabel="mean NLL")
    accuracy_axis.plot(epochs, history["accuracy"], marker="o", color="tab:green")
    accuracy_axis.set(title="test accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def train_replay(args: argparse.Namespace, model: "nk.nn.Module", optimizer: "nk.optim.Optimizer",
                 image_shape: tuple[int, ...], title: str, name: str) -> float:
    """The build-once / replay training loop on the digits, then the plot and the checkpoint.

    The graph (model and loss) is built once for one batch shape; every batch is fed with
    ``assign`` → ``forward`` → ``backward`` → ``step`` → ``zero_grad``. Returns the final test
    accuracy.
    """
    from neuronika import nn

    train_x, train_y, test_x, test_y = load_digits(args.seed, args.limit, image_shape)
    batch = min(args.batch_size, len(train_y))
    inputs = nk.zeros((batch, *image_shape), device=args.device)
    targets = nk.zeros(batch, device=args.device)
    loss = nn.loss.nll_loss(model(inputs), targets)  # built once

    def predict(images: np.ndarray) -> np.ndarray:
        model.eval()
        scores = model(nk.from_ndarray(images, device=args.device)).forward().numpy()
        model.train()
        return scores

    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    shuffler = np.random.default_rng(args.seed)
    bars = show_bars(args)
    epochs = progress(range(args.epochs), args.epochs, "epochs", not bars, unit="epoch")
    with Timer() as timer:
        for epoch in epochs:
            order = shuffler.permutation(len(train_y))
            batches = range(0, len(order) - batch + 1, batch)  # the last partial batch is dropped
            total = 0.0
            for start in progress(batches, len(batches), "batches", not bars):
                index = order[start : start + batch]
                inputs.assign(train_x[index])
                targets.assign(train_y[index])
                loss.forward()
                loss.backward(1.0)
                optimizer.step()
                optimizer.zero_grad()
                total += loss.item()
            history["loss"].append(total / len(batches))
            history["accuracy"].append(accuracy(predict, test_x, test_y))
            loss_text, accuracy_text = f"{history['loss'][-1]:.4f}", f"{history['accuracy'][-1]:.3f}"
            epochs.set_postfix(loss=loss_text, accuracy=accuracy_text)
            log_epoch(args, epoch, args.epochs, loss=loss_text, test_accuracy=accuracy_text)

    os.makedirs(args.output, exist_ok=True)
    save_plot(history, os.path.join(args.output, f"{name}.png"), title)
    # with the generators' states (dropout masks: nk's; batch order: the host shuffler's), a run
    # resumed from this checkpoint continues exactly as this one would have
    nk.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs,
             "rng": nk.get_rng_state(), "shuffler": shuffler.bit_generator.state},
            os.path.join(args.output, f"{name}.npz"))
    print(f"device {describe_device(args.device)}: {args.epochs} epochs in {timer.seconds:.1f} s, "
          f"final test accuracy {history['accuracy'][-1]:.4f}")
    return history["accuracy"][-1]


def train_steps(args: argparse.Namespace, loss: "nk.Var", model: "nk.nn.Module", optimizer: "nk.optim.Optimizer",
                feed: Callable[[], None], evaluate: Callable[[], float], score_name: str, scheduler=None) -> tuple[dict[str, list[float]], float]:
    """``args.epochs`` epochs of ``args.steps`` batches on a graph built once: ``feed()`` assigns
    the next batch, then forward → backward → gradient clipping (norm 1) → step → zero_grad (→
    ``scheduler.step()``). After each epoch ``evaluate()`` gives the score (``score_name``) shown
    beside the mean loss (bars on a terminal, a line per epoch otherwise). Returns ``({"loss": [...], "score": [...]}, seconds)``."""
    from neuronika import nn

    history: dict[str, list[float]] = {"loss": [], "score": []}
    bars = show_bars(args)
    epochs = progress(range(args.epochs), args.epochs, "epochs", not bars, unit="epoch")
    with Timer() as timer:
        for epoch in epochs:
            total = 0.0
            for _ in progress(range(args.steps), args.steps, "batches", not bars):
                feed()
                loss.forward()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
                if scheduler is not None:
                    scheduler.step()
                total += loss.item()
            history["loss"].append(total / args.steps)
            history["score"].append(evaluate())
            loss_text, score_text = f"{history['loss'][-1]:.4f}", f"{history['score'][-1]:.3f}"
            epochs.set_postfix(loss=loss_text, score=score_text)
            log_epoch(args, epoch, args.epochs, loss=loss_text, **{score_name: score_text})
    return history, timer.seconds


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def describe_device(device: str | None) -> str:
    return str(nk.Device(device) if device else nk.get_default_device())
