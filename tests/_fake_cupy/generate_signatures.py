"""Write ``cupy/_signatures.py``: the real CuPy's signature of every name the stand-in models.

Run it with an installed CuPy (it imports without a GPU), e.g. from an unpacked wheel::

    pip download --no-deps -d /tmp/cupy "cupy-cuda12x==14.*" "cuda-pathfinder>=1.3.4,<2"
    (cd /tmp/cupy && for w in *.whl; do unzip -qo "$w" -d site; done)
    PYTHONPATH=/tmp/cupy/site python tests/_fake_cupy/generate_signatures.py

The stand-in binds every call to these signatures first, so an argument CuPy does not take
(``cupy.zeros(..., device=...)``) raises ``TypeError`` as it would on a GPU. The list of names below
*is* the modelled surface: the names the project calls, and those array-api-compat's CuPy wrappers
import or call. A name missing here is missing from the stand-in (``AttributeError``), so a new use
of CuPy shows up as a failing test until it is added here and the file is regenerated.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
import sys

# the stand-in lives next to this script: make sure the real CuPy is the one imported
sys.path[:] = [entry for entry in sys.path if pathlib.Path(entry or ".").resolve() != pathlib.Path(__file__).parent]
import cupy  # noqa: E402

if getattr(cupy, "STAND_IN", False):
    raise SystemExit("generate_signatures.py needs the real CuPy, not the stand-in")

UFUNCS = """abs absolute add arccos arccosh arcsin arcsinh arctan arctan2 arctanh bitwise_and bitwise_or
bitwise_xor ceil conj cos cosh divide equal exp expm1 floor floor_divide greater greater_equal hypot
invert isfinite isinf isnan left_shift less less_equal log log10 log1p log2 logaddexp logical_and
logical_not logical_or logical_xor maximum minimum multiply negative nextafter not_equal positive power
reciprocal remainder right_shift sign signbit sin sinh sqrt square subtract tan tanh trunc true_divide
copysign fmax fmin""".split()
FUNCTIONS = """all amax amin any arange argmax argmin argsort around array asarray ascontiguousarray
broadcast_arrays broadcast_shapes broadcast_to clip concatenate count_nonzero cumprod cumsum diff einsum empty empty_like
expand_dims eye flip from_dlpack full full_like isdtype linspace matmul max mean meshgrid min moveaxis
nonzero ones ones_like permute_dims prod ravel repeat reshape roll round searchsorted sort squeeze stack std
sum swapaxes take take_along_axis tensordot tile transpose unique var where zeros
zeros_like isin argwhere result_type can_cast finfo iinfo issubdtype""".split()
METHODS = """all any argmax argmin astype clip copy cumsum dot fill flatten get item max mean min prod
ravel repeat reshape set squeeze std sum swapaxes take tolist transpose var view __array__
__dlpack__ __dlpack_device__ __setitem__ __getitem__""".split()
LINALG = "norm inv det solve cholesky qr svd eigh slogdet matrix_power pinv lstsq".split()
FFT = "fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift ifftshift".split()
CUPYX_SPECIAL = ["erf"]  # cupyx.scipy.special: the erf kernel override
RANDOM_STATE = "__init__ seed random_sample standard_normal normal uniform permutation rand randn".split()


def _strip_type(param: str) -> str:
    """``Py_ssize_t axis1`` -> ``axis1``; ``tuple max_version=None`` -> ``max_version=None``."""
    name, eq, default = param.partition("=")
    words = name.split()
    name = words[-1] if words else name
    if not eq:
        return name
    try:
        ast.literal_eval(default.strip())
    except (ValueError, SyntaxError):
        default = "None"  # e.g. <class 'float'>: the stand-in only validates names and positions
    return f"{name}={default.strip()}"


def _split(params: str) -> list[str]:
    out, depth, current = [], 0, ""
    for char in params:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        out.append(current.strip())
    return out


def _from_inspect(sig: inspect.Signature) -> str:
    """The parameter list without annotations (they name CuPy-only typing aliases)."""
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=plain, return_annotation=inspect.Signature.empty))


def signature_of(obj: object) -> str:
    try:
        text = _from_inspect(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        first = (obj.__doc__ or "").strip().splitlines()[0]
        text = first[first.index("("): first.rindex(")") + 1]
    text = text.replace("\\*", "*")
    params = [_strip_type(p) for p in _split(text[1:-1]) if p.strip() != "self"]
    return "(" + ", ".join(params) + ")"


def collect() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in UFUNCS:
        table[f"cupy.{name}"] = "ufunc" + signature_of(getattr(cupy, name))
    for name in FUNCTIONS:
        table[f"cupy.{name}"] = "function" + signature_of(getattr(cupy, name))
    for name in METHODS:
        table[f"cupy.ndarray.{name}"] = "method" + signature_of(getattr(cupy.ndarray, name))
    for name in LINALG:
        table[f"cupy.linalg.{name}"] = "function" + signature_of(getattr(cupy.linalg, name))
    for name in FFT:
        table[f"cupy.fft.{name}"] = "function" + signature_of(getattr(cupy.fft, name))
    import cupyx.scipy.special

    for name in CUPYX_SPECIAL:
        table[f"cupyx.scipy.special.{name}"] = "ufunc" + signature_of(getattr(cupyx.scipy.special, name))
    from cupy.lib import stride_tricks

    table["cupy.lib.stride_tricks.as_strided"] = "function" + signature_of(stride_tricks.as_strided)
    import cupyx

    table["cupyx.scatter_add"] = "function" + signature_of(cupyx.scatter_add)
    for name in RANDOM_STATE:
        obj = getattr(cupy.random.RandomState, name)
        table[f"cupy.random.RandomState.{name}"] = "method" + signature_of(obj)
    return table


def main() -> None:
    table = collect()
    target = pathlib.Path(__file__).parent / "cupy" / "_signatures.py"
    lines = [
        f'"""Generated by tests/_fake_cupy/generate_signatures.py from CuPy {cupy.__version__}; do not edit.',
        "",
        "Each value is the kind of the name (ufunc, function, method) followed by CuPy's parameter list",
        '(defaults that are not literals shown as None)."""',
        "",
        f"CUPY_VERSION = {cupy.__version__!r}",
        "SIGNATURES = {",
    ]
    lines += [f"    {key!r}: {value!r}," for key, value in sorted(table.items())]
    lines.append("}")
    target.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(table)} signatures from CuPy {cupy.__version__} to {target}")


if __name__ == "__main__":
    main()
