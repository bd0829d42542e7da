"""pixelab: machine learning for images, from pixels to CNNs, on your own pictures.

Submodules load on first use so that ``import pixelab`` stays fast::

    import pixelab as px
    ds = px.data.load("digits")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_SUBMODULES = ("data", "features", "models", "train", "evaluate", "report", "apps")
__all__ = ["PixelabError", "__version__", *_SUBMODULES]

from pixelab._core.errors import PixelabError  # noqa: E402


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"pixelab.{name}")
    raise AttributeError(f"module 'pixelab' has no attribute {name!r}")
