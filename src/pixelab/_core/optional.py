"""Import optional dependencies with an error that says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from pixelab._core.errors import PixelabError


def require(module: str, *, package: str | None = None, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise a PixelabError naming the pip package (or extra) to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        what = f"pixelab[{extra}]" if extra else (package or module)
        raise PixelabError(
            f"this needs the optional package {package or module!r}, which is not installed",
            hint=f"pip install '{what}'",
        ) from err
