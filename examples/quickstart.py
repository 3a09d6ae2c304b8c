"""The Rust crate's quickstart, in Python: three Linear layers registered in a ModelStatus, MSE
loss, SGD with an L2 penalty, data from a CSV through DataLoader — and the graph **rebuilt for
every batch**, as the crate's quickstart does.

    python examples/quickstart.py [--device cpu] [--epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import io

import neuronika as nk
from neuronika import nn, optim
from neuronika.data import DataLoader

from _common import add_quiet, check_device

CSV = """\
Paw_size,Tail_length,Weight,Animal
0.2,5.0,15.0,Dog
0.08,12.0,4.0,Cat
0.07,13.0,5.0,Cat
0.05,3.0,0.8,Mouse
0.06,2.5,1.0,Mouse
0.22,6.0,20.0,Dog
0.09,10.0,4.5,Cat
0.04,3.5,0.9,Mouse
"""


def animal_to_number(cells: list[str]) -> list[float]:
    """The crate's ``from_reader_fn`` closure: three numeric features, then 1 for a dog, else 0."""
    return [float(cells[0]), float(cells[1]), float(cells[2]), 1.0 if cells[3] == "Dog" else 0.0]


class NeuralNetwork:
    """3 → 5 → 5 → 1 with ReLU, its layers registered in a ``ModelStatus`` (the crate's way)."""

    def __init__(self, device: str | None) -> None:
        self.status = nn.ModelStatus()
        self.lin1 = self.status.register(nn.Linear(3, 5, device=device))
        self.lin2 = self.status.register(nn.Linear(5, 5, device=device))
        self.lin3 = self.status.register(nn.Linear(5, 1, device=device))

    def parameters(self) -> list[nk.Param]:
        return self.status.parameters()

    def forward(self, input: nk.Var) -> nk.VarDiff:
        out1 = self.lin1.forward(input).relu()
        out2 = self.lin2.forward(out1).relu()
        return self.lin3.forward(out2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    add_quiet(parser)
    args = parser.parse_args()
    check_device(parser, args.device)
    nk.manual_seed(args.seed)

    dataset = DataLoader().with_labels([3]).from_reader(io.StringIO(CSV), fn=animal_to_number, device=args.device)
    model = NeuralNetwork(args.device)
    optimizer = optim.SGD(model.parameters(), lr=0.01, penalty=optim.L2(0.0))

    for epoch in range(args.epochs):
        total = 0.0
        for input_array, target_array in dataset.shuffle().batch(2).drop_last():
            input = nk.from_ndarray(input_array, device=args.device)    # a new graph per batch
            target = nk.from_ndarray(target_array, device=args.device)
            loss = nn.loss.mse_loss(model.forward(input), target, reduction=nn.loss.Reduction.Mean)
            loss.forward()
            loss.backward(1.0)
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        if not args.quiet and (epoch % 50 == 0 or epoch == args.epochs - 1):
            print(f"epoch {epoch:4d}  mean loss {total / (len(dataset) // 2):.5f}")

    model.status.eval()
    scores = model.forward(dataset.records).forward().numpy().ravel()
    labels = dataset.labels.numpy().ravel()
    if not args.quiet:
        print("dog scores:", " ".join(f"{s:.2f}" for s in scores), "| labels:", " ".join(f"{l:.0f}" for l in labels))
    print(f"accuracy (score > 0.5 means dog): {((scores > 0.5) == (labels > 0.5)).mean():.2f}")


if __name__ == "__main__":
    main()
