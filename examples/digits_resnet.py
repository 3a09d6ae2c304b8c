"""Train a small residual CNN on scikit-learn's 8x8 handwritten digits (no download).

Conv–BatchNorm–ReLU stem, two residual blocks, max pooling, a widening residual block (1x1
projection on the skip path), global average pooling and a linear classifier, trained with Adam
in the build-once / replay loop of ``_common.train_replay`` (BatchNorm switches between batch
and running statistics with the model's train/eval mode, on the graphs already built). Prints
the final test accuracy and saves a loss/accuracy plot and a checkpoint (running statistics
included) in ``examples/output/``.

    python examples/digits_resnet.py [--device cuda] [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import neuronika as nk
from neuronika import nn, optim

from _common import arguments, train_replay


class Residual(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + skip(x))``, 3x3 convolutions with padding 1; the skip
    path is the identity, or a 1x1 convolution + BatchNorm when the width changes."""

    def __init__(self, channels_in: int, channels_out: int, device: str | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False, device=device)
        self.bn1 = nn.BatchNorm2d(channels_out, device=device)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False, device=device)
        self.bn2 = nn.BatchNorm2d(channels_out, device=device)
        if channels_in != channels_out:
            self.project = nn.Conv2d(channels_in, channels_out, 1, bias=False, device=device)
            self.project_bn = nn.BatchNorm2d(channels_out, device=device)
        else:
            self.project = self.project_bn = None

    def forward(self, x: nk.Var) -> nk.Var:
        h = self.bn1(self.conv1(x)).relu()
        h = self.bn2(self.conv2(h))
        skip = x if self.project is None else self.project_bn(self.project(x))
        return (h + skip).relu()


class ResNet(nn.Module):
    """(N, 1, 8, 8) → stem (32) → 2 residual blocks → max pool 2 (4x4) → residual block (64)
    → global average pool → (N, 64) → dropout → (N, 10) log-probabilities."""

    def __init__(self, device: str | None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, padding=1, bias=False, device=device)
        self.stem_bn = nn.BatchNorm2d(32, device=device)
        self.block1 = Residual(32, 32, device)
        self.block2 = Residual(32, 32, device)
        self.pool = nn.MaxPool2d(2)
        self.block3 = Residual(32, 64, device)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(64, 10, device=device)

    def forward(self, x: nk.Var) -> nk.Var:
        h = self.stem_bn(self.stem(x)).relu()
        h = self.pool(self.block2(self.block1(h)))
        h = self.gap(self.block3(h)).flatten()
        return self.fc(self.dropout(h)).log_softmax(axis=1)


def main() -> None:
    args = arguments("Residual CNN on scikit-learn digits", epochs=30, batch_size=32, lr=2e-3)
    nk.manual_seed(args.seed)
    model = ResNet(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    train_replay(args, model, optimizer, (1, 8, 8), "Residual CNN on scikit-learn digits", "digits_resnet")


if __name__ == "__main__":
    main()
