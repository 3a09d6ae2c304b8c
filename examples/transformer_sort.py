"""A small Transformer encoder learns to sort sequences of digits (synthetic data, no download).

Each sample is ``--length`` random digits 0-9; the target at position ``i`` is the ``i``-th
smallest of them. Token and position embeddings (``nn.Embedding``) feed a 2-layer
``nn.TransformerEncoder`` (d_model 64, 4 heads, batch first), and a linear head scores the 10
digits at every position; the loss is ``cross_entropy_loss`` over all positions. The graph is
built once and replayed on every batch (``assign`` the tokens and targets → forward → backward →
AdamW step). Prints the token accuracy (share of positions right) and the share of whole
sequences sorted right on fresh test sequences, and saves a plot and a checkpoint in
``examples/output/``.

    python examples/transformer_sort.py [--device cuda] [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import os

import numpy as np

import neuronika as nk
from neuronika import nn, optim

from _common import describe_device, parse, save_plot, sequence_parser, train_steps


class Sorter(nn.Module):
    """(N, T) digits → token + position embeddings → TransformerEncoder → (N, T, 10) scores."""

    def __init__(self, length: int, d_model: int, device: str | None) -> None:
        super().__init__()
        self.tokens = nn.Embedding(10, d_model, device=device)
        self.positions = nn.Embedding(length, d_model, device=device)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=2 * d_model, dropout=0.0,
                                           batch_first=True, device=device)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(d_model, 10, device=device)
        self.register_buffer("position_ids", nk.from_ndarray(np.arange(length)[None, :], device=device))

    def forward(self, digits: nk.Var) -> nk.Var:
        return self.head(self.encoder(self.tokens(digits) + self.positions(self.position_ids)))


def batch_of(rng: np.random.Generator, size: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    digits = rng.integers(0, 10, (size, length))
    return digits, np.sort(digits, axis=1)


def main() -> None:
    parser = sequence_parser("Transformer encoder sorting digit sequences", epochs=30, steps=100, batch_size=64, lr=3e-3)
    parser.add_argument("--length", type=int, default=8)
    parser.add_argument("--d-model", type=int, default=64)
    args = parse(parser)
    nk.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    length, batch = args.length, args.batch_size

    model = Sorter(length, args.d_model, args.device)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    total_steps = args.epochs * args.steps
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(total_steps, 2))
    digits = nk.zeros((batch, length), dtype="int64", device=args.device)
    targets = nk.zeros(batch * length, dtype="int64", device=args.device)
    loss = nn.loss.cross_entropy_loss(model(digits).reshape(batch * length, 10), targets)  # built once

    test_digits, test_sorted = batch_of(np.random.default_rng(args.seed + 1), 1000, length)
    test_input = nk.from_ndarray(test_digits, device=args.device)
    test_scores = model(test_input)  # the evaluation graph, built once too

    def evaluate() -> tuple[float, float]:
        model.eval()
        predicted = test_scores.forward().numpy().argmax(axis=-1)
        model.train()
        right = predicted == test_sorted
        return float(right.mean()), float(right.all(axis=1).mean())

    def feed() -> None:
        sample, ordered = batch_of(rng, batch, length)
        digits.assign(sample)
        targets.assign(ordered.reshape(-1))

    history, seconds = train_steps(args, loss, model, optimizer, feed, lambda: evaluate()[0], "test_token_accuracy", scheduler)
    history["accuracy"] = history.pop("score")
    token_accuracy, sequence_accuracy = evaluate()
    os.makedirs(args.output, exist_ok=True)
    save_plot(history, os.path.join(args.output, "transformer_sort.png"), "Transformer sorting digits")
    nk.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs,
             "rng": nk.get_rng_state(), "shuffler": rng.bit_generator.state},
            os.path.join(args.output, "transformer_sort.npz"))
    example = test_digits[0]
    shown = test_scores.forward().numpy()[0].argmax(axis=-1)
    if not args.quiet:
        print(f"example: {example.tolist()} -> {shown.tolist()}")
    print(f"device {describe_device(args.device)}: {args.epochs} epochs in {seconds:.1f} s, "
          f"sequences sorted right {sequence_accuracy:.4f}, final token accuracy {token_accuracy:.4f}")


if __name__ == "__main__":
    main()
