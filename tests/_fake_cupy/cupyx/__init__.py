"""``cupyx`` of the CuPy stand-in: ``cupyx.distributed`` (see its docstring) and
``cupyx.scipy.special.erf``, which the CuPy kernel table registers as the ``erf`` override
(``neuronika/backends/_cupy_kernels.py``)."""
