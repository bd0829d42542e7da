"""One seed in, the same result out: helpers that turn a user's seed into generators."""

from __future__ import annotations

import numpy as np


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy Generator for ``seed`` (an int, an existing Generator, or None = 0).

    >>> int(rng_from(3).integers(100)) == int(rng_from(3).integers(100))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(0 if seed is None else int(seed))
