"""Train a small convolutional network on scikit-learn's 8x8 handwritten digits (no download).

Two 3x3 convolutions (the second with stride 2) and a linear classifier, trained with Adam in
the build-once / replay loop of ``_common.train_replay``. Prints the final test accuracy and
saves a loss/accuracy plot and a checkpoint in ``examples/output/``.

    python examples/digits_cnn.py [--device cuda] [--epochs 20] [--seed 0]
"""

from __future__ import annotations

import neuronika as nk
from neuronika import nn, optim

from _common import arguments, train_replay


class CNN(nn.Module):
    """(N, 1, 8, 8) → conv 3x3 (16) → ReLU → conv 3x3 stride 2 (32) → ReLU → (N, 512) → (N, 10)."""

    def __init__(self, device: str | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, device=device)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, stride=2, device=device)
        self.fc = nn.Linear(32 * 4 * 4, 10, device=device)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: nk.Var) -> nk.Var:
        h = self.conv1(x).relu()
        h = self.conv2(h).relu().flatten()
        return self.fc(self.dropout(h)).log_softmax(axis=1)


def main() -> None:
    args = arguments("CNN on scikit-learn digits", epochs=20, batch_size=32, lr=2e-3)
    nk.manual_seed(args.seed)
    model = CNN(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    train_replay(args, model, optimizer, (1, 8, 8), "CNN on scikit-learn digits", "digits_cnn")


if __name__ == "__main__":
    main()
