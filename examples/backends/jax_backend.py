"""A neuronika backend for JAX arrays, written as a third party would: one file, one ``register``.

``jax.numpy`` is an Array API namespace, so ``xp`` is ``jax.numpy`` itself. What JAX does
differently from NumPy is declared, not special-cased:

* its arrays are **immutable** (``mutable_arrays = False``): neuronika's generic kernels then take
  their functional form (no ``a[key] = v``), optimizers keep the arrays their updates return, and
  ``Param.data`` shares rather than copies;
* float64 exists only with ``jax_enable_x64``, which this backend switches on (gradient checks
  need float64); float16 is kept;
* random numbers are counter based: draw ``k`` uses ``fold_in(key(seed), k)``, so the
  generator's whole state is two ints (``get_rng_state`` / ``set_rng_state`` restore it exactly).

Devices ``"jax"`` and ``"jax:N"`` are JAX's CPU devices (``jax.devices("cpu")``).

Use it::

    import neuronika as nk
    import jax_backend                       # registers "jax"
    x = nk.ones((2, 2), device="jax").requires_grad()

and check it with ``python -m neuronika.conformance examples/backends/jax_backend.py:create``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

import neuronika as nk
from neuronika.backends import Backend, DType

jax.config.update("jax_enable_x64", True)

_UINT32 = 1 << 32


class JaxBackend(Backend):
    name = "jax"
    xp = jnp
    mutable_arrays = False
    native_ops = frozenset({"fft"})

    def __init__(self, index: int) -> None:
        super().__init__()
        # the two capabilities the standard lacks that JAX has natively
        self.kernels["erf"] = lambda xp, x: jax.scipy.special.erf(x)
        self.kernels["einsum"] = lambda xp, subscripts, *operands: jnp.einsum(subscripts, *operands)
        # scatter-add, functionally: zeros(size, *rest).at[index].add(source)
        self.kernels["index_add"] = lambda xp, source, index, size: jnp.zeros(
            (size,) + tuple(source.shape[1:]), dtype=source.dtype).at[index].add(source)
        self.native_device = jax.devices("cpu")[index]
        self._seed, self._draws = int.from_bytes(os.urandom(4), "little"), 0

    def asarray(self, obj: Any, dtype: DType | None = None) -> Any:
        if not isinstance(obj, jax.Array):
            if hasattr(obj, "__dlpack__") and not isinstance(obj, np.ndarray):
                try:
                    obj = np.from_dlpack(obj)  # torch, array_api_strict (CPU)
                except (BufferError, TypeError, RuntimeError):
                    obj = obj.get() if hasattr(obj, "get") else np.asarray(obj)  # CuPy: to the host
            obj = np.asarray(obj)
        out = jax.device_put(jnp.asarray(obj, dtype=None if dtype is None else dtype.name), self.native_device)
        return out

    def to_host(self, array: Any) -> Any:
        return np.array(array, copy=True)

    def owns(self, array: Any) -> bool:
        return isinstance(array, jax.Array) and array.devices() == {self.native_device}

    # random numbers: draw k uses fold_in(key(seed), k)
    def _key(self) -> Any:
        key = jax.random.fold_in(jax.random.key(self._seed), self._draws)
        self._draws += 1
        return key

    def seed(self, seed: int) -> None:
        self._seed, self._draws = int(seed) % _UINT32, 0

    def uniform(self, shape: Sequence[int], dtype: DType, low: float = 0.0, high: float = 1.0) -> Any:
        sample = jax.random.uniform(self._key(), tuple(shape), dtype=self.dtype(dtype), minval=low, maxval=high)
        return jax.device_put(sample, self.native_device)

    def normal(self, shape: Sequence[int], dtype: DType, mean: float = 0.0, std: float = 1.0) -> Any:
        sample = jax.random.normal(self._key(), tuple(shape), dtype=self.dtype(dtype)) * std + mean
        return jax.device_put(sample, self.native_device)

    def permutation(self, n: int) -> list[int]:
        return [int(i) for i in np.asarray(jax.random.permutation(self._key(), n))]

    def get_rng_state(self) -> dict[str, Any]:
        return {"generator": "jax.threefry.fold_in", "seed": self._seed, "draws": self._draws}

    def check_rng_state(self, state: Any) -> None:
        ok = isinstance(state, dict) and state.get("generator") == "jax.threefry.fold_in" and all(
            type(state.get(field)) is int and state[field] >= 0 for field in ("seed", "draws")
        )
        if not ok:
            raise ValueError(f"set_rng_state: {self.device}: not a JAX generator state, got {state!r:.200}")

    def set_rng_state(self, state: Any) -> None:
        self.check_rng_state(state)
        self._seed, self._draws = state["seed"], state["draws"]


def create(index: int) -> JaxBackend:
    """The backend factory: ``register`` calls it with the device index."""
    devices = jax.devices("cpu")
    if not 0 <= index < len(devices):
        raise ValueError(f"device 'jax:{index}': JAX has {len(devices)} CPU device(s), jax:0 to jax:{len(devices) - 1}")
    return JaxBackend(index)


nk.backends.register("jax", create, probe=lambda: True)
