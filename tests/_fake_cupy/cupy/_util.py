"""``cupy._util`` of the stand-in."""


class PerformanceWarning(RuntimeWarning):
    """Warning that indicates possible performance issues (CuPy's class of the same name)."""
