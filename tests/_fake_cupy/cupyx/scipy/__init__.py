"""The stand-in's ``cupyx.scipy`` (``special.erf`` only)."""
