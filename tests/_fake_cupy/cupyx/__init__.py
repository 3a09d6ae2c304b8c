"""``cupyx`` of the CuPy stand-in: only ``cupyx.distributed`` (see its docstring)."""
