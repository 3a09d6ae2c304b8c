"""A character-level language model: ``nn.Embedding`` → 2-layer ``nn.LSTM`` → ``nn.Linear``,
trained on the Python standard library's own source files (read from this interpreter's
installation: no download).

The corpus is the ``.py`` files at the top of the standard library directory, in name order,
concatenated up to ``--chars`` characters (non-ASCII characters become ``?``); the last 10% is
held out. Training samples random windows of ``--seq-len`` characters and predicts each next
character (``cross_entropy_loss`` over all positions; truncated back-propagation through the
window). The training graph and the evaluation graph are each built once and replayed. Reports
the held-out **bits per character** (cross-entropy / ln 2) against the corpus's unigram entropy
(the best a model that ignores context can do), samples text from the model, and saves a plot and
a checkpoint in ``examples/output/``.

    python examples/char_lstm.py [--device cuda] [--epochs 10] [--seed 0]
"""

from __future__ import annotations

import math
import os
import sysconfig

import numpy as np

import neuronika as nk
from neuronika import nn, optim

from _common import describe_device, parse, sequence_parser, train_steps


def load_corpus(chars: int) -> str:
    """The first ``chars`` characters of the standard library's top-level modules, ASCII only."""
    folder = sysconfig.get_paths()["stdlib"]
    pieces, total = [], 0
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        pieces.append(text)
        total += len(text)
        if total >= chars:
            break
    corpus = "".join(pieces)[:chars]
    return "".join(c if c.isascii() else "?" for c in corpus)


class CharLSTM(nn.Module):
    """(N, T) character ids → Embedding → LSTM(2 layers) → Linear → (N, T, V) next-character scores."""

    def __init__(self, vocabulary: int, embedding: int, hidden: int, device: str | None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding, device=device)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=2, batch_first=True, device=device)
        self.head = nn.Linear(hidden, vocabulary, device=device)

    def forward(self, ids: nk.Var, state=None):
        output, state = self.lstm(self.embedding(ids), state)
        return self.head(output), state


def unigram_entropy(ids: np.ndarray, vocabulary: int) -> float:
    counts = np.bincount(ids, minlength=vocabulary).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def sample_text(model: CharLSTM, alphabet: str, prompt: str, count: int, temperature: float,
                rng: np.random.Generator, device: str | None, hidden: int) -> str:
    """``count`` characters drawn one at a time from the model after reading ``prompt``: a one-step
    graph (one id and the two LSTM states in, scores and new states out) built once and replayed."""
    index = {c: i for i, c in enumerate(alphabet)}
    ident = nk.zeros((1, 1), dtype="int64", device=device)
    h = nk.zeros((2, 1, hidden), device=device)
    c = nk.zeros((2, 1, hidden), device=device)
    with nk.no_grad():
        scores, (h_next, c_next) = model(ident, (h, c))
    text = []
    for step in range(len(prompt) + count):
        char = prompt[step] if step < len(prompt) else text[-1]
        ident.assign(np.array([[index[char]]]))
        logits = scores.forward().numpy().reshape(-1) / temperature
        h.assign(h_next.forward().numpy())
        c.assign(c_next.forward().numpy())
        if step >= len(prompt) - 1:
            p = np.exp(logits - logits.max())
            text.append(alphabet[rng.choice(len(alphabet), p=p / p.sum())])
    return prompt + "".join(text[:count])


def main() -> None:
    parser = sequence_parser("character LSTM on the Python standard library's source", epochs=10, steps=100, batch_size=32, lr=3e-3)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--chars", type=int, default=1_000_000, help="corpus size in characters")
    args = parse(parser)
    nk.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    corpus = load_corpus(args.chars)
    alphabet = "".join(sorted(set(corpus)))
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(c) for c in alphabet]] = np.arange(len(alphabet))
    ids = lookup[np.frombuffer(corpus.encode("ascii"), dtype=np.uint8)]
    split = int(0.9 * len(ids))
    train_ids, valid_ids = ids[:split], ids[split:]
    vocabulary = len(alphabet)
    entropy = unigram_entropy(ids, vocabulary)
    if not args.quiet:
        print(f"corpus: {len(ids):,} characters, {vocabulary} distinct, unigram entropy {entropy:.3f} bits/char")

    model = CharLSTM(vocabulary, 64, args.hidden, args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    batch, length = args.batch_size, args.seq_len
    inputs = nk.zeros((batch, length), dtype="int64", device=args.device)
    targets = nk.zeros(batch * length, dtype="int64", device=args.device)
    scores, _ = model(inputs)
    loss = nn.loss.cross_entropy_loss(scores.reshape(batch * length, vocabulary), targets)  # built once

    windows = (len(valid_ids) - 1) // length
    valid_batch = min(windows, 64)
    valid_inputs = nk.zeros((valid_batch, length), dtype="int64", device=args.device)
    valid_targets = nk.zeros(valid_batch * length, dtype="int64", device=args.device)
    with nk.no_grad():
        valid_scores, _ = model(valid_inputs)
        valid_loss = nn.loss.cross_entropy_loss(valid_scores.reshape(-1, vocabulary), valid_targets, reduction="sum")

    def held_out_bits() -> float:
        total, count = 0.0, 0
        for start in range(0, windows - valid_batch + 1, valid_batch):
            rows = np.arange(start, start + valid_batch)[:, None] * length + np.arange(length + 1)
            chunk = valid_ids[rows]
            valid_inputs.assign(chunk[:, :-1])
            valid_targets.assign(chunk[:, 1:].reshape(-1))
            total += valid_loss.forward().item()
            count += chunk[:, 1:].size
        return total / count / math.log(2)

    def feed() -> None:
        starts = rng.integers(0, len(train_ids) - length - 1, batch)
        chunk = train_ids[starts[:, None] + np.arange(length + 1)]
        inputs.assign(chunk[:, :-1])
        targets.assign(chunk[:, 1:].reshape(-1))

    history, seconds = train_steps(args, loss, model, optimizer, feed, held_out_bits, "held_out_bits_per_char")
    history = {"loss": [value / math.log(2) for value in history["loss"]], "bits": history["score"]}

    os.makedirs(args.output, exist_ok=True)
    save_plot(history, entropy, os.path.join(args.output, "char_lstm.png"))
    nk.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": args.epochs,
             "rng": nk.get_rng_state(), "shuffler": rng.bit_generator.state, "alphabet": alphabet},
            os.path.join(args.output, "char_lstm.npz"))
    text = sample_text(model, alphabet, "def ", 300, 0.8, rng, args.device, args.hidden)
    if not args.quiet:
        print("sample:\n" + text)
    print(f"device {describe_device(args.device)}: {args.epochs} epochs in {seconds:.1f} s, "
          f"unigram entropy {entropy:.3f} bits/char, held-out {history['bits'][-1]:.3f} bits/char")


def save_plot(history: dict[str, list[float]], entropy: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    axis.plot(epochs, history["loss"], marker="o", label="training")
    axis.plot(epochs, history["bits"], marker="o", label="held out")
    axis.axhline(entropy, color="gray", linestyle="--", label="unigram entropy")
    axis.set(title="character LSTM on the standard library", xlabel="epoch", ylabel="bits per character")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
