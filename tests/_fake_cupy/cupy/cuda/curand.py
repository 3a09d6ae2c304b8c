"""``cupy.cuda.curand`` of the stand-in: the generator-type constants (cuRAND's values) that
``cupy.random.RandomState(method=...)`` takes. The stand-in samples with NumPy whatever the
method; only the names and values are modelled."""

CURAND_RNG_PSEUDO_DEFAULT = 100
CURAND_RNG_PSEUDO_XORWOW = 101
CURAND_RNG_PSEUDO_MRG32K3A = 121
CURAND_RNG_PSEUDO_MTGP32 = 141
CURAND_RNG_PSEUDO_MT19937 = 142
CURAND_RNG_PSEUDO_PHILOX4_32_10 = 161
