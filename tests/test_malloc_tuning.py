"""The host backends tune glibc's malloc once per process (neuronika/backends/_malloc.py): a
block under 64 MiB then comes from the heap (and is reused by the next step) rather than from
a fresh mapping; a process that chose its own settings is left alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the tuning applies to glibc's malloc only")

# allocates a 40 MB block after the backend is made and reports whether it lies in the heap
PROBE = """
import neuronika as nk, numpy as np
nk.backends.get({device!r})
block = np.ones(10_000_000, dtype=np.float32)
address = block.__array_interface__["data"][0]
for line in open("/proc/self/maps"):
    if line.rstrip().endswith("[heap]"):
        low, high = (int(part, 16) for part in line.split()[0].split("-"))
        if low <= address < high:
            print("heap")
            break
else:
    print("mapped")
from neuronika.backends import _malloc
print(_malloc.tune())
"""


def run(device: str, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "NEURONIKA_MALLOC_TUNING")}
    done = subprocess.run([sys.executable, "-c", PROBE.format(device=device)], capture_output=True, text=True,
                          env={**clean, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("device", ["cpu", "array_api_strict"])
def test_a_host_backend_keeps_large_blocks_in_the_heap(device):
    pytest.importorskip("array_api_strict") if device == "array_api_strict" else None
    assert run(device) == ["heap", "True"]


def test_a_process_that_chose_its_malloc_settings_is_left_alone():
    assert run("cpu", NEURONIKA_MALLOC_TUNING="0") == ["mapped", "False"]
    assert run("cpu", MALLOC_TOP_PAD_="0") == ["mapped", "False"]
