"""Train a multi-layer perceptron on scikit-learn's handwritten digits (no download).

The training loop (``_common.train_replay``) builds the graph once and replays it per batch:
``assign`` → ``forward`` → ``backward`` → ``step`` → ``zero_grad``. Prints the final test
accuracy and saves a loss/accuracy plot and a checkpoint in ``examples/output/``.

    python examples/digits_mlp.py [--device cuda] [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import neuronika as nk
from neuronika import nn, optim

from _common import arguments, train_replay


class MLP(nn.Module):
    """64 → 128 → 64 → 10 with ReLU and dropout; outputs log-probabilities (N, 10)."""

    def __init__(self, device: str | None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 128, device=device)
        self.fc2 = nn.Linear(128, 64, device=device)
        self.fc3 = nn.Linear(64, 10, device=device)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: nk.Var) -> nk.Var:
        h = self.dropout(self.fc1(x).relu())
        h = self.fc2(h).relu()
        return self.fc3(h).log_softmax(axis=1)


def main() -> None:
    args = arguments("MLP on scikit-learn digits", epochs=30, batch_size=32, lr=1e-3)
    nk.manual_seed(args.seed)
    model = MLP(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    train_replay(args, model, optimizer, (64,), "MLP on scikit-learn digits", "digits_mlp")


if __name__ == "__main__":
    main()
