"""The stand-in's ``cupyx``: only ``cupyx.scipy.special.erf``, the one name neuronika uses (the CuPy
kernel table registers it as the ``erf`` override, ``neuronika/backends/_cupy_kernels.py``)."""
