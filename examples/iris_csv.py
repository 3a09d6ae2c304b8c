"""Write scikit-learn's iris data set to a CSV file (species as names), load it back through
``DataLoader`` with a function that maps the names to class indices, and train a small
classifier on a train/test split.

    python examples/iris_csv.py [--device cpu] [--epochs 150] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile

import neuronika as nk
from neuronika import nn, optim
from neuronika.data import DataLoader

from _common import add_quiet, check_device, log_epoch


def write_iris_csv(path: str) -> list[str]:
    """The 150 iris flowers as ``sepal_length,…,species`` rows; returns the species names."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = [str(name) for name in iris.target_names]
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        for features, target in zip(iris.data, iris.target):
            writer.writerow([*map(str, features), names[target]])
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    add_quiet(parser)
    args = parser.parse_args()
    check_device(parser, args.device)
    nk.manual_seed(args.seed)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "iris.csv")
        species = write_iris_csv(path)

        def to_numbers(cells: list[str]) -> list[float]:
            return [*map(float, cells[:4]), float(species.index(cells[4]))]

        data = DataLoader().with_labels(["species"]).from_csv(path, label_shape=(), fn=to_numbers, device=args.device)
    train, test = data.shuffle(seed=args.seed).split([120, 30])

    hidden = nn.Linear(4, 16, device=args.device)
    output = nn.Linear(16, 3, device=args.device)
    params = hidden.parameters() + output.parameters()
    optimizer = optim.Adam(params, lr=0.01)

    def log_probs(x: nk.Var) -> nk.VarDiff:
        return output(hidden(x).tanh()).log_softmax(axis=1)

    # Build once, replay per batch.
    inputs, targets = nk.zeros((15, 4), device=args.device), nk.zeros(15, device=args.device)
    loss = nn.loss.nll_loss(log_probs(inputs), targets)
    for epoch in range(args.epochs):
        train.shuffle()
        for records, labels in train.batch(15).drop_last():
            inputs.assign(records)
            targets.assign(labels)
            loss.forward()
            loss.backward(1.0)
            optimizer.step()
            optimizer.zero_grad()
        log_epoch(args, epoch, args.epochs, every=25, loss=f"{loss.item():.4f}")

    predicted = log_probs(test.records).forward().numpy().argmax(axis=1)
    accuracy = (predicted == test.labels.numpy()).mean()
    print(f"iris: final training loss {loss.item():.4f}, test accuracy {accuracy:.3f} on {len(test)} flowers")


if __name__ == "__main__":
    main()
