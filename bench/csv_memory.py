"""Peak memory of ``DataLoader.from_csv`` on a large CSV file, against the budget of issue 12
(peak ≤ 3 × the dataset's bytes + the file's bytes).

    python bench/csv_memory.py [--rows 1000000] [--columns 10] [--labels]

Writes a CSV of random numbers in a temporary folder, then loads it in a fresh process and
prints two peaks: what ``tracemalloc`` saw allocated during the call (Python objects and NumPy
buffers) and the growth of the process's peak resident set size (``ru_maxrss``) over its size
just before the call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_MEASURE = """
import io, json, resource, sys, tracemalloc
import neuronika as nk
path, labels, trace = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
loader = nk.data.DataLoader().without_headers()
if labels:
    loader = loader.with_labels([-1])
loader.from_reader(io.StringIO("1,2\\n3,4\\n"), device="cpu")  # warm-up: imports, first use
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if trace:
    tracemalloc.start()
data = loader.from_csv(path, device="cpu")
peak = tracemalloc.get_traced_memory()[1] if trace else None
rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
arrays = [data.records] + ([data.labels] if labels else [])
output = sum(int(a.numpy().nbytes) for a in arrays)
print(json.dumps({"traced_peak": peak, "rss_growth": rss_growth, "output": output}))
"""


def measure(path: str, labels: bool, trace: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _MEASURE, path, "1" if labels else "0", "1" if trace else "0"],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--labels", action="store_true", help="load the last column as labels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.csv")
        table = np.random.default_rng(0).random((args.rows, args.columns), dtype=np.float32)
        np.savetxt(path, table, fmt="%.7g", delimiter=",")
        del table
        size = os.path.getsize(path)
        mib = 1 << 20
        for trace in (False, True):
            result = measure(path, args.labels, trace)
            budget = 3 * result["output"] + size
            what = "tracemalloc peak" if trace else "peak RSS growth"
            value = result["traced_peak"] if trace else result["rss_growth"]
            print(f"{args.rows} x {args.columns} CSV ({size / mib:.1f} MiB) -> {result['output'] / mib:.1f} MiB of float32: "
                  f"{what} {value / mib:.1f} MiB = {value / result['output']:.2f} x output "
                  f"(budget 3 x output + file = {budget / mib:.1f} MiB)")


if __name__ == "__main__":
    main()
